package authkit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// SMS codes: SECURITY 11, 13-15.

// SECURITY 13, 14: CodeLength digits, kept only as a keyed hash bound to
// the number, living CodeLifetime.
func TestCodeShapeAndStorage(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555555", phonePassword, nil).status)
	code := h.code("+15555555555")
	require.Regexp(t, `^\d{6}$`, code)

	tok, err := h.store.LatestToken(context.Background(), authkit.PurposeConfirmPhone, "+15555555555", h.clock.Now())
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{64}$`, tok.Hash)
	require.NotEqual(t, sha256Hex(code), tok.Hash, "a code is kept as a keyed HMAC, not a plain hash")
	require.NotContains(t, tok.Hash, code)
	require.Equal(t, 5*time.Minute, tok.ExpiresAt.Sub(tok.CreatedAt))
	require.Zero(t, tok.Attempts)

	h8 := newPhoneHarness(t, func(c *authkit.Config) { c.CodeLength = 8 })
	require.Equal(t, http.StatusOK, h8.signUpPhone("+15555555555", phonePassword, nil).status)
	require.Regexp(t, `^\d{8}$`, h8.code("+15555555555"))
}

// zeroReader is a randomness source of zero bytes only.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// SECURITY 13: the code comes from Config.Rand, leading zeros kept.
func TestCodeKeepsLeadingZeros(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	zeros := false
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.Rand = readerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			if zeros {
				return zeroReader{}.Read(p)
			}
			return rand.Read(p)
		})
	})
	mu.Lock()
	zeros = true
	mu.Unlock()
	// The sign-up's code, texted while the caller waits, is drawn from
	// Rand; the courier's are derived from the secret (courier.go).
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555555", phonePassword, nil).status)
	require.Equal(t, "000000", h.code("+15555555555"))
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// SECURITY 15: 50 parallel uses of the right code, exactly one success.
func TestCodeSingleUseUnderConcurrency(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555501", phonePassword, nil).status)
	confirm := h.code("+15555555501")
	require.Equal(t, 1, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+phoneQuery("verify-phone", "+15555555501", confirm), "")
	}))

	h.phoneUser("+15555555502", phonePassword)
	h.post(phoneQuery("send-code", "+15555555502", ""), nil, "")
	signIn := h.code("+15555555502")
	require.Equal(t, 1, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+phoneQuery("signin-code", "+15555555502", signIn), "")
	}))

	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", "+15555555502", ""), nil, "")
	reset := h.code("+15555555502")
	require.Equal(t, 1, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+phoneQuery("reset-pwd-code", "+15555555502", reset), `{"newPassword":"a new long password"}`)
	}))
}

// SECURITY 13: at most CodeMaxAttempts tries, the right one included; then
// the code is dead.
func TestCodeDiesAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	h.phoneUser("+15555555501", phonePassword)
	h.phoneUser("+15555555502", phonePassword)

	h.post(phoneQuery("send-code", "+15555555501", ""), nil, "")
	code := h.code("+15555555501")
	for range 5 {
		requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555501", wrongCode(code)), nil, ""), http.StatusBadRequest, "invalid_code")
	}
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555501", code), nil, ""), http.StatusBadRequest, "invalid_code")

	// Four wrong tries leave the fifth to the right code.
	h.post(phoneQuery("send-code", "+15555555502", ""), nil, "")
	code = h.code("+15555555502")
	for range 4 {
		requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555502", wrongCode(code)), nil, ""), http.StatusBadRequest, "invalid_code")
	}
	require.Equal(t, http.StatusOK, h.post(phoneQuery("signin-code", "+15555555502", code), nil, "").status)

	// Tries racing each other are counted alike: of 50 wrong guesses and
	// the right code after them, none gets through.
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-code", "+15555555502", ""), nil, "")
	code = h.code("+15555555502")
	require.Zero(t, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+phoneQuery("signin-code", "+15555555502", wrongCode(code)), "")
	}))
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555502", code), nil, ""), http.StatusBadRequest, "invalid_code")
}

func TestCodeOnlyTheNewestWorks(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	h.phoneUser("+15555555555", phonePassword)
	h.post(phoneQuery("send-code", "+15555555555", ""), nil, "")
	first := h.code("+15555555555")
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-code", "+15555555555", ""), nil, "")
	second := h.code("+15555555555")
	if first != second { // one chance in a million that they are the same
		requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555555", first), nil, ""), http.StatusBadRequest, "invalid_code")
	}
	require.Equal(t, http.StatusOK, h.post(phoneQuery("signin-code", "+15555555555", second), nil, "").status)
}

// SECURITY 13: a code works only for its purpose and number.
func TestCodeBoundToPurposeAndNumber(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	h.phoneUser("+15555555501", phonePassword)
	h.phoneUser("+15555555502", phonePassword)
	h.post(phoneQuery("send-code", "+15555555501", ""), nil, "")
	h.post(phoneQuery("send-code", "+15555555502", ""), nil, "")
	code1, code2 := h.code("+15555555501"), h.code("+15555555502")

	a := h.post(phoneQuery("reset-pwd-code", "+15555555501", code1), map[string]any{"newPassword": "a new long password"}, "")
	requireStatusCode(t, a, http.StatusBadRequest, "invalid_code")
	requireStatusCode(t, h.post(phoneQuery("verify-phone", "+15555555501", code1), nil, ""), http.StatusBadRequest, "invalid_code")
	if code1 != code2 {
		requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555502", code1), nil, ""), http.StatusBadRequest, "invalid_code")
	}
	in := h.post(phoneQuery("signin-code", "+15555555501", code1), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, "+15555555501", in.user()["phone"])
	require.Equal(t, http.StatusOK, h.post(phoneQuery("signin-code", "+15555555502", code2), nil, "").status)
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555501", phonePassword).status, "the password is as it was")
}

func TestCodeExpires(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555501", phonePassword, nil).status)
	confirm := h.code("+15555555501")
	h.clock.Advance(5 * time.Minute)
	requireStatusCode(t, h.post(phoneQuery("verify-phone", "+15555555501", confirm), nil, ""), http.StatusBadRequest, "invalid_code")

	h.phoneUser("+15555555502", phonePassword)
	h.post(phoneQuery("send-code", "+15555555502", ""), nil, "")
	code := h.code("+15555555502")
	h.clock.Advance(5*time.Minute - time.Millisecond)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("signin-code", "+15555555502", code), nil, "").status)
}

// SECURITY 11: at least CodeResendGap between texts to one number, also
// when many ask at once.
func TestCodeResendGap(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	h.phoneUser("+15555555555", phonePassword)
	send := func(route string) answer {
		a := h.post(phoneQuery(route, "+15555555555", ""), nil, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		return a
	}
	send("send-code")
	first := h.code("+15555555555")
	h.clock.Advance(59 * time.Second)
	send("send-code")
	send("send-reset-code")
	h.noMail("+15555555555")

	h.clock.Advance(time.Second)
	send("send-reset-code")
	h.code("+15555555555")
	// The skipped sends left the first code working.
	require.Equal(t, http.StatusOK, h.post(phoneQuery("signin-code", "+15555555555", first), nil, "").status)

	h.clock.Advance(time.Minute)
	require.Equal(t, 50, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+phoneQuery("send-code", "+15555555555", ""), "")
	}))
	h.code("+15555555555")
	h.noMail("+15555555555")
}

func TestInputBadCodes(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	h.phoneUser("+15555555501", phonePassword)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555502", phonePassword, nil).status)
	confirm := h.code("+15555555502")
	h.post(phoneQuery("send-code", "+15555555501", ""), nil, "")
	signIn := h.code("+15555555501")
	h.clock.Advance(60e9)
	h.post(phoneQuery("send-reset-code", "+15555555501", ""), nil, "")
	reset := h.code("+15555555501")

	codes := []struct{ name, code string }{
		{"empty", ""},
		{"letters", "abcdef"},
		{"a letter among digits", "12a456"},
		{"five digits", "12345"},
		{"seven digits", "1234567"},
		{"1000 digits", strings.Repeat("1", 1000)},
		{"spaces", "123 456"},
		{"leading space", " 12345"},
		{"sign", "-12345"},
		{"plus", "+12345"},
		{"decimal", "1234.5"},
		{"fullwidth digits", "１２３４５６"},
		{"NUL", "12345\x00"},
	}
	routes := []struct {
		route, phone string
		body         any
	}{
		{"signin-code", "+15555555501", nil},
		{"verify-phone", "+15555555502", nil},
		{"reset-pwd-code", "+15555555501", map[string]any{"newPassword": "a new long password"}},
	}
	for _, r := range routes {
		t.Run(r.route, func(t *testing.T) {
			for _, c := range codes {
				t.Run(c.name, func(t *testing.T) {
					path := api + r.route + "?phone=" + url.QueryEscape(r.phone) + "&code=" + url.QueryEscape(c.code)
					requireStatusCode(t, h.post(path, r.body, ""), http.StatusBadRequest, "invalid_code")
				})
			}
			// No code parameter at all.
			requireStatusCode(t, h.post(api+r.route+"?phone="+url.QueryEscape(r.phone), r.body, ""), http.StatusBadRequest, "invalid_code")
		})
	}
	// Malformed codes spent no tries: each real code still works.
	a := h.post(phoneQuery("reset-pwd-code", "+15555555501", reset), map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("verify-phone", "+15555555502", confirm), nil, "").status)
	// The reset voided the sign-in code.
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555501", signIn), nil, ""), http.StatusBadRequest, "invalid_code")
}

// failingSender refuses every text, and keeps the ones it was given.
type failingSender struct {
	mu     sync.Mutex
	bodies []string
}

func (f *failingSender) SendSMS(_ context.Context, m authkit.SMS) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, m.Body)
	return errors.New("provider said no (status 400)")
}

// A provider failure on a route that waits for its text is a 502
// sms_failed; the log says why, without the code or the text.
func TestCodeSMSFailed(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	sender := &failingSender{}
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.SMSSender = sender
		c.Logger = timelessLogger(&logs)
	})
	r, err := http.NewRequest(http.MethodPost, h.srv.URL+api+"signup-phone",
		strings.NewReader(`{"phone":"+15555555555","password":"`+phonePassword+`"}`))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	require.NoError(t, err)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusBadGateway, resp.StatusCode, "%s", raw)
	require.Contains(t, string(raw), `"code":"sms_failed"`)
	require.Contains(t, string(raw), `"origin":"server_error"`)
	require.NotContains(t, string(raw), "provider said no")

	h.settle()
	require.Len(t, sender.bodies, 1)
	out := logs.String()
	require.Contains(t, out, "provider said no")
	code := regexp.MustCompile(`\d{6}`).FindString(sender.bodies[0])
	require.NotEmpty(t, code)
	require.NotContains(t, out, code)
	require.NotContains(t, out, sender.bodies[0])
	// The account exists, unconfirmed: the owner asks for a new code.
	requireStatusCode(t, h.signInPhone("+15555555555", phonePassword), http.StatusForbidden, "phone_not_verified")
	require.False(t, bytes.Contains(raw, []byte(code)))
}
