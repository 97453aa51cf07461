package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.UserStore.UpdateUser].

// userField is one field of [authkit.UserFields].
type userField struct {
	name string
	// value sets the field in u to its v-th value: distinct v give distinct
	// values (a bool alternates, false for an odd v), and no string or time
	// among them is a fixture's.
	value func(u *authkit.User, v int)
	// named names the field in f with its value in u.
	named func(f *authkit.UserFields, u authkit.User)
}

// userFields lists every field of [authkit.UserFields]: every field of a
// user that a flow writes.
var userFields = []userField{
	{"Email",
		func(u *authkit.User, v int) { u.Email = fmt.Sprintf("v%d@example.com", v) },
		func(f *authkit.UserFields, u authkit.User) { f.Email = ptr(u.Email) }},
	{"EmailVerified",
		func(u *authkit.User, v int) { u.EmailVerified = v%2 == 0 },
		func(f *authkit.UserFields, u authkit.User) { f.EmailVerified = ptr(u.EmailVerified) }},
	{"Phone",
		func(u *authkit.User, v int) { u.Phone = fmt.Sprintf("+1555557%04d", v) },
		func(f *authkit.UserFields, u authkit.User) { f.Phone = ptr(u.Phone) }},
	{"PhoneVerified",
		func(u *authkit.User, v int) { u.PhoneVerified = v%2 == 0 },
		func(f *authkit.UserFields, u authkit.User) { f.PhoneVerified = ptr(u.PhoneVerified) }},
	{"Name",
		func(u *authkit.User, v int) { u.Name = fmt.Sprintf("Name %d", v) },
		func(f *authkit.UserFields, u authkit.User) { f.Name = ptr(u.Name) }},
	{"ProfilePicture",
		func(u *authkit.User, v int) { u.ProfilePicture = fmt.Sprintf("https://example.com/picture-%d.png", v) },
		func(f *authkit.UserFields, u authkit.User) { f.ProfilePicture = ptr(u.ProfilePicture) }},
	{"PasswordHash",
		func(u *authkit.User, v int) {
			u.PasswordHash = fmt.Sprintf("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA%d", v)
		},
		func(f *authkit.UserFields, u authkit.User) { f.PasswordHash = ptr(u.PasswordHash) }},
	{"Stamp",
		func(u *authkit.User, v int) { u.Stamp = fmt.Sprintf("stamp-%d", v) },
		func(f *authkit.UserFields, u authkit.User) { f.Stamp = ptr(u.Stamp) }},
	{"LastLoginAt",
		func(u *authkit.User, v int) {
			u.LastLoginAt = at(3*time.Hour + time.Duration(v)*time.Second + 250*time.Millisecond)
		},
		func(f *authkit.UserFields, u authkit.User) { f.LastLoginAt = ptr(u.LastLoginAt) }},
	{"Disabled",
		func(u *authkit.User, v int) { u.Disabled = v%2 == 0 },
		func(f *authkit.UserFields, u authkit.User) { f.Disabled = ptr(u.Disabled) }},
	{"Profile",
		func(u *authkit.User, v int) {
			u.Profile = map[string]json.RawMessage{"v": json.RawMessage(strconv.Itoa(v))}
		},
		func(f *authkit.UserFields, u authkit.User) { f.Profile = ptr(u.Profile) }},
	{"AccessGroups",
		func(u *authkit.User, v int) { u.AccessGroups = []string{fmt.Sprintf("group-%d", v), "readers"} },
		func(f *authkit.UserFields, u authkit.User) { f.AccessGroups = ptr(u.AccessGroups) }},
	{"ServerData",
		func(u *authkit.User, v int) {
			u.ServerData = map[string]json.RawMessage{"v": json.RawMessage(`{"round": ` + strconv.Itoa(v) + `}`)}
		},
		func(f *authkit.UserFields, u authkit.User) { f.ServerData = ptr(u.ServerData) }},
}

// allFields names every field of [authkit.UserFields] with its value in u.
func allFields(u authkit.User) authkit.UserFields {
	var f authkit.UserFields
	for _, field := range userFields {
		field.named(&f, u)
	}
	return f
}

