package authkit_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

func TestOAuthGitHubSignUpThenSignIn(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

	// Google does not vouch for the email: the account has none.
	op.SetClaims(map[string]any{"sub": "42", "email": "unverified@example.com", "email_verified": false})
	u = h.oauthSignIn("google").user()
	require.Equal(t, "42", u["providerUserId"])
	require.NotContains(t, u, "email")
	require.NotContains(t, u, "emailVerified")
	require.NotContains(t, u, "name")
	require.NotContains(t, u, "profilePicture")
}

// GitHub without the user:email scope answers /user/emails with 404: the
// account simply has no email.
func TestOAuthGitHubWithoutEmailScope(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	gh.FailAPI("/user/emails", http.StatusNotFound)
	cfg := oauth2Provider(gh)
	cfg.Scopes = []string{"read:user"}
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": cfg}))
	b := h.browser()
	require.Equal(t, "read:user", b.start("github").Query().Get("scope"), "Scopes override the defaults")
	u := h.oauthSignIn("github").user()
	require.Equal(t, "109847134", u["providerUserId"])
	require.NotContains(t, u, "email")
}

// X authenticates a confidential client with HTTP Basic at its token
// endpoint; the kit does so.
func TestOAuthXTokenAuth(t *testing.T) {
	t.Parallel()
	x := oauthtest.NewOAuth2(t)
	x.SetAPI("/2/users/me", map[string]any{"data": map[string]any{"id": "2244994945", "name": "X Dev", "username": "TwitterDev"}})
	var mu sync.Mutex
	var seen []string
	x.CheckClientSecret(func(secret string) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, secret)
		if secret != oauthtest.ClientSecret {
			return errors.New("wrong secret")
		}
		return nil
	})
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"twitter": oauth2Provider(x)}))
	require.Equal(t, "2244994945", h.oauthSignIn("twitter").user()["providerUserId"])
	require.Equal(t, []string{oauthtest.ClientSecret}, seen)
}

// Apple: the client secret is an ES256 JWT signed with the .p8 key and
// renewed before it expires; the callback is a form POST; the name comes
// only on the first consent, in the "user" field, and is kept.
func TestOAuthApple(t *testing.T) {
	t.Parallel()
	op := oauthtest.NewOpenID(t)
	op.SetClaims(map[string]any{
		"sub": "001234.5d9e1e7e3c1c4b2b9f0e8a7d6c5b4a39.1234", "email": "x7k2p9@privaterelay.appleid.com",
		"email_verified": "true", "is_private_email": "true", "auth_time": 1700000000, "nonce_supported": true,
	})
	pemKey, key := appleKey(t)
	var mu sync.Mutex
	var secrets []string
	var h *harness
	op.CheckClientSecret(func(secret string) error {
		tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		if len(tok.Headers) != 1 || tok.Headers[0].KeyID != "KEY1234567" {
			return errors.New("wrong kid")
		}
		var c jwt.Claims
		if err := tok.Claims(&key.PublicKey, &c); err != nil {
			return err
		}
		now := h.clock.Now()
		if err := c.ValidateWithLeeway(jwt.Expected{Issuer: "TEAM123456", Subject: oauthtest.ClientID, AnyAudience: jwt.Audience{op.Issuer()}, Time: now}, 0); err != nil {
			return err
		}
		if c.Expiry.Time().Sub(c.IssuedAt.Time()) > 180*24*time.Hour {
			return errors.New("lives longer than Apple allows")
		}
		mu.Lock()
		defer mu.Unlock()
		secrets = append(secrets, secret)
		return nil
	})
	cfg := authkit.OAuthProvider{
		ClientID: oauthtest.ClientID, TeamID: "TEAM123456", KeyID: "KEY1234567", PrivateKey: pemKey,
		AuthURL: op.AuthURL(), TokenURL: op.TokenURL(), Issuer: op.Issuer(), JWKSURL: op.JWKSURL(),
	}
	h = newHarness(t, withProviders(map[string]authkit.OAuthProvider{"apple": cfg}))
	op.SetNow(h.clock.Now)

	op.FirstConsentUser(`{"name":{"firstName":"Rooby","lastName":"Appleseed"},"email":"x7k2p9@privaterelay.appleid.com"}`)
	b := h.browser()
	authURL := b.start("apple")
	require.Equal(t, "form_post", authURL.Query().Get("response_mode"))
	cb := b.consent(authURL)
	require.NotNil(t, cb.form, "Apple posts the callback")
	require.NotEmpty(t, cb.form.Get("user"))
	q := b.finish(cb)
	require.Equal(t, "200", q.Get("status"), q.Get("error"))
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	u := g.user()
	requireUserShape(t, u, "apple", "001234.5d9e1e7e3c1c4b2b9f0e8a7d6c5b4a39.1234")
	require.Equal(t, "Rooby Appleseed", u["name"], "the name of the first consent")
	require.Equal(t, "x7k2p9@privaterelay.appleid.com", u["email"])
	require.Equal(t, true, u["emailVerified"], `Apple's "true" is true`)
	require.NotContains(t, u, "profilePicture")

	// Later consents carry no name: the one kept stays. The client secret
	// is reused while it has more than an hour to live...
	again := h.oauthSignIn("apple").user()
	require.Equal(t, u["_id"], again["_id"])
	require.Equal(t, "Rooby Appleseed", again["name"])
	mu.Lock()
	require.Len(t, secrets, 2)
	require.Equal(t, secrets[0], secrets[1], "the client secret is cached")
	mu.Unlock()

	// ...and renewed before it expires.
	h.clock.Advance(23*time.Hour + 30*time.Minute)
	require.Equal(t, u["_id"], h.oauthSignIn("apple").user()["_id"])
	mu.Lock()
	require.Len(t, secrets, 3)
	require.NotEqual(t, secrets[1], secrets[2], "a secret near its end is renewed")
	mu.Unlock()

	// A POST callback with a forged "user" name but no valid state
	// changes nothing.
	resp, raw := h.browser().send(http.MethodPost, h.srv.URL+"/_auth/apple/callback", map[string][]string{
		"state": {"x"}, "code": {"y"}, "user": {`{"name":{"firstName":"Mallory"}}`},
	})
	refused(t, h.landed(resp, raw), "400", "invalid_state")
	stored, err := h.store.UserByProvider(t.Context(), "apple", "001234.5d9e1e7e3c1c4b2b9f0e8a7d6c5b4a39.1234")
	require.NoError(t, err)
	require.Equal(t, "Rooby Appleseed", stored.Name)

	// A user who cancels at Apple.
	op.DenyNext("user_cancelled_authorize")
	refused(t, h.browser().signIn("apple"), "403", "access_denied")
}

