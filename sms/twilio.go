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

const twilioBaseURL = "https://api.twilio.com"

// Twilio sends text messages through Twilio's Programmable Messaging API:
// a form POST to /2010-04-01/Accounts/{AccountSID}/Messages.json with HTTP
// basic auth. Twilio answers 201 Created when it has queued the message.
//
// It authenticates with the account's auth token, or with an API key,
// which Twilio recommends in production: a key can be revoked alone, and
// rotating it leaves the auth token and every other key in place. Set
// exactly one of AuthToken and the pair APIKeySID, APIKeySecret. With a
// key, the basic-auth user is the key's SID; the URL names the account
// either way.
type Twilio struct {
	AccountSID string // required: the account's SID, "AC…"
	AuthToken  string // the account's auth token
	// APIKeySID ("SK…") and APIKeySecret are an API key of the account,
	// made in the Twilio Console (Account → API keys & tokens), instead
	// of AuthToken.
	APIKeySID    string
	APIKeySecret string
	// From is the sender: a Twilio number in E.164 ("+15017122661"), a
	// short code or an alphanumeric sender ID. Set exactly one of From and
	// MessagingServiceSID.
	From string
	// MessagingServiceSID ("MG…") sends through a Messaging Service, which
	// picks the sender from its pool.
	MessagingServiceSID string

	BaseURL string       // default "https://api.twilio.com"
	Client  *http.Client // default: a shared client that follows no redirect
	// Timeout bounds one SendSMS, answer included. Default DefaultTimeout
	// (10s).
	Timeout time.Duration
}

var _ authkit.SMSSender = (*Twilio)(nil)

// Check reports the first missing or malformed field. SendSMS calls it.
func (t *Twilio) Check() error {
	_, err := t.endpoint()
	return err
}

func (t *Twilio) endpoint() (endpoint, error) {
	switch {
	case t.AccountSID == "":
		return endpoint{}, errors.New("sms: Twilio.AccountSID is required")
	case !strings.HasPrefix(t.AccountSID, "AC") || !isAlphanumeric(t.AccountSID):
		return endpoint{}, errors.New(`sms: Twilio.AccountSID must be an account SID: "AC" and letters or digits`)
	case t.AuthToken != "" && (t.APIKeySID != "" || t.APIKeySecret != ""):
		return endpoint{}, errors.New("sms: set either Twilio.AuthToken or Twilio.APIKeySID and Twilio.APIKeySecret, not both")
	case t.AuthToken == "" && t.APIKeySID == "" && t.APIKeySecret == "":
		return endpoint{}, errors.New("sms: Twilio.AuthToken is required (or Twilio.APIKeySID and Twilio.APIKeySecret)")
	case t.AuthToken == "" && (t.APIKeySID == "" || t.APIKeySecret == ""):
		return endpoint{}, errors.New("sms: Twilio.APIKeySID and Twilio.APIKeySecret go together: set both")
	case t.APIKeySID != "" && (!strings.HasPrefix(t.APIKeySID, "SK") || !isAlphanumeric(t.APIKeySID)):
		return endpoint{}, errors.New(`sms: Twilio.APIKeySID must be an API key SID: "SK" and letters or digits`)
	case (t.From == "") == (t.MessagingServiceSID == ""):
		return endpoint{}, errors.New("sms: set exactly one of Twilio.From and Twilio.MessagingServiceSID")
	case t.MessagingServiceSID != "" && (!strings.HasPrefix(t.MessagingServiceSID, "MG") || !isAlphanumeric(t.MessagingServiceSID)):
		return endpoint{}, errors.New(`sms: Twilio.MessagingServiceSID must be a service SID: "MG" and letters or digits`)
	}
	if t.From != "" {
		if err := checkSender("Twilio.From", t.From); err != nil {
			return endpoint{}, err
		}
	}
	return newEndpoint("twilio", "Twilio", t.BaseURL, twilioBaseURL, t.Client, t.Timeout)
}

// SendSMS asks Twilio to send m. It gives up when ctx is done or Timeout
// has passed, whichever comes first.
func (t *Twilio) SendSMS(ctx context.Context, m authkit.SMS) error {
	ep, err := t.endpoint()
	if err != nil {
		return err
	}
	if _, err := checkMessage(ep.provider, m); err != nil {
		return err
	}
	form := url.Values{"To": {m.To}, "Body": {m.Body}}
	if t.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", t.MessagingServiceSID)
	} else {
		form.Set("From", t.From)
	}
	user, password := t.AccountSID, t.AuthToken
	if t.AuthToken == "" {
		user, password = t.APIKeySID, t.APIKeySecret
	}
	return ep.send(ctx, request{
		path:        "/2010-04-01/Accounts/" + t.AccountSID + "/Messages.json",
		contentType: formType,
		body:        []byte(form.Encode()),
		auth:        func(r *http.Request) { r.SetBasicAuth(user, password) },
		secrets:     []string{m.Body, m.To, password},
		answer:      twilioAnswer,
	})
}

// twilioAnswer reads Twilio's answer. A refusal looks like
//
//	{"code": 21211, "message": "The 'To' number +1555 is not a valid phone number.",
//	 "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}
//
// Temporary are the 429s and 5xx, and the codes that say "later":
// 20429 (too many requests) and 21611, whose 400 says the From number
// has more than 10 hours of messages queued at its sending rate; the
// queue drains by itself, so the same message goes through once it has.
func twilioAnswer(status int, body []byte) *refusal {
	if status >= 200 && status < 300 {
		return nil
	}
	var e struct {
		Code    code   `json:"code"`
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &e) // an answer that is not JSON leaves e empty
	return &refusal{
		code:      string(e.Code),
		message:   e.Message,
		temporary: temporaryStatus(status) || e.Code == "20429" || e.Code == "21611",
	}
}

func isAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
