package authkit_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// Cookies and CSRF (SECURITY 23, 24).

// The kit sets one cookie, the OAuth state: no other code of the module
// calls http.SetCookie or writes Set-Cookie. A new cookie must come with
// its own checks in TestCookiesOAuthStateEverywhere.
func TestCookiesOnlyTheOAuthState(t *testing.T) {
	var setters []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(path, "internal/oauthtest/") || strings.HasPrefix(path, "example/") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if s := string(src); strings.Contains(s, "SetCookie") || strings.Contains(s, "Set-Cookie") || strings.Contains(s, "http.Cookie{") {
			setters = append(setters, path)
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, []string{"oauth_handlers.go"}, setters)
}

// requireStateCookie checks one Set-Cookie of the OAuth state over https:
// the __Host- prefix (so Secure, Path=/ and no Domain, which browsers
// enforce for it), HttpOnly, SameSite as given, and a lifetime of at most
// 10 minutes; or, clearing it, the same attributes (a browser ignores a
// __Host- cookie set without them, and would keep the old one) with an
// empty value and Max-Age=0.
func requireStateCookie(t *testing.T, raw string, set bool, sameSite http.SameSite) {
	t.Helper()
	c, err := http.ParseSetCookie(raw)
	require.NoError(t, err, raw)
	require.Equal(t, "__Host-authkit_oauth", c.Name, raw)
	require.True(t, c.Secure, "Secure: %s", raw)
	require.True(t, c.HttpOnly, "HttpOnly: %s", raw)
	require.Equal(t, "/", c.Path, raw)
	require.Empty(t, c.Domain, raw)
	require.Equal(t, sameSite, c.SameSite, raw)
	require.True(t, c.Expires.IsZero(), "Max-Age, not Expires: %s", raw)
	if set {
		require.Equal(t, 600, c.MaxAge, raw)
		require.NotEmpty(t, c.Value, raw)
	} else {
		require.Contains(t, raw, "Max-Age=0", raw)
		require.Empty(t, c.Value, raw)
	}
}

