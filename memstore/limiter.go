package memstore

import (
	"context"
	"sync"
	"time"

	"github.com/authkit/authkit/internal/limitwin"
)

// limits are a Store's rate-limit counters. They have a lock of their own,
// so counting never waits on the users, sessions and tokens. The zero value
// is empty and ready.
type limits struct {
	mu    sync.Mutex
	byKey map[string]map[int64]*counter // key -> window length (ms) -> newest window
}

// counter is the newest window counted for a key and window length.
type counter struct{ start, hits int64 } // start in Unix ms

// Hit implements [authkit.Limiter].
func (s *Store) Hit(_ context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	w, err := limitwin.Of(key, window, now)
	if err != nil {
		return 0, time.Time{}, err
	}
	l := &s.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	lens := l.byKey[key]
	if lens == nil {
		if l.byKey == nil {
			l.byKey = make(map[string]map[int64]*counter)
		}
		lens = make(map[int64]*counter, 1)
		l.byKey[key] = lens
	}
	c := lens[w.Len]
	switch {
	case c == nil:
		c = &counter{start: w.Start, hits: 1}
		lens[w.Len] = c
	case c.start < w.Start: // a new window
		c.start, c.hits = w.Start, 1
	default: // this window, or a newer one if the caller's clock lags
		c.hits++
	}
	return c.hits, limitwin.Time(c.start + w.Len), nil
}

// Reset implements [authkit.Limiter].
func (s *Store) Reset(_ context.Context, key string) error {
	if err := limitwin.CheckKey(key); err != nil {
		return err
	}
	s.limits.mu.Lock()
	defer s.limits.mu.Unlock()
	delete(s.limits.byKey, key)
	return nil
}

// deleteEnded deletes the counters whose window ended (its end is not
// after now) and reports how many it deleted. [Store.DeleteExpired] calls it.
func (l *limits) deleteEnded(now time.Time) int64 {
	ms := now.UnixMilli()
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for key, lens := range l.byKey {
		for length, c := range lens {
			if c.start+length <= ms {
				delete(lens, length)
				n++
			}
		}
		if len(lens) == 0 {
			delete(l.byKey, key)
		}
	}
	return n
}
