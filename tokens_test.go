package authkit_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// SECURITY 15: a grant key and a reset key, used by 50 at once, work once.
func TestOneTimeKeysUnderConcurrency(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.confirmedUser("rex@example.com", "correct horse battery")
	h.post(api+"send-magic?email=rex@example.com", nil, "")
	grantKey := h.follow(h.link("rex@example.com")).Get("access_token")
	h.post(api+"send-reset?email=rex@example.com", nil, "")
	resetKey := h.follow(h.link("rex@example.com")).Get("access_token")

	require.Equal(t, 1, race(func() int { return rawStatus(t, http.MethodGet, h.srv.URL+api+"grant?key="+grantKey, "") }))
	require.Equal(t, 1, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+api+"reset-pwd?key="+resetKey, `{"newPassword":"a new long password"}`)
	}))
}

func TestInputBadKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.confirmedUser("ann@example.com", inputPassword)
	reset := h.resetKey("ann@example.com")

	keys := []struct{ name, key string }{
		{"empty", ""},
		{"unknown", "dW5rbm93bi1rZXktb2YtdGhlLXJpZ2h0LWxlbmd0aC14eA"},
		{"1000 characters", strings.Repeat("k", 1000)},
		{"NUL", "%00"},
		{"path", "..%2F..%2Fetc"},
	}
	for _, k := range keys {
		t.Run("grant "+k.name, func(t *testing.T) {
			requireStatusCode(t, h.grant(k.key), http.StatusBadRequest, "invalid_token")
		})
		t.Run("reset-pwd "+k.name, func(t *testing.T) {
			a := h.post(api+"reset-pwd?key="+k.key, map[string]any{"newPassword": "a brand new password"}, "")
			requireStatusCode(t, a, http.StatusBadRequest, "invalid_token")
		})
		t.Run("link "+k.name, func(t *testing.T) {
			q := h.follow(h.srv.URL + "/_auth/verify?key=" + k.key)
			require.Equal(t, "400", q.Get("status"))
			require.Equal(t, "invalid_token", q.Get("error"))
			require.Empty(t, q.Get("access_token"))
		})
	}
	t.Run("link without key", func(t *testing.T) {
		q := h.follow(h.srv.URL + "/_auth/verify")
		require.Equal(t, "400", q.Get("status"))
		require.Equal(t, "invalid_token", q.Get("error"))
	})
	t.Run("a reset key is no grant key", func(t *testing.T) {
		requireStatusCode(t, h.grant(reset), http.StatusBadRequest, "invalid_token")
		// ... and asking did not spend it.
		a := h.post(api+"reset-pwd?key="+reset, map[string]any{"newPassword": "a brand new password"}, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	})
}

// spoofedCall makes a call whose Host and forwarding headers name another
// site, as an attacker who wants the kit to mail links to it would send.
func spoofedCall(t *testing.T, h *harness, method, path, body string) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(t, err)
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("Forwarded", "host=evil.example;proto=https")
	r.Header.Set("X-Original-URL", "https://evil.example/")
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// SECURITY 17: every link the kit mails, and the redirect URI it gives
// a provider, is built from Config.PublicURL, whatever Host or forwarding
// headers the request that caused it carried. (h.link checks the prefix.)
func TestLinksBuiltFromPublicURL(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, generousLimits, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	require.Equal(t, http.StatusOK, spoofedCall(t, h, "POST", api+"signup-email", `{"email":"ann@example.com","password":"`+inputPassword+`"}`))
	h.link("ann@example.com")
	require.Equal(t, http.StatusOK, spoofedCall(t, h, "POST", api+"resend?email=ann@example.com", ""))
	confirm := h.link("ann@example.com") // the newest confirmation: it voids the first
	tok := h.grant(h.follow(confirm).Get("access_token")).token()
	require.NotEmpty(t, tok)
	for _, route := range []string{"send-magic", "send-reset"} {
		require.Equal(t, http.StatusOK, spoofedCall(t, h, "POST", api+route+"?email=ann@example.com", ""))
		h.link("ann@example.com")
	}
	r, err := http.NewRequest(http.MethodPost, h.srv.URL+api+"change-email", strings.NewReader(`{"currentPassword":"`+inputPassword+`","newEmail":"ann.new@example.com"}`))
	require.NoError(t, err)
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Session", tok)
	resp, err := noRedirects.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	h.link("ann.new@example.com")

	// The OAuth redirect_uri too.
	r, err = http.NewRequest(http.MethodGet, h.srv.URL+"/_auth/github", nil)
	require.NoError(t, err)
	r.Host = "evil.example"
	r.Header.Set("X-Forwarded-Host", "evil.example")
	resp, err = noRedirects.Do(r)
	require.NoError(t, err)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, h.srv.URL+"/_auth/github/callback", loc.Query().Get("redirect_uri"))
}
