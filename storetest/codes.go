package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on codes: tokens found by subject and tried a bounded number of
// times, and on bulk expiry ([authkit.Cleaner]).

// newCode returns a phone code token sent to phone, created at created.
func newCode(hash, userID, phone string, purpose authkit.TokenPurpose, created time.Time) authkit.Token {
	return authkit.Token{
		Hash:      hash,
		Purpose:   purpose,
		UserID:    userID,
		Subject:   phone,
		Stamp:     "stamp-" + userID,
		CreatedAt: created,
		ExpiresAt: created.Add(5 * time.Minute),
	}
}

func testLatestToken(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	createUser(t, s, "u2", "+15550000002")
	const phone = "+15555555555"

	_, err := s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(0))
	requireNotFound(t, err, "no token yet")

	// Two users' pending changes to one number: the newest wins the lookup.
	first := newCode("c1", "u1", phone, authkit.PurposeChangePhone, at(0))
	first.ExpiresAt = at(10 * time.Minute) // outlives the newer one
	require.NoError(t, s.CreateToken(ctx, first))
	second := newCode("c2", "u2", phone, authkit.PurposeChangePhone, at(time.Second))
	require.NoError(t, s.CreateToken(ctx, second))
	other := newCode("c3", "u1", phone, authkit.PurposeSignInCode, at(2*time.Second))
	require.NoError(t, s.CreateToken(ctx, other))

	got, err := s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, second, got)
	got, err = s.LatestToken(ctx, authkit.PurposeSignInCode, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, other, got)
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, "+15550000009", at(time.Minute))
	requireNotFound(t, err, "another subject")

	// Expired tokens are passed over.
	got, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, second.ExpiresAt)
	require.NoError(t, err)
	requireSameToken(t, first, got)
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, first.ExpiresAt)
	requireNotFound(t, err, "both expired")

	// Spent: the next newest is found.
	_, err = s.ConsumeToken(ctx, authkit.PurposeChangePhone, "c2", at(time.Minute))
	require.NoError(t, err)
	got, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, first, got)

	// Voided by a newer token of its user: gone from the lookup too.
	require.NoError(t, s.CreateToken(ctx, newCode("c4", "u1", "+15550000003", authkit.PurposeChangePhone, at(3*time.Second))))
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	requireNotFound(t, err, "voided token")
}

func testClaimAttempt(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	code := newCode("c1", "u1", "+15550000001", authkit.PurposeSignInCode, at(0))
	require.NoError(t, s.CreateToken(ctx, code))

	for i := 1; i <= 3; i++ {
		ok, err := s.ClaimAttempt(ctx, "c1", 3, at(time.Minute))
		require.NoError(t, err)
		require.True(t, ok, "attempt %d of 3", i)
		got, err := s.TokenByHash(ctx, "c1", at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, i, got.Attempts, "attempts counted")
	}
	ok, err := s.ClaimAttempt(ctx, "c1", 3, at(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "a fourth attempt with max 3")
	ok, err = s.ClaimAttempt(ctx, "c1", 4, at(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "the bound is the caller's")

	require.NoError(t, s.CreateToken(ctx, newCode("c2", "", "+15550000002", authkit.PurposeSignInCode, at(0))))
	ok, err = s.ClaimAttempt(ctx, "c2", 5, at(5*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "an expired token")
	ok, err = s.ClaimAttempt(ctx, "missing", 5, at(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "a missing token")

	// The count survives a consume attempt of another purpose.
	got, err := s.TokenByHash(ctx, "c1", at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 4, got.Attempts)
}

func testClaimAttemptRaced(t *testing.T, s authkit.Store) {
	const n, max = 50, 5
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	require.NoError(t, s.CreateToken(ctx, newCode("c1", "u1", "+15550000001", authkit.PurposeSignInCode, at(0))))

	start := make(chan struct{})
	var wins atomic.Int32
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	errs := make([]error, n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			ok, err := s.ClaimAttempt(ctx, "c1", max, at(time.Minute))
			errs[i] = err
			if ok {
				wins.Add(1)
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	require.EqualValues(t, max, wins.Load(), "exactly max of %d racing claims win", n)
}

func testDeleteExpired(t *testing.T, s authkit.Store) {
	c, ok := s.(authkit.Cleaner)
	if !ok {
		t.Skip("the store does not implement authkit.Cleaner")
	}
	ctx := context.Background()
	createUser(t, s, "u1", "")
	now := at(time.Hour)

	live := newSession("live", "u1", at(0))
	live.LastSeenAt, live.ExpiresAt = now.Add(-time.Minute), now.Add(time.Hour)
	expired := newSession("expired", "u1", at(0))
	expired.LastSeenAt, expired.ExpiresAt = now.Add(-time.Minute), now
	idle := newSession("idle", "u1", at(0))
	idle.LastSeenAt, idle.ExpiresAt = now.Add(-30*time.Minute), now.Add(time.Hour)
	for _, sess := range []authkit.Session{live, expired, idle} {
		require.NoError(t, s.CreateSession(ctx, sess))
	}
	liveToken := newToken("live", "", authkit.PurposeGrant)
	liveToken.ExpiresAt = now.Add(time.Millisecond)
	deadToken := newToken("dead", "", authkit.PurposeMagicLink)
	deadToken.ExpiresAt = now
	require.NoError(t, s.CreateToken(ctx, liveToken))
	require.NoError(t, s.CreateToken(ctx, deadToken))

	n, err := c.DeleteExpired(ctx, now, now.Add(-30*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "one expired and one idle session, one expired token")
	require.Equal(t, []string{"live"}, sessionIDs(t, s, "u1"))
	// Asked with an earlier now, a deleted token is still gone.
	_, err = s.TokenByHash(ctx, "dead", at(0))
	requireNotFound(t, err, "the expired token")
	_, err = s.TokenByHash(ctx, "live", now)
	require.NoError(t, err, "the live token")

	n, err = c.DeleteExpired(ctx, now, now.Add(-30*time.Minute))
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to delete")
}
