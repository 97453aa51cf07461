package authkit_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/internal/password"
)

// SECURITY 2: an argon2id hash stored with weaker parameters than today's
// is replaced on the next sign-in with the right password, and on no
// other (TestBcryptHashIsUpgraded does it for bcrypt).
func TestWeakArgon2HashIsUpgraded(t *testing.T) {
	h := newHarness(t, generousLimits)
	weak, err := password.Hash(rand.Reader, inputPassword, password.Params{Memory: 8192, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.NoError(t, err)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Email: "wes@example.com", EmailVerified: true, PasswordHash: weak, SignUpAt: now, LastLoginAt: now,
	}))
	stored := func() string {
		u, err := h.store.UserByEmail(context.Background(), "wes@example.com")
		require.NoError(t, err)
		return u.PasswordHash
	}
	requireStatusCode(t, h.signIn("wes@example.com", "not the password"), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, weak, stored(), "a wrong password upgrades nothing")
	require.Equal(t, http.StatusOK, h.signIn("wes@example.com", inputPassword).status)
	require.Regexp(t, `^\$argon2id\$v=19\$m=19456,t=2,p=1\$`, stored())
	require.Equal(t, http.StatusOK, h.signIn("wes@example.com", inputPassword).status, "the new hash works")
}

// SECURITY 3: a password is taken as typed: any Unicode, spaces at either
// end kept, case kept, 64 characters and more.
func TestPasswordsTakenAsTyped(t *testing.T) {
	h := newHarness(t, generousLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	for i, pw := range []string{
		"  spaced out password  ",
		"pässwörd 🔑 密码 пароль",
		strings.Repeat("0123456789abcdef", 4), // 64
		"Tab\tand\u00a0no-break space",
	} {
		email := "typed" + string(rune('a'+i)) + "@example.com"
		a := h.signUp(email, pw, nil)
		require.Equal(t, http.StatusOK, a.status, "%q: %s", pw, a.raw)
		require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "%q signs in as typed", pw)
		for _, other := range []string{strings.TrimSpace(pw), strings.ToUpper(pw), strings.ToLower(pw), pw + " ", " " + pw} {
			if other != pw {
				requireStatusCode(t, h.signIn(email, other), http.StatusUnauthorized, "invalid_credentials")
			}
		}
	}
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

// A PublicURL or an allowed origin written with its scheme's default port,
// or in capitals, names the origin a browser sends without them (SECURITY
// 24-25): the app's own cookie requests must not be refused for it.
func TestOriginsCompareAsBrowsersWriteThem(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) {
		c.AllowedOrigins = []string{"https://App.Example.com:443"}
		c.EmailConfirmation = authkit.Off
	})
	a := h.signUp("ann@example.com", inputPassword, "Ann")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	token := a.token()
	for _, origin := range []string{"https://app.example.com", "https://APP.example.com"} {
		header := cookieHeader(token)
		header["Origin"] = origin
		a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: header})
		require.Equal(t, http.StatusOK, a.status, "Origin %s: %s", origin, a.raw)
	}
	for _, origin := range []string{"https://app.example.com:8443", "http://app.example.com"} {
		header := cookieHeader(token)
		header["Origin"] = origin
		a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: header})
		require.Equal(t, http.StatusForbidden, a.status, "Origin %s: %s", origin, a.raw)
	}

	// The kit's own origin, configured with its default port.
	k, err := authkit.New(func() authkit.Config {
		c := validConfig()
		c.PublicURL = "https://API.example.com:443/auth"
		c.EmailConfirmation = authkit.Off
		return c
	}())
	require.NoError(t, err)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, api+"signup-email", strings.NewReader(`{"email":"bo@example.com","password":"`+inputPassword+`"}`))
	r.Header.Set("Content-Type", "application/json")
	k.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	var signedUp struct{ Session struct{ Token string } }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &signedUp))
	w = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodPost, api+"signout-all-except", nil)
	r.AddCookie(&http.Cookie{Name: "session_token", Value: signedUp.Session.Token})
	r.Header.Set("Origin", "https://api.example.com")
	k.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, "the kit's own origin: %s", w.Body)
}

// A JSON escape that decodes to U+FFFD (a lone surrogate) loses the
// character it stood for; two such passwords would be one.
func TestPasswordWithLostCharacterRefused(t *testing.T) {
	h := newHarness(t)
	a := h.do(req{method: http.MethodPost, path: api + "signup-email",
		body: `{"email":"ann@example.com","password":"correct horse \ud800 battery"}`})
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
	require.Equal(t, "bad_request", a.code())
}
