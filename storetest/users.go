package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.UserStore].

func testUserRoundTrip(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	want := newUser("u1", "ann@example.com", "+15555555555")
	want.Provider, want.ProviderUserID = "github", "gh-1234"
	require.NoError(t, s.CreateUser(ctx, want))

	got, err := s.UserByID(ctx, "u1")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	got, err = s.UserByEmail(ctx, "ann@example.com")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	requireByPhone(t, s, "+15555555555", want)

	got, err = s.UserByProvider(ctx, "github", "gh-1234")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	// An account without email, phone, profile, access groups or server
	// data, not disabled, round-trips too; so does one whose maps and list
	// are empty, not nil.
	bare := authkit.User{
		ID: "u2", Provider: authkit.ProviderAltogic, ProviderUserID: "u2",
		SignUpAt: at(0), LastLoginAt: at(0),
	}
	require.NoError(t, s.CreateUser(ctx, bare))
	got, err = s.UserByID(ctx, "u2")
	require.NoError(t, err)
	requireSameUser(t, bare, got)
	require.False(t, got.Disabled)

	empty := bare
	empty.ID, empty.ProviderUserID = "u3", "u3"
	empty.Profile, empty.ServerData, empty.AccessGroups = map[string]json.RawMessage{}, map[string]json.RawMessage{}, []string{}
	require.NoError(t, s.CreateUser(ctx, empty))
	got, err = s.UserByID(ctx, "u3")
	require.NoError(t, err)
	requireSameUser(t, empty, got)
	require.Empty(t, got.Profile)
	require.Empty(t, got.ServerData)
	require.Empty(t, got.AccessGroups)
}

func testUserByEmailFolded(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, newUser("u1", "Mixed.Case@Example.COM", "")))
	for _, email := range []string{"Mixed.Case@Example.COM", "mixed.case@example.com", "MIXED.CASE@EXAMPLE.COM"} {
		u, err := s.UserByEmail(ctx, email)
		require.NoError(t, err, email)
		require.Equal(t, "u1", u.ID, email)
	}
	_, err := s.UserByEmail(ctx, "mixed.case@example.org")
	requireNotFound(t, err)
}

func testCreateUserDuplicates(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	orig := newUser("u1", "ann@example.com", "+15555550001")
	orig.Provider, orig.ProviderUserID = "google", "g-1"
	require.NoError(t, s.CreateUser(ctx, orig))

	// Each candidate collides with orig on exactly one key; its other keys
	// are fresh, so finding any of them would show a partial write.
	cases := []struct {
		name string
		edit func(u *authkit.User)
	}{
		{"id", func(u *authkit.User) { u.ID = "u1" }},
		{"email in another case", func(u *authkit.User) { u.Email = "ANN@Example.com" }},
		{"phone", func(u *authkit.User) { u.Phone = "+15555550001" }},
		{"provider identity", func(u *authkit.User) { u.Provider, u.ProviderUserID = "google", "g-1" }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := fmt.Sprint(i + 2)
			u := newUser("u"+n, "user"+n+"@example.com", "+1555555010"+n)
			u.Provider, u.ProviderUserID = "github", "gh-"+n
			c.edit(&u)
			requireDuplicate(t, s.CreateUser(ctx, u))

			if u.ID != orig.ID {
				_, err := s.UserByID(ctx, u.ID)
				requireNotFound(t, err, "id of the refused user")
			}
			if u.Email != "ANN@Example.com" {
				_, err := s.UserByEmail(ctx, u.Email)
				requireNotFound(t, err, "email of the refused user")
			}
			if u.Phone != orig.Phone {
				requireNoneByPhone(t, s, u.Phone, "phone of the refused user")
			}
			if u.Provider != orig.Provider {
				_, err := s.UserByProvider(ctx, u.Provider, u.ProviderUserID)
				requireNotFound(t, err, "provider identity of the refused user")
			}
			got, err := s.UserByID(ctx, orig.ID)
			require.NoError(t, err)
			requireSameUser(t, orig, got)
		})
	}

	t.Run("empty email and phone are no keys", func(t *testing.T) {
		for _, id := range []string{"bare1", "bare2"} {
			require.NoError(t, s.CreateUser(ctx, newUser(id, "", "")), id)
		}
		_, err := s.UserByEmail(ctx, "")
		requireNotFound(t, err, "empty email")
		requireNoneByPhone(t, s, "", "empty phone")
	})
}

