package authkit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// Each provider's user, from answers shaped like the real ones.
func TestOAuthUserMapping(t *testing.T) {
	t.Parallel()
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
			// Facebook does not say whether the address is the user's:
			// the account is made without it.
			want: map[string]any{
				"providerUserId": "10158123456789012", "name": "Rooby Doe",
				"profilePicture": "https://platform-lookaside.fbsbx.com/platform/profilepic/?asid=10158123456789012",
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
			answer: map[string]any{"id": "80351110224678913", "username": "nelly", "discriminator": "0", "global_name": nil, "avatar": nil, "verified": false, "email": "nelly@discord.com"},
			// The picture is the default avatar Discord shows him:
			// (id >> 22) % 6.
			want: map[string]any{"providerUserId": "80351110224678913", "name": "nelly", "profilePicture": "https://cdn.discordapp.com/embed/avatars/5.png"},
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
			t.Parallel()
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

// SECURITY 31: an identity whose email belongs to another account is not
// attached to it, unless the app opts in and both sides verified the email.
func TestOAuthMatchingLocalEmail(t *testing.T) {
	t.Parallel()
	t.Run("refused by default", func(t *testing.T) {
		t.Parallel()
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
		t.Parallel()
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
	t.Run("opt-in: a sign-up nobody confirmed holds nothing", func(t *testing.T) {
		t.Parallel()
		gh := oauthtest.NewGitHub(t)
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
			func(c *authkit.Config) { c.LinkVerifiedEmails = authkit.On })
		require.Equal(t, http.StatusOK, h.signUp("rooby@example.com", "correct horse battery", "Squatter").status)
		squatter := h.link("rooby@example.com")
		g := h.oauthSignIn("github")
		require.Equal(t, "github", g.user()["provider"], "the owner's own account, not the squatter's")
		require.Equal(t, "rooby@example.com", g.user()["email"])
		require.Equal(t, "invalid_token", h.grant(h.follow(squatter).Get("access_token")).code(), "the squatter's sign-up makes nothing now")
		requireStatusCode(t, h.signIn("rooby@example.com", "correct horse battery"), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("an email the provider does not vouch for neither links nor refuses", func(t *testing.T) {
		t.Parallel()
		fb := oauthtest.NewOAuth2(t)
		fb.SetAPI("/me", map[string]any{"id": "10158", "name": "Rooby", "email": "rooby@example.com"})
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"facebook": oauth2Provider(fb)}),
			func(c *authkit.Config) { c.LinkVerifiedEmails = authkit.On })
		tok := h.confirmedUser("rooby@example.com", "correct horse battery")
		local := h.get(api+"user", tok).body
		u := h.oauthSignIn("facebook").user()
		require.NotEqual(t, local["_id"], u["_id"], "not signed in to the account that has the address")
		require.Equal(t, "facebook", u["provider"])
		require.NotContains(t, u, "email")
		owner, err := h.store.UserByEmail(t.Context(), "rooby@example.com")
		require.NoError(t, err)
		require.Equal(t, local["_id"], owner.ID, "the address is still the owner's alone")
	})
}

// unvouchedProvider starts a fake of a provider that does not vouch for
// the address it gives: Discord with "verified": false, or Facebook,
// which never says.
func unvouchedProvider(t *testing.T, provider, email string) (*oauthtest.OAuth2, string) {
	t.Helper()
	fake := oauthtest.NewOAuth2(t)
	switch provider {
	case "discord":
		fake.SetAPI("/users/@me", map[string]any{"id": "80351110224678912", "username": "mallory", "verified": false, "email": email})
		return fake, "80351110224678912"
	case "facebook":
		fake.SetAPI("/me", map[string]any{"id": "10158123456789012", "name": "Mallory", "email": email})
		return fake, "10158123456789012"
	}
	t.Fatalf("no fake for %s", provider)
	return nil, ""
}

// SECURITY 52: an attacker who signs in with a provider that does not
// vouch for the address he gave it (Discord's "verified": false, any
// Facebook sign-in) gets an account without it: the address blocks no
// sign-up, gets no mail for his account, and stays its owner's. (Found by
// an adversarial review: the victim's sign-up answered 409 email_taken,
// and resend mailed her a confirmation of the attacker's account.)
func TestOAuthUnvouchedEmailSquatsNothing(t *testing.T) {
	t.Parallel()
	const victim = "victim@example.com"
	for _, provider := range []string{"discord", "facebook"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			fake, providerUserID := unvouchedProvider(t, provider, victim)
			h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{provider: oauth2Provider(fake)}))

			attacker := h.oauthSignIn(provider).user()
			require.NotContains(t, attacker, "email", "the account is made without the address")
			require.NotContains(t, attacker, "emailVerified")
			stored, err := h.store.UserByProvider(t.Context(), provider, providerUserID)
			require.NoError(t, err)
			require.Empty(t, stored.Email)
			_, err = h.store.UserByEmail(t.Context(), victim)
			require.ErrorIs(t, err, authkit.ErrNotFound, "the address is free")

			// Nothing is mailed to the address for the attacker's account.
			for _, route := range []string{"resend", "send-magic", "send-reset"} {
				a := h.post(api+route+"?email="+victim, nil, "")
				require.Equal(t, http.StatusOK, a.status, "%s: %s", route, a.raw)
			}
			h.noMail(victim)

			// The owner signs up, confirms by the mailed link and signs in.
			tok := h.confirmedUser(victim, inputPassword)
			me := h.get(api+"user", tok)
			require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
			require.Equal(t, authkit.ProviderAltogic, me.body["provider"])
			require.Equal(t, victim, me.body["email"])
			require.Equal(t, true, me.body["emailVerified"])
			in := h.signIn(victim, inputPassword)
			require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
			require.Equal(t, me.body["_id"], in.user()["_id"])

			// Her recovery mails reach her, for her account (a while later:
			// the sends above count toward EmailRepeats).
			h.clock.Advance(2 * time.Minute)
			require.NotEmpty(t, h.resetKey(victim))
			g := h.grant(h.magicGrant(victim))
			require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
			require.Equal(t, me.body["_id"], g.user()["_id"])

			// The attacker's next sign-in is his account still, without her
			// address.
			again := h.oauthSignIn(provider).user()
			require.Equal(t, attacker["_id"], again["_id"])
			require.NotContains(t, again, "email")
		})
	}
}

