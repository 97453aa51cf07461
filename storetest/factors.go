package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.FactorStore]: second factors, pending until
// activated, whose TOTP steps and recovery codes each count once.

func newFactor(userID string, secret string) authkit.Factor {
	return authkit.Factor{UserID: userID, Kind: authkit.FactorTOTP, Secret: []byte(secret), CreatedAt: at(0)}
}

// requireSameFactor compares factors field by field, CreatedAt with Equal.
func requireSameFactor(t *testing.T, want, got authkit.Factor) {
	t.Helper()
	requireSameTime(t, want.CreatedAt, got.CreatedAt, "CreatedAt")
	want.CreatedAt, got.CreatedAt = at(0), at(0)
	require.Equal(t, want, got)
}

// activeFactor stores an active factor of userID at step with codes.
func activeFactor(t *testing.T, s factorStore, userID string, step int64, codes ...string) {
	t.Helper()
	ctx := context.Background()
	f := newFactor(userID, "sealed-"+userID)
	require.NoError(t, s.PutPendingFactor(ctx, f))
	require.NoError(t, s.ActivateFactor(ctx, userID, authkit.FactorTOTP, f.Secret, step, codes))
}

func testPendingFactor(t *testing.T, s factorStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")

	_, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	requireNotFound(t, err, "no factor yet")

	f := newFactor("u1", "first\x00secret")
	f.Active = true // a pending factor is stored as pending, whatever it says
	require.NoError(t, s.PutPendingFactor(ctx, f))
	got, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	f.Active = false
	require.False(t, got.Active)
	requireSameFactor(t, f, got)

	// Changing what was returned changes nothing stored.
	got.Secret[0] = 'X'
	again, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.Equal(t, f.Secret, again.Secret)

	// A new enrolment replaces a pending one.
	second := newFactor("u1", "second")
	require.NoError(t, s.PutPendingFactor(ctx, second))
	got, err = s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.Equal(t, []byte("second"), got.Secret)

	_, err = s.FactorOf(ctx, "u2", authkit.FactorTOTP)
	requireNotFound(t, err, "another user's factor")
}

func testActivateFactor(t *testing.T, s factorStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	err := s.ActivateFactor(ctx, "u1", authkit.FactorTOTP, []byte("s"), 5, nil)
	requireNotFound(t, err, "no pending factor")

	old := newFactor("u1", "old")
	require.NoError(t, s.PutPendingFactor(ctx, old))
	require.NoError(t, s.PutPendingFactor(ctx, newFactor("u1", "new")))
	err = s.ActivateFactor(ctx, "u1", authkit.FactorTOTP, old.Secret, 5, []string{"c1"})
	requireNotFound(t, err, "a code checked against a replaced enrolment")
	got, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.False(t, got.Active, "a refused activation changes nothing")
	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "c1")
	require.NoError(t, err)
	require.False(t, ok, "a refused activation stores no codes")

	require.NoError(t, s.ActivateFactor(ctx, "u1", authkit.FactorTOTP, []byte("new"), 5, []string{"c1", "c2"}))
	got, err = s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.True(t, got.Active)
	require.Equal(t, int64(5), got.LastStep)
	require.Equal(t, []byte("new"), got.Secret)

	err = s.ActivateFactor(ctx, "u1", authkit.FactorTOTP, []byte("new"), 6, nil)
	requireNotFound(t, err, "an active factor is not pending")
	err = s.PutPendingFactor(ctx, newFactor("u1", "newer"))
	require.ErrorIs(t, err, authkit.ErrDuplicate, "an enrolment over an active factor")
	got, err = s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.True(t, got.Active)
	require.Equal(t, []byte("new"), got.Secret, "a refused enrolment stores nothing")
	for _, c := range []string{"c1", "c2"} {
		ok, err := s.ConsumeRecoveryCode(ctx, "u1", c)
		require.NoError(t, err)
		require.True(t, ok, c)
	}
}