func testUserMissing(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15555550001")

	_, err := s.UserByID(ctx, "nobody")
	requireNotFound(t, err, "UserByID")
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	requireNotFound(t, err, "UserByEmail")
	requireNoneByPhone(t, s, "+15555550002", "UserByPhone")
	_, err = s.UserByProvider(ctx, "github", "u1")
	requireNotFound(t, err, "UserByProvider with another provider")
	_, err = s.UserByProvider(ctx, authkit.ProviderAltogic, "nobody")
	requireNotFound(t, err, "UserByProvider with another id")
}

func testUserCopies(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	want := newUser("u1", "u1@example.com", "")

	// Changing what was passed in after the call changes nothing stored.
	in := newUser("u1", "u1@example.com", "")
	require.NoError(t, s.CreateUser(ctx, in))
	in.Name = "changed"
	in.Profile["age"][0] = '9'
	in.Profile["new"] = json.RawMessage(`1`)
	changeHostFields(&in)

	got, err := s.UserByID(ctx, "u1")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	// Changing what was returned changes nothing stored, whichever lookup
	// returned it.
	lookups := map[string]func() (authkit.User, error){
		"UserByID":       func() (authkit.User, error) { return s.UserByID(ctx, "u1") },
		"UserByEmail":    func() (authkit.User, error) { return s.UserByEmail(ctx, "u1@example.com") },
		"UserByProvider": func() (authkit.User, error) { return s.UserByProvider(ctx, authkit.ProviderAltogic, "u1") },
	}
	for name, lookup := range lookups {
		got, err := lookup()
		require.NoError(t, err, name)
		got.Name = "changed"
		got.Email = "changed@example.com"
		got.Profile["age"][0] = '9'
		got.Profile["tags"] = append(got.Profile["tags"][:0], "null"...)
		got.Profile["new"] = json.RawMessage(`1`)
		delete(got.Profile, "missing")
		changeHostFields(&got)

		again, err := s.UserByID(ctx, "u1")
		require.NoError(t, err, name)
		requireSameUser(t, want, again)
	}

	// The same holds for the user UpdateUser returns.
	upd, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{Name: ptr("Updated")}})
	require.NoError(t, err)
	upd.Name = "changed"
	upd.Profile["age"][0] = '9'
	upd.Profile["new"] = json.RawMessage(`1`)
	changeHostFields(&upd)
	got, err = s.UserByID(ctx, "u1")
	require.NoError(t, err)
	want.Name = "Updated"
	requireSameUser(t, want, got)

	// And for the maps and lists an update wrote: neither those it was
	// given nor those it returned are the stored ones.
	written := func() authkit.User { // new maps and a new list at each call
		u := newUser("u1", "", "")
		u.Profile["age"] = json.RawMessage(`43`)
		u.AccessGroups = []string{"readers", "writers"}
		u.ServerData["plan"] = json.RawMessage(`"team"`)
		return u
	}
	set, fresh := written(), written()
	want.Profile, want.AccessGroups, want.ServerData = fresh.Profile, fresh.AccessGroups, fresh.ServerData
	upd, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
		Profile: &set.Profile, AccessGroups: &set.AccessGroups, ServerData: &set.ServerData,
	}})
	require.NoError(t, err)
	requireSameUser(t, want, upd)
	set.Profile["age"][0] = '9'
	changeHostFields(&set)
	changeHostFields(&upd)
	got, err = s.UserByID(ctx, "u1")
	require.NoError(t, err)
	requireSameUser(t, want, got)
}