// An account made without an email takes the address its provider
// vouches for at a later sign-in, unless another account has it. An
// account that v0.3 or an earlier release made with an address its
// provider did not vouch for drops it at its next sign-in (and is
// confirmed if the provider vouches for it now); until then it gets no
// confirmation mail, and the owner's sign-up takes the address from it.
func TestOAuthLaterSignInSettlesEmail(t *testing.T) {
	t.Parallel()
	const address = "nelly@example.com"
	discord := func(t *testing.T, verified bool) (*oauthtest.OAuth2, *harness) {
		t.Helper()
		dc := oauthtest.NewOAuth2(t)
		dc.SetAPI("/users/@me", map[string]any{"id": "80351110224678912", "username": "nelly", "verified": verified, "email": address})
		return dc, newHarness(t, withProviders(map[string]authkit.OAuthProvider{"discord": oauth2Provider(dc)}))
	}
	// legacy stores the account an older release made of an unverified
	// Discord sign-in.
	legacy := func(t *testing.T, h *harness) string {
		t.Helper()
		now := h.clock.Now()
		u := authkit.User{ID: "0123456789abcdef01234567", Provider: "discord", ProviderUserID: "80351110224678912",
			Email: address, Name: "nelly", SignUpAt: now, LastLoginAt: now, Stamp: "s"}
		require.NoError(t, h.store.CreateUser(t.Context(), u))
		return u.ID
	}

	t.Run("verified later: the address is taken then", func(t *testing.T) {
		t.Parallel()
		dc, h := discord(t, false)
		first := h.oauthSignIn("discord").user()
		require.NotContains(t, first, "email")
		dc.SetAPI("/users/@me", map[string]any{"id": "80351110224678912", "username": "nelly", "verified": true, "email": address})
		u := h.oauthSignIn("discord").user()
		require.Equal(t, first["_id"], u["_id"])
		require.Equal(t, address, u["email"])
		require.Equal(t, true, u["emailVerified"])
	})
	t.Run("verified later, but the address is another account's", func(t *testing.T) {
		t.Parallel()
		dc, h := discord(t, false)
		first := h.oauthSignIn("discord").user()
		owner := h.confirmedUser(address, inputPassword)
		dc.SetAPI("/users/@me", map[string]any{"id": "80351110224678912", "username": "nelly", "verified": true, "email": address})
		u := h.oauthSignIn("discord").user()
		require.Equal(t, first["_id"], u["_id"], "the identity signs in to its account")
		require.NotContains(t, u, "email")
		require.Equal(t, address, h.get(api+"user", owner).body["email"])
	})
	t.Run("an older release's unvouched address is dropped at the next sign-in", func(t *testing.T) {
		t.Parallel()
		_, h := discord(t, false)
		id := legacy(t, h)
		require.Equal(t, http.StatusOK, h.post(api+"resend?email="+address, nil, "").status)
		h.noMail(address)

		u := h.oauthSignIn("discord").user()
		require.Equal(t, id, u["_id"])
		require.NotContains(t, u, "email")
		stored, err := h.store.UserByID(t.Context(), id)
		require.NoError(t, err)
		require.Empty(t, stored.Email)
		h.confirmedUser(address, inputPassword)
	})
	t.Run("an older release's unvouched address gives way to the owner's sign-up", func(t *testing.T) {
		t.Parallel()
		_, h := discord(t, false)
		id := legacy(t, h)
		tok := h.confirmedUser(address, inputPassword)
		me := h.get(api+"user", tok).body
		require.Equal(t, authkit.ProviderAltogic, me["provider"])
		require.Equal(t, address, me["email"])
		stored, err := h.store.UserByID(t.Context(), id)
		require.NoError(t, err, "the Discord account stays")
		require.Empty(t, stored.Email, "without the address")
		u := h.oauthSignIn("discord").user()
		require.Equal(t, id, u["_id"])
		require.NotContains(t, u, "email")
	})
	t.Run("an older release's address, vouched for now, is confirmed", func(t *testing.T) {
		t.Parallel()
		_, h := discord(t, true)
		id := legacy(t, h)
		u := h.oauthSignIn("discord").user()
		require.Equal(t, id, u["_id"])
		require.Equal(t, address, u["email"])
		require.Equal(t, true, u["emailVerified"])
	})
}

