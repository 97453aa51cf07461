package authkit_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// Every attack on the callback is refused with status 400 invalid_state
// and creates no user (SECURITY 28).
func TestOAuthStateAttacks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, h *harness, b *browser, cb callback) url.Values
	}{
		{"state missing", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			return b.finish(cb.with("state", ""))
		}},
		{"state mismatched", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			return b.finish(cb.with("state", "x"+cb.param("state")[1:]))
		}},
		{"another browser's state (login CSRF)", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			// The attacker starts a sign-in, consents as themself, and
			// makes the victim's browser open the callback.
			attacker := h.browser()
			return b.finish(attacker.consent(attacker.start("github")))
		}},
		{"replayed", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			kitURL, _ := url.Parse(h.srv.URL)
			saved := b.client.Jar.Cookies(kitURL)
			q := b.finish(cb)
			require.Equal(t, "200", q.Get("status"), "the first use works")
			// Take away the user it made: the replay must not make one.
			u, err := h.store.UserByProvider(t.Context(), "github", "109847134")
			require.NoError(t, err)
			require.NoError(t, h.store.DeleteUser(t.Context(), u.ID))
			// The same callback again, even with the cookie put back.
			b.client.Jar.SetCookies(kitURL, saved)
			return b.finish(cb)
		}},
		{"expired", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			h.clock.Advance(10*time.Minute + time.Second)
			return b.finish(cb)
		}},
		{"callback without the cookie", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			return h.browser().finish(cb)
		}},
		{"forged cookie", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			kitURL, _ := url.Parse(h.srv.URL)
			saved := b.client.Jar.Cookies(kitURL)
			require.Len(t, saved, 1)
			forged := *saved[0]
			forged.Value = forged.Value[:len(forged.Value)-4] + "AAAA"
			b.client.Jar.SetCookies(kitURL, []*http.Cookie{&forged})
			return b.finish(cb)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gh := oauthtest.NewGitHub(t)
			h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
			b := h.browser()
			cb := b.consent(b.start("github"))
			refused(t, tc.attack(t, h, b, cb), "400", "invalid_state")
			h.noUser("github", "109847134", "rooby@example.com")
		})
	}
}

// A state minted for one provider does not finish a sign-in with another,
// even with that provider's cookie name.
func TestOAuthStateBoundToProvider(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	dc := oauthtest.NewOAuth2(t)
	dc.SetAPI("/users/@me", map[string]any{"id": "80351110224678912", "username": "nelly", "verified": true, "email": "nelly@example.com"})
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh), "discord": oauth2Provider(dc)}))
	b := h.browser()
	cb := b.consent(b.start("github"))
	u, _ := url.Parse(cb.url)
	u.Path = "/_auth/discord/callback"
	resp, raw := b.send(http.MethodGet, u.String(), nil)
	refused(t, h.landed(resp, raw), "400", "invalid_state")
	h.noUser("discord", "80351110224678912", "nelly@example.com")
	h.noUser("github", "109847134", "rooby@example.com")
}

// A code stolen from one sign-in and injected into another fails the PKCE
// check at the provider: the victim's verifier is not the thief's.
func TestOAuthWrongVerifier(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	thief, victim := h.browser(), h.browser()
	stolen := thief.consent(thief.start("github"))
	own := victim.consent(victim.start("github"))
	q := victim.finish(own.with("code", stolen.param("code")))
	refused(t, q, "502", "oauth_failed")
	h.noUser("github", "109847134", "rooby@example.com")
}

// SECURITY 30: the id_token's signature, algorithm, issuer, audience,
// expiry and nonce are all checked; any failure creates no user.
func TestOAuthIDTokenAttacks(t *testing.T) {
	op := oauthtest.NewOpenID(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"google": openIDProvider(op)}))
	op.SetNow(h.clock.Now)
	for _, tc := range []struct {
		name    string
		signing oauthtest.Signing
		tamper  func(c map[string]any)
	}{
		{"bad signature", oauthtest.SignOtherKey, nil},
		{"alg none", oauthtest.SignNone, nil},
		{"HS256 keyed with the public key", oauthtest.SignHS256, nil},
		{"wrong issuer", oauthtest.SignRS256, func(c map[string]any) { c["iss"] = "https://accounts.evil.example" }},
		{"wrong audience", oauthtest.SignRS256, func(c map[string]any) { c["aud"] = "another-client" }},
		{"wrong nonce", oauthtest.SignRS256, func(c map[string]any) { c["nonce"] = "not-the-nonce-of-this-sign-in" }},
		{"no nonce", oauthtest.SignRS256, func(c map[string]any) { delete(c, "nonce") }},
		{"expired", oauthtest.SignRS256, func(c map[string]any) {
			c["iat"] = h.clock.Now().Add(-2 * time.Hour).Unix()
			c["exp"] = h.clock.Now().Add(-time.Minute).Unix()
		}},
		{"no subject", oauthtest.SignRS256, func(c map[string]any) { delete(c, "sub") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op.SignWith(tc.signing)
			op.Tamper(tc.tamper)
			t.Cleanup(func() { op.SignWith(oauthtest.SignRS256); op.Tamper(nil) })
			refused(t, h.browser().signIn("google"), "502", "oauth_failed")
			h.noUser("google", "109847134298377823387", "rooby@example.com")
		})
	}
	// Once the provider behaves, the same user signs in.
	u := h.oauthSignIn("google").user()
	require.Equal(t, "109847134298377823387", u["providerUserId"])
}

// A user who declines, a provider that answers with an error, a failing
// token endpoint or user API: each ends at the Redirect URL with its code
// and creates no user.
func TestOAuthProviderErrors(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	for _, tc := range []struct {
		name, status, code string
		setup              func()
	}{
		{"user denial", "403", "access_denied", func() { gh.DenyNext("access_denied") }},
		{"provider error", "502", "oauth_failed", func() { gh.DenyNext("server_error") }},
		{"token endpoint error", "502", "oauth_failed", func() { gh.FailTokens("invalid_grant") }},
		{"user API error", "502", "oauth_failed", func() { gh.FailAPI("/user", http.StatusInternalServerError) }},
		{"emails API error", "502", "oauth_failed", func() { gh.FailAPI("/user/emails", http.StatusBadGateway) }},
		{"user without an id", "502", "oauth_failed", func() { gh.SetAPI("/user", map[string]any{"login": "rooby"}) }},
		{"user API not JSON", "502", "oauth_failed", func() { gh.SetAPI("/user", "just a string") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			t.Cleanup(func() {
				gh.DenyNext("")
				gh.FailTokens("")
				gh.FailAPI("/user", 0)
				gh.FailAPI("/user/emails", 0)
				gh.SetGitHubUser(oauthtest.GitHubUser{ID: 109847134, Login: "rooby", Name: "Rooby"},
					[]oauthtest.GitHubEmail{{Email: "rooby@example.com", Primary: true, Verified: true}})
			})
			refused(t, h.browser().signIn("github"), tc.status, tc.code)
			h.noUser("github", "109847134", "rooby@example.com")
		})
	}
	// A missing code is no sign-in either.
	b := h.browser()
	cb := b.consent(b.start("github"))
	refused(t, b.finish(cb.with("code", "")), "502", "oauth_failed")
	h.noUser("github", "109847134", "rooby@example.com")
}