// requireUser reads the user with that id and requires it to be want.
func requireUser(t *testing.T, s authkit.Store, want authkit.User) {
	t.Helper()
	got, err := s.UserByID(context.Background(), want.ID)
	require.NoError(t, err)
	requireSameUser(t, want, got)
}

// requireSessions reads the user's sessions and requires them to be want,
// in that order.
func requireSessions(t *testing.T, s authkit.Store, userID string, want ...authkit.Session) {
	t.Helper()
	list, err := s.ListSessions(context.Background(), userID)
	require.NoError(t, err)
	require.Len(t, list, len(want))
	for i := range want {
		requireSameSession(t, want[i], list[i])
	}
}

// Race runs each of fns in a goroutine of its own, released together once
// all of them have started, and waits for them all: the start of a racing
// case, for the cases a store adds of its own.
func Race(fns ...func()) {
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(len(fns))
	for _, fn := range fns {
		done.Go(func() {
			ready.Done()
			<-start
			fn()
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// raceWins runs try n times at once (Race) and returns how many reported
// true; an error fails t.
func raceWins(t *testing.T, n int, try func() (bool, error)) int {
	var wins atomic.Int32
	fns := make([]func(), n)
	for i := range fns {
		fns[i] = func() {
			ok, err := try()
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}
	}
	Race(fns...)
	return int(wins.Load())
}

func testUpdateUser(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	want := createUser(t, s, "u1", "+15555550001")
	require.NoError(t, s.CreateUser(ctx, newUser("bare", "", "")))

	// Every field changes but email and phone; naming one's own email and
	// phone is no conflict.
	want.Name = "New Name"
	want.ProfilePicture = ""
	want.PasswordHash = "$2a$10$legacy"
	want.EmailVerified, want.PhoneVerified = false, false
	want.LastLoginAt = at(3 * time.Hour)
	want.Stamp = "new-stamp"
	got, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: allFields(want)})
	require.NoError(t, err)
	requireSameUser(t, want, got)
	requireUser(t, s, want)

	// Moving email and phone frees the old ones.
	want.Email, want.Phone = "moved@example.com", "+15555550009"
	got, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
		Email: ptr(want.Email), Phone: ptr(want.Phone),
	}})
	require.NoError(t, err)
	requireSameUser(t, want, got)
	got, err = s.UserByEmail(ctx, "MOVED@example.com")
	require.NoError(t, err)
	requireSameUser(t, want, got)
	requireByPhone(t, s, "+15555550009", want)
	got, err = s.UserByProvider(ctx, authkit.ProviderAltogic, "u1")
	require.NoError(t, err, "the provider identity stays")
	require.Equal(t, "u1", got.ID)
	_, err = s.UserByEmail(ctx, "u1@example.com")
	requireNotFound(t, err, "old email")
	requireNoneByPhone(t, s, "+15555550001", "old phone")

	// The freed keys are free for another user.
	taker := newUser("u2", "u1@example.com", "+15555550001")
	require.NoError(t, s.CreateUser(ctx, taker))
	got, err = s.UserByEmail(ctx, "u1@example.com")
	require.NoError(t, err)
	require.Equal(t, "u2", got.ID)
	requireByPhone(t, s, "+15555550001", taker)

	// An empty email or phone is none, which "bare" has too: no conflict.
	want.Email, want.Phone = "", ""
	got, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
		Email: ptr(""), Phone: ptr(""),
	}})
	require.NoError(t, err)
	requireSameUser(t, want, got)
	requireUser(t, s, want)
	_, err = s.UserByEmail(ctx, "moved@example.com")
	requireNotFound(t, err, "email given up")
	requireNoneByPhone(t, s, "+15555550009", "phone given up")
	_, err = s.UserByEmail(ctx, "")
	requireNotFound(t, err, "empty email")
	requireNoneByPhone(t, s, "", "empty phone")

	// The keys given up are free for another user's update.
	u2 := newUser("u2", "moved@example.com", "+15555550009")
	got, err = s.UpdateUser(ctx, "u2", authkit.UserUpdate{Set: authkit.UserFields{
		Email: ptr(u2.Email), Phone: ptr(u2.Phone),
	}})
	require.NoError(t, err)
	requireSameUser(t, u2, got)
	got, err = s.UserByEmail(ctx, "moved@example.com")
	require.NoError(t, err)
	require.Equal(t, "u2", got.ID)
	requireByPhone(t, s, "+15555550009", u2)
	_, err = s.UserByEmail(ctx, "u1@example.com")
	requireNotFound(t, err, "email u2 gave up")
}

