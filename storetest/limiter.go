package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// RunLimiter runs every conformance case of [authkit.Limiter] as a subtest
// of t, each on a fresh limiter from newLimiter, which may register
// cleanups with t. Times are fake, built from a fixed base: the suite never
// sleeps, so a backend must judge windows by the now it is given. When the
// limiter is also an [authkit.Cleaner], its DeleteExpired is checked to
// delete the counts whose window ended.
//
// A store that is also a limiter need not call it: [Run] runs the same
// cases on the store, in its "limiter" group. A backend shared by many
// instances proves it with [RaceHits] over limiters of its own, each with
// its own connections to one database.
func RunLimiter(t *testing.T, newLimiter func(t *testing.T) authkit.Limiter) {
	for _, c := range limiterCases() {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newLimiter(t))
		})
	}
}

// limiterCase is one conformance case of [authkit.Limiter], run on a fresh
// limiter.
type limiterCase struct {
	name string
	run  func(t *testing.T, l authkit.Limiter)
}

// limiterCases returns the cases [RunLimiter] runs, and [Run] on a store
// that is a limiter.
func limiterCases() []limiterCase {
	return []limiterCase{
		{"hits count up in a window", testLimitCounts},
		{"windows start at multiples of their length", testLimitAlignment},
		{"a new window starts at the boundary", testLimitRollover},
		{"keys and window lengths are independent", testLimitIndependent},
		{"reset forgets every window of a key", testLimitReset},
		{"bad keys and windows are refused", testLimitInvalid},
		{"a lagging clock counts in the newest window", testLimitLaggingClock},
		{"hits raced", func(t *testing.T, l authkit.Limiter) { RaceHits(t, 50, l) }},
		{"delete expired deletes ended windows", testLimitDeleteExpired},
	}
}

// RaceHits starts n goroutines that each Hit one key once, in one window,
// at the same moment, through the limiters in turn (goroutine i uses
// limiters[i%len(limiters)]). It fails t unless the counts they get are
// exactly 1..n and a hit through each limiter afterwards counts on from n.
func RaceHits(t *testing.T, n int, limiters ...authkit.Limiter) {
	t.Helper()
	require.NotEmpty(t, limiters)
	ctx := context.Background()
	const key, window = "race:signin:192.0.2.1", time.Minute
	now := boundary(window).Add(-30 * time.Second)

	counts := make([]int64, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			counts[i], _, errs[i] = limiters[i%len(limiters)].Hit(ctx, key, window, now)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	slices.Sort(counts)
	want := make([]int64, n)
	for i := range want {
		want[i] = int64(i + 1)
	}
	require.Equal(t, want, counts, "%d racing hits get the counts 1..%d", n, n)
	for i, l := range limiters {
		hit(t, l, key, window, now, int64(n+i+1), boundary(window))
	}
}

// boundary returns the first start of a window of length window after base.
func boundary(window time.Duration) time.Time { return endOf(window, base) }

// endOf returns the end of the window of length window that holds now
// (after 1970).
func endOf(window time.Duration, now time.Time) time.Time {
	n := window.Milliseconds()
	return time.UnixMilli((now.UnixMilli()/n + 1) * n).UTC()
}

// hit counts one event and checks the count and the window's end.
func hit(t *testing.T, l authkit.Limiter, key string, window time.Duration, now time.Time, wantCount int64, wantEnd time.Time) {
	t.Helper()
	n, end, err := l.Hit(context.Background(), key, window, now)
	require.NoError(t, err)
	require.Equal(t, wantCount, n, "Hit(%q, %v, %v): count", key, window, now)
	requireSameTime(t, wantEnd, end, "Hit: resetAt")
}

func testLimitCounts(t *testing.T, l authkit.Limiter) {
	const key, window = "signin-fail:acct:u1", time.Minute
	b := boundary(window)
	now := b.Add(-window + time.Second)
	for i := int64(1); i <= 5; i++ {
		hit(t, l, key, window, now.Add(time.Duration(i)*time.Second), i, b)
	}
	hit(t, l, key, window, b.Add(-time.Millisecond), 6, b)
}

func testLimitAlignment(t *testing.T, l authkit.Limiter) {
	// base is 2030-01-02 03:04:05 UTC.
	hit(t, l, "a", time.Hour, base, 1, time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC))
	hit(t, l, "a", 24*time.Hour, base, 1, time.Date(2030, 1, 3, 0, 0, 0, 0, time.UTC))
	hit(t, l, "a", 15*time.Minute, base, 1, time.Date(2030, 1, 2, 3, 15, 0, 0, time.UTC))
	// A length that divides no minute: still multiples since the epoch.
	const odd = 7*time.Second + 250*time.Millisecond
	hit(t, l, "a", odd, base, 1, boundary(odd))
	require.Zero(t, boundary(odd).UnixMilli()%odd.Milliseconds())
	// Any location: the instant is what counts.
	hit(t, l, "a", time.Hour, base.In(time.FixedZone("UTC+5:30", 5*3600+1800)), 2, time.Date(2030, 1, 2, 4, 0, 0, 0, time.UTC))
}

func testLimitRollover(t *testing.T, l authkit.Limiter) {
	const key, window = "ip:signin:192.0.2.1", time.Minute
	b := boundary(window)
	hit(t, l, key, window, b.Add(-time.Millisecond), 1, b)
	hit(t, l, key, window, b.Add(-time.Millisecond), 2, b)
	hit(t, l, key, window, b.Add(-time.Millisecond), 3, b)

	// At the boundary the next window starts from nothing.
	hit(t, l, key, window, b, 1, b.Add(window))
	hit(t, l, key, window, b.Add(window-time.Millisecond), 2, b.Add(window))

	// A window with no hits between: the count starts again too.
	later := b.Add(2*window + 5*time.Second)
	hit(t, l, key, window, later, 1, b.Add(3*window))
}

