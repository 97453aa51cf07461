package authkit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// The admin operations (admin.go): the host's hand on its users, from Go.

// An account the app makes signs in over HTTP with its password, whether
// the app gave the password or imported its bcrypt or argon2id hash; an
// imported hash becomes the kit's own argon2id at the first sign-in.
func TestAdminCreateUserSignsIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := t.Context()
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("a bcrypt user's password"), bcrypt.MinCost)
	require.NoError(t, err)
	argonHash, err := authkit.HashPassword("an argon2id user's password")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(argonHash, "$argon2id$v=19$"), argonHash)
	again, err := authkit.HashPassword("an argon2id user's password")
	require.NoError(t, err)
	require.NotEqual(t, argonHash, again, "salted")

	cases := []struct {
		name, email, password string
		user                  authkit.NewUser
	}{
		{"password", "pat@example.com", "pat's own password", authkit.NewUser{Password: "pat's own password"}},
		{"bcrypt import", "bea@example.com", "a bcrypt user's password", authkit.NewUser{PasswordHash: string(bcryptHash)}},
		{"argon2id import", "ari@example.com", "an argon2id user's password", authkit.NewUser{PasswordHash: argonHash}},
	}
	for _, c := range cases {
		n := c.user
		n.Email, n.EmailVerified, n.Name, n.AccessGroups = strings.ToUpper(c.email), true, "Imported", []string{"staff"}
		u, err := h.kit.CreateUser(ctx, n)
		require.NoError(t, err, c.name)
		require.Equal(t, c.email, u.Email, "%s: normalised as a sign-up's", c.name)
		require.Empty(t, u.PasswordHash, c.name)

		requireStatusCode(t, h.signIn(c.email, "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
		a := h.signIn(c.email, c.password)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", c.name, a.raw)
		require.Equal(t, u.ID, a.user()["_id"], c.name)
		require.Equal(t, "Imported", a.user()["name"], c.name)
		require.Equal(t, []any{"staff"}, a.session()["accessGroupKeys"], c.name)
		stored, err := h.store.UserByEmail(ctx, c.email)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(stored.PasswordHash, "$argon2id$"), "%s: the kit's own hash now: %s", c.name, stored.PasswordHash)
		require.Equal(t, http.StatusOK, h.signIn(c.email, c.password).status, "%s: and again", c.name)
	}
}

