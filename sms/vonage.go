package sms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

const vonageBaseURL = "https://rest.nexmo.com"

// Vonage sends text messages through Vonage's (formerly Nexmo's) SMS API: a
// form POST to /sms/json with api_key and api_secret in the body. Vonage
// answers 200 whether or not it took the message; the status of each part
// in the answer tells, and a non-zero one is returned as an [*Error] with
// that status as its Code.
type Vonage struct {
	APIKey    string // required
	APISecret string // required
	// From is the sender: a Vonage number (a leading "+" is dropped, as the
	// API wants digits) or an alphanumeric sender ID of at most 11
	// characters. Required.
	From string

	BaseURL string       // default "https://rest.nexmo.com"
	Client  *http.Client // default: a shared client that follows no redirect
	// Timeout bounds one SendSMS, answer included. Default DefaultTimeout
	// (10s).
	Timeout time.Duration
}

var _ authkit.SMSSender = (*Vonage)(nil)

// Check reports the first missing or malformed field. SendSMS calls it.
func (v *Vonage) Check() error {
	_, err := v.endpoint()
	return err
}

func (v *Vonage) endpoint() (endpoint, error) {
	switch {
	case v.APIKey == "":
		return endpoint{}, errors.New("sms: Vonage.APIKey is required")
	case v.APISecret == "":
		return endpoint{}, errors.New("sms: Vonage.APISecret is required")
	}
	if err := checkSender("Vonage.From", v.From); err != nil {
		return endpoint{}, err
	}
	return newEndpoint("vonage", "Vonage", v.BaseURL, vonageBaseURL, v.Client, v.Timeout)
}

// SendSMS asks Vonage to send m. It gives up when ctx is done or Timeout
// has passed, whichever comes first.
func (v *Vonage) SendSMS(ctx context.Context, m authkit.SMS) error {
	ep, err := v.endpoint()
	if err != nil {
		return err
	}
	to, err := checkMessage(ep.provider, m)
	if err != nil {
		return err
	}
	from := v.From
	if digits, ok := strings.CutPrefix(from, "+"); ok && strings.Trim(digits, "0123456789") == "" {
		from = digits
	}
	typ := "text" // GSM-7
	if !isGSM7(m.Body) {
		typ = "unicode"
	}
	form := url.Values{
		"api_key":    {v.APIKey},
		"api_secret": {v.APISecret},
		"from":       {from},
		"to":         {to},
		"text":       {m.Body},
		"type":       {typ},
	}
	return ep.send(ctx, request{
		path:        "/sms/json",
		contentType: formType,
		body:        []byte(form.Encode()),
		auth:        func(*http.Request) {}, // the credentials are in the form
		secrets:     []string{m.Body, m.To, to, v.APISecret, v.APIKey},
		needBody:    true,
		answer:      vonageAnswer,
	})
}

// vonageAnswer reads Vonage's answer, one entry per part of the message:
//
//	{"message-count":"1","messages":[{"to":"447700900000","message-id":"0A0000000123ABCD1","status":"0",…}]}
//	{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}
//
// The first part with a non-zero status is the refusal. Statuses 1
// (throttled), 5 (internal error) and 10 (too many existing binds) are
// temporary, but only when no part of the answer was accepted: a long
// text whose part 1 went out (status "0") and whose part 2 was throttled
// is a permanent error. Trying it again would send the whole text, so
// the recipient would get part 1 twice, and a courier that retries
// would do so up to DeliveryAttempts times; a permanent error instead
// stops the retries and leaves the refusal in the dead letters and the
// logs. It is not reported as sent either: the part that carries the
// code may be the one that was refused, and the user, who then asks for
// a new code, must not be told it arrived.
func vonageAnswer(status int, body []byte) *refusal {
	var a struct {
		Messages []struct {
			Status    code   `json:"status"`
			ErrorText string `json:"error-text"`
		} `json:"messages"`
		Title string `json:"title"` // the RFC 7807 errors of Vonage's newer front end
	}
	readable := json.Unmarshal(body, &a) == nil
	if status < 200 || status >= 300 {
		no := &refusal{temporary: temporaryStatus(status), message: a.Title}
		if len(a.Messages) > 0 {
			no.code, no.message = string(a.Messages[0].Status), a.Messages[0].ErrorText
		}
		return no
	}
	if !readable || len(a.Messages) == 0 {
		// It may have been sent: not temporary, so nobody sends it twice.
		return &refusal{cause: errors.New("unreadable answer")}
	}
	var no *refusal
	sent := false // some part went out
	for _, part := range a.Messages {
		switch {
		case part.Status == "0":
			sent = true
		case no != nil:
		case part.Status == "":
			no = &refusal{cause: errors.New("answer without a message status")}
		default:
			no = &refusal{
				code:    string(part.Status),
				message: part.ErrorText,
				// 1 Throttled, 5 Internal Error, 10 Too Many Existing Binds
				temporary: part.Status == "1" || part.Status == "5" || part.Status == "10",
			}
		}
	}
	if no != nil && sent {
		no.temporary = false // see above: a retry would send the accepted parts again
	}
	return no
}
