package sms_test

import (
	"net/url"
	"testing"

	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

// vonageSent is Vonage's answer to a message it took.
const vonageSent = `{
  "message-count": "1",
  "messages": [
    {
      "to": "447700900123",
      "message-id": "0C000000217B7F02",
      "status": "0",
      "remaining-balance": "15.53590000",
      "message-price": "0.03330000",
      "network": "23410"
    }
  ]
}`

func TestVonageRequest(t *testing.T) {
	for _, tc := range []struct {
		name, from, wantFrom, body, wantType string
	}{
		{"GSM-7", "App", "App", body, "text"},
		{"GSM-7 extension table", "App", "App", "Code {482913} [€5] | ^ \\ ~", "text"},
		{"GSM-7 accents", "App", "App", "Votre code: 482913. Ça marche, à demain!", "text"},
		{"needs Unicode", "App", "App", "您的验证码是 482913", "unicode"},
		{"number sender", "+447700900000", "447700900000", body, "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(200, "application/json", vonageSent))
			s := &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: tc.from, BaseURL: f.URL}
			m := msg
			m.Body = tc.body
			require.NoError(t, s.SendSMS(t.Context(), m))

			r := f.only(t)
			require.Equal(t, "POST", r.method)
			require.Equal(t, "/sms/json", r.path)
			require.False(t, r.basic)
			require.Equal(t, "application/x-www-form-urlencoded", r.header.Get("Content-Type"))
			require.Equal(t, "application/json", r.header.Get("Accept"))
			form, err := url.ParseQuery(string(r.body))
			require.NoError(t, err)
			require.Equal(t, url.Values{
				"api_key":    {apiKey},
				"api_secret": {apiSecret},
				"from":       {tc.wantFrom},
				"to":         {toDigits},
				"text":       {tc.body},
				"type":       {tc.wantType},
			}, form)
		})
	}
}

func TestVonageErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		answer    string
		code      string
		message   string
		temporary bool
	}{
		{
			"bad credentials", 200,
			`{"message-count":"1","messages":[{"status":"4","error-text":"Bad Credentials"}]}`,
			"4", "Bad Credentials", false,
		},
		{
			"missing params", 200,
			`{"message-count":"1","messages":[{"status":"2","error-text":"Missing to param"}]}`,
			"2", "Missing to param", false,
		},
		{
			"invalid number, quoted", 200,
			`{"message-count":"1","messages":[{"to":"447700900123","status":"3","error-text":"Invalid to address: 447700900123"}]}`,
			"3", "Invalid to address: ***", false,
		},
		{
			"no credit", 200,
			`{"message-count":"1","messages":[{"to":"447700900123","status":"9","error-text":"Partner quota exceeded"}]}`,
			"9", "Partner quota exceeded", false,
		},
		{
			"throttled", 200,
			`{"message-count":"1","messages":[{"to":"447700900123","status":"1","error-text":"Throughput Rate Exceeded - please wait [ 30 ] and retry"}]}`,
			"1", "Throughput Rate Exceeded - please wait [ 30 ] and retry", true,
		},
		{
			"internal error", 200,
			`{"message-count":"1","messages":[{"status":"5","error-text":"Internal Error"}]}`,
			"5", "Internal Error", true,
		},
		{
			"status as a number", 200,
			`{"messages":[{"status":2,"error-text":"Missing from param"}]}`,
			"2", "Missing from param", false,
		},
		{
			"second part refused", 200,
			`{"message-count":"2","messages":[` +
				`{"to":"447700900123","message-id":"0C000000217B7F02","status":"0"},` +
				`{"to":"447700900123","status":"9","error-text":"Partner quota exceeded"}]}`,
			"9", "Partner quota exceeded", false,
		},
		{
			// A retry would send part 1 again: not temporary.
			"second part throttled", 200,
			`{"message-count":"2","messages":[` +
				`{"to":"447700900123","message-id":"0C000000217B7F02","status":"0","remaining-balance":"15.53590000","message-price":"0.03330000","network":"23410"},` +
				`{"to":"447700900123","status":"1","error-text":"Throughput Rate Exceeded - please wait [ 30 ] and retry"}]}`,
			"1", "Throughput Rate Exceeded - please wait [ 30 ] and retry", false,
		},
		{
			// Vonage lists the parts in order, but the rule holds for any:
			// once one went out, nothing is temporary.
			"first part throttled, second accepted", 200,
			`{"message-count":"2","messages":[` +
				`{"to":"447700900123","status":"1","error-text":"Throttled"},` +
				`{"to":"447700900123","message-id":"0C000000217B7F03","status":"0"}]}`,
			"1", "Throttled", false,
		},
		{
			"every part throttled", 200,
			`{"message-count":"2","messages":[` +
				`{"to":"447700900123","status":"1","error-text":"Throttled"},` +
				`{"to":"447700900123","status":"1","error-text":"Throttled"}]}`,
			"1", "Throttled", true,
		},
		{
			"error with a non-200 status", 401,
			`{"type":"https://developer.vonage.com/api-errors#unauthorized","title":"Unauthorized","detail":"You did not provide correct credentials."}`,
			"", "Unauthorized", false,
		},
		{
			"rate limited", 429,
			`{"message-count":"1","messages":[{"status":"1","error-text":"Throttled"}]}`,
			"1", "Throttled", true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(tc.status, "application/json", tc.answer))
			s := &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: f.URL}
			err := s.SendSMS(t.Context(), msg)
			e := requireSafe(t, err, "vonage")
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.code, e.Code)
			require.Equal(t, tc.message, e.Message)
			require.Equal(t, tc.temporary, e.Temporary)
		})
	}
}

func TestVonageUnreadableAnswer(t *testing.T) {
	// A 200 that does not say what happened is an error, but not a
	// temporary one: the message may have gone out.
	for _, tc := range []struct{ name, answer, want string }{
		{"not JSON", "<html>OK</html>", "sms: vonage: HTTP 200: unreadable answer"},
		{"no parts", `{"message-count":"0","messages":[]}`, "sms: vonage: HTTP 200: unreadable answer"},
		{"part without status", `{"message-count":"1","messages":[{"to":"447700900123"}]}`, "sms: vonage: HTTP 200: answer without a message status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, answer(200, "application/json", tc.answer))
			s := &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: f.URL}
			err := s.SendSMS(t.Context(), msg)
			e := requireSafe(t, err, "vonage")
			require.False(t, e.Temporary)
			require.EqualError(t, err, tc.want)
		})
	}
}