// CreateUser refuses what it cannot keep, and then stores nothing.
func TestAdminCreateUserRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := t.Context()
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("a bcrypt user's password"), bcrypt.MinCost)
	require.NoError(t, err)
	good := string(bcryptHash)
	argonHash, err := authkit.HashPassword("an argon2id user's password")
	require.NoError(t, err)

	for name, hash := range map[string]string{
		"plaintext":                     "a bcrypt user's password",
		"md5crypt":                      "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",
		"bcrypt cut short":              good[:40],
		"bcrypt with cost 99":           "$2a$99" + good[6:],
		"argon2i":                       strings.Replace(argonHash, "$argon2id$", "$argon2i$", 1),
		"argon2id without its key":      argonHash[:strings.LastIndex(argonHash, "$")],
		"argon2id with a bad parameter": strings.Replace(argonHash, "m=", "m=x", 1),
		"argon2id asking 4 GiB":         regexp.MustCompile(`m=\d+`).ReplaceAllString(argonHash, "m=4194304"),
	} {
		_, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "bad@example.com", EmailVerified: true, PasswordHash: hash})
		require.Error(t, err, name)
		requireErrorCode(t, err, authkit.CodeBadRequest)
	}
	refused := []struct {
		user authkit.NewUser
		code authkit.Code
	}{
		{authkit.NewUser{Email: "bad@example.com", Password: inputPassword, PasswordHash: good}, authkit.CodeBadRequest},
		{authkit.NewUser{Email: "bad@example.com", Password: "short"}, authkit.CodePasswordTooShort},
		{authkit.NewUser{Email: "not an email"}, authkit.CodeInvalidEmail},
		{authkit.NewUser{Email: "bad@example.com", Phone: "555-0100"}, authkit.CodeInvalidPhone},
		{authkit.NewUser{Email: "bad@example.com", AccessGroups: []string{"no spaces"}}, authkit.CodeBadRequest},
		{authkit.NewUser{Email: "bad@example.com", ServerData: map[string]json.RawMessage{"emailVerified": json.RawMessage(`true`)}}, authkit.CodeInvalidUserData},
		{authkit.NewUser{Email: "bad@example.com", ServerData: map[string]json.RawMessage{"plan": json.RawMessage(`not json`)}}, authkit.CodeInvalidUserData},
		{authkit.NewUser{Email: "bad@example.com", Profile: map[string]json.RawMessage{"Access_Groups": json.RawMessage(`["admin"]`)}}, authkit.CodeInvalidUserData},
	}
	for _, c := range refused {
		_, err := h.kit.CreateUser(ctx, c.user)
		requireErrorCode(t, err, c.code)
	}
	_, err = h.kit.FindUser(ctx, "bad@example.com")
	requireErrorCode(t, err, authkit.CodeUserNotFound)
	requireStatusCode(t, h.signIn("bad@example.com", "a bcrypt user's password"), http.StatusUnauthorized, "invalid_credentials")

	// An address or a number that an account has is taken, in any case
	// or form.
	h.confirmedUser("ann@example.com", inputPassword)
	_, err = h.kit.CreateUser(ctx, authkit.NewUser{Email: "ANN@example.com", EmailVerified: true, Password: inputPassword})
	requireErrorCode(t, err, authkit.CodeEmailTaken)
	_, err = h.kit.CreateUser(ctx, authkit.NewUser{Phone: "+15555555511", PhoneVerified: true})
	require.NoError(t, err)
	_, err = h.kit.CreateUser(ctx, authkit.NewUser{Phone: "+1 555 555 5511", PhoneVerified: true})
	requireErrorCode(t, err, authkit.CodePhoneTaken)
}

// FindUser takes an email or a number in any form a sign-in takes; User
// an id. Neither hands out the password hash.
func TestAdminFindUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := t.Context()
	fay, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "fay@example.com", EmailVerified: true, Password: inputPassword})
	require.NoError(t, err)
	phil, err := h.kit.CreateUser(ctx, authkit.NewUser{Phone: "+1 555 555 5512", PhoneVerified: true, Password: inputPassword})
	require.NoError(t, err)
	require.Equal(t, "+15555555512", phil.Phone)

	for q, id := range map[string]string{
		"fay@example.com": fay.ID, "FAY@Example.COM": fay.ID,
		"+15555555512": phil.ID, "+1 555 555 5512": phil.ID, "+1-555-555-5512": phil.ID,
	} {
		u, err := h.kit.FindUser(ctx, q)
		require.NoError(t, err, q)
		require.Equal(t, id, u.ID, q)
		require.Empty(t, u.PasswordHash, q)
	}
	for _, q := range []string{"nobody@example.com", "+15555555599"} {
		_, err := h.kit.FindUser(ctx, q)
		requireErrorCode(t, err, authkit.CodeUserNotFound)
	}
	_, err = h.kit.FindUser(ctx, "555-0100")
	requireErrorCode(t, err, authkit.CodeInvalidPhone)

	u, err := h.kit.User(ctx, fay.ID)
	require.NoError(t, err)
	require.Equal(t, "fay@example.com", u.Email)
	require.Empty(t, u.PasswordHash)
	_, err = h.kit.User(ctx, "0123456789abcdef01234567")
	requireErrorCode(t, err, authkit.CodeUserNotFound)
}