// A provider's email goes through the kit's canonical form before any
// account_exists or linking decision: a fullwidth variant of a confirmed
// account's address is that address (refused, as the plain case variant
// is), and one with an invisible character holds no address at all. A
// provider id is compared in one form: a negative GitHub id is refused.
// (Found by an adversarial review: each of the two variants made a second
// account holding a look-alike of the first's address.)
func TestOAuthEmailsInCanonicalForm(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, email string
		exists      bool // account_exists; else a new account without an email
	}{
		{"fullwidth", "\uff21\uff2e\uff2e@example.com", true},
		{"plain capitals", "ANN@example.com", true},
		{"zero-width space", "ann\u200b@example.com", false},
		{"bidi override", "ann\u202e@example.com", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			gh := oauthtest.NewGitHub(t)
			gh.SetGitHubUser(oauthtest.GitHubUser{ID: 4242, Login: "mallory", Name: "Mallory"},
				[]oauthtest.GitHubEmail{{Email: c.email, Primary: true, Verified: true}})
			h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
			h.confirmedUser("ann@example.com", "correct horse battery")
			if c.exists {
				refused(t, h.browser().signIn("github"), "409", "account_exists")
				h.noUser("github", "4242", "")
				return
			}
			g := h.oauthSignIn("github")
			require.Empty(t, g.user()["email"], "the look-alike address is not stored")
			u, err := h.store.UserByProvider(t.Context(), "github", "4242")
			require.NoError(t, err)
			require.Empty(t, u.Email)
			owner, err := h.store.UserByEmail(t.Context(), "ann@example.com")
			require.NoError(t, err)
			require.Equal(t, authkit.ProviderAltogic, owner.Provider, "the address is still the owner's alone")
		})
	}
	t.Run("negative GitHub id", func(t *testing.T) {
		t.Parallel()
		gh := oauthtest.NewGitHub(t)
		gh.SetGitHubUser(oauthtest.GitHubUser{ID: -5, Login: "neg"}, nil)
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
		refused(t, h.browser().signIn("github"), "502", "oauth_failed")
		h.noUser("github", "-5", "")
	})
}
