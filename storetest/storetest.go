// Package storetest checks an [authkit.Store] implementation against the
// contracts written on [authkit.Store], on the optional capabilities a store
// may have beyond it, and on [authkit.Limiter].
//
// An implementation runs the whole suite from its own test:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) authkit.Store { return memstore.New() })
//	}
//
// # Groups
//
// [Run] groups its cases by the interface they check, each case a subtest
// of its group ("core/delete user"):
//
//   - core: [authkit.Store], which every store implements: users, sessions
//     and one-time tokens.
//   - phone: [authkit.PhoneStore]: users found by phone, codes found by the
//     number they were sent to and tried a bounded number of times.
//   - session and user: [authkit.SessionUserFinder].
//   - cleaner: [authkit.Cleaner], the bulk delete of what expired.
//   - user lister: [authkit.UserLister], every user, for the operator, and
//     a page of users at a time, byte for byte by id.
//   - limiter: [authkit.Limiter], the cases of [RunLimiter] run on the store.
//   - courier: [authkit.Courier], the messages the kit promised: each
//     claimed by one claimer at a time, handed over when a lease runs out.
//   - revocation log: [authkit.RevocationLog], what each change that may
//     end a session logs, numbered with no gap even when writers race,
//     read a page at a time; in a store that is also an [authkit.Cleaner],
//     deleted after [authkit.RevocationRetention].
//   - factors: [authkit.FactorStore], second factors and recovery codes:
//     a TOTP step accepted once, a recovery code consumed once, however
//     many race; deleted with their user.
//   - passkeys: [authkit.PasskeyStore], on a store that is a FactorStore
//     too: passkeys unique by id and credential id, a counter value taken
//     once, deleted with their user and with their user's factors.
//
// A group whose interface the store does not implement is skipped, saying
// which; every other group must pass. So a store that implements the core
// alone passes with phone off: it still keeps each user's Phone and refuses
// one that another user has (that is core), but nothing finds a user by it.
// Where a core case can check more on a store that has a capability (a user
// moved to a new phone is found there), it does.
//
// A limiter that is no store, such as one on Redis, runs [RunLimiter]
// instead, and a backend shared by many instances adds [RaceHits].
//
// # What the suite assumes
//
// Every case is a subtest on a fresh store. The suite stores only times
// truncated to the millisecond and compares them with [time.Time.Equal], so a
// store may keep milliseconds and return times in any location. It compares
// Profile and ServerData values as JSON, so a store may re-encode them;
// AccessGroups in order, and token Data as bytes, so a store may return
// nil for an empty list or Data and empty for nil. It gives sessions
// AccessGroupKeys and requires none back: they are the kit's, not the
// store's. It creates the users that sessions and tokens belong to first,
// so a store may enforce foreign keys. Expiry is judged through the now
// argument against a fixed base time: the suite never sleeps. The one
// exception is a revocation's At, which a store stamps with its own real
// clock: the suite checks it against time.Now, give or take a minute, and
// moves DeleteExpired's now past [authkit.RevocationRetention] to expire
// one.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// base is the fixed time every case builds its times from.
var base = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns base moved by d and truncated to the millisecond.
func at(d time.Duration) time.Time { return base.Add(d).Truncate(time.Millisecond) }

// Run runs every conformance case as a subtest of t, each on a fresh store
// from newStore, in the groups the package doc lists. newStore may register
// cleanups with t. Run calls it once more, first, to learn which interfaces
// the store implements.
func Run(t *testing.T, newStore func(t *testing.T) authkit.Store) {
	probe := newStore(t)
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			if !g.has(probe) {
				t.Skipf("the store does not implement %s", g.needs)
			}
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, newStore(t))
				})
			}
		})
	}
}

// group is the cases on one interface: they run on a store that implements
// it, and are skipped together on one that does not.
type group struct {
	name  string
	needs string // the interface, as the skip names it
	has   func(s authkit.Store) bool
	cases []storeCase
}