func testUpdateUserDuplicates(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	a := createUser(t, s, "a", "+15555550001")
	b := createUser(t, s, "b", "+15555550002")
	session := createSession(t, s, "sa", "a", at(0))

	// Each write also sets a name and a new stamp that keeps a's session:
	// none of it may happen, nor may a fresh key of the write be taken.
	cases := []struct {
		name         string
		email, phone string
	}{
		{"email of another user in another case", "B@Example.com", ""},
		{"phone of another user", "", b.Phone},
		{"fresh email and phone of another user", "fresh@example.com", b.Phone},
		{"email of another user and fresh phone", b.Email, "+15555550009"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			set := authkit.UserFields{Name: ptr("Changed"), Stamp: ptr("changed")}
			if c.email != "" {
				set.Email = ptr(c.email)
			}
			if c.phone != "" {
				set.Phone = ptr(c.phone)
			}
			_, err := s.UpdateUser(ctx, "a", authkit.UserUpdate{Set: set, KeepSession: "sa"})
			requireDuplicate(t, err)

			requireUser(t, s, a)
			requireUser(t, s, b)
			requireSessions(t, s, "a", session)
			got, err := s.UserByEmail(ctx, a.Email)
			require.NoError(t, err)
			require.Equal(t, "a", got.ID)
			requireByPhone(t, s, a.Phone, a)
			got, err = s.UserByEmail(ctx, b.Email)
			require.NoError(t, err)
			require.Equal(t, "b", got.ID)
			requireByPhone(t, s, b.Phone, b)
			_, err = s.UserByEmail(ctx, "fresh@example.com")
			requireNotFound(t, err, "fresh email of the refused write")
			requireNoneByPhone(t, s, "+15555550009", "fresh phone of the refused write")
		})
	}
}

func testUpdateUserOnlyNamed(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	want := newUser("u1", "u1@example.com", "+15555550001")
	want.Provider, want.ProviderUserID = "github", "gh-1"
	require.NoError(t, s.CreateUser(ctx, want))
	other := createUser(t, s, "u2", "+15555550002")

	// The list below misses no field, or this case would miss it too.
	all := reflect.ValueOf(allFields(want))
	for i := range all.NumField() {
		require.False(t, all.Field(i).IsNil(), "userFields lacks UserFields.%s", all.Type().Field(i).Name)
	}

	// Nothing named writes nothing.
	got, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{})
	require.NoError(t, err)
	requireSameUser(t, want, got)
	requireUser(t, s, want)

	// One field named writes that field: Provider, ProviderUserID, Profile,
	// SignUpAt and every other field keep their value.
	for _, field := range userFields {
		t.Run(field.name, func(t *testing.T) {
			field.value(&want, 1)
			var set authkit.UserFields
			field.named(&set, want)
			got, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: set})
			require.NoError(t, err)
			requireSameUser(t, want, got)
			requireUser(t, s, want)
			requireUser(t, s, other)

			// The lookups by key find the stored user.
			got, err = s.UserByEmail(ctx, want.Email)
			require.NoError(t, err)
			requireSameUser(t, want, got)
			requireByPhone(t, s, want.Phone, want)
			got, err = s.UserByProvider(ctx, "github", "gh-1")
			require.NoError(t, err)
			requireSameUser(t, want, got)
		})
	}
}

