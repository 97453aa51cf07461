package sms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

const messageBirdBaseURL = "https://rest.messagebird.com"

// MessageBird sends text messages through MessageBird's legacy SMS API
// (rest.messagebird.com): a JSON POST to /messages with the header
// "Authorization: AccessKey …". MessageBird answers 201 Created with the
// message object. MessageBird is now Bird, and accounts made on Bird's
// current platform have no such key: they send through a channel with
// [Bird].
type MessageBird struct {
	AccessKey string // required: a live (or "test_") access key
	// Originator is the sender: a number with its country code or an
	// alphanumeric sender ID of at most 11 characters. Required.
	Originator string

	BaseURL string       // default "https://rest.messagebird.com"
	Client  *http.Client // default: a shared client that follows no redirect
	// Timeout bounds one SendSMS, answer included. Default DefaultTimeout
	// (10s).
	Timeout time.Duration
}

var _ authkit.SMSSender = (*MessageBird)(nil)

// Check reports the first missing or malformed field. SendSMS calls it.
func (b *MessageBird) Check() error {
	_, err := b.endpoint()
	return err
}

func (b *MessageBird) endpoint() (endpoint, error) {
	if b.AccessKey == "" {
		return endpoint{}, errors.New("sms: MessageBird.AccessKey is required")
	}
	if strings.ContainsAny(b.AccessKey, " \t\r\n") {
		return endpoint{}, errors.New("sms: MessageBird.AccessKey holds white space")
	}
	if err := checkSender("MessageBird.Originator", b.Originator); err != nil {
		return endpoint{}, err
	}
	return newEndpoint("messagebird", "MessageBird", b.BaseURL, messageBirdBaseURL, b.Client, b.Timeout)
}

// messageBirdMessage is the body of POST /messages. Recipients are MSISDNs:
// the number's digits without "+", sent as strings (as MessageBird's own Go
// client does). Datacoding is "plain" (GSM 03.38) or "unicode".
type messageBirdMessage struct {
	Originator string   `json:"originator"`
	Recipients []string `json:"recipients"`
	Body       string   `json:"body"`
	Datacoding string   `json:"datacoding"`
}

// SendSMS asks MessageBird to send m. It gives up when ctx is done or
// Timeout has passed, whichever comes first.
func (b *MessageBird) SendSMS(ctx context.Context, m authkit.SMS) error {
	ep, err := b.endpoint()
	if err != nil {
		return err
	}
	msisdn, err := checkMessage(ep.provider, m)
	if err != nil {
		return err
	}
	msg := messageBirdMessage{Originator: b.Originator, Recipients: []string{msisdn}, Body: m.Body, Datacoding: "plain"}
	if !isGSM7(m.Body) {
		msg.Datacoding = "unicode"
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return errors.New("sms: messagebird: cannot encode the message") // unreachable: strings always encode
	}
	return ep.send(ctx, request{
		path:        "/messages",
		contentType: jsonType,
		body:        body,
		auth:        func(r *http.Request) { r.Header.Set("Authorization", "AccessKey "+b.AccessKey) },
		secrets:     []string{m.Body, m.To, msisdn, b.AccessKey},
		answer:      messageBirdAnswer,
	})
}

// messageBirdAnswer reads MessageBird's answer. A refusal looks like
//
//	{"errors":[{"code":2,"description":"Request not allowed (incorrect access_key)","parameter":"access_key"}]}
//
// Error.Code is the first error's code; Error.Message joins the
// descriptions.
func messageBirdAnswer(status int, body []byte) *refusal {
	if status >= 200 && status < 300 {
		return nil
	}
	var e struct {
		Errors []struct {
			Code        code   `json:"code"`
			Description string `json:"description"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(body, &e) // an answer that is not JSON leaves e empty
	no := &refusal{temporary: temporaryStatus(status)}
	var texts []string
	for i, x := range e.Errors {
		if i == 0 {
			no.code = string(x.Code)
		}
		if x.Description != "" {
			texts = append(texts, x.Description)
		}
	}
	no.message = strings.Join(texts, "; ")
	return no
}