// A start stores nothing; the callback spends the state by storing a
// marker keyed by its hash (the state itself is no key), with the
// provider as subject, which dies when the state would: 10 minutes after
// the start.
func TestOAuthStateStoredAsHash(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	started := h.clock.Now()
	b := h.browser()
	cb := b.consent(b.start("github"))
	state := cb.param("state")
	_, err := h.store.TokenByHash(t.Context(), sha256Hex(state), h.clock.Now())
	require.ErrorIs(t, err, authkit.ErrNotFound, "the start stored nothing")

	h.clock.Advance(3 * time.Minute)
	require.Equal(t, "200", b.finish(cb).Get("status"))
	tok, err := h.store.TokenByHash(t.Context(), sha256Hex(state), h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, authkit.PurposeOAuthState, tok.Purpose)
	require.Equal(t, "github", tok.Subject)
	require.Empty(t, tok.UserID)
	require.True(t, tok.CreatedAt.Equal(h.clock.Now()), "written by the callback")
	require.True(t, tok.ExpiresAt.Equal(started.Add(10*time.Minute)), "dies with the state")
	_, err = h.store.TokenByHash(t.Context(), state, h.clock.Now())
	require.ErrorIs(t, err, authkit.ErrNotFound, "the state itself is not a key")
	require.False(t, strings.Contains(tok.Hash, state))
}

// The state cookie is sealed: neither the browser nor anyone who reads
// the cookie learns the state, the PKCE verifier or the nonce from it.
func TestOAuthStateCookieSealed(t *testing.T) {
	t.Parallel()
	op := oauthtest.NewOpenID(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"google": openIDProvider(op)}))
	op.SetNow(h.clock.Now)
	b := h.browser()
	authURL := b.start("google")
	kitURL, _ := url.Parse(h.srv.URL)
	cookies := b.client.Jar.Cookies(kitURL)
	require.Len(t, cookies, 1)
	value := cookies[0].Value
	q := b.finish(b.consent(authURL))
	require.Equal(t, "200", q.Get("status"), q.Get("error"))

	// What the kit put in the cookie: the state and nonce it sent to the
	// provider, and the verifier it sent to the token endpoint (among the
	// fake's secrets).
	secrets := append([]string{authURL.Query().Get("state"), authURL.Query().Get("nonce")}, op.Secrets()...)
	decoded, err := base64.RawURLEncoding.DecodeString(value)
	require.NoError(t, err, "the cookie is base64url")
	for _, secret := range secrets {
		require.NotEmpty(t, secret)
		require.NotContains(t, value, secret)
		require.False(t, bytes.Contains(decoded, []byte(secret)), "the sealed bytes hold %q", secret)
	}
	require.False(t, bytes.Contains(decoded, []byte(`"v":`)), "no plain JSON")
}

