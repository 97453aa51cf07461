package sms_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sms"
	"github.com/stretchr/testify/require"
)

// The values a failure must never show.
const (
	to        = "+447700900123"
	toDigits  = "447700900123"
	code      = "482913"
	body      = "Your App sign-in code is " + code + ". It works for 5 minutes."
	sid       = "AC0123456789abcdef0123456789abcdef"
	authToken = "tw-auth-token-5ecret"
	keySID    = "SK0123456789abcdef0123456789abcdef"
	keySecret = "tw-key-5ecret-0123"
	accessKey = "mb-live-access-key-5ecret"
	workspace = "2d7a9f8e-5b3c-4e1a-9f0d-6c8b7a5e4d3c"
	channel   = "8e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b"
	apiKey    = "vg-key-1"
	apiSecret = "vg-api-5ecret"
)

var msg = authkit.SMS{To: to, Body: body}

// provider makes each sender for the cases every sender must pass.
type provider struct {
	name   string
	sender func(baseURL string, timeout time.Duration) authkit.SMSSender
}

var providers = []provider{
	{"twilio", func(u string, d time.Duration) authkit.SMSSender {
		return &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "+15017122661", BaseURL: u, Timeout: d}
	}},
	{"messagebird", func(u string, d time.Duration) authkit.SMSSender {
		return &sms.MessageBird{AccessKey: accessKey, Originator: "App", BaseURL: u, Timeout: d}
	}},
	{"bird", func(u string, d time.Duration) authkit.SMSSender {
		return &sms.Bird{AccessKey: accessKey, WorkspaceID: workspace, ChannelID: channel, BaseURL: u, Timeout: d}
	}},
	{"vonage", func(u string, d time.Duration) authkit.SMSSender {
		return &sms.Vonage{APIKey: apiKey, APISecret: apiSecret, From: "App", BaseURL: u, Timeout: d}
	}},
}

// requireSafe checks that err is an *sms.Error of provider and that no
// form of it holds the message, the recipient or a credential.
func requireSafe(t *testing.T, err error, provider string) *sms.Error {
	t.Helper()
	var e *sms.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, provider, e.Provider)
	for _, text := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", e.Message)} {
		for _, secret := range []string{body, code, to, toDigits, "7700900123", authToken, keySecret, accessKey, apiSecret} {
			require.NotContains(t, text, secret)
		}
	}
	return e
}

// fake is a provider's API: it records each request and answers with
// handler.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
	user, pass   string
	basic        bool
}

func newFake(t *testing.T, handler http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rec := recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: b}
		rec.user, rec.pass, rec.basic = r.BasicAuth()
		f.mu.Lock()
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

// only returns the one request the fake got.
func (f *fake) only(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.reqs, 1)
	return f.reqs[0]
}

func (f *fake) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

func answer(status int, contentType, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}
}

func TestFailuresEverySenderReportsAlike(t *testing.T) {
	for _, tc := range []struct {
		name      string
		answer    http.HandlerFunc
		status    int
		temporary bool
	}{
		{"rate limited, plain text", answer(429, "text/plain", "Too Many Requests"), 429, true},
		{"server error, empty", answer(500, "application/json", ""), 500, true},
		{"bad gateway, HTML", answer(502, "text/html", "<html><body>502 Bad Gateway</body></html>"), 502, true},
		{"not found, HTML", answer(404, "text/html", "<h1>Not Found</h1>"), 404, false},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/steal", http.StatusFound)
		}, 302, false},
	} {
		for _, p := range providers {
			t.Run(tc.name+"/"+p.name, func(t *testing.T) {
				f := newFake(t, tc.answer)
				err := p.sender(f.URL, 0).SendSMS(t.Context(), msg)
				e := requireSafe(t, err, p.name)
				require.Equal(t, tc.status, e.Status)
				require.Equal(t, tc.temporary, e.Temporary)
				require.Empty(t, e.Code)
				require.Empty(t, e.Message, "a body that is not the provider's JSON is not shown")
				require.Equal(t, fmt.Sprintf("sms: %s: HTTP %d", p.name, tc.status), err.Error())
				require.Equal(t, 1, f.count())
			})
		}
	}
}

