package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.PasskeyStore]: each user's passkeys, unique by
// their id and credential id, found by credential id, a counter moved
// once per value, deleted with their user and their user's factors.

func newPasskey(id, userID string, credID []byte, created time.Duration) authkit.Passkey {
	return authkit.Passkey{
		ID: id, UserID: userID, CredentialID: credID, Name: "Key " + id,
		Credential: []byte(`{"id":"` + id + `"}` + "\x00\xff"), SignCount: 7, CreatedAt: at(created),
	}
}

// requireSamePasskey compares passkeys field by field, times with Equal.
func requireSamePasskey(t *testing.T, want, got authkit.Passkey) {
	t.Helper()
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	require.Equal(t, want.LastUsedAt.IsZero(), got.LastUsedAt.IsZero(), "LastUsedAt set")
	if !want.LastUsedAt.IsZero() {
		requireSameTime(t, want.LastUsedAt, got.LastUsedAt, "LastUsedAt")
	}
	want.CreatedAt, got.CreatedAt, want.LastUsedAt, got.LastUsedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, want, got)
}

func testPasskeyRoundTrip(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	_, err := s.PasskeyByCredentialID(ctx, []byte{1})
	requireNotFound(t, err, "no passkey yet")
	list, err := s.PasskeysOf(ctx, "u1")
	require.NoError(t, err)
	require.NotNil(t, list, "none is an empty slice")
	require.Empty(t, list)

	later := newPasskey("p2", "u1", []byte{2, 0, 0xff}, time.Minute)
	first := newPasskey("p1", "u1", []byte{1, 0, 0xff}, 0)
	require.NoError(t, s.CreatePasskey(ctx, later, nil))
	require.NoError(t, s.CreatePasskey(ctx, first, nil))
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p3", "u2", []byte{3}, 0), nil))

	got, err := s.PasskeyByCredentialID(ctx, []byte{1, 0, 0xff})
	require.NoError(t, err)
	requireSamePasskey(t, first, got)
	_, err = s.PasskeyByCredentialID(ctx, []byte{1, 0})
	requireNotFound(t, err, "a credential id is matched whole")

	// Changing what was returned changes nothing stored.
	got.Credential[0], got.CredentialID[0] = 'X', 9
	again, err := s.PasskeyByCredentialID(ctx, []byte{1, 0, 0xff})
	require.NoError(t, err)
	requireSamePasskey(t, first, again)

	list, err = s.PasskeysOf(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	requireSamePasskey(t, first, list[0])
	requireSamePasskey(t, later, list[1])

	// Ids and credential ids are unique in the store.
	requireDuplicate(t, s.CreatePasskey(ctx, newPasskey("p1", "u2", []byte{4}, 0), nil), "a taken id")
	requireDuplicate(t, s.CreatePasskey(ctx, newPasskey("p4", "u2", []byte{1, 0, 0xff}, 0), nil), "a taken credential id")
	list, err = s.PasskeysOf(ctx, "u2")
	require.NoError(t, err)
	require.Len(t, list, 1, "a refused passkey is not stored")
}

func testPasskeyBringsCodes(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"old"}))
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", []byte{1}, 0), []string{"a", "b"}))
	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "old")
	require.NoError(t, err)
	require.False(t, ok, "the codes were replaced")
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p2", "u1", []byte{2}, 0), nil))
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "b")
	require.NoError(t, err)
	require.True(t, ok, "nil codes keep the codes")
	// A refused passkey replaces no code.
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"c"}))
	requireDuplicate(t, s.CreatePasskey(ctx, newPasskey("p3", "u1", []byte{1}, 0), []string{"d"}))
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "c")
	require.NoError(t, err)
	require.True(t, ok, "a refused passkey changes nothing")
}

