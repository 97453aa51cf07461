package authkit_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
)

func TestOAuthUnknownOrUnconfiguredProvider(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	for _, path := range []string{"/_auth/myspace", "/_auth/google", "/_auth/google/callback?code=x&state=y", "/_auth/verify/callback"} {
		t.Run(path, func(t *testing.T) {
			resp, raw := h.browser().send(http.MethodGet, h.srv.URL+path, nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, raw)
			loc, err := url.Parse(resp.Header.Get("Location"))
			require.NoError(t, err)
			require.Equal(t, "app.example.com", loc.Host)
			refused(t, loc.Query(), "404", "provider_not_configured")
		})
	}
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{http.MethodPost, "/_auth/github", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodPost, "/_auth/github/callback", http.StatusMethodNotAllowed, "method_not_allowed"},
		{http.MethodGet, "/_auth/github/other", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/_auth/github/", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/_auth/GitHub", http.StatusNotFound, "not_found"},
		{http.MethodGet, "/_auth/", http.StatusNotFound, "not_found"},
	} {
		a := h.do(req{method: c.method, path: c.path})
		require.Equal(t, c.status, a.status, "%s %s", c.method, c.path)
		require.Equal(t, c.code, a.code(), "%s %s", c.method, c.path)
	}
	// The email links still work beside the providers.
	q := h.follow(h.srv.URL + "/_auth/verify?key=nope")
	require.Equal(t, "invalid_token", q.Get("error"))
}

// Apple's callback takes GET and POST (response_mode=form_post); a wrong
// method is told both.
func TestRoutesAppleCallbackAllowsBoth(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.do(req{method: http.MethodPut, path: "/_auth/apple/callback"})
	requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
	require.Equal(t, "GET, POST", a.header.Get("Allow"))
}

// The state cookie: signed, encrypted, HttpOnly, Path=/, at most 10
// minutes; Secure with the __Host- prefix over https; SameSite=Lax, but
// None for Apple, whose callback is a cross-site form POST.
func TestOAuthStateCookie(t *testing.T) {
	t.Parallel()
	pemKey, _ := appleKey(t)
	for _, tc := range []struct {
		publicURL, provider, name string
		secure                    bool
		sameSite                  http.SameSite
	}{
		{"https://api.example.com", "github", "__Host-authkit_oauth", true, http.SameSiteLaxMode},
		{"https://api.example.com", "apple", "__Host-authkit_oauth", true, http.SameSiteNoneMode},
		{"http://localhost:8080", "github", "authkit_oauth", false, http.SameSiteLaxMode},
		{"http://localhost:8080", "apple", "authkit_oauth", false, http.SameSiteLaxMode},
	} {
		t.Run(tc.publicURL+" "+tc.provider, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			cfg.PublicURL = tc.publicURL
			cfg.Providers = map[string]authkit.OAuthProvider{
				"github": {ClientID: "id", ClientSecret: "secret"},
				"apple":  {ClientID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKey: pemKey},
			}
			kit, err := authkit.New(cfg)
			require.NoError(t, err)
			rec := httptest.NewRecorder()
			kit.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_auth/"+tc.provider, nil))
			require.Equal(t, http.StatusSeeOther, rec.Code)
			loc, err := url.Parse(rec.Header().Get("Location"))
			require.NoError(t, err)
			q := loc.Query()
			require.Equal(t, tc.publicURL+"/_auth/"+tc.provider+"/callback", q.Get("redirect_uri"))
			cookies := rec.Result().Cookies()
			require.Len(t, cookies, 1)
			c := cookies[0]
			require.Equal(t, tc.name, c.Name)
			require.Equal(t, "/", c.Path)
			require.Empty(t, c.Domain)
			require.Equal(t, 600, c.MaxAge)
			require.True(t, c.HttpOnly)
			require.Equal(t, tc.secure, c.Secure)
			require.Equal(t, tc.sameSite, c.SameSite)
			require.NotContains(t, c.Value, q.Get("state"), "the cookie does not show the state")
			if tc.provider == "apple" {
				require.Equal(t, "appleid.apple.com", loc.Host)
				require.Equal(t, "form_post", q.Get("response_mode"))
				require.Equal(t, "name email", q.Get("scope"))
				require.NotEmpty(t, q.Get("nonce"))
			} else {
				require.Equal(t, "github.com", loc.Host)
			}
		})
	}
}

