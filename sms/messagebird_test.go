package sms_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

// messageBirdSent is MessageBird's 201 answer to a new message.
const messageBirdSent = `{
  "id": "e8077d803532c0b5937c639b60216938",
  "href": "https://rest.messagebird.com/messages/e8077d803532c0b5937c639b60216938",
  "direction": "mt",
  "type": "sms",
  "originator": "App",
  "body": "Your App sign-in code is 482913. It works for 5 minutes.",
  "reference": null,
  "validity": null,
  "gateway": 10,
  "typeDetails": {},
  "datacoding": "plain",
  "mclass": 1,
  "scheduledDatetime": null,
  "createdDatetime": "2016-05-03T14:26:57+00:00",
  "recipients": {
    "totalCount": 1,
    "totalSentCount": 1,
    "totalDeliveredCount": 0,
    "totalDeliveryFailedCount": 0,
    "items": [
      {"recipient": 447700900123, "status": "sent", "statusDatetime": "2016-05-03T14:26:57+00:00", "messagePartCount": 1}
    ]
  }
}`

func TestMessageBirdRequest(t *testing.T) {
	for _, tc := range []struct {
		name, body, datacoding string
	}{
		{"GSM-7", body, "plain"},
		{"GSM-7 extension table", "Code {482913} [€5 credit] ~ ok", "plain"},
		{"needs Unicode", "Ваш код: 482913", "unicode"},
		{"emoji", "Your code 482913 🔐", "unicode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(201, "application/json", messageBirdSent))
			s := &sms.MessageBird{AccessKey: accessKey, Originator: "App", BaseURL: f.URL}
			m := msg
			m.Body = tc.body
			require.NoError(t, s.SendSMS(t.Context(), m))

			r := f.only(t)
			require.Equal(t, "POST", r.method)
			require.Equal(t, "/messages", r.path)
			require.Equal(t, "AccessKey "+accessKey, r.header.Get("Authorization"))
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			require.Equal(t, "application/json", r.header.Get("Accept"))

			var got struct {
				Originator string   `json:"originator"`
				Recipients []string `json:"recipients"`
				Body       string   `json:"body"`
				Datacoding string   `json:"datacoding"`
			}
			dec := json.NewDecoder(bytes.NewReader(r.body))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&got))
			require.Equal(t, "App", got.Originator)
			require.Equal(t, []string{toDigits}, got.Recipients, "an MSISDN: digits, no +")
			require.Equal(t, tc.body, got.Body)
			require.Equal(t, tc.datacoding, got.Datacoding)
		})
	}
}

func TestMessageBirdErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		answer    string
		code      string
		message   string
		temporary bool
	}{
		{
			"bad access key", 401,
			`{"errors":[{"code":2,"description":"Request not allowed (incorrect access_key)","parameter":"access_key"}]}`,
			"2", "Request not allowed (incorrect access_key)", false,
		},
		{
			"invalid number", 422,
			`{"errors":[{"code":9,"description":"no (correct) recipients found","parameter":"recipients"}]}`,
			"9", "no (correct) recipients found", false,
		},
		{
			"number quoted", 422,
			`{"errors":[{"code":10,"description":"recipient 447700900123 is invalid","parameter":"recipients"}]}`,
			"10", "recipient *** is invalid", false,
		},
		{
			"no balance", 402,
			`{"errors":[{"code":25,"description":"Not enough balance","parameter":null}]}`,
			"25", "Not enough balance", false,
		},
		{
			"several", 422,
			`{"errors":[{"code":9,"description":"no (correct) recipients found","parameter":"recipients"},{"code":10,"description":"originator is invalid","parameter":"originator"}]}`,
			"9", "no (correct) recipients found; originator is invalid", false,
		},
		{
			"rate limited", 429,
			`{"errors":[{"code":429,"description":"Too many requests","parameter":null}]}`,
			"429", "Too many requests", true,
		},
		{
			"internal error", 500,
			`{"errors":[{"code":99,"description":"Internal error","parameter":null}]}`,
			"99", "Internal error", true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(tc.status, "application/json", tc.answer))
			s := &sms.MessageBird{AccessKey: accessKey, Originator: "App", BaseURL: f.URL}
			err := s.SendSMS(t.Context(), msg)
			e := requireSafe(t, err, "messagebird")
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
			require.Equal(t, tc.temporary, e.Temporary)
		})
	}
}