// SECURITY 23: every Set-Cookie of a sign-in with a provider, started,
// ended well, ended badly, with GitHub (SameSite=Lax) and Apple (whose
// callback is a cross-site form POST: SameSite=None, documented in
// oauth_handlers.go), on an https PublicURL.
func TestCookiesOAuthStateEverywhere(t *testing.T) {
	const public = "https://api.example.com"
	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	op.SetClaims(map[string]any{"sub": "001234.apple", "email": "x7k2p9@privaterelay.appleid.com", "email_verified": "true"})
	op.CheckClientSecret(func(string) error { return nil }) // TestOAuthApple checks Apple's secret
	pemKey, _ := appleKey(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{
		"github": oauth2Provider(gh),
		"apple": {ClientID: oauthtest.ClientID, TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKey: pemKey,
			AuthURL: op.AuthURL(), TokenURL: op.TokenURL(), Issuer: op.Issuer(), JWKSURL: op.JWKSURL()},
	}), func(c *authkit.Config) { c.PublicURL = public })
	op.SetNow(h.clock.Now)

	// serve makes a request of the kit at its public URL, with the state
	// cookie if one is given.
	serve := func(method, rawURL string, form url.Values, cookie string) *httptest.ResponseRecorder {
		t.Helper()
		require.True(t, strings.HasPrefix(rawURL, public+"/"), rawURL)
		var r *http.Request
		if form != nil {
			r = httptest.NewRequest(method, rawURL, strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(method, rawURL, nil)
		}
		r.Header.Set("User-Agent", chromeUA)
		if cookie != "" {
			r.Header.Set("Cookie", "__Host-authkit_oauth="+cookie)
		}
		rec := httptest.NewRecorder()
		h.kit.Handler().ServeHTTP(rec, r)
		return rec
	}
	// start opens /_auth/{p}: one cookie, set.
	start := func(p string, sameSite http.SameSite) (authURL, cookie string) {
		t.Helper()
		rec := serve(http.MethodGet, public+"/_auth/"+p, nil, "")
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		raw := rec.Header().Values("Set-Cookie")
		require.Len(t, raw, 1)
		requireStateCookie(t, raw[0], true, sameSite)
		c, err := http.ParseSetCookie(raw[0])
		require.NoError(t, err)
		return rec.Header().Get("Location"), c.Value
	}
	// finish delivers a callback: one cookie, cleared; returns the query
	// of the redirect.
	finish := func(method, rawURL string, form url.Values, cookie string, sameSite http.SameSite) url.Values {
		t.Helper()
		rec := serve(method, rawURL, form, cookie)
		require.Equal(t, http.StatusSeeOther, rec.Code, rec.Body.String())
		raw := rec.Header().Values("Set-Cookie")
		require.Len(t, raw, 1)
		requireStateCookie(t, raw[0], false, sameSite)
		return redirectQuery(t, rec)
	}
	// consent opens the provider's page and returns where it sends the
	// browser back: a GET URL, or a form POST.
	consent := func(authURL string) (string, url.Values) {
		t.Helper()
		hr, err := http.NewRequest(http.MethodGet, authURL, nil)
		require.NoError(t, err)
		resp, err := noRedirects.Do(hr)
		require.NoError(t, err)
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusFound {
			return resp.Header.Get("Location"), nil
		}
		page, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		m := formAction.FindStringSubmatch(string(page))
		require.NotNil(t, m, "%s", page)
		form := url.Values{}
		for _, in := range formInput.FindAllStringSubmatch(string(page), -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return html.UnescapeString(m[1]), form
	}

	t.Run("github signs in", func(t *testing.T) {
		authURL, cookie := start("github", http.SameSiteLaxMode)
		back, _ := consent(authURL)
		q := finish(http.MethodGet, back, nil, cookie, http.SameSiteLaxMode)
		require.Equal(t, "200", q.Get("status"), q.Get("error"))
		require.NotEmpty(t, q.Get("access_token"))
	})
	t.Run("github callback without its cookie", func(t *testing.T) {
		authURL, _ := start("github", http.SameSiteLaxMode)
		back, _ := consent(authURL)
		q := finish(http.MethodGet, back, nil, "", http.SameSiteLaxMode)
		require.Equal(t, "invalid_state", q.Get("error"))
	})
	t.Run("github callback with a forged cookie", func(t *testing.T) {
		finish(http.MethodGet, public+"/_auth/github/callback?state=x&code=y", nil, "forged", http.SameSiteLaxMode)
	})
	t.Run("apple signs in by form POST", func(t *testing.T) {
		authURL, cookie := start("apple", http.SameSiteNoneMode)
		back, form := consent(authURL)
		require.NotNil(t, form, "Apple posts the callback")
		q := finish(http.MethodPost, back, form, cookie, http.SameSiteNoneMode)
		require.Equal(t, "200", q.Get("status"), q.Get("error"))
	})
	t.Run("apple callback refused", func(t *testing.T) {
		finish(http.MethodPost, public+"/_auth/apple/callback", url.Values{"state": {"x"}, "code": {"y"}}, "", http.SameSiteNoneMode)
	})
	t.Run("a provider not configured", func(t *testing.T) {
		rec := serve(http.MethodGet, public+"/_auth/discord", nil, "")
		require.Equal(t, http.StatusSeeOther, rec.Code)
		require.Empty(t, rec.Header().Values("Set-Cookie"), "a sign-in that cannot start binds nothing")
		finish(http.MethodGet, public+"/_auth/discord/callback?state=x", nil, "", http.SameSiteLaxMode)
	})
	// No other route sets a cookie, the email link included.
	for _, path := range []string{"/_auth/verify?key=x", "/_api/rest/v1/auth/grant?key=x", "/_api/rest/v1/auth/user"} {
		require.Empty(t, serve(http.MethodGet, public+path, nil, "").Header().Values("Set-Cookie"), path)
	}
}

// newSessionToken stores a fresh session of the user, as a sign-in would,
// and returns its token.
func newSessionToken(t *testing.T, h *harness, userID string) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := h.clock.Now()
	u, err := h.store.UserByID(context.Background(), userID)
	require.NoError(t, err)
	require.NoError(t, h.store.CreateSession(context.Background(), authkit.Session{
		ID: token[:24], TokenHash: sha256Hex(token), UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
		Stamp: u.Stamp,
	}))
	return token
}