func testUsePasskey(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	p := newPasskey("p1", "u1", []byte{1}, 0)
	require.NoError(t, s.CreatePasskey(ctx, p, nil))

	ok, err := s.UsePasskey(ctx, "u2", "p1", 7, 8, at(time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "another user's passkey")
	ok, err = s.UsePasskey(ctx, "u1", "p1", 6, 8, at(time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "the counter moved on")
	ok, err = s.UsePasskey(ctx, "u1", "p1", 7, 1<<32-1, at(time.Hour))
	require.NoError(t, err)
	require.True(t, ok)
	got, err := s.PasskeyByCredentialID(ctx, []byte{1})
	require.NoError(t, err)
	p.SignCount, p.LastUsedAt = 1<<32-1, at(time.Hour)
	requireSamePasskey(t, p, got)
	ok, err = s.UsePasskey(ctx, "u1", "nope", 0, 1, at(time.Hour))
	require.NoError(t, err)
	require.False(t, ok, "no such passkey")
}

func testUsePasskeyRaced(t *testing.T, s passkeyStore) {
	createUser(t, s, "u1", "")
	require.NoError(t, s.CreatePasskey(context.Background(), newPasskey("p1", "u1", []byte{1}, 0), nil))
	wins := raceWins(t, 20, func() (bool, error) {
		return s.UsePasskey(context.Background(), "u1", "p1", 7, 8, at(time.Hour))
	})
	require.Equal(t, 1, wins, "one counter value, taken once")
}

func testRenameAndDeletePasskey(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", []byte{1}, 0), nil))
	requireNotFound(t, s.RenamePasskey(ctx, "u2", "p1", "x"), "another user's passkey")
	requireNotFound(t, s.RenamePasskey(ctx, "u1", "nope", "x"))
	require.NoError(t, s.RenamePasskey(ctx, "u1", "p1", "Clé ünïcode"))
	require.NoError(t, s.RenamePasskey(ctx, "u1", "p1", "Clé ünïcode"), "the same name again")
	got, err := s.PasskeyByCredentialID(ctx, []byte{1})
	require.NoError(t, err)
	require.Equal(t, "Clé ünïcode", got.Name)

	requireNotFound(t, s.DeletePasskey(ctx, "u2", "p1"), "another user's passkey")
	require.NoError(t, s.DeletePasskey(ctx, "u1", "p1"))
	requireNotFound(t, s.DeletePasskey(ctx, "u1", "p1"), "deleted already")
	_, err = s.PasskeyByCredentialID(ctx, []byte{1})
	requireNotFound(t, err)
	// Its credential id is free again.
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p2", "u2", []byte{1}, 0), nil))
}

func testDeleteFactorKeepsTheRest(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	activeFactor(t, s, "u1", 1, "a")
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", []byte{1}, 0), nil))
	require.NoError(t, s.DeleteFactor(ctx, "u1", authkit.FactorTOTP))
	require.NoError(t, s.DeleteFactor(ctx, "u1", authkit.FactorTOTP), "none is no error")
	_, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	requireNotFound(t, err)
	list, err := s.PasskeysOf(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1, "the passkey stays")
	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.True(t, ok, "the codes stay")
}

func testPasskeysGoWithTheirUser(t *testing.T, s passkeyStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	createUser(t, s, "u3", "")
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p1", "u1", []byte{1}, 0), []string{"a"}))
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p2", "u2", []byte{2}, 0), nil))
	require.NoError(t, s.CreatePasskey(ctx, newPasskey("p3", "u3", []byte{3}, 0), nil))

	require.NoError(t, s.DeleteFactors(ctx, "u1"))
	list, err := s.PasskeysOf(ctx, "u1")
	require.NoError(t, err)
	require.Empty(t, list, "DeleteFactors takes the passkeys")
	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.False(t, ok)

	require.NoError(t, s.DeleteUser(ctx, "u2"))
	_, err = s.PasskeyByCredentialID(ctx, []byte{2})
	requireNotFound(t, err, "a deleted user's passkey")
	createUser(t, s, "u2", "")
	list, err = s.PasskeysOf(ctx, "u2")
	require.NoError(t, err)
	require.Empty(t, list)

	list, err = s.PasskeysOf(ctx, "u3")
	require.NoError(t, err)
	require.Len(t, list, 1, "the other user's passkey stays")
}