// updateIf writes to the user a new name and a new stamp, that keeps the
// session keep, on the condition cond. When written, it requires the write
// done and the user returned as stored; when not, ErrConflict and nothing
// changed, neither the user nor any of its sessions.
func updateIf(t *testing.T, s authkit.Store, id string, cond authkit.UserFields, keep string, written bool) {
	t.Helper()
	ctx := context.Background()
	before, err := s.UserByID(ctx, id)
	require.NoError(t, err)
	sessions, err := s.ListSessions(ctx, id)
	require.NoError(t, err)

	want := before
	want.Name += "+"
	want.Stamp += "+"
	got, err := s.UpdateUser(ctx, id, authkit.UserUpdate{
		Set:         authkit.UserFields{Name: ptr(want.Name), Stamp: ptr(want.Stamp)},
		If:          cond,
		KeepSession: keep,
	})
	if written {
		require.NoError(t, err)
		requireSameUser(t, want, got)
		for i := range sessions {
			if sessions[i].ID == keep {
				sessions[i].Stamp = want.Stamp
			}
		}
	} else {
		require.ErrorIs(t, err, authkit.ErrConflict)
		want = before
	}
	requireUser(t, s, want)
	requireSessions(t, s, id, sessions...)
}

func testUpdateUserConditions(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15555550001")
	createSession(t, s, "s1", "u1", at(0))
	require.NoError(t, s.CreateUser(ctx, newUser("bare", "", "")))
	current := func(t *testing.T, id string) authkit.User {
		t.Helper()
		u, err := s.UserByID(ctx, id)
		require.NoError(t, err)
		return u
	}

	// Each field, named with the value it holds, lets the write through;
	// named with another value, stops it.
	for _, field := range userFields {
		t.Run(field.name, func(t *testing.T) {
			u := current(t, "u1")
			changed := u
			field.value(&changed, 1)
			require.NotEqual(t, u, changed, "the condition must name another value")
			var same, differs authkit.UserFields
			field.named(&same, u)
			field.named(&differs, changed)
			updateIf(t, s, "u1", differs, "s1", false)
			updateIf(t, s, "u1", same, "s1", true)
		})
	}

	t.Run("every condition must hold", func(t *testing.T) {
		u := current(t, "u1")
		updateIf(t, s, "u1", authkit.UserFields{
			Name: ptr(u.Name), EmailVerified: ptr(u.EmailVerified), PasswordHash: ptr("other"),
		}, "s1", false)
		updateIf(t, s, "u1", authkit.UserFields{
			Name: ptr(u.Name), EmailVerified: ptr(u.EmailVerified), PasswordHash: ptr(u.PasswordHash),
		}, "s1", true)
	})

	t.Run("times compare as instants", func(t *testing.T) {
		u := current(t, "u1")
		elsewhere := u.LastLoginAt.In(time.FixedZone("UTC+05:30", 5*3600+1800))
		updateIf(t, s, "u1", authkit.UserFields{LastLoginAt: ptr(elsewhere.Add(time.Millisecond))}, "s1", false)
		updateIf(t, s, "u1", authkit.UserFields{LastLoginAt: ptr(elsewhere)}, "s1", true)
	})

	t.Run("empty email and phone match none", func(t *testing.T) {
		updateIf(t, s, "u1", authkit.UserFields{Email: ptr("")}, "s1", false)
		updateIf(t, s, "u1", authkit.UserFields{Phone: ptr("")}, "s1", false)
		updateIf(t, s, "bare", authkit.UserFields{Email: ptr("bare@example.com")}, "", false)
		updateIf(t, s, "bare", authkit.UserFields{Phone: ptr("+15555550002")}, "", false)
		updateIf(t, s, "bare", authkit.UserFields{Email: ptr("")}, "", true)
		updateIf(t, s, "bare", authkit.UserFields{Phone: ptr("")}, "", true)
		updateIf(t, s, "bare", authkit.UserFields{Email: ptr(""), Phone: ptr("")}, "", true)
	})
}

