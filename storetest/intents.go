package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.Courier]: intents recorded, claimed under a lease
// by one claimer at a time, finished only by their lease's owner, dead
// letters listed and retried, finished ones deleted.

// newIntent is a pending intent due at base.
func newIntent(id string) authkit.Intent {
	return authkit.Intent{
		ID: id, Kind: "magic", To: id + "@example.com", IP: "192.0.2.1", UserAgent: "test",
		State: authkit.IntentPending, NextAt: at(0), CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func claim(t *testing.T, s courierStore, owner string, now time.Time, max int) []authkit.Intent {
	t.Helper()
	got, err := s.ClaimIntents(context.Background(), owner, now, now.Add(time.Minute), max)
	require.NoError(t, err)
	require.NotNil(t, got, "none claimed is an empty result")
	return got
}

func intentIDs(is []authkit.Intent) []string {
	ids := []string{}
	for _, i := range is {
		ids = append(ids, i.ID)
	}
	return ids
}

func testIntentRoundTrip(t *testing.T, s courierStore) {
	ctx := context.Background()
	in := newIntent("i1")
	in.UserID, in.Data = "u1", []byte(`{"stamp":"s"}`)
	require.NoError(t, s.CreateIntent(ctx, in))
	require.ErrorIs(t, s.CreateIntent(ctx, in), authkit.ErrDuplicate)

	got := claim(t, s, "w1", at(0), 10)
	require.Len(t, got, 1)
	g := got[0]
	require.Equal(t, authkit.IntentLeased, g.State)
	require.Equal(t, "w1", g.LeaseOwner)
	require.True(t, g.LeaseUntil.Equal(at(time.Minute)))
	require.Equal(t, 1, g.Tries)
	require.Equal(t, in.To, g.To)
	require.Equal(t, in.UserID, g.UserID)
	require.Equal(t, in.Kind, g.Kind)
	require.Equal(t, in.IP, g.IP)
	require.Equal(t, in.UserAgent, g.UserAgent)
	require.Equal(t, in.Data, g.Data)
	require.True(t, g.CreatedAt.Equal(in.CreatedAt))
	require.Empty(t, claim(t, s, "w2", at(0), 10), "leased: not claimed again while the lease runs")
}

func testIntentsDueInOrder(t *testing.T, s courierStore) {
	ctx := context.Background()
	for n, d := range []time.Duration{2 * time.Second, 0, time.Second, time.Hour} {
		i := newIntent(fmt.Sprintf("i%d", n))
		i.NextAt = at(d)
		require.NoError(t, s.CreateIntent(ctx, i))
	}
	require.Equal(t, []string{"i1", "i2"}, intentIDs(claim(t, s, "w1", at(time.Second), 2)), "oldest due first, at most max")
	require.Equal(t, []string{"i0"}, intentIDs(claim(t, s, "w2", at(time.Second*2), 10)), "the one due later is not due yet")
}

func testFinishIntent(t *testing.T, s courierStore) {
	ctx := context.Background()
	in := newIntent("i1")
	in.Data = []byte("data")
	require.NoError(t, s.CreateIntent(ctx, in))
	require.Len(t, claim(t, s, "w1", at(0), 1), 1)

	require.ErrorIs(t, s.FinishIntent(ctx, "i1", "w2", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Second)}), authkit.ErrConflict)
	require.ErrorIs(t, s.FinishIntent(ctx, "nope", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Second)}), authkit.ErrNotFound)

	// A failed try: pending again, due after its backoff.
	require.NoError(t, s.FinishIntent(ctx, "i1", "w1", authkit.IntentOutcome{State: authkit.IntentPending, NextAt: at(time.Minute), LastError: "busy", At: at(time.Second)}))
	require.ErrorIs(t, s.FinishIntent(ctx, "i1", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Second)}), authkit.ErrConflict, "no longer leased")
	require.Empty(t, claim(t, s, "w1", at(time.Second), 1))
	again := claim(t, s, "w3", at(time.Minute), 1)
	require.Len(t, again, 1)
	require.Equal(t, 2, again[0].Tries)
	require.Equal(t, "busy", again[0].LastError)
	require.Equal(t, []byte("data"), again[0].Data, "kept until delivered")

	require.NoError(t, s.FinishIntent(ctx, "i1", "w3", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(2 * time.Minute)}))
	require.Empty(t, claim(t, s, "w4", at(time.Hour), 1), "delivered: never due again")
}

