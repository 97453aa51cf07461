package sms

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

const birdBaseURL = "https://api.bird.com"

// Bird sends text messages through the Channels API of Bird's current
// platform (MessageBird became Bird, and accounts made on its current
// platform use this API, not the one [MessageBird] speaks): a JSON POST
// to /workspaces/{WorkspaceID}/channels/{ChannelID}/messages with the
// header "Authorization: AccessKey …". Bird answers 202 Accepted with the
// message object when it has taken the message for processing.
//
// The channel is an SMS channel installed in the workspace on a number
// Bird approved; it decides the sender, and Bird picks the encoding (GSM-7
// or Unicode) by itself. The recipient goes as the E.164 number, "+"
// included.
type Bird struct {
	// AccessKey is an access key of the workspace's organization (Bird:
	// Settings → Security → Access keys) whose role may create messages
	// on the channel, such as Application Developer. Required.
	AccessKey string
	// WorkspaceID and ChannelID are the UUIDs of the workspace and of its
	// SMS channel, as Bird's API and dashboard show them
	// ("2d7a9f8e-…"). Required.
	WorkspaceID string
	ChannelID   string

	BaseURL string       // default "https://api.bird.com"
	Client  *http.Client // default: a shared client that follows no redirect
	// Timeout bounds one SendSMS, answer included. Default DefaultTimeout
	// (10s).
	Timeout time.Duration
}

var _ authkit.SMSSender = (*Bird)(nil)

// Check reports the first missing or malformed field. SendSMS calls it.
func (b *Bird) Check() error {
	_, err := b.endpoint()
	return err
}

func (b *Bird) endpoint() (endpoint, error) {
	switch {
	case b.AccessKey == "":
		return endpoint{}, errors.New("sms: Bird.AccessKey is required")
	case strings.ContainsAny(b.AccessKey, " \t\r\n"):
		return endpoint{}, errors.New("sms: Bird.AccessKey holds white space")
	case b.WorkspaceID == "":
		return endpoint{}, errors.New("sms: Bird.WorkspaceID is required")
	case !isUUID(b.WorkspaceID):
		return endpoint{}, errors.New("sms: Bird.WorkspaceID must be the workspace's UUID, such as 2d7a9f8e-5b3c-4e1a-9f0d-6c8b7a5e4d3c")
	case b.ChannelID == "":
		return endpoint{}, errors.New("sms: Bird.ChannelID is required")
	case !isUUID(b.ChannelID):
		return endpoint{}, errors.New("sms: Bird.ChannelID must be the SMS channel's UUID, such as 8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b")
	}
	return newEndpoint("bird", "Bird", b.BaseURL, birdBaseURL, b.Client, b.Timeout)
}

// isUUID reports whether s is a UUID in its 36-character text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// birdMessage is the body of POST …/channels/{channelId}/messages for a
// text: one contact identified by its phone number, and a body of type
// "text".
type birdMessage struct {
	Receiver birdReceiver `json:"receiver"`
	Body     birdBody     `json:"body"`
}

type birdReceiver struct {
	Contacts []birdContact `json:"contacts"`
}

type birdContact struct {
	IdentifierKey   string `json:"identifierKey"`
	IdentifierValue string `json:"identifierValue"`
}

type birdBody struct {
	Type string   `json:"type"`
	Text birdText `json:"text"`
}

type birdText struct {
	Text string `json:"text"`
}

// SendSMS asks Bird to send m. It gives up when ctx is done or Timeout
// has passed, whichever comes first.
func (b *Bird) SendSMS(ctx context.Context, m authkit.SMS) error {
	ep, err := b.endpoint()
	if err != nil {
		return err
	}
	digits, err := checkMessage(ep.provider, m)
	if err != nil {
		return err
	}
	body, err := json.Marshal(birdMessage{
		Receiver: birdReceiver{Contacts: []birdContact{{IdentifierKey: "phonenumber", IdentifierValue: m.To}}},
		Body:     birdBody{Type: "text", Text: birdText{Text: m.Body}},
	})
	if err != nil {
		return errors.New("sms: bird: cannot encode the message") // unreachable: strings always encode
	}
	return ep.send(ctx, request{
		path:        "/workspaces/" + b.WorkspaceID + "/channels/" + b.ChannelID + "/messages",
		contentType: jsonType,
		body:        body,
		auth:        func(r *http.Request) { r.Header.Set("Authorization", "AccessKey "+b.AccessKey) },
		secrets:     []string{m.Body, m.To, digits, b.AccessKey},
		answer:      birdAnswer,
	})
}

// birdAnswer reads Bird's answer. A refusal looks like
//
//	{"code":"InvalidPayload","message":"One or more fields provided in the request body are malformed",
//	 "details":{".receiver.contacts[0].identifierValue":["invalid phone number"]}}
//
// Error.Code is its code ("InvalidPayload", "NotFound", …); Error.Message
// its message, followed by the details, field by field. Bird's 429s and
// 5xx are temporary (its documentation calls a 5xx safe to retry); a 4xx
// is not: a bad key, a channel that is not the workspace's or not
// active, a number Bird refuses.
func birdAnswer(status int, body []byte) *refusal {
	if status >= 200 && status < 300 {
		return nil
	}
	var e struct {
		Code    code            `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	_ = json.Unmarshal(body, &e) // an answer that is not JSON leaves e empty
	no := &refusal{code: string(e.Code), message: e.Message, temporary: temporaryStatus(status)}
	var details map[string][]string
	if json.Unmarshal(e.Details, &details) == nil && len(details) > 0 {
		var texts []string
		for _, field := range slices.Sorted(maps.Keys(details)) {
			texts = append(texts, field+": "+strings.Join(details[field], ", "))
		}
		no.message = strings.TrimSpace(no.message + " (" + strings.Join(texts, "; ") + ")")
	}
	return no
}