func testUpdateUserMissing(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	u := createUser(t, s, "u1", "+15555550001")
	session := createSession(t, s, "s1", "u1", at(0))

	set := authkit.UserFields{
		Email: ptr("nobody@example.com"), Phone: ptr("+15555550009"),
		Name: ptr("Nobody"), Stamp: ptr("new-stamp"),
	}
	cases := []struct {
		name string
		up   authkit.UserUpdate
	}{
		{"nothing named", authkit.UserUpdate{}},
		{"no condition", authkit.UserUpdate{Set: set}},
		{"a condition an empty user meets", authkit.UserUpdate{Set: set, If: authkit.UserFields{
			Email: ptr(""), EmailVerified: ptr(false), Name: ptr(""), Stamp: ptr(""),
		}}},
		{"a condition another user meets", authkit.UserUpdate{Set: set, If: authkit.UserFields{
			PasswordHash: ptr(u.PasswordHash), Stamp: ptr(u.Stamp),
		}}},
		{"keeping another user's session", authkit.UserUpdate{Set: set, KeepSession: "s1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.UpdateUser(ctx, "nobody", c.up)
			requireNotFound(t, err)
			_, err = s.UserByID(ctx, "nobody")
			requireNotFound(t, err, "UpdateUser must not create")
			_, err = s.UserByEmail(ctx, "nobody@example.com")
			requireNotFound(t, err, "UpdateUser must not create")
			requireNoneByPhone(t, s, "+15555550009", "UpdateUser must not create")
			requireUser(t, s, u)
			requireSessions(t, s, "u1", session)
		})
	}
}

// Flows write to one user at once (a sign-in stamps LastLoginAt while a
// password reset writes the hash and the stamp): each write must keep, not
// undo, the fields of the others.
func testUpdateUserRaced(t *testing.T, s authkit.Store) {
	const rounds = 10
	ctx := context.Background()
	want := createUser(t, s, "u1", "+15555550001")

	for round := 1; round <= rounds; round++ {
		writers := make([]func(), len(userFields))
		errs := make([]error, len(userFields))
		for i, field := range userFields {
			field.value(&want, round)
			var set authkit.UserFields
			field.named(&set, want)
			writers[i] = func() {
				_, errs[i] = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: set})
			}
		}
		Race(writers...)
		for i, err := range errs {
			require.NoError(t, err, "round %d, %s", round, userFields[i].name)
		}
		// Every value names its round, should one be missing.
		requireUser(t, s, want)
	}
}

// Two flows that verified the same password hash race to replace it (two
// password changes, a change and a reset): exactly one may win.
func testCompareAndSetRaced(t *testing.T, s authkit.Store) {
	const n = 20
	ctx := context.Background()
	u := createUser(t, s, "u1", "")
	cond := authkit.UserFields{PasswordHash: ptr(u.PasswordHash)}

	returned := make([]authkit.User, n)
	errs := make([]error, n)
	writers := make([]func(), n)
	for i := range n {
		set := authkit.UserFields{
			PasswordHash: ptr(fmt.Sprintf("hash-%02d", i)),
			Stamp:        ptr(fmt.Sprintf("stamp-%02d", i)),
		}
		writers[i] = func() {
			returned[i], errs[i] = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: set, If: cond})
		}
	}
	Race(writers...)

	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "writers %d and %d both won", winner, i)
			winner = i
			continue
		}
		require.ErrorIs(t, err, authkit.ErrConflict, "writer %d", i)
	}
	require.NotEqual(t, -1, winner, "one of %d racing writers wins", n)
	u.PasswordHash = fmt.Sprintf("hash-%02d", winner)
	u.Stamp = fmt.Sprintf("stamp-%02d", winner)
	requireSameUser(t, u, returned[winner])
	requireUser(t, s, u)
}