func testIntentLeaseExpires(t *testing.T, s courierStore) {
	ctx := context.Background()
	require.NoError(t, s.CreateIntent(ctx, newIntent("i1")))
	require.Len(t, claim(t, s, "w1", at(0), 1), 1) // leased until at(1m)
	require.Empty(t, claim(t, s, "w2", at(59*time.Second), 1))
	got := claim(t, s, "w2", at(time.Minute), 1)
	require.Len(t, got, 1, "a lease that ran out hands the intent to another claimer")
	require.Equal(t, "w2", got[0].LeaseOwner)
	require.Equal(t, 2, got[0].Tries)
	require.ErrorIs(t, s.FinishIntent(ctx, "i1", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Minute)}), authkit.ErrConflict,
		"the first claimer's lease is gone")
	require.NoError(t, s.FinishIntent(ctx, "i1", "w2", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Minute)}))
}

func testClaimIntentsRaced(t *testing.T, s courierStore) {
	ctx := context.Background()
	const intents, workers = 40, 8
	for n := range intents {
		require.NoError(t, s.CreateIntent(ctx, newIntent(fmt.Sprintf("i%02d", n))))
	}
	var (
		mu      sync.Mutex
		claimed = map[string]string{}
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			owner := fmt.Sprintf("w%d", w)
			for {
				got, err := s.ClaimIntents(ctx, owner, at(0), at(time.Minute), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, i := range got {
					if prev, ok := claimed[i.ID]; ok {
						t.Errorf("%s claimed by %s and %s", i.ID, prev, owner)
					}
					claimed[i.ID] = owner
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, claimed, intents, "every intent claimed, each by one claimer")
}

func testDeadIntents(t *testing.T, s courierStore) {
	ctx := context.Background()
	for _, id := range []string{"i1", "i2", "i3"} {
		require.NoError(t, s.CreateIntent(ctx, newIntent(id)))
	}
	require.Len(t, claim(t, s, "w1", at(0), 3), 3)
	require.NoError(t, s.FinishIntent(ctx, "i2", "w1", authkit.IntentOutcome{State: authkit.IntentDead, LastError: "refused", At: at(time.Second)}))
	require.NoError(t, s.FinishIntent(ctx, "i1", "w1", authkit.IntentOutcome{State: authkit.IntentDead, LastError: "refused", At: at(2 * time.Second)}))
	require.NoError(t, s.FinishIntent(ctx, "i3", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Second)}))

	dead, err := s.DeadIntents(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"i2", "i1"}, intentIDs(dead), "oldest first")
	require.Equal(t, authkit.IntentDead, dead[0].State)
	require.Equal(t, "refused", dead[0].LastError)
	require.Empty(t, claim(t, s, "w2", at(time.Hour), 3), "dead: never due on its own")

	require.ErrorIs(t, s.RetryIntent(ctx, "i3", at(time.Hour)), authkit.ErrNotFound, "delivered is not dead")
	require.ErrorIs(t, s.RetryIntent(ctx, "nope", at(time.Hour)), authkit.ErrNotFound)
	require.NoError(t, s.RetryIntent(ctx, "i2", at(time.Hour)))
	got := claim(t, s, "w2", at(time.Hour), 3)
	require.Equal(t, []string{"i2"}, intentIDs(got))
	require.Equal(t, 1, got[0].Tries, "a retried dead letter has its tries anew")
	dead, err = s.DeadIntents(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"i1"}, intentIDs(dead))
}

func testDeleteFinishedIntents(t *testing.T, s courierStore) {
	ctx := context.Background()
	for _, id := range []string{"old", "new", "dead", "pending"} {
		require.NoError(t, s.CreateIntent(ctx, newIntent(id)))
	}
	require.Len(t, claim(t, s, "w1", at(0), 3), 3) // old, new, dead: by id order "dead", "new", "old"
	require.NoError(t, s.FinishIntent(ctx, "old", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Second)}))
	require.NoError(t, s.FinishIntent(ctx, "new", "w1", authkit.IntentOutcome{State: authkit.IntentDelivered, At: at(time.Hour)}))
	require.NoError(t, s.FinishIntent(ctx, "dead", "w1", authkit.IntentOutcome{State: authkit.IntentDead, At: at(time.Second)}))

	n, err := s.DeleteFinishedIntents(ctx, at(time.Minute), at(0))
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the old delivered one; the dead one is newer than its bound")
	n, err = s.DeleteFinishedIntents(ctx, at(time.Minute), at(time.Second))
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "the dead one")
	got := claim(t, s, "w2", at(time.Hour), 10)
	require.Equal(t, []string{"pending"}, intentIDs(got), "what is not finished stays")
}
