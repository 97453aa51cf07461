package authkit

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeLog is a RevocationLog whose entries a test writes.
type fakeLog struct{ revs []Revocation }

func (l *fakeLog) Revocations(_ context.Context, after int64, limit int) ([]Revocation, error) {
	var out []Revocation
	for _, r := range l.revs {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (l *fakeLog) LastRevocation(context.Context) (int64, error) {
	if len(l.revs) == 0 {
		return 0, nil
	}
	return l.revs[len(l.revs)-1].Seq, nil
}

func testCache(log RevocationLog, size int) *sessionCache {
	c := &sessionCache{log: log, bound: time.Second, size: size, stats: new(metrics),
		entries: map[string]*cachedSession{}, byUser: map[string]map[string]*cachedSession{}, start: time.Now()}
	c.fresh.Store(int64(time.Since(c.start)))
	return c
}

func cachedPair(user, session string) (Session, User) {
	return Session{ID: session, TokenHash: "hash-" + session, UserID: user}, User{ID: user}
}

// A session read from the store before its user was evicted is not cached
// after the eviction: the revocation it raced would be forgotten.
func TestSessionCachePutAfterEviction(t *testing.T) {
	c := testCache(&fakeLog{}, 10)
	s, u := cachedPair("ann", "s1")
	since := c.mark()
	c.evict("ann", "")
	c.put(since, &s, &u)
	_, _, ok := c.get(s.TokenHash)
	require.False(t, ok, "read before ann's eviction, put after it")

	since = c.mark()
	c.evict("bob", "")
	c.put(since, &s, &u)
	_, _, ok = c.get(s.TokenHash)
	require.True(t, ok, "another user's eviction does not stop it")

	since = c.mark()
	for range len(c.recent) + 1 {
		c.evict("bob", "")
	}
	s2, u2 := cachedPair("cy", "s2")
	c.put(since, &s2, &u2)
	_, _, ok = c.get(s2.TokenHash)
	require.False(t, ok, "more evictions than it remembers: not cached")
}

// A log whose revocations after the cache's cursor were deleted empties
// the cache: what they named is unknown.
func TestSessionCacheLogPruned(t *testing.T) {
	log := &fakeLog{revs: []Revocation{{Seq: 1, UserID: "x"}}}
	c := testCache(log, 10)
	c.cursor = 1
	s, u := cachedPair("ann", "s1")
	c.put(c.mark(), &s, &u)

	log.revs = []Revocation{{Seq: 2, UserID: "bob"}}
	require.NoError(t, c.sync(t.Context()))
	_, _, ok := c.get(s.TokenHash)
	require.True(t, ok, "the next revocation, of another user: ann stays")

	log.revs = []Revocation{{Seq: 9, UserID: "bob"}}
	require.NoError(t, c.sync(t.Context()))
	_, _, ok = c.get(s.TokenHash)
	require.False(t, ok, "3 to 8 were deleted unread: everyone goes")
	require.EqualValues(t, 9, c.cursor)
}

// The cache holds at most Size sessions; a user's eviction finds theirs.
func TestSessionCacheBounded(t *testing.T) {
	c := testCache(&fakeLog{}, 3)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		s, u := cachedPair("user-"+id, id)
		c.put(c.mark(), &s, &u)
	}
	require.Equal(t, 3, c.len())
	require.Len(t, c.byUser, 3)
	s, u := cachedPair("user-e", "e2")
	c.put(c.mark(), &s, &u)
	c.evict("user-e", "e2")
	_, _, ok := c.get("hash-e2")
	require.False(t, ok)
	c.evict("user-e", "")
	for h, e := range c.entries {
		require.NotEqual(t, "user-e", e.user.ID, h)
	}
}
