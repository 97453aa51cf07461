package authkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

func TestCleanupDeletesExpiredAndIdleRecords(t *testing.T) {
	t.Parallel()
	// Limit counts kept apart, so that n counts sessions and tokens only.
	h := newHarness(t, func(c *authkit.Config) { c.Limiter = memstore.New() })
	active := h.confirmedUser("active@example.com", "correct horse battery")
	idle := h.confirmedUser("idle@example.com", "correct horse battery")
	h.post(api+"send-magic?email=active@example.com", nil, "")
	h.settle()

	// A week passes; only the first session is used meanwhile.
	for range 7 {
		h.clock.Advance(24 * time.Hour)
		require.Equal(t, http.StatusOK, h.get(api+"user", active).status)
	}
	n, err := h.kit.Cleanup(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 5, n, "the idle session, the expired magic link and the three messages delivered more than a day ago")
	require.Equal(t, http.StatusOK, h.get(api+"user", active).status, "the active session stays")
	require.Equal(t, "invalid_session_token", h.get(api+"user", idle).code())

	n, err = h.kit.Cleanup(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestCleanupNeedsACleaner(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.Store = storeOnly{cfg.Store}
	cfg.Limiter = memstore.New()
	k, err := authkit.New(cfg)
	require.NoError(t, err)
	_, err = k.Cleanup(context.Background())
	require.ErrorIs(t, err, authkit.ErrNoCleaner)
	require.ErrorIs(t, k.RunJanitor(context.Background(), time.Hour), authkit.ErrNoCleaner)
}

func TestRunJanitorCleansUntilCancelled(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.confirmedUser("ann@example.com", "correct horse battery")
	u, err := h.store.UserByEmail(context.Background(), "ann@example.com")
	require.NoError(t, err)
	h.clock.Advance(8 * 24 * time.Hour)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- h.kit.RunJanitor(ctx, time.Millisecond) }()
	require.Eventually(t, func() bool {
		list, err := h.store.ListSessions(context.Background(), u.ID)
		return err == nil && len(list) == 0
	}, 5*time.Second, time.Millisecond, "the janitor deletes the idle session")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	require.Error(t, h.kit.RunJanitor(context.Background(), 0), "a zero interval")
}