func TestNetworkFailureIsTemporary(t *testing.T) {
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(t, answer(200, "application/json", "{}"))
			f.Close() // nobody listens any more
			err := p.sender(f.URL, 0).SendSMS(t.Context(), msg)
			e := requireSafe(t, err, p.name)
			require.Zero(t, e.Status)
			require.True(t, e.Temporary)
			require.NotContains(t, err.Error(), f.URL, "no URL in the text")
		})
	}
}

func TestTimeoutAndCancel(t *testing.T) {
	// The fake holds each request until the client gives up.
	hold := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	for _, p := range providers {
		t.Run(p.name+"/Timeout", func(t *testing.T) {
			f := newFake(t, hold)
			start := time.Now()
			err := p.sender(f.URL, 50*time.Millisecond).SendSMS(t.Context(), msg)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, time.Since(start), 5*time.Second)
			e := requireSafe(t, err, p.name)
			require.True(t, e.Temporary)
			require.Equal(t, "sms: "+p.name+": context deadline exceeded", err.Error())
		})
		t.Run(p.name+"/ctx deadline", func(t *testing.T) {
			f := newFake(t, hold)
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			defer cancel()
			err := p.sender(f.URL, 0).SendSMS(ctx, msg)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			requireSafe(t, err, p.name)
		})
		t.Run(p.name+"/cancelled in flight", func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				cancel()
				hold(w, r)
			})
			err := p.sender(f.URL, 0).SendSMS(ctx, msg)
			require.ErrorIs(t, err, context.Canceled)
			e := requireSafe(t, err, p.name)
			require.False(t, e.Temporary, "the caller gave up")
			require.Equal(t, 1, f.count())
		})
		t.Run(p.name+"/cancelled before", func(t *testing.T) {
			f := newFake(t, hold)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := p.sender(f.URL, 0).SendSMS(ctx, msg)
			require.ErrorIs(t, err, context.Canceled)
			requireSafe(t, err, p.name)
			require.Zero(t, f.count(), "nothing sent")
		})
	}
}

func TestAnswerIsReadBounded(t *testing.T) {
	// A JSON error whose message never ends: the sender stops reading at
	// 64 KiB, so the JSON is cut and no message is shown.
	huge := `{"code": 1, "message": "` + strings.Repeat("a", 1<<20) + `"}`
	for _, p := range providers {
		t.Run(p.name, func(t *testing.T) {
			f := newFake(t, answer(400, "application/json", huge))
			err := p.sender(f.URL, 0).SendSMS(t.Context(), msg)
			e := requireSafe(t, err, p.name)
			require.Equal(t, 400, e.Status)
			require.Empty(t, e.Message)
			require.Less(t, len(err.Error()), 100)
		})
	}
}

func TestCustomClientIsUsed(t *testing.T) {
	f := newFake(t, answer(201, "application/json", `{"sid":"SM1","status":"queued"}`))
	var used bool
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used = true
		return http.DefaultTransport.RoundTrip(r)
	})}
	s := &sms.Twilio{AccountSID: sid, AuthToken: authToken, From: "App", BaseURL: f.URL, Client: client}
	require.NoError(t, s.SendSMS(t.Context(), msg))
	require.True(t, used)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrorText(t *testing.T) {
	for _, tc := range []struct {
		e    *sms.Error
		want string
	}{
		{&sms.Error{Provider: "twilio", Status: 400, Code: "21211", Message: "The 'To' number *** is not a valid phone number."},
			"sms: twilio: HTTP 400: code 21211: The 'To' number *** is not a valid phone number."},
		{&sms.Error{Provider: "vonage", Status: 200, Code: "4", Message: "Bad Credentials"}, "sms: vonage: HTTP 200: code 4: Bad Credentials"},
		{&sms.Error{Provider: "messagebird", Status: 503}, "sms: messagebird: HTTP 503"},
		{&sms.Error{Provider: "twilio"}, "sms: twilio"},
	} {
		require.EqualError(t, tc.e, tc.want)
		require.NoError(t, errors.Unwrap(tc.e))
	}
}