// ListUsers pages through every user by id, on every store.
func TestAdminListUsers(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			h := newHarness(t, onStore(s, s), authkit.CheapHashing)
			ctx := t.Context()
			var ids []string
			for i := range 5 {
				u, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true, Password: inputPassword})
				require.NoError(t, err)
				ids = append(ids, u.ID)
			}
			slices.Sort(ids)

			var got []string
			var sizes []int
			for after := ""; ; {
				page, err := h.kit.ListUsers(ctx, after, 2)
				require.NoError(t, err)
				sizes = append(sizes, len(page))
				for _, u := range page {
					require.Empty(t, u.PasswordHash)
					require.NotEmpty(t, u.Email)
					got = append(got, u.ID)
				}
				if len(page) < 2 {
					break
				}
				after = page[len(page)-1].ID
			}
			require.Equal(t, []int{2, 2, 1}, sizes)
			require.Equal(t, ids, got, "every user once, in order of id")

			all, err := h.kit.ListUsers(ctx, "", authkit.MaxUsersPage)
			require.NoError(t, err)
			require.Len(t, all, 5)
			for _, limit := range []int{0, -1, authkit.MaxUsersPage + 1} {
				_, err := h.kit.ListUsers(ctx, "", limit)
				requireErrorCode(t, err, authkit.CodeBadRequest)
			}
		})
	}
}

// SetPassword sets a password as a reset does: every session ends and
// every link sent before is void.
func TestAdminSetPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := t.Context()
	tok := h.confirmedUser("sam@example.com", inputPassword)
	id := h.userID("sam@example.com")
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=sam@example.com", nil, "").status)
	link := h.link("sam@example.com")

	requireErrorCode(t, h.kit.SetPassword(ctx, id, "short"), authkit.CodePasswordTooShort)
	require.Equal(t, http.StatusOK, h.get(api+"user", tok).status, "a refused password ends nothing")
	require.NoError(t, h.kit.SetPassword(ctx, id, "set by the app"))
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.signIn("sam@example.com", inputPassword), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, http.StatusOK, h.signIn("sam@example.com", "set by the app").status)
	require.Equal(t, "invalid_token", h.follow(link).Get("error"), "the reset link sent before is void")
	requireErrorCode(t, h.kit.SetPassword(ctx, "0123456789abcdef01234567", "set by the app"), authkit.CodeUserNotFound)
}

// DeleteUser takes the account, its sessions and its links at once, and
// frees its address.
func TestAdminDeleteUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := t.Context()
	tok := h.confirmedUser("del@example.com", inputPassword)
	keep := h.confirmedUser("keep@example.com", inputPassword)
	id := h.userID("del@example.com")
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=del@example.com", nil, "").status)
	link := h.link("del@example.com")

	require.NoError(t, h.kit.DeleteUser(ctx, id))
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	status, _, _ := serveHost(t, h.kit.RequireSession, http.MethodGet, map[string]string{"Session": tok})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, http.StatusOK, h.get(api+"user", keep).status, "the other accounts stay")
	_, err := h.store.UserByEmail(ctx, "del@example.com")
	require.True(t, errors.Is(err, authkit.ErrNotFound), "%v", err)
	_, err = h.kit.User(ctx, id)
	requireErrorCode(t, err, authkit.CodeUserNotFound)
	_, err = h.kit.UserSessions(ctx, id)
	requireErrorCode(t, err, authkit.CodeUserNotFound)
	requireErrorCode(t, h.kit.DeleteUser(ctx, id), authkit.CodeUserNotFound)
	require.Equal(t, "invalid_token", h.follow(link).Get("error"), "its links went with it")
	requireStatusCode(t, h.signIn("del@example.com", inputPassword), http.StatusUnauthorized, "invalid_credentials")

	a := h.signUp("del@example.com", "a new owner's password", nil)
	require.Equal(t, http.StatusOK, a.status, "the address is free: %s", a.raw)
	g := h.grant(h.follow(h.link("del@example.com")).Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.NotEqual(t, id, g.user()["_id"], "a new account")
}