func testKeepSession(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	u := newUser("u1", "u1@example.com", "")
	u.Stamp = "s1"
	require.NoError(t, s.CreateUser(ctx, u))
	other := createUser(t, s, "u2", "")
	var kept, ended authkit.Session
	for i, sess := range []*authkit.Session{&kept, &ended} {
		*sess = newSession(fmt.Sprint("session-", i+1), "u1", at(time.Duration(i)*time.Minute))
		sess.Stamp = "s1"
		require.NoError(t, s.CreateSession(ctx, *sess))
	}
	otherSession := createSession(t, s, "other", "u2", at(0))
	// update writes up to u1, which then must be u.
	update := func(t *testing.T, up authkit.UserUpdate) {
		t.Helper()
		got, err := s.UpdateUser(ctx, "u1", up)
		require.NoError(t, err)
		requireSameUser(t, u, got)
		requireUser(t, s, u)
	}

	// The kept session takes the new stamp, whichever way it is read; the
	// other one keeps the old.
	u.Stamp, kept.Stamp = "s2", "s2"
	update(t, authkit.UserUpdate{Set: authkit.UserFields{Stamp: ptr("s2")}, KeepSession: kept.ID})
	got, err := s.SessionByTokenHash(ctx, kept.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, kept, got)
	got, err = s.SessionByTokenHash(ctx, ended.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, ended, got)
	requireSessions(t, s, "u1", kept, ended)
	if f, ok := s.(authkit.SessionUserFinder); ok {
		sess, user, err := f.SessionAndUser(ctx, kept.TokenHash)
		require.NoError(t, err)
		requireSameSession(t, kept, sess)
		requireSameUser(t, u, user)
	}

	// Another user's session is not kept.
	u.Stamp = "s3"
	update(t, authkit.UserUpdate{Set: authkit.UserFields{Stamp: ptr("s3")}, KeepSession: otherSession.ID})
	requireSessions(t, s, "u2", otherSession)
	requireUser(t, s, other)
	requireSessions(t, s, "u1", kept, ended)

	// Without a new stamp, no session changes (kept's is still "s2", the
	// user's "s3"); a missing session is no error.
	u.Name = "Renamed"
	update(t, authkit.UserUpdate{Set: authkit.UserFields{Name: ptr("Renamed")}, KeepSession: kept.ID})
	requireSessions(t, s, "u1", kept, ended)
	u.Stamp = "s4"
	update(t, authkit.UserUpdate{Set: authkit.UserFields{Stamp: ptr("s4")}, KeepSession: "missing"})
	requireSessions(t, s, "u1", kept, ended)
	requireSessions(t, s, "u2", otherSession)
}

// Profile, AccessGroups and ServerData are written whole: the map or list
// named replaces the stored one, and empty (or nil) leaves none. Naming
// one of them writes it alone.
func testUpdateUserReplacesWhole(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	want := createUser(t, s, "u1", "")
	other := createUser(t, s, "u2", "")
	steps := []struct {
		name string
		set  authkit.UserFields
		edit func(u *authkit.User)
	}{
		{"server data replaced, not merged", authkit.UserFields{
			ServerData: ptr(map[string]json.RawMessage{"quota": json.RawMessage(`3`)}),
		}, func(u *authkit.User) { u.ServerData = map[string]json.RawMessage{"quota": json.RawMessage(`3`)} }},
		{"access groups replaced, not joined", authkit.UserFields{
			AccessGroups: ptr([]string{"readers"}),
		}, func(u *authkit.User) { u.AccessGroups = []string{"readers"} }},
		{"profile replaced, not merged", authkit.UserFields{
			Profile: ptr(map[string]json.RawMessage{"lang": json.RawMessage(`"en"`)}),
		}, func(u *authkit.User) { u.Profile = map[string]json.RawMessage{"lang": json.RawMessage(`"en"`)} }},
		{"disabled no more", authkit.UserFields{Disabled: ptr(false)}, func(u *authkit.User) { u.Disabled = false }},
		{"emptied", authkit.UserFields{
			Profile: ptr(map[string]json.RawMessage{}), AccessGroups: ptr([]string{}),
			ServerData: ptr(map[string]json.RawMessage{}),
		}, func(u *authkit.User) { u.Profile, u.AccessGroups, u.ServerData = nil, nil, nil }},
		{"set again", authkit.UserFields{
			AccessGroups: ptr([]string{"b", "a", "c"}), Disabled: ptr(true),
			ServerData: ptr(map[string]json.RawMessage{"z": json.RawMessage(`[1, 2]`), "a": json.RawMessage(`null`)}),
		}, func(u *authkit.User) {
			u.AccessGroups, u.Disabled = []string{"b", "a", "c"}, true
			u.ServerData = map[string]json.RawMessage{"z": json.RawMessage(`[1,2]`), "a": json.RawMessage(`null`)}
		}},
		{"emptied with nil", authkit.UserFields{
			Profile: ptr(map[string]json.RawMessage(nil)), AccessGroups: ptr([]string(nil)),
			ServerData: ptr(map[string]json.RawMessage(nil)),
		}, func(u *authkit.User) { u.Profile, u.AccessGroups, u.ServerData = nil, nil, nil }},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.edit(&want)
			got, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: step.set})
			require.NoError(t, err)
			requireSameUser(t, want, got)
			requireUser(t, s, want)
			requireUser(t, s, other)
		})
	}
}

