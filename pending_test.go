package authkit_test

import (
	"crypto/rand"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/internal/password"
)

// The owner of a mailbox or a number owns the account for it: a sign-up
// that nobody confirmed holds nothing (pending.go). Each test is an attack
// an adversarial review reproduced on the release before: the attacker
// signed up first with the victim's address and his own password, and the
// victim got 409, no reset, and her only way in was his confirmation.

const (
	attackerPassword = "the attacker's password"
	victimPassword   = "the victim's own password"
)

// The attacker signs up first; the victim can still sign up, and her own
// link makes her account with her password. The attacker holds nothing:
// his password signs in nowhere and his link makes nothing.
func TestAnEarlierSignUpCannotSquatAnAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const victim = "victim@example.com"
	require.Equal(t, http.StatusOK, h.signUp(victim, attackerPassword, "Mallory").status)
	attackers := h.link(victim)

	own := h.signUp(victim, victimPassword, "Vera")
	require.Equal(t, http.StatusOK, own.status, "not email_taken: %s", own.raw)
	require.Nil(t, own.body["session"])
	g := h.grant(h.follow(h.link(victim)).Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, "Vera", g.user()["name"])
	require.Equal(t, true, g.user()["emailVerified"])
	require.Equal(t, own.user()["_id"], g.user()["_id"], "the account the sign-up answered with")

	requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, http.StatusOK, h.signIn(victim, victimPassword).status)
	require.Equal(t, "invalid_token", h.grant(h.follow(attackers).Get("access_token")).code(), "the attacker's link makes nothing now")
	requireStatusCode(t, h.signUp(victim, attackerPassword, nil), http.StatusConflict, "email_taken")
}

// A later sign-up voids no earlier one: an attacker who signs up after
// the owner cannot cancel her link.
func TestALaterSignUpCannotCancelTheOwners(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const victim = "vic@example.com"
	require.Equal(t, http.StatusOK, h.signUp(victim, victimPassword, nil).status)
	own := h.link(victim)
	require.Equal(t, http.StatusOK, h.signUp(victim, attackerPassword, nil).status)
	h.link(victim) // the attacker's, which the victim ignores

	g := h.grant(h.follow(own).Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, http.StatusOK, h.signIn(victim, victimPassword).status)
	requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
}

// An address that only sign-ups wait for is recovered by its owner: a
// reset link makes the account with her new password, a magic link makes
// it with none. Neither keeps the attacker's password.
func TestRecoveryOfAWaitingAddressMakesTheOwnersAccount(t *testing.T) {
	t.Parallel()
	t.Run("reset", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const victim = "rae@example.com"
		require.Equal(t, http.StatusOK, h.signUp(victim, attackerPassword, nil).status)
		attackers := h.link(victim)
		key := h.resetKey(victim)
		require.Equal(t, "invalid_token", h.grant(key).code(), "a reset key signs nobody in")
		a := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": victimPassword}, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)

		in := h.signIn(victim, victimPassword)
		require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
		require.Equal(t, true, in.user()["emailVerified"])
		requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
		require.Equal(t, "invalid_token", h.grant(h.follow(attackers).Get("access_token")).code())
	})
	t.Run("magic link", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const victim = "max@example.com"
		require.Equal(t, http.StatusOK, h.signUp(victim, attackerPassword, nil).status)
		h.link(victim)
		g := h.grant(h.magicGrant(victim))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		require.Equal(t, http.StatusOK, h.get(api+"user", g.token()).status)
		requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("nothing to an address nobody asked for", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=nobody@example.com", nil, "").status)
		require.Equal(t, http.StatusOK, h.post(api+"send-magic?email=nobody@example.com", nil, "").status)
		h.noMail("nobody@example.com")
	})
}