// A disabled user's sessions stop at once; a sign-in is told
// user_disabled only with the right password, and no link goes to the
// account. Enabled again, the user signs in; the old sessions stay dead.
func TestAdminDisableUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	tok := h.confirmedUser("dee@example.com", inputPassword)
	id := h.userID("dee@example.com")
	key := h.magicGrant("dee@example.com") // followed before, exchanged after

	require.NoError(t, h.kit.DisableUser(ctx, id))
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	status, _, _ := serveHost(t, h.kit.RequireSession, http.MethodGet, map[string]string{"Session": tok})
	require.Equal(t, http.StatusUnauthorized, status)
	_, err := h.kit.Authenticate(ctx, tok)
	requireErrorCode(t, err, authkit.CodeInvalidSessionToken)
	u, err := h.kit.User(ctx, id)
	require.NoError(t, err)
	require.True(t, u.Disabled)
	sessions, err := h.kit.UserSessions(ctx, id)
	require.NoError(t, err)
	require.Empty(t, sessions)

	// No oracle: a wrong password is wrong, as for any account.
	requireStatusCode(t, h.signIn("dee@example.com", "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signIn("dee@example.com", inputPassword), http.StatusForbidden, "user_disabled")
	_, err = h.kit.SignInWithEmail(ctx, "dee@example.com", "a wrong password")
	requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	_, err = h.kit.SignInWithEmail(ctx, "dee@example.com", inputPassword)
	requireErrorCode(t, err, authkit.CodeUserDisabled)
	_, err = h.kit.StartSession(ctx, id)
	requireErrorCode(t, err, authkit.CodeUserDisabled)
	requireStatusCode(t, h.grant(key), http.StatusBadRequest, "invalid_token")
	h.clock.Advance(time.Minute) // past EmailRepeats, which would keep a second magic link anyway
	for _, route := range []string{"send-magic", "send-reset"} {
		require.Equal(t, http.StatusOK, h.post(api+route+"?email=dee@example.com", nil, "").status, "answered alike")
	}
	h.noMail("dee@example.com")

	require.NoError(t, h.kit.EnableUser(ctx, id))
	in := h.signIn("dee@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", in.token()).status)
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.grant(h.magicGrant("dee@example.com")).status, "links go again")

	requireErrorCode(t, h.kit.DisableUser(ctx, "0123456789abcdef01234567"), authkit.CodeUserNotFound)
	requireErrorCode(t, h.kit.EnableUser(ctx, "0123456789abcdef01234567"), authkit.CodeUserNotFound)
}

// Every session of a disabled user is dead, whatever its stamp: the flag
// alone stops them, as when an operator's script sets it in the store.
func TestAdminDisabledFlagAloneStopsSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	tok := h.confirmedUser("flag@example.com", inputPassword)
	disabled := true
	_, err := h.store.UpdateUser(t.Context(), h.userID("flag@example.com"), authkit.UserUpdate{Set: authkit.UserFields{Disabled: &disabled}})
	require.NoError(t, err)
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.signIn("flag@example.com", inputPassword), http.StatusForbidden, "user_disabled")
}

// A disabled user cannot sign in by phone: user_disabled after the right
// password, and no code is texted.
func TestAdminDisableUserPhone(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, authkit.CheapHashing)
	tok := h.phoneUser("+15555555501", phonePassword)
	require.NoError(t, h.kit.DisableUser(t.Context(), h.userID("+15555555501")))
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.signInPhone("+15555555501", "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signInPhone("+15555555501", phonePassword), http.StatusForbidden, "user_disabled")
	h.clock.Advance(time.Minute)
	for _, route := range []string{"send-code", "send-reset-code"} {
		require.Equal(t, http.StatusOK, h.post(phoneQuery(route, "+15555555501", ""), nil, "").status)
	}
	h.noMail("+15555555501")
}

