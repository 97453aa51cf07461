package authkit_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// requireUserShape checks a user as the seeds show the one of a Google
// sign-in: every field the client casts, and the provider's identity.
func requireUserShape(t *testing.T, u map[string]any, provider, providerUserID string) {
	t.Helper()
	require.NotNil(t, u)
	require.Regexp(t, `^[0-9a-f]{24}$`, u["_id"])
	require.Equal(t, provider, u["provider"])
	require.Equal(t, providerUserID, u["providerUserId"])
	for _, k := range []string{"signUpAt", "lastLoginAt"} {
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, u[k], k)
	}
	require.NotContains(t, u, "password")
	require.NotContains(t, u, "passwordHash")
}

func TestOAuthGitHubSignUpThenSignIn(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))

	b := h.browser()
	authURL := b.start("github")
	require.Equal(t, gh.AuthURL(), authURL.Scheme+"://"+authURL.Host+authURL.Path)
	q := authURL.Query()
	require.Equal(t, oauthtest.ClientID, q.Get("client_id"))
	require.Equal(t, h.srv.URL+"/_auth/github/callback", q.Get("redirect_uri"), "the callback is built from PublicURL")
	require.Equal(t, "read:user user:email", q.Get("scope"))
	require.Equal(t, "S256", q.Get("code_challenge_method"), "PKCE S256")
	require.Len(t, q.Get("code_challenge"), 43)
	require.GreaterOrEqual(t, len(q.Get("state")), 43, "state carries 256 bits")
	require.Empty(t, q.Get("nonce"), "no nonce for a provider without id_tokens")

	back := b.finish(b.consent(authURL))
	require.Equal(t, "200", back.Get("status"))
	require.Equal(t, "oauth-signin", back.Get("action"))
	g := h.grant(back.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	u := g.user()
	requireUserShape(t, u, "github", "109847134")
	require.Equal(t, "Rooby", u["name"])
	require.Equal(t, "rooby@example.com", u["email"], "the verified primary address, not the public or an unverified one")
	require.Equal(t, true, u["emailVerified"])
	require.Equal(t, "https://avatars.githubusercontent.com/u/109847134?v=4", u["profilePicture"])
	requireSessionShape(t, g.session())
	require.Equal(t, "invalid_token", h.grant(back.Get("access_token")).code(), "the access token works once")

	// The same identity again is the same account, with a new session.
	h.clock.Advance(time.Hour)
	again := h.oauthSignIn("github")
	require.Equal(t, u["_id"], again.user()["_id"])
	require.Equal(t, u["signUpAt"], again.user()["signUpAt"])
	require.NotEqual(t, u["lastLoginAt"], again.user()["lastLoginAt"])
	require.NotEqual(t, g.token(), again.token())
	me := h.get(api+"user", again.token())
	require.Equal(t, http.StatusOK, me.status)
	require.Equal(t, u["_id"], me.body["_id"])

	// Signing in with the password of an OAuth-only account fails as any
	// wrong password does.
	require.Equal(t, "invalid_credentials", h.signIn("rooby@example.com", "any password at all").code())
}

// The seeds' Google user, through an OpenID provider: id_token verified,
// nonce checked.
func TestOAuthGoogleOpenID(t *testing.T) {
	op := oauthtest.NewOpenID(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"google": openIDProvider(op)}))
	op.SetNow(h.clock.Now)

	b := h.browser()
	authURL := b.start("google")
	require.Equal(t, "openid email profile", authURL.Query().Get("scope"))
	require.Len(t, authURL.Query().Get("nonce"), 43, "a fresh nonce for an OpenID provider")
	q := b.finish(b.consent(authURL))
	require.Equal(t, "200", q.Get("status"), q.Get("error"))
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	u := g.user()
	requireUserShape(t, u, "google", "109847134298377823387")
	require.Equal(t, "Rooby", u["name"])
	require.Equal(t, "rooby@example.com", u["email"])
	require.Equal(t, true, u["emailVerified"])
	require.Equal(t, "https://lh3.googleusercontent.com/a-/AOh14GhCpme", u["profilePicture"])
	requireSessionShape(t, g.session())

	// Google says the email is unverified: so does the account.
	op.SetClaims(map[string]any{"sub": "42", "email": "unverified@example.com", "email_verified": false})
	u = h.oauthSignIn("google").user()
	require.Equal(t, "42", u["providerUserId"])
	require.Equal(t, false, u["emailVerified"])
	require.NotContains(t, u, "name")
	require.NotContains(t, u, "profilePicture")
}