// When several sign-ups wait for an address, a resent confirmation cannot
// know whose password the owner typed: it makes the account with none.
// (When one waits, it is that sign-up's: TestResendConfirmation.)
func TestResendAmongSeveralSignUpsKeepsNoPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const victim = "ola@example.com"
	require.Equal(t, http.StatusOK, h.signUp(victim, victimPassword, nil).status)
	h.link(victim)
	require.Equal(t, http.StatusOK, h.signUp(victim, attackerPassword, nil).status)
	h.link(victim)
	require.Equal(t, http.StatusOK, h.post(api+"resend?email="+victim, nil, "").status)
	g := h.grant(h.follow(h.link(victim)).Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	for _, pw := range []string{victimPassword, attackerPassword} {
		requireStatusCode(t, h.signIn(victim, pw), http.StatusUnauthorized, "invalid_credentials")
	}
}

// An account of an earlier release that was never confirmed holds its
// address no more: when the owner proves the address through anything but
// that account's own link, the account is discarded, with its password and
// its sessions. An account that proved something else (a phone) keeps that
// and loses only the address.
func TestAnUnconfirmedAccountOfAnEarlierReleaseHoldsNothing(t *testing.T) {
	t.Parallel()
	hash, err := password.Hash(rand.Reader, attackerPassword, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	require.NoError(t, err)
	legacy := func(h *harness, id, email, phone string) string {
		now := h.clock.Now()
		require.NoError(t, h.store.CreateUser(t.Context(), authkit.User{
			ID: id, Provider: authkit.ProviderAltogic, ProviderUserID: id, Email: email,
			Phone: phone, PhoneVerified: phone != "", PasswordHash: hash, SignUpAt: now, LastLoginAt: now, Stamp: "old",
		}))
		// A session it got while confirmation was off.
		const token = "bGVnYWN5LXNlc3Npb24tdG9rZW4tb2YtMzItYnl0ZXMtLQ"
		require.NoError(t, h.store.CreateSession(t.Context(), authkit.Session{
			ID: "s-" + id, TokenHash: sha256Hex(token), UserID: id, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), Stamp: "old",
		}))
		require.Equal(t, http.StatusOK, h.get(api+"user", token).status)
		return token
	}

	t.Run("by the owner's own sign-up", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const victim = "uma@example.com"
		session := legacy(h, "0123456789abcdef01234567", victim, "")
		h.confirmedUser(victim, victimPassword)
		require.Equal(t, http.StatusUnauthorized, h.get(api+"user", session).status, "the squatter's session ended")
		requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
		require.Equal(t, http.StatusOK, h.signIn(victim, victimPassword).status)
		_, err := h.store.UserByID(t.Context(), "0123456789abcdef01234567")
		require.ErrorIs(t, err, authkit.ErrNotFound)
	})
	t.Run("by a reset", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const victim = "una@example.com"
		legacy(h, "0123456789abcdef01234567", victim, "")
		key := h.resetKey(victim)
		require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": victimPassword}, "").status)
		require.Equal(t, http.StatusOK, h.signIn(victim, victimPassword).status)
		requireStatusCode(t, h.signIn(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("an account that proved a phone keeps it", func(t *testing.T) {
		t.Parallel()
		h := newPhoneHarness(t)
		const victim = "ula@example.com"
		session := legacy(h, "0123456789abcdef01234567", victim, "+15555555500")
		h.confirmedUser(victim, victimPassword)
		me := h.get(api+"user", session)
		require.Equal(t, http.StatusOK, me.status, "the other account lives on")
		require.Empty(t, me.body["email"], "without the address it never proved")
		require.Equal(t, http.StatusOK, h.signInPhone("+15555555500", attackerPassword).status)
		require.Equal(t, http.StatusOK, h.signIn(victim, victimPassword).status)
	})
	t.Run("by a provider that vouches for it", func(t *testing.T) {
		t.Parallel()
		gh := oauthtest.NewGitHub(t) // vouches for rooby@example.com
		h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
		session := legacy(h, "0123456789abcdef01234567", "rooby@example.com", "")
		g := h.oauthSignIn("github")
		require.Equal(t, "rooby@example.com", g.user()["email"])
		require.Equal(t, "github", g.user()["provider"])
		require.Equal(t, http.StatusUnauthorized, h.get(api+"user", session).status, "the squatter's session ended")
		requireStatusCode(t, h.signIn("rooby@example.com", attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("by the account's own link, as before", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		const owner = "ida@example.com"
		legacy(h, "0123456789abcdef01234567", owner, "")
		// The one account that waits: resend mails its own confirmation.
		require.Equal(t, http.StatusOK, h.post(api+"resend?email="+owner, nil, "").status)
		g := h.grant(h.follow(h.link(owner)).Get("access_token"))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		require.Equal(t, "0123456789abcdef01234567", g.user()["_id"])
		require.Equal(t, http.StatusOK, h.signIn(owner, attackerPassword).status, "its password kept: it was its own link")
	})
}

// The same for numbers: an attacker's sign-up with the victim's number
// holds nothing, and a later one does not void the owner's code.
func TestAnEarlierSignUpCannotSquatANumber(t *testing.T) {
	t.Parallel()
	t.Run("attacker first", func(t *testing.T) {
		t.Parallel()
		h := newPhoneHarness(t)
		const victim = "+15555555555"
		require.Equal(t, http.StatusOK, h.signUpPhone(victim, attackerPassword, nil).status)
		h.code(victim) // the attacker's code reaches the victim's phone
		h.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, h.signUpPhone(victim, victimPassword, nil).status, "not phone_taken")
		v := h.post(phoneQuery("verify-phone", victim, h.code(victim)), nil, "")
		require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
		require.Equal(t, http.StatusOK, h.signInPhone(victim, victimPassword).status)
		requireStatusCode(t, h.signInPhone(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("attacker after", func(t *testing.T) {
		t.Parallel()
		h := newPhoneHarness(t)
		const victim = "+15555555556"
		require.Equal(t, http.StatusOK, h.signUpPhone(victim, victimPassword, nil).status)
		own := h.code(victim)
		h.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, h.signUpPhone(victim, attackerPassword, nil).status)
		h.code(victim) // the attacker's, newer
		v := h.post(phoneQuery("verify-phone", victim, own), nil, "")
		require.Equal(t, http.StatusOK, v.status, "the owner's own code still works: %s", v.raw)
		require.Equal(t, http.StatusOK, h.signInPhone(victim, victimPassword).status)
		requireStatusCode(t, h.signInPhone(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
	t.Run("reset code", func(t *testing.T) {
		t.Parallel()
		h := newPhoneHarness(t)
		const victim = "+15555555557"
		require.Equal(t, http.StatusOK, h.signUpPhone(victim, attackerPassword, nil).status)
		h.code(victim)
		h.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", victim, ""), nil, "").status)
		a := h.post(phoneQuery("reset-pwd-code", victim, h.code(victim)), map[string]any{"newPassword": victimPassword}, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		in := h.signInPhone(victim, victimPassword)
		require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
		require.Equal(t, true, in.user()["phoneVerified"])
		requireStatusCode(t, h.signInPhone(victim, attackerPassword), http.StatusUnauthorized, "invalid_credentials")
	})
}

// Two sign-ups wait for one address and their links are exchanged at the
// same moment, many times over: one account is made, on every store, and
// every other exchange answers invalid_token.
func TestOneWaitingSignUpBecomesTheAccount(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			h := newHarness(t, onStore(s, s), noLimits)
			const victim = "race@example.com"
			var grants []string
			for _, pw := range []string{victimPassword, attackerPassword} {
				require.Equal(t, http.StatusOK, h.signUp(victim, pw, nil).status)
				link := h.link(victim)
				for range 25 {
					grants = append(grants, h.follow(link).Get("access_token"))
				}
			}
			var next atomic.Int32
			wins := race(func() int { return h.grant(grants[next.Add(1)-1]).status })
			require.Equal(t, 1, wins)
			ok := 0
			for _, pw := range []string{victimPassword, attackerPassword} {
				if h.signIn(victim, pw).status == http.StatusOK {
					ok++
				}
			}
			require.Equal(t, 1, ok, "one sign-up's password is the account's")
		})
	}
}