// A disabled user's provider sign-in ends at the Redirect URL with
// user_disabled, and signs in again once enabled.
func TestAdminDisableUserOAuth(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h := newHarness(t, authkit.CheapHashing, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	g := h.oauthSignIn("github")
	id := g.user()["_id"].(string)

	require.NoError(t, h.kit.DisableUser(t.Context(), id))
	requireStatusCode(t, h.get(api+"user", g.token()), http.StatusUnauthorized, "invalid_session_token")
	refused(t, h.browser().signIn("github"), "403", "user_disabled")

	require.NoError(t, h.kit.EnableUser(t.Context(), id))
	require.Equal(t, id, h.oauthSignIn("github").user()["_id"])
}

// UserSessions lists a user's sessions; EndSession ends one of them (and
// no other user's), EndSessions all.
func TestAdminUserSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	u, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "ses@example.com", EmailVerified: true, Password: inputPassword})
	require.NoError(t, err)
	other, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "other@example.com", EmailVerified: true})
	require.NoError(t, err)
	one, err := h.kit.SignInWithEmail(ctx, "ses@example.com", inputPassword)
	require.NoError(t, err)
	h.clock.Advance(time.Minute)
	two, err := h.kit.SignInWithEmail(ctx, "ses@example.com", inputPassword)
	require.NoError(t, err)
	theirs, err := h.kit.StartSession(ctx, other.ID)
	require.NoError(t, err)

	list, err := h.kit.UserSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, []string{one.Session.ID, two.Session.ID}, []string{list[0].ID, list[1].ID}, "oldest first")
	require.Equal(t, hostIP, list[0].IP)

	requireErrorCode(t, h.kit.EndSession(ctx, u.ID, theirs.Session.ID), authkit.CodeSessionNotFound)
	require.Equal(t, http.StatusOK, h.get(api+"user", theirs.Token).status, "another user's session is not the user's to end")
	require.NoError(t, h.kit.EndSession(ctx, u.ID, one.Session.ID))
	requireStatusCode(t, h.get(api+"user", one.Token), http.StatusUnauthorized, "invalid_session_token")
	require.Equal(t, http.StatusOK, h.get(api+"user", two.Token).status)
	requireErrorCode(t, h.kit.EndSession(ctx, u.ID, one.Session.ID), authkit.CodeSessionNotFound)

	require.NoError(t, h.kit.EndSessions(ctx, u.ID))
	requireStatusCode(t, h.get(api+"user", two.Token), http.StatusUnauthorized, "invalid_session_token")
	require.Equal(t, http.StatusOK, h.get(api+"user", theirs.Token).status)
	list, err = h.kit.UserSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, list)
}

// sharedInstances starts two kits on the store s, as two instances of one
// app behind one public URL (a's): one database, one Secret, one clock
// and one outbox (either instance's courier may deliver what the other
// promised), each with its own server.
func sharedInstances(t *testing.T, s store) (a, b *harness) {
	t.Helper()
	secret := bytes.Repeat([]byte("s"), 32)
	shared := func(c *authkit.Config) { c.Store, c.Limiter, c.Secret = s, s, secret }
	a = newHarness(t, shared, authkit.CheapHashing)
	b = newHarness(t, shared, authkit.CheapHashing, func(c *authkit.Config) {
		c.Now, c.Mailer, c.PublicURL = a.clock.Now, a.box, a.srv.URL
	})
	b.clock, b.box = a.clock, a.box
	return a, b
}

// Disabling or deleting a user on one instance ends their sessions on
// every other at once, on every store.
func TestAdminDisableAndDeleteAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a, b := sharedInstances(t, st.open(t))
			ctx := t.Context()
			dee := a.confirmedUser("dee@example.com", inputPassword)
			del := a.confirmedUser("del@example.com", inputPassword)
			for _, tok := range []string{dee, del} {
				require.Equal(t, http.StatusOK, b.get(api+"user", tok).status, "a session works on every instance")
			}
			unauthorized := func(h *harness, tok string) {
				t.Helper()
				requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
				status, _, _ := serveHost(t, h.kit.RequireSession, http.MethodGet, map[string]string{"Session": tok})
				require.Equal(t, http.StatusUnauthorized, status)
			}

			deeID := a.userID("dee@example.com")
			require.NoError(t, a.kit.DisableUser(ctx, deeID))
			unauthorized(b, dee)
			requireStatusCode(t, b.signIn("dee@example.com", inputPassword), http.StatusForbidden, "user_disabled")
			require.Equal(t, http.StatusOK, b.get(api+"user", del).status, "the other user is untouched")

			require.NoError(t, a.kit.DeleteUser(ctx, a.userID("del@example.com")))
			unauthorized(b, del)
			require.Equal(t, http.StatusOK, b.signUp("del@example.com", inputPassword, nil).status, "the address is free on every instance")

			require.NoError(t, b.kit.EnableUser(ctx, deeID))
			require.Equal(t, http.StatusOK, a.signIn("dee@example.com", inputPassword).status)
			unauthorized(a, dee)
		})
	}
}