// The kit sets five cookies, the OAuth state (oauth_handlers.go), the
// device cookie (handlers.go), the session cookie (carrier.go), the
// CSRF cookie (csrf.go) and a form sign-in's MFA ticket (forms_mfa.go),
// and gorillaauth sets the attributes of the
// gorilla session cookie that carries a token: no other code of the module
// calls http.SetCookie or writes Set-Cookie (internal/carriertest, a test
// kit, plants cookies in a test browser). A new cookie must come with its
// own checks, as these have in TestCookiesOAuthStateEverywhere,
// TestDeviceCookieAttributes, TestSessionCookieAttributes,
// TestCSRFCookieAttributes, TestFormsMFACookieOverHTTPS and
// gorillaauth's TestCookieAttributes.
func TestCookiesOnlyTheOAuthState(t *testing.T) {
	t.Parallel()
	var setters []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(path, "internal/oauthtest/") || strings.HasPrefix(path, "internal/carriertest/") || strings.HasPrefix(path, "example/") {
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
	require.Equal(t, []string{"carrier.go", "csrf.go", "forms_mfa.go", "gorillaauth/gorillaauth.go", "handlers.go", "oauth_handlers.go"}, setters)
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
	t.Parallel()
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

// FuzzOAuthCallback sends any query, form and state cookie to the OAuth
// callbacks (GitHub's GET, Apple's form POST, Google's, and a provider
// that is not configured). None signs anyone in: each ends at the
// Redirect URL with status and error, and clears the state cookie.
func FuzzOAuthCallback(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	nowhere := "http://127.0.0.1:1" // never reached: no state of the fuzzer's is valid
	kit, _, _ := fuzzKit(f, withProviders(map[string]authkit.OAuthProvider{
		"github": {ClientID: "id", ClientSecret: "secret", AuthURL: nowhere + "/auth", TokenURL: nowhere + "/token", APIURL: nowhere},
		"google": {ClientID: "id", ClientSecret: "secret", AuthURL: nowhere + "/auth", TokenURL: nowhere + "/token", Issuer: nowhere, JWKSURL: nowhere + "/jwks"},
		"apple": {ClientID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567",
			PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
			AuthURL:    nowhere + "/auth", TokenURL: nowhere + "/token", Issuer: nowhere, JWKSURL: nowhere + "/jwks"},
	}))
	providers := []string{"github", "apple", "google", "discord"}
	// A sign-in started for real: its cookie and state pass the first
	// checks, once.
	rec := httptest.NewRecorder()
	kit.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_auth/github", nil))
	started := rec.Result().Cookies()
	if len(started) != 1 {
		f.Fatalf("start set %d cookies", len(started))
	}
	state := redirectState(f, rec.Header().Get("Location"))
	f.Add(uint8(0), "state="+state+"&code=abc", "", started[0].Value, false)
	for i := range providers {
		p := uint8(i)
		for _, s := range []struct{ query, form, cookie string }{
			{"", "", ""}, {"state=x&code=y", "", ""}, {"state=x&code=y", "", "not-a-cookie"},
			{"error=access_denied&state=x", "", started[0].Value}, {"state=" + state + "&code=" + strings.Repeat("c", 300), "", started[0].Value},
			{"state=" + strings.Repeat("s", 300), "", ""}, {"%zz", "%zz", "%zz"}, {"", "state=x&code=y&user=%7B%22name%22%3A%7B%7D%7D", ""},
			{"", "state=" + state + "&code=abc&id_token=a.b.c", started[0].Value}, {"", strings.Repeat("a=b&", 300), ""},
		} {
			f.Add(p, s.query, s.form, s.cookie, false)
			f.Add(p, s.query, s.form, s.cookie, true)
		}
	}
	cookieName := started[0].Name
	f.Fuzz(func(t *testing.T, provider uint8, query, form, cookie string, post bool) {
		name := providers[int(provider)%len(providers)]
		path := "/_auth/" + name + "/callback"
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, path, nil)
		}
		r.URL.RawQuery = query
		r.Header.Set("User-Agent", chromeUA)
		if cookie != "" {
			r.Header.Set("Cookie", cookieName+"="+cookie)
		}
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		what := r.Method + " " + path
		if post && name != "apple" {
			checkAPIAnswer(t, rec, what)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("%s: %d, not 405", what, rec.Code)
			}
			return
		}
		checkRedirect(t, rec, what)
		q := redirectQuery(t, rec)
		if q.Get("access_token") != "" || q.Get("status") == "200" || q.Get("error") == "" || q.Get("action") != "oauth-signin" {
			t.Fatalf("%s: ended with %v", what, q)
		}
		cleared := false
		for _, c := range rec.Result().Cookies() {
			cleared = cleared || (c.Name == cookieName && c.Value == "" && c.MaxAge < 0)
		}
		if !cleared {
			t.Fatalf("%s: the state cookie is not cleared: %v", what, rec.Header().Values("Set-Cookie"))
		}
	})
}