// storeCase is one conformance case, run on a fresh store.
type storeCase struct {
	name string
	run  func(t *testing.T, s authkit.Store)
}

// The stores the cases of a capability take: a store that has it.
type (
	phoneStore interface {
		authkit.Store
		authkit.PhoneStore
	}
	sessionUserStore interface {
		authkit.Store
		authkit.SessionUserFinder
	}
	cleanerStore interface {
		authkit.Store
		authkit.Cleaner
	}
	listerStore interface {
		authkit.Store
		authkit.UserLister
	}
	courierStore interface {
		authkit.Store
		authkit.Courier
	}
	revocationStore interface {
		authkit.Store
		authkit.RevocationLog
	}
	factorStore interface {
		authkit.Store
		authkit.FactorStore
	}
	passkeyStore interface {
		authkit.Store
		authkit.FactorStore
		authkit.PasskeyStore
	}
)

// implements reports whether s is an S.
func implements[S any](s authkit.Store) bool {
	_, ok := s.(S)
	return ok
}

// on makes a case on an S, such as a [phoneStore], a case on any store: its
// group runs it only on a store that is an S.
func on[S any](run func(t *testing.T, s S)) func(t *testing.T, s authkit.Store) {
	return func(t *testing.T, s authkit.Store) { run(t, s.(S)) }
}