// SECURITY 28, 53: one callback, with its state and cookie, delivered 50
// times at once, signs in once; the others answer invalid_state, before
// any exchange. On every store: the single use is CreateToken refusing a
// taken hash.
func TestOAuthStateSpentOnceUnderRace(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			gh := oauthtest.NewGitHub(t)
			h := newHarness(t, onStore(s, s), withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
			b := h.browser()
			cb := b.consent(b.start("github"))
			kitURL, _ := url.Parse(h.srv.URL)
			cookies := b.client.Jar.Cookies(kitURL)
			require.NotEmpty(t, cookies)

			var mu sync.Mutex
			answers := map[string]int{}
			wins := race(func() int {
				hr, err := http.NewRequest(http.MethodGet, cb.url, nil)
				if err != nil {
					t.Error(err)
					return 0
				}
				for _, c := range cookies {
					hr.AddCookie(c)
				}
				resp, err := noRedirects.Do(hr)
				if err != nil {
					t.Error(err)
					return 0
				}
				resp.Body.Close()
				loc, err := url.Parse(resp.Header.Get("Location"))
				if err != nil {
					t.Error(err)
					return 0
				}
				q := loc.Query()
				mu.Lock()
				answers[q.Get("status")+" "+q.Get("error")]++
				mu.Unlock()
				if q.Get("status") == "200" {
					return http.StatusOK
				}
				return http.StatusBadRequest
			})
			require.Equal(t, 1, wins, "exactly one callback spends the state: %v", answers)
			require.Equal(t, map[string]int{"200 ": 1, "400 invalid_state": 49}, answers)
		})
	}
}

// Every attack on the callback is refused with status 400 invalid_state
// and creates no user (SECURITY 28).
func TestOAuthStateAttacks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, h *harness, b *browser, cb callback) url.Values
	}{
		{"state missing", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			return b.finish(cb.with("state", ""))
		}},
		{"state mismatched", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			state := cb.param("state")
			first := "x"
			if state[0] == 'x' {
				first = "y"
			}
			return b.finish(cb.with("state", first+state[1:]))
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
		{"expired at the second", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			h.clock.Advance(10 * time.Minute)
			return b.finish(cb)
		}},
		{"replayed once the marker is cleaned away", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			kitURL, _ := url.Parse(h.srv.URL)
			saved := b.client.Jar.Cookies(kitURL)
			require.Equal(t, "200", b.finish(cb).Get("status"), "the first use works")
			u, err := h.store.UserByProvider(t.Context(), "github", "109847134")
			require.NoError(t, err)
			require.NoError(t, h.store.DeleteUser(t.Context(), u.ID))
			// The marker dies with the state: once it is gone, so is the
			// cookie's life.
			h.clock.Advance(10 * time.Minute)
			_, err = h.kit.Cleanup(t.Context())
			require.NoError(t, err)
			_, err = h.store.TokenByHash(t.Context(), sha256Hex(cb.param("state")), h.clock.Now().Add(-time.Hour))
			require.ErrorIs(t, err, authkit.ErrNotFound, "the marker was cleaned away")
			b.client.Jar.SetCookies(kitURL, saved)
			return b.finish(cb)
		}},
		{"cookie sealed by another kit", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			// A kit with another Secret seals a cookie of the same name for
			// a state of its own; its state and cookie go to this kit.
			other := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(oauthtest.NewGitHub(t))}))
			ob := other.browser()
			ocb := ob.consent(ob.start("github"))
			otherURL, _ := url.Parse(other.srv.URL)
			kitURL, _ := url.Parse(h.srv.URL)
			b.client.Jar.SetCookies(kitURL, ob.client.Jar.Cookies(otherURL))
			return b.finish(cb.with("state", ocb.param("state")))
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
		{"tampered cookie, one bit", func(t *testing.T, h *harness, b *browser, cb callback) url.Values {
			kitURL, _ := url.Parse(h.srv.URL)
			saved := b.client.Jar.Cookies(kitURL)
			require.Len(t, saved, 1)
			raw, err := base64.RawURLEncoding.DecodeString(saved[0].Value)
			require.NoError(t, err)
			raw[len(raw)/2] ^= 1 // inside the sealed sign-in, past the nonce
			tampered := *saved[0]
			tampered.Value = base64.RawURLEncoding.EncodeToString(raw)
			b.client.Jar.SetCookies(kitURL, []*http.Cookie{&tampered})
			return b.finish(cb)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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
	t.Parallel()
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

func TestOAuthConfig(t *testing.T) {
	t.Parallel()
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
			t.Parallel()
			cfg := validConfig()
			cfg.Providers = tc.providers
			_, err := authkit.New(cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
