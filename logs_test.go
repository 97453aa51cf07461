package authkit_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// SECURITY 36: the email flows log who did what from where, and never a
// password, token, link key or grant key.
func TestLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	h := newHarness(t, func(c *authkit.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	secrets := []string{"correct horse battery", "a new long password", "an even newer password"}
	tok := h.confirmedUser("wes@example.com", secrets[0])
	secrets = append(secrets, tok)
	require.Equal(t, "invalid_credentials", h.signIn("wes@example.com", "wrong password here").code())
	h.post(api+"send-magic?email=wes@example.com", nil, "")
	magic := h.link("wes@example.com")
	q := h.follow(magic)
	g := h.grant(q.Get("access_token"))
	secrets = append(secrets, keyOf(magic), q.Get("access_token"), g.token())
	h.post(api+"send-reset?email=wes@example.com", nil, "")
	reset := h.link("wes@example.com")
	secrets = append(secrets, keyOf(reset))
	h.post(api+"reset-pwd?key="+keyOf(reset), map[string]any{"newPassword": secrets[1]}, "")
	in := h.signIn("wes@example.com", secrets[1]).token()
	secrets = append(secrets, in)
	h.post(api+"change-pwd", map[string]any{"oldPassword": secrets[1], "newPassword": secrets[2]}, in)
	h.post(api+"signout", nil, in)
	h.settle()

	out := logs.String()
	for _, event := range []string{"sign-up", "sign-in", "sign-in failed", "password reset", "password changed", "signed out"} {
		require.Contains(t, out, `"msg":"authkit: `+event+`"`)
	}
	require.Contains(t, out, `"ip":"127.0.0.1"`)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.False(t, strings.Contains(out, s), "the logs hold a secret: %s", s)
	}
}

// SECURITY 36: the phone flows log who did what from where, and never a
// password, session token or SMS code.
func TestLogsHoldNoCodes(t *testing.T) {
	var logs syncBuffer
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Logger = timelessLogger(&logs) })
	const phone = "+15555555555"
	secrets := []string{"correct horse battery", "a new long password", "an even newer password"}
	require.Equal(t, http.StatusOK, h.signUpPhone(phone, secrets[0], nil).status)
	confirm := h.code(phone)
	requireStatusCode(t, h.post(phoneQuery("verify-phone", phone, wrongCode(confirm)), nil, ""), http.StatusBadRequest, "invalid_code")
	v := h.post(phoneQuery("verify-phone", phone, confirm), nil, "")
	secrets = append(secrets, confirm, v.token())
	require.Equal(t, "invalid_credentials", h.signInPhone(phone, "wrong password here").code())
	in := h.signInPhone(phone, secrets[0]).token()
	secrets = append(secrets, in)

	h.post(phoneQuery("send-code", phone, ""), nil, "")
	signIn := h.code(phone)
	byCode := h.post(phoneQuery("signin-code", phone, signIn), nil, "").token()
	secrets = append(secrets, signIn, byCode)

	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", phone, ""), nil, "")
	reset := h.code(phone)
	h.post(phoneQuery("reset-pwd-code", phone, reset), map[string]any{"newPassword": secrets[1]}, "")
	secrets = append(secrets, reset)

	tok := h.signInPhone(phone, secrets[1]).token()
	h.post(api+"change-phone", map[string]any{"currentPassword": secrets[1], "newPhone": "+15555555556"}, tok)
	change := h.code("+15555555556")
	h.post(phoneQuery("verify-phone", "+15555555556", change), nil, "")
	secrets = append(secrets, tok, change)
	h.settle()

	out := logs.String()
	for _, event := range []string{"sign-up", "phone confirmed", "sign-in", "sign-in failed", "sign-in by code", "code refused", "code texted", "password reset", "phone changed"} {
		require.Contains(t, out, `"msg":"authkit: `+event+`"`)
	}
	require.Contains(t, out, `"ip":"127.0.0.1"`)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.False(t, strings.Contains(out, s), "the logs hold a secret: %s", s)
	}
}