// groups returns every group of cases, in the order Run runs them.
func groups() []group {
	var limiter []storeCase
	for _, c := range limiterCases() {
		limiter = append(limiter, storeCase{c.name, on(c.run)})
	}
	return []group{
		{"core", "authkit.Store", implements[authkit.Store], []storeCase{
			{"user round trip", testUserRoundTrip},
			{"user by email is case-insensitive", testUserByEmailFolded},
			{"create user refuses duplicates", testCreateUserDuplicates},
			{"missing user", testUserMissing},
			{"update user", testUpdateUser},
			{"update user refuses keys of others", testUpdateUserDuplicates},
			{"update user writes only named fields", testUpdateUserOnlyNamed},
			{"update user conditions", testUpdateUserConditions},
			{"update user replaces maps and lists whole", testUpdateUserReplacesWhole},
			{"update user conditions on maps, lists and disabled", testUpdateUserHostConditions},
			{"update missing user", testUpdateUserMissing},
			{"racing writers keep every field", testUpdateUserRaced},
			{"compare-and-set raced", testCompareAndSetRaced},
			{"keep session takes the new stamp", testKeepSession},
			{"returned users are copies", testUserCopies},
			{"delete user", testDeleteUser},
			{"session round trip", testSessionRoundTrip},
			{"create session refuses duplicates", testCreateSessionDuplicates},
			{"list sessions oldest first", testListSessions},
			{"touch session", testTouchSession},
			{"delete session only for its owner", testDeleteSession},
			{"delete user sessions", testDeleteUserSessions},
			{"token by hash does not spend", testTokenByHash},
			{"consume token once", testConsumeTokenOnce},
			{"consume token of another purpose", testConsumeTokenWrongPurpose},
			{"token expiry", testTokenExpiry},
			{"new token voids older ones", testCreateTokenVoids},
			{"create token refuses duplicate hash", testCreateTokenDuplicate},
			{"create token raced", testCreateTokenRaced},
			{"delete user tokens by purpose", testDeleteUserTokens},
			{"consume token raced", testConsumeTokenRaced},
			{"create tokens concurrently", testCreateTokensConcurrently},
			{"token data round trip", testTokenData},
			{"tokens by subject, newest first", testTokensBySubject},
		}},
		{"phone", "authkit.PhoneStore", implements[phoneStore], []storeCase{
			{"user by phone", on(testUserByPhone)},
			{"latest token by subject", on(testLatestToken)},
			{"latest token carries data", on(testLatestTokenData)},
			{"claim attempt", on(testClaimAttempt)},
			{"claim attempt raced", on(testClaimAttemptRaced)},
		}},
		{"factors", "authkit.FactorStore", implements[factorStore], []storeCase{
			{"pending factor round trip", on(testPendingFactor)},
			{"activate factor", on(testActivateFactor)},
			{"accept step only forward", on(testAcceptStep)},
			{"accept step raced", on(testAcceptStepRaced)},
			{"recovery codes consumed once", on(testRecoveryCodes)},
			{"recovery code raced", on(testRecoveryCodeRaced)},
			{"delete factors", on(testDeleteFactors)},
		}},
		{"passkeys", "authkit.PasskeyStore", implements[passkeyStore], []storeCase{
			{"passkey round trip", on(testPasskeyRoundTrip)},
			{"first passkey brings codes", on(testPasskeyBringsCodes)},
			{"use passkey moves its counter", on(testUsePasskey)},
			{"use passkey raced", on(testUsePasskeyRaced)},
			{"rename and delete a passkey", on(testRenameAndDeletePasskey)},
			{"delete factor keeps the rest", on(testDeleteFactorKeepsTheRest)},
			{"passkeys go with their user", on(testPasskeysGoWithTheirUser)},
		}},
		{"session and user", "authkit.SessionUserFinder", implements[sessionUserStore], []storeCase{
			{"session and user in one lookup", on(testSessionAndUser)},
		}},
		{"cleaner", "authkit.Cleaner", implements[cleanerStore], []storeCase{
			{"delete expired", on(testDeleteExpired)},
		}},
		{"user lister", "authkit.UserLister", implements[listerStore], []storeCase{
			{"all users", on(testAllUsers)},
			{"all users stops when told", on(testAllUsersStops)},
			{"list users a page at a time, by id", on(testListUsers)},
		}},
		{"limiter", "authkit.Limiter", implements[authkit.Limiter], limiter},
		{"courier", "authkit.Courier", implements[courierStore], []storeCase{
			{"intent round trip", on(testIntentRoundTrip)},
			{"intents due, oldest first", on(testIntentsDueInOrder)},
			{"finish intent under its lease", on(testFinishIntent)},
			{"a lease runs out", on(testIntentLeaseExpires)},
			{"claim intents raced", on(testClaimIntentsRaced)},
			{"dead intents listed and retried", on(testDeadIntents)},
			{"delete finished intents", on(testDeleteFinishedIntents)},
		}},
		{"revocation log", "authkit.RevocationLog", implements[revocationStore], []storeCase{
			{"each change logs what it revokes", on(testRevocationsLogged)},
			{"update user logs every field but LastLoginAt", on(testRevocationsOfEveryField)},
			{"failed changes log nothing and take no number", on(testRevocationsOfFailedChanges)},
			{"revocations a page at a time", on(testRevocationsPaged)},
			{"racing writers, numbers with no gap", on(testRevocationsRaced)},
			{"cleaner deletes old revocations", on(testRevocationsExpire)},
		}},
	}
}

// Fixtures and comparisons

// ptr returns a pointer to a copy of v, to name a field in
// [authkit.UserFields].
func ptr[T any](v T) *T { return &v }

// newUser returns a password account with every field set; email and phone
// may be empty. Its stamp is "stamp-" + id. Its access groups are out of
// sorted order, as a host may give them, and its server data holds JSON
// with spaces, which a store may compact.
func newUser(id, email, phone string) authkit.User {
	return authkit.User{
		ID:             id,
		Provider:       authkit.ProviderAltogic,
		ProviderUserID: id,
		Email:          email,
		EmailVerified:  email != "",
		Phone:          phone,
		PhoneVerified:  phone != "",
		Name:           "Name of " + id,
		ProfilePicture: "https://example.com/" + id + ".png",
		PasswordHash:   "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		Profile: map[string]json.RawMessage{
			"age":  json.RawMessage(`42`),
			"tags": json.RawMessage(`["a","b"]`),
		},
		SignUpAt:     at(time.Hour),
		LastLoginAt:  at(2*time.Hour + 500*time.Millisecond),
		Stamp:        "stamp-" + id,
		AccessGroups: []string{"editors", "admin"},
		Disabled:     true,
		ServerData: map[string]json.RawMessage{
			"plan":   json.RawMessage(`"pro"`),
			"limits": json.RawMessage(`{"seats": 5, "sso": true}`),
		},
	}
}

