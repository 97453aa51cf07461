package authkit_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.confirmedUser("ola@example.com", "correct horse battery")
	h.clock.Advance(time.Second) // sessions are listed oldest first
	b := h.signIn("ola@example.com", "correct horse battery").token()
	h.clock.Advance(time.Second)
	c := h.signIn("ola@example.com", "correct horse battery").token()
	stranger := h.confirmedUser("pam@example.com", "correct horse battery")

	list := h.get(api+"sessions", a)
	require.Equal(t, http.StatusOK, list.status)
	require.Len(t, list.list, 3)
	var handles []string
	for _, s := range list.list {
		sm := s.(map[string]any)
		requireSessionShape(t, sm)
		handle := sm["token"].(string)
		require.NotContains(t, []string{a, b, c}, handle, "a listed session carries no usable token")
		require.Equal(t, "invalid_session_token", h.get(api+"user", handle).code())
		handles = append(handles, handle)
	}

	// A stranger cannot sign out Ola's sessions, by handle or by token.
	for _, target := range []string{handles[1], b} {
		r := h.post(api+"signout", map[string]any{"token": target}, stranger)
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, "session_not_found", r.code())
	}
	require.Equal(t, http.StatusOK, h.get(api+"user", b).status)

	// By handle, then by token.
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{"token": handles[1]}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", b).code())
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{"token": c}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", c).code())
	require.Len(t, h.get(api+"sessions", a).list, 1)

	// Its own session, with no body at all, as signOut() sends it.
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", a).code())
}

func TestSignOutAll(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	a := h.confirmedUser("quin@example.com", "correct horse battery")
	b := h.signIn("quin@example.com", "correct horse battery").token()
	c := h.signIn("quin@example.com", "correct horse battery").token()

	require.Equal(t, http.StatusOK, h.post(api+"signout-all-except", nil, a).status)
	require.Equal(t, http.StatusOK, h.get(api+"user", a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", b).code())

	d := h.signIn("quin@example.com", "correct horse battery").token()
	require.Equal(t, http.StatusOK, h.post(api+"signout-all", nil, d).status)
	for _, tok := range []string{a, c, d} {
		require.Equal(t, "invalid_session_token", h.get(api+"user", tok).code())
	}
}

// Ending every session also ends what would make a new one: a grant key,
// a reset key and a sign-in code issued before carry the old credential
// stamp, and sign nobody in afterwards. A thief who got one out of the
// owner's mailbox or phone is out with the owner's other devices; the
// session that asked to keep itself keeps working.
func TestSignOutAllEndsPendingSignIns(t *testing.T) {
	t.Parallel()
	for _, route := range []string{"signout-all", "signout-all-except"} {
		t.Run(route, func(t *testing.T) {
			t.Parallel()
			h := newPhoneHarness(t)
			const email, phone, pw = "vic@example.com", "+15555555555", "correct horse battery"
			owner := h.phoneUser(phone, pw)
			addr, verified := email, true
			u, err := h.store.UserByPhone(t.Context(), phone)
			require.NoError(t, err)
			_, err = h.store.UpdateUser(t.Context(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{Email: &addr, EmailVerified: &verified}})
			require.NoError(t, err)

			stolenGrant := h.magicGrant(email)
			stolenReset := h.resetKey(email)
			h.clock.Advance(time.Minute) // past CodeResendGap
			require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phone, ""), nil, "").status)
			stolenCode := h.code(phone)

			require.Equal(t, http.StatusOK, h.post(api+route, nil, owner).status)

			require.Equal(t, "invalid_token", h.grant(stolenGrant).code(), "the grant key")
			reset := h.post(api+"reset-pwd?key="+stolenReset, map[string]any{"newPassword": "the thief's password"}, "")
			require.Equal(t, "invalid_token", reset.code(), "the reset key")
			require.Equal(t, "invalid_code", h.post(phoneQuery("signin-code", phone, stolenCode), nil, "").code(), "the sign-in code")
			want := http.StatusUnauthorized
			if route == "signout-all-except" {
				want = http.StatusOK
			}
			require.Equal(t, want, h.get(api+"user", owner).status, "the owner's own session")
			require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "the password still works")
		})
	}
}