func TestOAuthUnknownOrUnconfiguredProvider(t *testing.T) {
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

// The state cookie: signed, encrypted, HttpOnly, Path=/, at most 10
// minutes; Secure with the __Host- prefix over https; SameSite=Lax, but
// None for Apple, whose callback is a cross-site form POST.
func TestOAuthStateCookie(t *testing.T) {
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

// SECURITY 28: a state is single use under concurrency.
func TestOAuthStateSpentOnceUnderRace(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	b := h.browser()
	cb := b.consent(b.start("github"))
	kitURL, _ := url.Parse(h.srv.URL)
	cookies := b.client.Jar.Cookies(kitURL)
	require.NotEmpty(t, cookies)

	const n = 20
	var wg sync.WaitGroup
	results := make([]url.Values, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hr, err := http.NewRequest(http.MethodGet, cb.url, nil)
			if err != nil {
				return
			}
			for _, c := range cookies {
				hr.AddCookie(c)
			}
			resp, err := noRedirects.Do(hr)
			if err != nil {
				return
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err == nil {
				results[i] = loc.Query()
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, q := range results {
		require.NotNil(t, q)
		if q.Get("status") == "200" {
			ok++
		} else {
			require.Equal(t, "invalid_state", q.Get("error"))
		}
	}
	require.Equal(t, 1, ok, "exactly one callback spends the state")
}

// SECURITY 31: an identity whose email belongs to another account is not
// attached to it, unless the app opts in and both sides verified the email.
func TestOAuthMatchingLocalEmail(t *testing.T) {
	t.Run("refused by default", func(t *testing.T) {
		gh := oauthtest.NewGitHub(t)
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
		tok := h.confirmedUser("rooby@example.com", "correct horse battery")
		q := h.browser().signIn("github")
		refused(t, q, "409", "account_exists")
		_, err := h.store.UserByProvider(t.Context(), "github", "109847134")
		require.ErrorIs(t, err, authkit.ErrNotFound, "no GitHub account was made")
		me := h.get(api+"user", tok)
		require.Equal(t, "altogic", me.body["provider"], "the local account is untouched")
		require.Equal(t, http.StatusOK, h.signIn("rooby@example.com", "correct horse battery").status)
	})
	t.Run("opt-in signs into the verified account", func(t *testing.T) {
		gh := oauthtest.NewGitHub(t)
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
			func(c *authkit.Config) { c.LinkVerifiedEmails = authkit.On })
		tok := h.confirmedUser("rooby@example.com", "correct horse battery")
		local := h.get(api+"user", tok).body
		g := h.oauthSignIn("github")
		require.Equal(t, local["_id"], g.user()["_id"])
		require.Equal(t, "altogic", g.user()["provider"], "the account stays what it was")
		require.Equal(t, http.StatusOK, h.signIn("rooby@example.com", "correct horse battery").status)
	})
	t.Run("opt-in refuses an unverified local account", func(t *testing.T) {
		gh := oauthtest.NewGitHub(t)
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
			func(c *authkit.Config) { c.LinkVerifiedEmails = authkit.On })
		require.Equal(t, http.StatusOK, h.signUp("rooby@example.com", "correct horse battery", "Squatter").status)
		refused(t, h.browser().signIn("github"), "409", "account_exists")
		h.noUser("github", "109847134", "")
	})
	t.Run("opt-in refuses an email the provider does not vouch for", func(t *testing.T) {
		fb := oauthtest.NewOAuth2(t)
		fb.SetAPI("/me", map[string]any{"id": "10158", "name": "Rooby", "email": "rooby@example.com"})
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"facebook": oauth2Provider(fb)}),
			func(c *authkit.Config) { c.LinkVerifiedEmails = authkit.On })
		h.confirmedUser("rooby@example.com", "correct horse battery")
		refused(t, h.browser().signIn("facebook"), "409", "account_exists")
		h.noUser("facebook", "10158", "")
	})
}