// createUser stores newUser(id, id+"@example.com", phone).
func createUser(t *testing.T, s authkit.Store, id, phone string) authkit.User {
	t.Helper()
	u := newUser(id, id+"@example.com", phone)
	require.NoError(t, s.CreateUser(context.Background(), u))
	return u
}

// newSession returns a session of userID with every field set, made under
// the stamp newUser gives that user. It names access groups too, which a
// store neither keeps nor returns (see [requireSameSession]).
func newSession(id, userID string, created time.Time) authkit.Session {
	return authkit.Session{
		ID:         id,
		TokenHash:  "hash-" + id,
		UserID:     userID,
		CreatedAt:  created,
		LastSeenAt: created.Add(time.Minute),
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
		UserAgent: authkit.UserAgent{
			Family: "Firefox", Major: "128", Minor: "0", Patch: "1",
			Device: authkit.Device{Family: "Other"},
			OS:     authkit.OS{Family: "Linux", Major: "6"},
		},
		IP:              "192.0.2.7",
		Stamp:           "stamp-" + userID,
		Factors:         2, // not the column's default, so that a store that drops it fails
		AccessGroupKeys: []string{"editors", "admin"},
	}
}

func createSession(t *testing.T, s authkit.Store, id, userID string, created time.Time) authkit.Session {
	t.Helper()
	sess := newSession(id, userID, created)
	require.NoError(t, s.CreateSession(context.Background(), sess))
	return sess
}

// newToken returns a token of userID with every field but Attempts set,
// issued under the stamp newUser gives that user.
func newToken(hash, userID string, purpose authkit.TokenPurpose) authkit.Token {
	return authkit.Token{
		Hash:      hash,
		Purpose:   purpose,
		UserID:    userID,
		Subject:   userID + "@example.com",
		Action:    "magic-link",
		Link:      "link-" + hash,
		Stamp:     "stamp-" + userID,
		Data:      []byte(`{"next":"/after/` + hash + `"}`),
		CreatedAt: at(0),
		ExpiresAt: at(10 * time.Minute),
	}
}

func createToken(t *testing.T, s authkit.Store, hash, userID string, purpose authkit.TokenPurpose) authkit.Token {
	t.Helper()
	tok := newToken(hash, userID, purpose)
	require.NoError(t, s.CreateToken(context.Background(), tok))
	return tok
}

func requireSameTime(t *testing.T, want, got time.Time, field string) {
	t.Helper()
	w, g := want.Truncate(time.Millisecond), got.Truncate(time.Millisecond)
	require.Truef(t, w.Equal(g), "%s: want %v, got %v", field, w, g)
}

// requireSameUser compares users field by field: times with Equal, Profile
// and ServerData values as JSON, AccessGroups in order (nil and empty
// alike).
func requireSameUser(t *testing.T, want, got authkit.User) {
	t.Helper()
	requireSameTime(t, want.SignUpAt, got.SignUpAt, "SignUpAt")
	requireSameTime(t, want.LastLoginAt, got.LastLoginAt, "LastLoginAt")
	requireSameJSONMap(t, want.Profile, got.Profile, "Profile")
	requireSameJSONMap(t, want.ServerData, got.ServerData, "ServerData")
	if len(want.AccessGroups) == 0 {
		require.Empty(t, got.AccessGroups, "AccessGroups")
	} else {
		require.Equal(t, want.AccessGroups, got.AccessGroups, "AccessGroups")
	}
	want.SignUpAt, want.LastLoginAt, want.Profile, want.ServerData, want.AccessGroups = time.Time{}, time.Time{}, nil, nil, nil
	got.SignUpAt, got.LastLoginAt, got.Profile, got.ServerData, got.AccessGroups = time.Time{}, time.Time{}, nil, nil, nil
	require.Equal(t, want, got)
}