func testAcceptStep(t *testing.T, s factorStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	ok, err := s.AcceptStep(ctx, "u1", authkit.FactorTOTP, 10)
	require.NoError(t, err)
	require.False(t, ok, "no factor")
	require.NoError(t, s.PutPendingFactor(ctx, newFactor("u2", "s")))
	ok, err = s.AcceptStep(ctx, "u2", authkit.FactorTOTP, 10)
	require.NoError(t, err)
	require.False(t, ok, "a pending factor")

	activeFactor(t, s, "u1", 10)
	for _, c := range []struct {
		step int64
		ok   bool
	}{{10, false}, {9, false}, {11, true}, {11, false}, {13, true}, {12, false}} {
		ok, err := s.AcceptStep(ctx, "u1", authkit.FactorTOTP, c.step)
		require.NoError(t, err)
		require.Equal(t, c.ok, ok, "step %d", c.step)
	}
	got, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	require.NoError(t, err)
	require.Equal(t, int64(13), got.LastStep)
}

func testAcceptStepRaced(t *testing.T, s factorStore) {
	createUser(t, s, "u1", "")
	activeFactor(t, s, "u1", 100)
	wins := raceWins(t, 20, func() (bool, error) {
		return s.AcceptStep(context.Background(), "u1", authkit.FactorTOTP, 101)
	})
	require.Equal(t, 1, wins, "one step, accepted once")
}

func testRecoveryCodes(t *testing.T, s factorStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	activeFactor(t, s, "u1", 1, "a", "b")
	activeFactor(t, s, "u2", 1, "c")

	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "c")
	require.NoError(t, err)
	require.False(t, ok, "another user's code")
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.False(t, ok, "a spent code")

	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", []string{"d", "e"}))
	ok, err = s.ConsumeRecoveryCode(ctx, "u1", "b")
	require.NoError(t, err)
	require.False(t, ok, "a code replaced")
	for _, c := range []string{"d", "e"} {
		ok, err := s.ConsumeRecoveryCode(ctx, "u1", c)
		require.NoError(t, err)
		require.True(t, ok, c)
	}
	ok, err = s.ConsumeRecoveryCode(ctx, "u2", "c")
	require.NoError(t, err)
	require.True(t, ok, "the other user's codes stay")
}

func testRecoveryCodeRaced(t *testing.T, s factorStore) {
	createUser(t, s, "u1", "")
	activeFactor(t, s, "u1", 1, "only", "other")
	wins := raceWins(t, 20, func() (bool, error) {
		return s.ConsumeRecoveryCode(context.Background(), "u1", "only")
	})
	require.Equal(t, 1, wins, "one code, consumed once")
}

func testDeleteFactors(t *testing.T, s factorStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	activeFactor(t, s, "u1", 1, "a")
	activeFactor(t, s, "u2", 1, "b")
	require.NoError(t, s.DeleteFactors(ctx, "u1"))
	require.NoError(t, s.DeleteFactors(ctx, "u1"), "none is no error")
	_, err := s.FactorOf(ctx, "u1", authkit.FactorTOTP)
	requireNotFound(t, err, "a deleted factor")
	ok, err := s.ConsumeRecoveryCode(ctx, "u1", "a")
	require.NoError(t, err)
	require.False(t, ok, "a deleted factor's codes")
	// Enrolment starts over.
	require.NoError(t, s.PutPendingFactor(ctx, newFactor("u1", "again")))

	// A deleted user takes their factors and codes along.
	require.NoError(t, s.DeleteUser(ctx, "u2"))
	createUser(t, s, "u2", "")
	_, err = s.FactorOf(ctx, "u2", authkit.FactorTOTP)
	requireNotFound(t, err, "a deleted user's factor")
	ok, err = s.ConsumeRecoveryCode(ctx, "u2", "b")
	require.NoError(t, err)
	require.False(t, ok, "a deleted user's codes")
}
