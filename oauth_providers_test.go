package authkit_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http"
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

// appleKey makes a key like the .p8 file Apple hands out: a P-256 key in
// PKCS #8 PEM.
func appleKey(t *testing.T) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), k
}

// Each provider's user, from answers shaped like the real ones.
func TestOAuthUserMapping(t *testing.T) {
	for _, tc := range []struct {
		name, provider string
		scopes         []string
		path           string
		answer         any
		want           map[string]any // the user's fields; absent keys must be absent
	}{
		{
			name: "facebook", provider: "facebook", path: "/me",
			answer: map[string]any{
				"id": "10158123456789012", "name": "Rooby Doe", "email": "Rooby@Example.com",
				"picture": map[string]any{"data": map[string]any{"height": 256, "width": 256, "is_silhouette": false, "url": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012"}},
			},
			want: map[string]any{
				"providerUserId": "10158123456789012", "name": "Rooby Doe", "email": "rooby@example.com",
				"emailVerified": false, "profilePicture": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012",
			},
		},
		{
			name: "facebook without email, default picture", provider: "facebook", path: "/me",
			answer: map[string]any{
				"id": "10158", "name": "Rooby Doe",
				"picture": map[string]any{"data": map[string]any{"is_silhouette": true, "url": "https://platform-lookaside.fbsbx.com/x"}},
			},
			want: map[string]any{"providerUserId": "10158", "name": "Rooby Doe"},
		},
		{
			name: "discord", provider: "discord", path: "/users/@me",
			answer: map[string]any{
				"id": "80351110224678912", "username": "nelly", "discriminator": "0", "global_name": "Nelly",
				"avatar": "8342729096ea3675442027381ff50dfe", "verified": true, "email": "nelly@discord.com",
				"flags": 64, "banner": nil, "accent_color": nil, "premium_type": 1, "public_flags": 64, "mfa_enabled": false, "locale": "en-US",
			},
			want: map[string]any{
				"providerUserId": "80351110224678912", "name": "Nelly", "email": "nelly@discord.com", "emailVerified": true,
				"profilePicture": "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
			},
		},
		{
			name: "discord, unverified email, no avatar or display name", provider: "discord", path: "/users/@me",
			answer: map[string]any{"id": "80351110224678913", "username": "nelly", "global_name": nil, "avatar": nil, "verified": false, "email": "nelly@discord.com"},
			want:   map[string]any{"providerUserId": "80351110224678913", "name": "nelly", "email": "nelly@discord.com", "emailVerified": false},
		},
		{
			name: "x", provider: "twitter", path: "/2/users/me",
			answer: map[string]any{"data": map[string]any{
				"id": "2244994945", "name": "X Dev", "username": "TwitterDev",
				"profile_image_url": "https://pbs.twimg.com/profile_images/1445764922474827784/W2zEPN7U_normal.jpg",
			}},
			want: map[string]any{
				"providerUserId": "2244994945", "name": "X Dev",
				"profilePicture": "https://pbs.twimg.com/profile_images/1445764922474827784/W2zEPN7U_normal.jpg",
			},
		},
		{
			name: "x with email access", provider: "twitter", path: "/2/users/me", scopes: []string{"tweet.read", "users.read", "users.email"},
			answer: map[string]any{"data": map[string]any{"id": "2244994946", "name": "", "username": "TwitterDev", "confirmed_email": "dev@x.example.com"}},
			want:   map[string]any{"providerUserId": "2244994946", "name": "TwitterDev", "email": "dev@x.example.com", "emailVerified": true},
		},
		{
			name: "github without a verified primary email, nor a name", provider: "github", path: "/user",
			answer: oauthtest.GitHubUser{ID: 583231, Login: "octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4", Email: "octocat@github.com"},
			want: map[string]any{
				"providerUserId": "583231", "name": "octocat",
				"profilePicture": "https://avatars.githubusercontent.com/u/583231?v=4",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := oauthtest.NewOAuth2(t)
			fake.SetAPI(tc.path, tc.answer)
			if tc.provider == "github" {
				fake.SetAPI("/user/emails", []oauthtest.GitHubEmail{
					{Email: "octocat@github.com", Primary: true, Verified: false},
					{Email: "octo@example.com", Primary: false, Verified: true},
				})
			}
			cfg := oauth2Provider(fake)
			cfg.Scopes = tc.scopes
			h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{tc.provider: cfg}))
			g := h.oauthSignIn(tc.provider)
			u := g.user()
			requireUserShape(t, u, tc.provider, tc.want["providerUserId"].(string))
			for _, k := range []string{"name", "email", "emailVerified", "profilePicture"} {
				if v, ok := tc.want[k]; ok {
					require.Equal(t, v, u[k], k)
				} else {
					require.NotContains(t, u, k)
				}
			}
			requireSessionShape(t, g.session())

			reqs := fake.APIRequests()
			require.NotEmpty(t, reqs)
			switch tc.provider {
			case "facebook":
				q := reqs[0].Query()
				require.Equal(t, "id,name,email,picture.width(256).height(256)", q.Get("fields"))
				proofs := map[string]bool{}
				for _, s := range fake.Secrets() { // among them, the access token
					mac := hmac.New(sha256.New, []byte(oauthtest.ClientSecret))
					mac.Write([]byte(s))
					proofs[hex.EncodeToString(mac.Sum(nil))] = true
				}
				require.True(t, proofs[q.Get("appsecret_proof")], "appsecret_proof is the HMAC of the access token")
			case "twitter":
				want := "profile_image_url"
				if len(tc.scopes) > 0 {
					want += ",confirmed_email"
				}
				require.Equal(t, want, reqs[0].Query().Get("user.fields"))
			}
		})
	}
}