// requireSameJSONMap compares the keys of two maps, and their values as
// JSON; nil and empty alike.
func requireSameJSONMap(t *testing.T, want, got map[string]json.RawMessage, field string) {
	t.Helper()
	require.Len(t, got, len(want), field)
	for k, v := range want {
		require.Contains(t, got, k, field)
		require.JSONEq(t, string(v), string(got[k]), "%s[%q]", field, k)
	}
}

// requireSameSession compares sessions field by field: times with Equal.
// AccessGroupKeys is the kit's, not the store's: whatever want has, got
// must have none.
func requireSameSession(t *testing.T, want, got authkit.Session) {
	t.Helper()
	require.Nil(t, got.AccessGroupKeys, "AccessGroupKeys is not the store's to keep or return")
	want.AccessGroupKeys = nil
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireSameTime(t, want.LastSeenAt, got.LastSeenAt, "LastSeenAt")
	requireSameTime(t, want.ExpiresAt, got.ExpiresAt, "ExpiresAt")
	want.CreatedAt, want.LastSeenAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
	got.CreatedAt, got.LastSeenAt, got.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

// requireSameToken compares tokens field by field: times with Equal, Data
// as bytes.
func requireSameToken(t *testing.T, want, got authkit.Token) {
	t.Helper()
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	requireSameTime(t, want.ExpiresAt, got.ExpiresAt, "ExpiresAt")
	requireSameData(t, want.Data, got.Data)
	want.CreatedAt, want.ExpiresAt, want.Data = time.Time{}, time.Time{}, nil
	got.CreatedAt, got.ExpiresAt, got.Data = time.Time{}, time.Time{}, nil
	require.Equal(t, want, got)
}

// requireSameData compares token Data as bytes, nil and empty alike. A
// mismatch is told by where it starts: Data may be 64 KiB long.
func requireSameData(t *testing.T, want, got []byte) {
	t.Helper()
	if bytes.Equal(want, got) {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	require.Failf(t, "Data differs", "want %d bytes, got %d; they differ from byte %d", len(want), len(got), i)
}

func requireNotFound(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, authkit.ErrNotFound, msgAndArgs...)
}

func requireDuplicate(t *testing.T, err error, msgAndArgs ...any) {
	t.Helper()
	require.ErrorIs(t, err, authkit.ErrDuplicate, msgAndArgs...)
}

// requireByPhone requires UserByPhone to find want by phone, when s is an
// [authkit.PhoneStore]. A core store keeps phones but finds no one by
// them: then there is nothing to check.
func requireByPhone(t *testing.T, s authkit.Store, phone string, want authkit.User) {
	t.Helper()
	if p, ok := s.(authkit.PhoneStore); ok {
		got, err := p.UserByPhone(context.Background(), phone)
		require.NoError(t, err, "UserByPhone(%q)", phone)
		requireSameUser(t, want, got)
	}
}

// requireNoneByPhone requires UserByPhone to find no one by phone, when s
// is an [authkit.PhoneStore].
func requireNoneByPhone(t *testing.T, s authkit.Store, phone string, msgAndArgs ...any) {
	t.Helper()
	if p, ok := s.(authkit.PhoneStore); ok {
		_, err := p.UserByPhone(context.Background(), phone)
		requireNotFound(t, err, msgAndArgs...)
	}
}

// sessionIDs returns the user's session ids in the order ListSessions gives.
func sessionIDs(t *testing.T, s authkit.Store, userID string) []string {
	t.Helper()
	list, err := s.ListSessions(context.Background(), userID)
	require.NoError(t, err)
	ids := make([]string, 0, len(list))
	for _, sess := range list {
		require.Equal(t, userID, sess.UserID)
		ids = append(ids, sess.ID)
	}
	return ids
}

// tokenExists reports whether TokenByHash finds the token before it expires.
func tokenExists(t *testing.T, s authkit.Store, hash string) bool {
	t.Helper()
	_, err := s.TokenByHash(context.Background(), hash, at(time.Minute))
	if errors.Is(err, authkit.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}
