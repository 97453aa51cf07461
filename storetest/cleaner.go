package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.Cleaner]. The counts of a store that is also a
// [authkit.Limiter] are checked with the limiter's cases (limiter.go).

func testDeleteExpired(t *testing.T, s cleanerStore) {
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

	n, err := s.DeleteExpired(ctx, now, now.Add(-30*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "one expired and one idle session, one expired token")
	require.Equal(t, []string{"live"}, sessionIDs(t, s, "u1"))
	// Asked with an earlier now, a deleted token is still gone.
	_, err = s.TokenByHash(ctx, "dead", at(0))
	requireNotFound(t, err, "the expired token")
	_, err = s.TokenByHash(ctx, "live", now)
	require.NoError(t, err, "the live token")

	n, err = s.DeleteExpired(ctx, now, now.Add(-30*time.Minute))
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to delete")
}