// SECURITY 24: on every unsafe route that takes a session, email and
// phone alike, a session cookie works only from this app's own origin or
// an allowed one; refused, the request changes nothing. A token sent in a
// header is no ambient credential and needs no such check.
func TestCookiesCSRFOnEverySessionRoute(t *testing.T) {
	h := newPhoneHarness(t, generousLimits) // dozens of wrong passwords, on purpose
	h.phoneUser("+15555555501", inputPassword)
	u, err := h.store.UserByPhone(context.Background(), "+15555555501")
	require.NoError(t, err)
	email, verified := "ann@example.com", true
	_, err = h.store.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{Email: &email, EmailVerified: &verified}})
	require.NoError(t, err)
	h.settle()

	// Each route with a body that would do harm (no body signs the
	// session out; the right password changes what it says), and one that
	// is harmless but gets past the CSRF check.
	routes := []struct {
		name           string
		harm, harmless any
		harmlessStatus int
	}{
		{"signout", "", map[string]any{"token": "no-such-session"}, http.StatusNotFound},
		{"signout-all", "", nil, http.StatusOK},
		{"signout-all-except", "", nil, http.StatusOK},
		{"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "a new long password"},
			map[string]any{"oldPassword": "not the password", "newPassword": "a new long password"}, http.StatusForbidden},
		{"change-email", map[string]any{"currentPassword": inputPassword, "newEmail": "mallory@example.com"},
			map[string]any{"currentPassword": "not the password", "newEmail": "mallory@example.com"}, http.StatusForbidden},
		{"change-phone", map[string]any{"currentPassword": inputPassword, "newPhone": "+15555555599"},
			map[string]any{"currentPassword": "not the password", "newPhone": "+15555555599"}, http.StatusForbidden},
	}
	refused := map[string]map[string]string{
		"no Origin nor Sec-Fetch-Site":               nil,
		"a foreign Origin":                           {"Origin": evilOrigin},
		"Origin null":                                {"Origin": "null"},
		"the allowed origin over http":               {"Origin": "http://app.example.com"},
		"the allowed host on another port":           {"Origin": "https://app.example.com:8443"},
		"a look-alike of the allowed origin":         {"Origin": "https://app.example.com.evil.example"},
		"Sec-Fetch-Site cross-site":                  {"Sec-Fetch-Site": "cross-site"},
		"Sec-Fetch-Site same-site":                   {"Sec-Fetch-Site": "same-site"},
		"a foreign Origin, Sec-Fetch-Site same-orig": {"Origin": evilOrigin, "Sec-Fetch-Site": "same-origin"},
	}
	allowed := map[string]map[string]string{
		"the allowed origin":         {"Origin": appOrigin},
		"the kit's own origin":       {"Origin": h.srv.URL},
		"Sec-Fetch-Site same-origin": {"Sec-Fetch-Site": "same-origin"},
	}
	with := func(extra map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range extra {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			for name, header := range refused {
				token := newSessionToken(t, h, u.ID)
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harm,
					header: with(header, "Cookie", authkit.SessionCookie+"="+token)})
				requireStatusCode(t, a, http.StatusForbidden, "origin_not_allowed")
				// The session lives on; the password, email and phone are
				// as they were.
				require.Equal(t, http.StatusOK, h.get(api+"user", token).status, name)
			}
			for name, header := range allowed {
				token := newSessionToken(t, h, u.ID)
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harmless,
					header: with(header, "Cookie", authkit.SessionCookie+"="+token)})
				require.Equal(t, rt.harmlessStatus, a.status, "%s: %s", name, a.raw)
				require.NotEqual(t, "origin_not_allowed", a.code(), name)
			}
			for name, header := range map[string]map[string]string{
				"Session header":       {"Origin": evilOrigin, "Sec-Fetch-Site": "cross-site"},
				"Authorization Bearer": {"Origin": evilOrigin},
			} {
				token := newSessionToken(t, h, u.ID)
				if name == "Session header" {
					header = with(header, "Session", token)
				} else {
					header = with(header, "Authorization", "Bearer "+token)
				}
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harmless, header: header})
				require.Equal(t, rt.harmlessStatus, a.status, "%s from a foreign origin: %s", name, a.raw)
			}
		})
	}
	in := h.signInPhone("+15555555501", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "the password is unchanged: %s", in.raw)
	me := h.get(api+"user", in.token())
	require.Equal(t, "ann@example.com", me.body["email"])
	require.Equal(t, "+15555555501", me.body["phone"])
	h.noMail("mallory@example.com")
	h.noMail("+15555555599")

	// A safe request with the cookie needs no origin: it changes nothing,
	// and CORS keeps its answer from a foreign page.
	token := newSessionToken(t, h, u.ID)
	a := h.do(req{method: http.MethodGet, path: api + "user", header: map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": evilOrigin}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Empty(t, a.header.Get("Access-Control-Allow-Origin"))

	// The host's own unsafe routes behind RequireSession and LoadSession
	// refuse a foreign cookie request the same way, whatever the method.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for name, mw := range map[string]func(http.Handler) http.Handler{"RequireSession": h.kit.RequireSession, "LoadSession": h.kit.LoadSession} {
			status, _, body := serveHost(t, mw, method, map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": evilOrigin})
			require.Equal(t, http.StatusForbidden, status, "%s %s: %v", name, method, body)
			status, _, body = serveHost(t, mw, method, map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": appOrigin})
			require.Equal(t, http.StatusOK, status, "%s %s: %v", name, method, body)
			require.Equal(t, true, body["hasUser"])
		}
	}
}
