package sms_test

import (
	"net/url"
	"testing"

	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

// twilioQueued is Twilio's 201 answer to a new message.
const twilioQueued = `{
  "account_sid": "AC0123456789abcdef0123456789abcdef",
  "api_version": "2010-04-01",
  "body": "Your App sign-in code is 482913. It works for 5 minutes.",
  "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
  "date_sent": null,
  "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
  "direction": "outbound-api",
  "error_code": null,
  "error_message": null,
  "from": "+15017122661",
  "messaging_service_sid": null,
  "num_media": "0",
  "num_segments": "1",
  "price": null,
  "price_unit": "USD",
  "sid": "SM1f0e8ae6ade43cb3c0ce4525424e404f",
  "status": "queued",
  "subresource_uris": {"media": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f/Media.json"},
  "to": "+447700900123",
  "uri": "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1f0e8ae6ade43cb3c0ce4525424e404f.json"
}`

func TestTwilioRequest(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sender     sms.Twilio
		want       url.Values
		user, pass string // the basic auth
	}{
		{
			"From",
			sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "+15017122661"},
			url.Values{"To": {to}, "From": {"+15017122661"}, "Body": {body}},
			sid, authToken,
		},
		{
			"MessagingServiceSID",
			sms.Twilio{AccountSID: sid, AuthToken: authToken, MessagingServiceSID: "MG0123456789abcdef0123456789abcdef"},
			url.Values{"To": {to}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {body}},
			sid, authToken,
		},
		{
			// An API key: the key's SID is the user, the URL still names
			// the account.
			"API key",
			sms.Twilio{AccountSID: sid, APIKeySID: keySID, APIKeySecret: keySecret, From: "+15017122661"},
			url.Values{"To": {to}, "From": {"+15017122661"}, "Body": {body}},
			keySID, keySecret,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(201, "application/json", twilioQueued))
			s := tc.sender
			s.BaseURL = f.URL
			require.NoError(t, s.SendSMS(t.Context(), msg))

			r := f.only(t)
			require.Equal(t, "POST", r.method)
			require.Equal(t, "/2010-04-01/Accounts/"+sid+"/Messages.json", r.path)
			require.True(t, r.basic)
			require.Equal(t, tc.user, r.user)
			require.Equal(t, tc.pass, r.pass)
			require.Equal(t, "application/x-www-form-urlencoded", r.header.Get("Content-Type"))
			require.Equal(t, "application/json", r.header.Get("Accept"))
			form, err := url.ParseQuery(string(r.body))
			require.NoError(t, err)
			require.Equal(t, tc.want, form)
		})
	}
}

func TestTwilioUnicodeBodyGoesAsIs(t *testing.T) {
	f := newFake(t, answer(201, "application/json", twilioQueued))
	s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: f.URL}
	m := msg
	m.Body = "Ваш код: 482913 ✓"
	require.NoError(t, s.SendSMS(t.Context(), m))
	form, err := url.ParseQuery(string(f.only(t).body))
	require.NoError(t, err)
	require.Equal(t, m.Body, form.Get("Body"))
}

func TestTwilioAcceptedWhateverTheBody(t *testing.T) {
	// A 2xx means Twilio took the message: an odd body must not make the
	// caller send it again.
	f := newFake(t, answer(201, "text/plain", "not json"))
	s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: f.URL}
	require.NoError(t, s.SendSMS(t.Context(), msg))
}

func TestTwilioErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		answer    string
		code      string
		message   string
		temporary bool
	}{
		{
			"bad credentials", 401,
			`{"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authenticate", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`,
			"20003", "Authenticate", false,
		},
		{
			"invalid number", 400,
			`{"code": 21211, "message": "The 'To' number +447700900123 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			"21211", "The 'To' number *** is not a valid phone number.", false,
		},
		{
			"number formatted otherwise", 400,
			`{"code": 21211, "message": "The 'To' number +44 7700 900123 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`,
			"21211", "The 'To' number *** is not a valid phone number.", false,
		},
		{
			"unsubscribed", 400,
			`{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}`,
			"21610", "Attempt to send to unsubscribed recipient", false,
		},
		{
			"body echoed", 400,
			`{"code": 30007, "message": "Blocked: Your App sign-in code is 482913. It works for 5 minutes.", "status": 400}`,
			"30007", "Blocked: ***", false,
		},
		{
			"control characters", 400,
			"{\"code\": 21408, \"message\": \"Permission to send an SMS has not been enabled\\nfor the region\\u001b[31m\", \"status\": 400}",
			"21408", "Permission to send an SMS has not been enabled for the region [31m", false,
		},
		{
			// The From number's queue holds more than 10 hours of
			// messages: it drains by itself, so later works.
			"sender queue full", 400,
			`{"code": 21611, "message": "This 'From' number has exceeded the maximum number of queued messages", "more_info": "https://www.twilio.com/docs/errors/21611", "status": 400}`,
			"21611", "This 'From' number has exceeded the maximum number of queued messages", true,
		},
		{
			"rate limited", 429,
			`{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}`,
			"20429", "Too Many Requests", true,
		},
		{
			"server error", 500,
			`{"code": 20500, "message": "Internal Server Error", "more_info": "https://www.twilio.com/docs/errors/20500", "status": 500}`,
			"20500", "Internal Server Error", true,
		},
		{
			"service unavailable, not JSON", 503,
			`<html><body>Service Unavailable</body></html>`,
			"", "", true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(tc.status, "application/json", tc.answer))
			s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "+15017122661", BaseURL: f.URL}
			err := s.SendSMS(t.Context(), msg)
			e := requireSafe(t, err, "twilio")
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
			require.Equal(t, tc.temporary, e.Temporary)
		})
	}
}

func TestTwilioTokenNeverShows(t *testing.T) {
	// Even a provider that quotes the credentials back is not repeated.
	f := newFake(t, answer(401, "application/json",
		`{"code": 20003, "message": "Token tw-auth-token-5ecret is wrong", "status": 401}`))
	s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: f.URL}
	err := s.SendSMS(t.Context(), msg)
	e := requireSafe(t, err, "twilio")
	require.Equal(t, "Token *** is wrong", e.Message)
	require.Equal(t, "sms: twilio: HTTP 401: code 20003: Token *** is wrong", err.Error())
}

func TestTwilioKeySecretNeverShows(t *testing.T) {
	f := newFake(t, answer(401, "application/json",
		`{"code": 20003, "message": "Secret tw-key-5ecret-0123 is wrong", "status": 401}`))
	s := &sms.Twilio{AccountSID: sid, APIKeySID: keySID, APIKeySecret: keySecret, From: "App", BaseURL: f.URL}
	err := s.SendSMS(t.Context(), msg)
	e := requireSafe(t, err, "twilio")
	require.Equal(t, "Secret *** is wrong", e.Message)
}