// changeHostFields changes in place the access groups and server data of a
// user made by newUser, and adds to them.
func changeHostFields(u *authkit.User) {
	u.AccessGroups[0] = "changed"
	u.AccessGroups = append(u.AccessGroups, "added")
	u.ServerData["plan"][1] = 'X'
	u.ServerData["new"] = json.RawMessage(`1`)
	u.Disabled = !u.Disabled
}

func testDeleteUser(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	gone := newUser("u1", "ann@example.com", "+15555550001")
	gone.Provider, gone.ProviderUserID = "github", "gh-1"
	require.NoError(t, s.CreateUser(ctx, gone))
	kept := createUser(t, s, "u2", "+15555550002")
	createSession(t, s, "s1", "u1", at(0))
	createSession(t, s, "s2", "u1", at(time.Minute))
	keptSession := createSession(t, s, "s3", "u2", at(0))
	createToken(t, s, "u1-magic", "u1", authkit.PurposeMagicLink)
	createToken(t, s, "u1-reset", "u1", authkit.PurposeResetPassword)
	keptToken := createToken(t, s, "u2-magic", "u2", authkit.PurposeMagicLink)
	// A token bound to no user but sent to u1's email: DeleteUser goes by
	// UserID, not by Subject, and must leave it be.
	unbound := newToken("unbound", "", authkit.PurposeConfirmEmail)
	unbound.Subject = gone.Email
	require.NoError(t, s.CreateToken(ctx, unbound))

	// requireKept requires u2, its session and token, and the unbound
	// token, untouched.
	requireKept := func(t *testing.T) {
		t.Helper()
		requireUser(t, s, kept)
		requireSessions(t, s, "u2", keptSession)
		for _, want := range []authkit.Token{keptToken, unbound} {
			got, err := s.TokenByHash(ctx, want.Hash, at(time.Minute))
			require.NoError(t, err, "token %s", want.Hash)
			requireSameToken(t, want, got)
		}
	}

	require.NoError(t, s.DeleteUser(ctx, "u1"))
	_, err := s.UserByID(ctx, "u1")
	requireNotFound(t, err, "UserByID")
	_, err = s.UserByEmail(ctx, gone.Email)
	requireNotFound(t, err, "UserByEmail")
	_, err = s.UserByProvider(ctx, gone.Provider, gone.ProviderUserID)
	requireNotFound(t, err, "UserByProvider")
	requireNoneByPhone(t, s, gone.Phone, "UserByPhone")
	require.Empty(t, sessionIDs(t, s, "u1"), "the user's sessions")
	for _, hash := range []string{"hash-s1", "hash-s2"} {
		_, err := s.SessionByTokenHash(ctx, hash)
		requireNotFound(t, err, "session %s", hash)
	}
	require.False(t, tokenExists(t, s, "u1-magic"), "the user's magic link")
	require.False(t, tokenExists(t, s, "u1-reset"), "the user's reset link")
	requireKept(t)

	// The user's email, phone and provider identity are free for a new
	// account.
	again := newUser("u3", gone.Email, gone.Phone)
	again.Provider, again.ProviderUserID = gone.Provider, gone.ProviderUserID
	require.NoError(t, s.CreateUser(ctx, again))
	got, err := s.UserByEmail(ctx, gone.Email)
	require.NoError(t, err)
	requireSameUser(t, again, got)
	got, err = s.UserByProvider(ctx, gone.Provider, gone.ProviderUserID)
	require.NoError(t, err)
	requireSameUser(t, again, got)
	requireByPhone(t, s, gone.Phone, again)

	// No such user: ErrNotFound, and nothing deleted. "" is no user's id,
	// though it is the UserID of the unbound token.
	for _, id := range []string{"u1", "nobody", ""} {
		requireNotFound(t, s.DeleteUser(ctx, id), "DeleteUser(%q)", id)
	}
	requireKept(t)
	requireUser(t, s, again)
}