func testLimitIndependent(t *testing.T, l authkit.Limiter) {
	b := boundary(time.Hour)
	now := b.Add(-10 * time.Minute)
	m := endOf(time.Minute, now)
	keys := []string{
		"ip:signin:192.0.2.1",
		"ip:signin:192.0.2.10",
		"sms:+15555555555:day",
		"k:ABC", "k:abc", // case matters
		"k", "k\x00", "k\xff", // bytes, not text
	}
	for i, key := range keys {
		for range i + 1 {
			_, _, err := l.Hit(context.Background(), key, time.Hour, now)
			require.NoError(t, err)
		}
	}
	for i, key := range keys {
		hit(t, l, key, time.Hour, now, int64(i+2), b)
		// The same key in minutes is a count of its own, and its hits
		// count nothing in hours.
		hit(t, l, key, time.Minute, now, 1, m)
		hit(t, l, key, time.Hour, now, int64(i+3), b)
	}
}

func testLimitReset(t *testing.T, l authkit.Limiter) {
	ctx := context.Background()
	const key, other = "signin-fail:acct:u1", "signin-fail:acct:u2"
	m, h := boundary(time.Minute), boundary(time.Hour)
	for range 3 {
		for _, k := range []string{key, other} {
			for _, w := range []time.Duration{time.Minute, time.Hour} {
				_, _, err := l.Hit(ctx, k, w, base)
				require.NoError(t, err)
			}
		}
	}
	require.NoError(t, l.Reset(ctx, key))
	hit(t, l, key, time.Minute, base, 1, m)
	hit(t, l, key, time.Hour, base, 1, h)
	hit(t, l, other, time.Minute, base, 4, m)
	hit(t, l, other, time.Hour, base, 4, h)
	hit(t, l, key, time.Minute, base, 2, m)

	require.NoError(t, l.Reset(ctx, key), "again")
	require.NoError(t, l.Reset(ctx, "never:counted"), "an unknown key")
	hit(t, l, key, time.Minute, base, 1, m)
	hit(t, l, key, time.Hour, base, 1, h)
}

func testLimitInvalid(t *testing.T, l authkit.Limiter) {
	ctx := context.Background()
	longest := "k:" + strings.Repeat("x", authkit.MaxLimitKey-2)
	b := boundary(time.Minute)
	hit(t, l, longest, time.Minute, base, 1, b)
	hit(t, l, "k", time.Second, base, 1, base.Add(time.Second))
	hit(t, l, "k", 1500*time.Millisecond, base, 1, boundary(1500*time.Millisecond))

	for _, key := range []string{"", longest + "x", strings.Repeat("\xff", 1000)} {
		_, _, err := l.Hit(ctx, key, time.Minute, base)
		require.ErrorIs(t, err, authkit.ErrInvalidLimit, "Hit with a key of %d bytes", len(key))
		require.ErrorIs(t, l.Reset(ctx, key), authkit.ErrInvalidLimit, "Reset with a key of %d bytes", len(key))
	}
	for _, w := range []time.Duration{0, -time.Minute, time.Millisecond, 999 * time.Millisecond,
		time.Second + time.Nanosecond, time.Minute + 500*time.Microsecond} {
		_, _, err := l.Hit(ctx, longest, w, base)
		require.ErrorIs(t, err, authkit.ErrInvalidLimit, "Hit with a window of %v", w)
	}
	// A prefix of a refused key is not counted in its place.
	hit(t, l, longest, time.Minute, base, 2, b)
}

func testLimitLaggingClock(t *testing.T, l authkit.Limiter) {
	const key, window = "ip:send:192.0.2.1", time.Minute
	b := boundary(window)
	hit(t, l, key, window, b, 1, b.Add(window))
	// An instance whose clock is a little behind, at the boundary: its hit
	// counts in the newer window, and does not start the old one again.
	hit(t, l, key, window, b.Add(-time.Millisecond), 2, b.Add(window))
	hit(t, l, key, window, b.Add(-time.Millisecond), 3, b.Add(window))
	hit(t, l, key, window, b.Add(-window-time.Second), 4, b.Add(window))
	hit(t, l, key, window, b.Add(window-time.Millisecond), 5, b.Add(window))
	// The next window still starts afresh.
	hit(t, l, key, window, b.Add(window), 1, b.Add(2*window))
	hit(t, l, key, window, b.Add(-5*window), 2, b.Add(2*window))
}

func testLimitDeleteExpired(t *testing.T, l authkit.Limiter) {
	c, ok := l.(authkit.Cleaner)
	if !ok {
		t.Skip("the limiter does not implement authkit.Cleaner")
	}
	ctx := context.Background()
	b := boundary(time.Minute) // not an hour boundary: base is at 03:04:05
	h := boundary(time.Hour)
	hit(t, l, "ended", time.Minute, b.Add(-time.Millisecond), 1, b)
	hit(t, l, "live", time.Minute, b, 1, b.Add(time.Minute))
	hit(t, l, "ended", time.Hour, b.Add(-time.Millisecond), 1, h)

	n, err := c.DeleteExpired(ctx, b, b)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "one window ended")
	n, err = c.DeleteExpired(ctx, b, b)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to delete")

	// Hit with an earlier now, the deleted count starts again from nothing;
	// the others count on.
	hit(t, l, "ended", time.Minute, b.Add(-time.Millisecond), 1, b)
	hit(t, l, "ended", time.Hour, b, 2, h)
	hit(t, l, "live", time.Minute, b, 2, b.Add(time.Minute))

	n, err = c.DeleteExpired(ctx, h, h)
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "by the hour every window ended, the minute counted again too")
}