// timelessLogger logs everything as JSON to w, without the time: its
// nanoseconds could hold a 6-digit code by chance.
func timelessLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

func keyOf(link string) string { return strings.SplitN(link, "key=", 2)[1] }

// A User-Agent of 100 KB, sent to every route, makes no log line over
// 1 KB: the kit keeps the first 512 bytes of it, for its logs and its
// sessions alike, on the API, the email links and the OAuth routes.
func TestHugeUserAgentLogsNoHugeLine(t *testing.T) {
	var logs syncBuffer
	gh := oauthtest.NewGitHub(t)
	h := newPhoneHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}), func(c *authkit.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Limits.FailedSignIns = authkit.Rate{Max: 2, Per: time.Hour} // so that a limit logs too
	})
	huge := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 100<<10/32)
	session := h.confirmedUser("ann@example.com", "correct horse battery")
	h.settle()

	const pw, phone = "correct horse battery", "+15555555555"
	calls := []req{
		{method: http.MethodPost, path: api + "signup-email", body: map[string]any{"email": "bob@example.com", "password": pw}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": pw}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodGet, path: api + "grant?key=no-such-key"},
		{method: http.MethodPost, path: api + "send-magic?email=ann@example.com"},
		{method: http.MethodPost, path: api + "send-reset?email=ann@example.com"},
		{method: http.MethodPost, path: api + "reset-pwd?key=no-such-key", body: map[string]any{"newPassword": pw}},
		{method: http.MethodPost, path: api + "resend?email=bob@example.com"},
		{method: http.MethodGet, path: api + "user", token: session},
		{method: http.MethodGet, path: api + "sessions", token: session},
		{method: http.MethodPost, path: api + "change-pwd", body: map[string]any{"oldPassword": "wrong password", "newPassword": pw + "!"}, token: session},
		{method: http.MethodPost, path: api + "change-email", body: map[string]any{"currentPassword": "wrong password", "newEmail": "ann2@example.com"}, token: session},
		{method: http.MethodPost, path: api + "signup-phone", body: map[string]any{"phone": phone, "password": pw}},
		{method: http.MethodPost, path: api + "signin-phone", body: map[string]any{"phone": phone, "password": "wrong password"}},
		{method: http.MethodPost, path: phoneQuery("verify-phone", phone, "000000")},
		{method: http.MethodPost, path: phoneQuery("resend-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("send-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("signin-code", phone, "000000")},
		{method: http.MethodPost, path: phoneQuery("send-reset-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("reset-pwd-code", phone, "000000"), body: map[string]any{"newPassword": pw}},
		{method: http.MethodPost, path: api + "change-phone", body: map[string]any{"currentPassword": "wrong password", "newPhone": "+15555555556"}, token: session},
		{method: http.MethodGet, path: "/_auth/verify?key=no-such-key"},
		{method: http.MethodGet, path: "/_auth/nope"},
		{method: http.MethodGet, path: "/_auth/github/callback?state=forged&code=x"},
		{method: http.MethodGet, path: "/no/such/route"},
		{method: http.MethodPost, path: api + "signout-all-except", token: session},
		{method: http.MethodPost, path: api + "signout-all", token: session},
	}
	for _, c := range calls {
		c.header = map[string]string{"User-Agent": huge}
		h.do(c)
	}
	b := h.browser()
	b.userAgent = huge
	require.Equal(t, "200", b.signIn("github").Get("status"))
	h.settle()

	out := logs.String()
	for _, want := range []string{"sign-up", "sign-in", "sign-in failed", "too many requests", "oauth sign-in failed", "oauth sign-up", "code refused"} {
		require.Contains(t, out, `"msg":"authkit: `+want+`"`)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines {
		require.LessOrEqual(t, len(line), 1024, "a log line of %d bytes: %.200s…", len(line), line)
	}
	require.Contains(t, out, huge[:512], "the logs keep the start of the user agent")
}
