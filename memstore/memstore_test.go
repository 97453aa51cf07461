package memstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/storetest"
)

// TestStore runs every group of the conformance suite, the limiter's
// cases among them: a Store is its own limiter.
func TestStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) authkit.Store { return memstore.New() })
}

// A session whose user is gone is not found with its user. A store with
// foreign keys cannot hold one, but a memstore does not check that a
// session's user exists.
func TestSessionAndUserWithoutUser(t *testing.T) {
	ctx := context.Background()
	s := memstore.New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	require.NoError(t, s.CreateSession(ctx, authkit.Session{
		ID: "s1", TokenHash: "hash-s1", UserID: "nobody", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
	}))
	_, _, err := s.SessionAndUser(ctx, "hash-s1")
	require.ErrorIs(t, err, authkit.ErrNotFound)
}

func BenchmarkSessionByTokenHash(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	s := memstore.New()
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	hashes := make([]string, n)
	for i := range n {
		hashes[i] = fmt.Sprintf("%064x", i)
		err := s.CreateSession(ctx, authkit.Session{
			ID:         fmt.Sprintf("s%05d", i),
			TokenHash:  hashes[i],
			UserID:     fmt.Sprintf("u%03d", i%500),
			CreatedAt:  created,
			LastSeenAt: created,
			ExpiresAt:  created.Add(24 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.SessionByTokenHash(ctx, hashes[i%n]); err != nil {
			b.Fatal(err)
		}
	}
}