func TestOAuthConfig(t *testing.T) {
	pemKey, _ := appleKey(t)
	good := map[string]authkit.OAuthProvider{
		"google":   {ClientID: "g", ClientSecret: "s"},
		"apple":    {ClientID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKey: pemKey},
		"facebook": {ClientID: "f", ClientSecret: "s", Scopes: []string{"email"}},
		"twitter":  {ClientID: "x", ClientSecret: "s"},
		"github":   {ClientID: "gh", ClientSecret: "s", AuthURL: "https://ghe.example.com/login/oauth/authorize", TokenURL: "https://ghe.example.com/login/oauth/access_token", APIURL: "https://ghe.example.com/api/v3"},
		"discord":  {ClientID: "d", ClientSecret: "s"},
	}
	cfg := validConfig()
	cfg.Providers = good
	_, err := authkit.New(cfg)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		providers map[string]authkit.OAuthProvider
		want      string
	}{
		"unknown provider":       {map[string]authkit.OAuthProvider{"myspace": {ClientID: "a", ClientSecret: "b"}}, `"myspace" is not a provider`},
		"upper case":             {map[string]authkit.OAuthProvider{"GitHub": {ClientID: "a", ClientSecret: "b"}}, `"GitHub" is not a provider`},
		"no client id":           {map[string]authkit.OAuthProvider{"github": {ClientSecret: "b"}}, `Providers["github"].ClientID is required`},
		"no secret":              {map[string]authkit.OAuthProvider{"discord": {ClientID: "a"}}, `Providers["discord"].ClientSecret is required`},
		"apple without key":      {map[string]authkit.OAuthProvider{"apple": {ClientID: "a", TeamID: "T", KeyID: "K"}}, "PrivateKey are required for Apple"},
		"apple with secret":      {map[string]authkit.OAuthProvider{"apple": {ClientID: "a", ClientSecret: "b", TeamID: "T", KeyID: "K", PrivateKey: pemKey}}, "Apple's secret is made from"},
		"apple key not PEM":      {map[string]authkit.OAuthProvider{"apple": {ClientID: "a", TeamID: "T", KeyID: "K", PrivateKey: []byte("nope")}}, "is not PEM"},
		"apple key not PKCS8":    {map[string]authkit.OAuthProvider{"apple": {ClientID: "a", TeamID: "T", KeyID: "K", PrivateKey: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}}, "not a PKCS #8 key"},
		"apple fields elsewhere": {map[string]authkit.OAuthProvider{"github": {ClientID: "a", ClientSecret: "b", TeamID: "T"}}, "for Apple only"},
		"relative URL":           {map[string]authkit.OAuthProvider{"github": {ClientID: "a", ClientSecret: "b", TokenURL: "/token"}}, "TokenURL must be an absolute http(s) URL"},
		"javascript URL":         {map[string]authkit.OAuthProvider{"github": {ClientID: "a", ClientSecret: "b", AuthURL: "javascript:alert(1)"}}, "AuthURL must be an absolute"},
		"issuer for github":      {map[string]authkit.OAuthProvider{"github": {ClientID: "a", ClientSecret: "b", Issuer: "https://x.example.com"}}, "Issuer is not used by github"},
		"API URL for google":     {map[string]authkit.OAuthProvider{"google": {ClientID: "a", ClientSecret: "b", APIURL: "https://x.example.com"}}, "APIURL is not used by google"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := validConfig()
			cfg.Providers = tc.providers
			_, err := authkit.New(cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

// The state is stored only as its hash, with the provider as subject.
func TestOAuthStateStoredAsHash(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	state := h.browser().start("github").Query().Get("state")
	tok, err := h.store.TokenByHash(t.Context(), sha256Hex(state), h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, authkit.PurposeOAuthState, tok.Purpose)
	require.Equal(t, "github", tok.Subject)
	require.Equal(t, 10*time.Minute, tok.ExpiresAt.Sub(tok.CreatedAt))
	_, err = h.store.TokenByHash(t.Context(), state, h.clock.Now())
	require.ErrorIs(t, err, authkit.ErrNotFound, "the state itself is not a key")
	require.False(t, strings.Contains(tok.Hash, state))
}
