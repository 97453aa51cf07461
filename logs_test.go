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
