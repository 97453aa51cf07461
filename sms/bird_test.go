package sms_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

// birdAccepted is Bird's 202 answer to a new message: the message object,
// as the Channels API documents it.
const birdAccepted = `{
  "id": "e2b8c1a4-5f6d-4e7a-8b9c-0d1e2f3a4b5c",
  "channelId": "8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
  "sender": {"connector": {"id": "5a0f6b1c-2d3e-4f50-8a6b-7c8d9e0f1a2b", "identifierValue": "+31970102030"}},
  "receiver": {"contacts": [{"id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "identifierKey": "phonenumber", "identifierValue": "+447700900123"}]},
  "body": {"type": "text", "text": {"text": "Your App sign-in code is 482913. It works for 5 minutes."}},
  "status": "accepted",
  "reason": "",
  "direction": "outgoing",
  "lastStatusAt": "2024-12-03T10:41:12.345Z",
  "createdAt": "2024-12-03T10:41:12.345Z",
  "updatedAt": "2024-12-03T10:41:12.345Z"
}`

func TestBirdRequest(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"GSM-7", body},
		{"needs Unicode", "Ваш код: 482913 🔐"}, // Bird picks the encoding itself
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(202, "application/json", birdAccepted))
			s := &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: f.URL}
			m := msg
			m.Body = tc.body
			require.NoError(t, s.SendSMS(t.Context(), m))

			r := f.only(t)
			require.Equal(t, "POST", r.method)
			require.Equal(t, "/workspaces/"+workspace+"/channels/"+channel+"/messages", r.path)
			require.Equal(t, "AccessKey "+accessKey, r.header.Get("Authorization"))
			require.Equal(t, "application/json", r.header.Get("Content-Type"))
			require.Equal(t, "application/json", r.header.Get("Accept"))

			type contact struct {
				IdentifierKey   string `json:"identifierKey"`
				IdentifierValue string `json:"identifierValue"`
			}
			var got struct {
				Receiver struct {
					Contacts []contact `json:"contacts"`
				} `json:"receiver"`
				Body struct {
					Type string `json:"type"`
					Text struct {
						Text string `json:"text"`
					} `json:"text"`
				} `json:"body"`
			}
			dec := json.NewDecoder(bytes.NewReader(r.body))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&got))
			require.Equal(t, []contact{{"phonenumber", to}}, got.Receiver.Contacts, "E.164, + included")
			require.Equal(t, "text", got.Body.Type)
			require.Equal(t, tc.body, got.Body.Text.Text)
		})
	}
}

func TestBirdAcceptedWhateverTheBody(t *testing.T) {
	// A 2xx means Bird took the message: an odd body must not make the
	// caller send it again.
	f := newFake(t, answer(202, "text/plain", "accepted"))
	s := &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: f.URL}
	require.NoError(t, s.SendSMS(t.Context(), msg))
}

func TestBirdErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		answer    string
		code      string
		message   string
		temporary bool
	}{
		// Bird's answer to a body it cannot use, as recorded from its API:
		// the details name each field with what is wrong. The other
		// answers come in the same envelope with the statuses Bird
		// documents; their codes and messages stand for whatever Bird
		// says, since only the status decides whether later may help.
		{
			"malformed", 422,
			`{"code":"InvalidPayload","message":"One or more fields provided in the request body are malformed","details":{".body.type":["Invalid value: \"sms\", expected one of: \"text\", \"html\", \"image\", \"file\""]}}`,
			"InvalidPayload", `One or more fields provided in the request body are malformed (.body.type: Invalid value: "sms", expected one of: "text", "html", "image", "file")`, false,
		},
		{
			"number quoted", 422,
			`{"code":"InvalidPayload","message":"One or more fields provided in the request body are malformed","details":{".receiver.contacts[0].identifierValue":["+447700900123 is not a valid phone number"],".receiver.contacts[0]":["contact could not be resolved"]}}`,
			"InvalidPayload", "One or more fields provided in the request body are malformed (.receiver.contacts[0]: contact could not be resolved; .receiver.contacts[0].identifierValue: *** is not a valid phone number)", false,
		},
		{
			"bad access key", 401,
			`{"code":"Unauthorized","message":"The request is not authenticated"}`,
			"Unauthorized", "The request is not authenticated", false,
		},
		{
			"key without the role", 403,
			`{"code":"Forbidden","message":"Access denied to the requested resource"}`,
			"Forbidden", "Access denied to the requested resource", false,
		},
		{
			"channel not in the workspace", 404,
			`{"code":"NotFound","message":"The requested resource was not found"}`,
			"NotFound", "The requested resource was not found", false,
		},
		{
			"channel not active", 409,
			`{"code":"ChannelNotActive","message":"Creating the message was not possible because of conflicting conditions"}`,
			"ChannelNotActive", "Creating the message was not possible because of conflicting conditions", false,
		},
		{
			"details that are not a map", 422,
			`{"code":"InvalidPayload","message":"Bad request","details":"receiver"}`,
			"InvalidPayload", "Bad request", false,
		},
		{
			"rate limited", 429,
			`{"code":"TooManyRequests","message":"Too many requests"}`,
			"TooManyRequests", "Too many requests", true,
		},
		{
			"server error", 500,
			`{"code":"InternalError","message":"An internal error occurred"}`,
			"InternalError", "An internal error occurred", true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(tc.status, "application/json", tc.answer))
			s := &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: f.URL}
			err := s.SendSMS(t.Context(), msg)
			e := requireSafe(t, err, "bird")
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
			require.Equal(t, tc.temporary, e.Temporary)
		})
	}
}

func TestBirdAccessKeyNeverShows(t *testing.T) {
	f := newFake(t, answer(401, "application/json",
		`{"code":"Unauthorized","message":"AccessKey mb-live-access-key-5ecret is not valid"}`))
	s := &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: f.URL}
	err := s.SendSMS(t.Context(), msg)
	requireSafe(t, err, "bird")
	require.EqualError(t, err, "sms: bird: HTTP 401: code Unauthorized: AccessKey *** is not valid")
}