// SECURITY 19: a token sent along with a sign-in is never adopted.
func TestSignInIgnoresSentToken(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	old := h.confirmedUser("val@example.com", "correct horse battery")
	a := h.do(req{method: http.MethodPost, path: api + "signin-email", token: old,
		body: map[string]any{"email": "val@example.com", "password": "correct horse battery"}})
	require.Equal(t, http.StatusOK, a.status)
	require.NotEqual(t, old, a.token())
}

func TestTransportSessionIdleTimeout(t *testing.T) {
	t.Parallel()
	const idle = time.Hour
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = idle })
	token := h.confirmedUser("ann@example.com", inputPassword)

	// Used every 50 minutes for 5 hours: never idle for an hour.
	for i := range 6 {
		h.clock.Advance(50 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d steps: %s", i+1, a.raw)
	}
	// Used every 2 minutes (less often than activity is recorded) for 2 hours.
	for i := range 60 {
		h.clock.Advance(2 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d short steps: %s", i+1, a.raw)
	}
	// Then left alone for the idle timeout: it is over.
	h.clock.Advance(idle)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.post(api+"signout-all", nil, token), http.StatusUnauthorized, "invalid_session_token")
}

func TestTransportSessionIdleEndsUnusedSession(t *testing.T) {
	t.Parallel()
	const idle = time.Hour
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = idle })
	token := h.confirmedUser("ann@example.com", inputPassword)

	h.clock.Advance(idle - time.Second)
	require.Equal(t, http.StatusOK, h.get(api+"user", token).status, "just inside the idle window")
	h.clock.Advance(idle + time.Second)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
}

func TestTransportSessionLifetime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) {
		c.SessionLifetime = 2 * time.Hour
		c.SessionIdleTimeout = time.Hour
	})
	token := h.confirmedUser("ann@example.com", inputPassword)

	// Active all along, yet over at two hours.
	for i := range 11 {
		h.clock.Advance(10 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d minutes: %s", 10*(i+1), a.raw)
	}
	h.clock.Advance(9*time.Minute + 59*time.Second)
	require.Equal(t, http.StatusOK, h.get(api+"user", token).status, "a second before the end")
	h.clock.Advance(time.Second)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")

	// A new sign-in starts a new lifetime.
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", in.token()).status)
}

func TestTransportExpiredSessionsNotListed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = time.Hour })
	old := h.confirmedUser("ann@example.com", inputPassword)

	h.clock.Advance(50 * time.Minute)
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	fresh := in.token()
	require.Len(t, h.get(api+"sessions", fresh).list, 2, "both sessions are alive")

	h.clock.Advance(20 * time.Minute) // the first is idle for 70 minutes
	requireStatusCode(t, h.get(api+"user", old), http.StatusUnauthorized, "invalid_session_token")
	list := h.get(api+"sessions", fresh)
	require.Equal(t, http.StatusOK, list.status, "%s", list.raw)
	require.Len(t, list.list, 1, "the idle session is not listed: %s", list.raw)
	require.Equal(t, in.session()["creationDtm"], list.list[0].(map[string]any)["creationDtm"])
}

// touchCounter counts the writes of session activity.
type touchCounter struct {
	*memstore.Store
	touches atomic.Int32
}

func (c *touchCounter) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.touches.Add(1)
	return c.Store.TouchSession(ctx, id, at)
}

// RequireSession runs on every request: a busy session records its activity
// now and then, not with a write per request.
func TestActivityIsWrittenCoarsely(t *testing.T) {
	t.Parallel()
	counter := &touchCounter{Store: memstore.New()}
	h := newHarness(t, func(c *authkit.Config) {
		c.Store = counter
		c.EmailConfirmation = authkit.Off
		c.SessionIdleTimeout = 20 * time.Hour // activity is written at most hourly
	})
	tok := h.signUp("act@example.com", "correct horse battery", nil).token()
	for range 5 {
		require.Equal(t, http.StatusOK, h.get(api+"user", tok).status)
	}
	require.Zero(t, counter.touches.Load(), "no write while the session is fresh")
	h.clock.Advance(time.Hour)
	for range 5 {
		require.Equal(t, http.StatusOK, h.get(api+"user", tok).status)
	}
	require.EqualValues(t, 1, counter.touches.Load(), "one write per interval")
}