// GitHub without the user:email scope answers /user/emails with 404: the
// account simply has no email.
func TestOAuthGitHubWithoutEmailScope(t *testing.T) {
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

// SECURITY 36: OAuth sign-ins log who, with which provider, from where,
// and never a state, code, verifier, token, id_token, grant key or secret.
func TestOAuthLogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh), "google": openIDProvider(op)}),
		func(c *authkit.Config) {
			c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
	op.SetNow(h.clock.Now)
	op.SetClaims(map[string]any{"sub": "1098", "email": "rooby.google@example.com", "email_verified": true})
	var secrets []string
	for _, p := range []string{"github", "google", "github"} {
		b := h.browser()
		authURL := b.start(p)
		cb := b.consent(authURL)
		q := b.finish(cb)
		require.Equal(t, "200", q.Get("status"), "%s: %s", p, q.Get("error"))
		g := h.grant(q.Get("access_token"))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		secrets = append(secrets, authURL.Query().Get("state"), authURL.Query().Get("code_challenge"),
			cb.param("code"), q.Get("access_token"), g.token())
	}
	// Failures log too, still without secrets.
	op.Tamper(func(c map[string]any) { c["aud"] = "another-client" })
	b := h.browser()
	authURL := b.start("google")
	cb := b.consent(authURL)
	refused(t, b.finish(cb), "502", "oauth_failed")
	secrets = append(secrets, authURL.Query().Get("state"), cb.param("code"))
	refused(t, h.browser().finish(cb), "400", "invalid_state")
	secrets = append(secrets, gh.Secrets()...)
	secrets = append(secrets, op.Secrets()...)
	secrets = append(secrets, oauthtest.ClientSecret)

	out := logs.String()
	for _, event := range []string{"oauth sign-up", "oauth sign-in", "oauth sign-in failed", "sign-in by oauth-signin"} {
		require.Contains(t, out, `"msg":"authkit: `+event+`"`)
	}
	require.Contains(t, out, `"provider":"github"`)
	require.Contains(t, out, `"code":"oauth_failed"`)
	require.Contains(t, out, `"code":"invalid_state"`)
	require.Contains(t, out, `"ip":"127.0.0.1"`)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.False(t, strings.Contains(out, s), "the logs hold a secret: %s", s)
	}
	require.NotContains(t, out, "code_verifier")
}