func redirectState(f *testing.F, location string) string {
	u, err := url.Parse(location)
	if err != nil || u.Query().Get("state") == "" {
		f.Fatalf("no state in %q", location)
	}
	return u.Query().Get("state")
}

// One client cannot flood the log with OAuth starts: GET
// /_auth/{provider}, configured or not, counts toward PerIP, and past it
// ends at the Redirect URL with too_many_requests, sealing no state. A
// start writes no row at all, under the limit or past it (SECURITY 53).
// (Found by an adversarial review: ~600 state rows a second.)
func TestOAuthStartsCountPerIP(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	s := newTokenCounter()
	h := newHarness(t, onStore(s, s), withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
		func(c *authkit.Config) { c.Limits.PerIP = authkit.Rate{Max: 5, Per: time.Hour} })
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := func(name string) *http.Response {
		resp, err := client.Get(h.srv.URL + "/_auth/" + name)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	for range 4 {
		require.NotEmpty(t, start("github").Cookies(), "a start sets its state cookie")
	}
	start("discord") // not configured: counted all the same
	resp := start("github")
	require.Empty(t, resp.Cookies(), "no state is made past the limit")
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "too_many_requests", loc.Query().Get("error"))
	require.Equal(t, "429", loc.Query().Get("status"))
	require.Zero(t, s.written(), "no start wrote a row")
}

// tokenCounter is a memstore that counts the tokens it stored, by
// purpose.
type tokenCounter struct {
	*memstore.Store
	mu sync.Mutex
	n  map[authkit.TokenPurpose]int
}

func newTokenCounter() *tokenCounter {
	return &tokenCounter{Store: memstore.New(), n: map[authkit.TokenPurpose]int{}}
}

func (s *tokenCounter) CreateToken(ctx context.Context, t authkit.Token) error {
	err := s.Store.CreateToken(ctx, t)
	if err == nil {
		s.mu.Lock()
		s.n[t.Purpose]++
		s.mu.Unlock()
	}
	return err
}

// written is the number of tokens stored, of the purposes given or, with
// none, of any.
func (s *tokenCounter) written(purposes ...authkit.TokenPurpose) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	total := 0
	for p, n := range s.n {
		if len(purposes) == 0 || slices.Contains(purposes, p) {
			total += n
		}
	}
	return total
}

// SECURITY 53: an unauthenticated request writes no row. Starts of a
// sign-in (as many as PerIP lets through, with every provider) write
// none; callbacks without a sealed state of the kit, or with one that
// does not match, or a replay, write none; a callback with a valid sealed
// state writes one marker, and the sign-in its grant.
func TestOAuthStartsWriteNoRow(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	s := newTokenCounter()
	h := newHarness(t, onStore(s, s), noLimits, withProviders(map[string]authkit.OAuthProvider{
		"github": oauth2Provider(gh), "google": openIDProvider(op),
	}))
	op.SetNow(h.clock.Now)
	for range 50 {
		for _, name := range []string{"github", "google", "discord"} {
			resp, raw := h.browser().send(http.MethodGet, h.srv.URL+"/_auth/"+name, nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, raw)
		}
	}
	require.Zero(t, s.written(), "150 starts wrote nothing")

	// Callbacks that carry no valid sealed state of this browser.
	victim := h.browser()
	cb := victim.consent(victim.start("github"))
	for _, q := range []url.Values{
		h.browser().finish(cb),               // without the cookie
		victim.finish(cb.with("state", "x")), // another state
	} {
		refused(t, q, "400", "invalid_state")
	}
	resp, raw := h.browser().send(http.MethodGet, h.srv.URL+"/_auth/github/callback?state=x&code=y", nil)
	refused(t, h.landed(resp, raw), "400", "invalid_state")
	require.Zero(t, s.written(), "refused callbacks wrote nothing")

	// A sign-in writes its state's marker, once, and its grant.
	b := h.browser()
	cb = b.consent(b.start("github"))
	kitURL, _ := url.Parse(h.srv.URL)
	saved := b.client.Jar.Cookies(kitURL)
	require.Equal(t, "200", b.finish(cb).Get("status"))
	require.Equal(t, 1, s.written(authkit.PurposeOAuthState))
	require.Equal(t, 1, s.written(authkit.PurposeGrant))
	b.client.Jar.SetCookies(kitURL, saved)
	refused(t, b.finish(cb), "400", "invalid_state")
	require.Equal(t, 2, s.written(), "the replay wrote nothing")
}