// A condition on a map or a list holds only for the same contents: a list
// in the same order, a map with the same keys and values; nil and empty
// alike. A condition that fails writes nothing, whatever the write sets.
func testUpdateUserHostConditions(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	u := createUser(t, s, "u1", "")
	createSession(t, s, "s1", "u1", at(0))
	stored, err := s.UserByID(ctx, "u1")
	require.NoError(t, err)

	t.Run("disabled", func(t *testing.T) {
		updateIf(t, s, "u1", authkit.UserFields{Disabled: ptr(false)}, "s1", false)
		updateIf(t, s, "u1", authkit.UserFields{Disabled: ptr(true)}, "s1", true)
	})

	t.Run("access groups", func(t *testing.T) {
		for _, groups := range [][]string{
			{"admin", "editors"}, // the same groups in another order
			{"editors"},
			{"editors", "admin", "readers"},
			{},
			nil,
		} {
			updateIf(t, s, "u1", authkit.UserFields{AccessGroups: ptr(groups)}, "s1", false)
		}
		updateIf(t, s, "u1", authkit.UserFields{AccessGroups: ptr(u.AccessGroups)}, "s1", true)
	})

	t.Run("server data", func(t *testing.T) {
		for _, data := range []map[string]json.RawMessage{
			{"plan": stored.ServerData["plan"]},
			{"plan": json.RawMessage(`"free"`), "limits": stored.ServerData["limits"]},
			{"plan": stored.ServerData["plan"], "limits": stored.ServerData["limits"], "more": json.RawMessage(`1`)},
			{},
			nil,
		} {
			updateIf(t, s, "u1", authkit.UserFields{ServerData: ptr(data)}, "s1", false)
		}
		// As written and as read back: a store that re-encodes JSON
		// compares as it stores.
		updateIf(t, s, "u1", authkit.UserFields{ServerData: ptr(u.ServerData)}, "s1", true)
		updateIf(t, s, "u1", authkit.UserFields{ServerData: ptr(stored.ServerData)}, "s1", true)
	})

	t.Run("profile", func(t *testing.T) {
		updateIf(t, s, "u1", authkit.UserFields{Profile: ptr(map[string]json.RawMessage{"age": stored.Profile["age"]})}, "s1", false)
		updateIf(t, s, "u1", authkit.UserFields{Profile: ptr(stored.Profile)}, "s1", true)
	})

	t.Run("a failed condition writes no field", func(t *testing.T) {
		before, err := s.UserByID(ctx, "u1")
		require.NoError(t, err)
		_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{
			Set: authkit.UserFields{
				Disabled: ptr(false), AccessGroups: ptr([]string{"intruders"}),
				ServerData: ptr(map[string]json.RawMessage{"plan": json.RawMessage(`"free"`)}),
				Profile:    ptr(map[string]json.RawMessage{}),
			},
			If: authkit.UserFields{Disabled: ptr(true), AccessGroups: ptr([]string{"admin", "editors"})},
		})
		require.ErrorIs(t, err, authkit.ErrConflict)
		requireUser(t, s, before)
	})

	t.Run("none is nil or empty", func(t *testing.T) {
		_, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
			Profile: ptr(map[string]json.RawMessage(nil)), AccessGroups: ptr([]string{}),
			ServerData: ptr(map[string]json.RawMessage{}),
		}})
		require.NoError(t, err)
		for _, cond := range []authkit.UserFields{
			{AccessGroups: ptr([]string{})}, {AccessGroups: ptr([]string(nil))},
			{ServerData: ptr(map[string]json.RawMessage{})}, {ServerData: ptr(map[string]json.RawMessage(nil))},
			{Profile: ptr(map[string]json.RawMessage{})}, {Profile: ptr(map[string]json.RawMessage(nil))},
		} {
			updateIf(t, s, "u1", cond, "s1", true)
		}
		updateIf(t, s, "u1", authkit.UserFields{AccessGroups: ptr([]string{""})}, "s1", false)
	})
}
