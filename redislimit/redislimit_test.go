package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/redislimit"
	"github.com/authkit/authkit/storetest"
)

// client connects to the Redis that dbtest.RedisEnv names, or skips tb.
// It is closed when tb ends.
func client(tb testing.TB) *redis.Client { return dbtest.Redis(tb) }

// prefix returns a fresh key prefix, whose keys are deleted when tb ends.
func prefix(tb testing.TB, c *redis.Client) string {
	tb.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	p := "authkit_test_" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() { deleteKeys(tb, c, p+"*") })
	return p
}

// deleteKeys deletes the keys that match pattern (a test's own keys only:
// SCAN is fine here, never in the package).
func deleteKeys(tb testing.TB, c *redis.Client, pattern string) {
	ctx := context.Background()
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			tb.Errorf("deleting %s: %v", iter.Val(), err)
		}
	}
	if err := iter.Err(); err != nil {
		tb.Errorf("scanning %s: %v", pattern, err)
	}
}

func TestLimiter(t *testing.T) {
	c := client(t)
	storetest.RunLimiter(t, func(t *testing.T) authkit.Limiter { return redislimit.New(c, prefix(t, c)) })
}

// Two instances, each with its own client (its own connection pool),
// count as one.
func TestTwoInstances(t *testing.T) {
	a, b := client(t), client(t)
	p := prefix(t, a)
	storetest.RaceHits(t, 60, redislimit.New(a, p), redislimit.New(b, p))
}

// A key is one hash that Redis expires a second after its longest window
// ends, counted from the caller's now; Reset deletes it.
func TestKeysAndExpiry(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	p := prefix(t, c)
	l := redislimit.New(c, p)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // 55 s before a minute ends, 56 min before an hour does

	_, _, err := l.Hit(ctx, "k", time.Minute, now)
	require.NoError(t, err)
	ttl := c.PTTL(ctx, p+"k").Val()
	require.InDelta(t, 56*time.Second, ttl, float64(time.Second), "the minute's end and a second: %v", ttl)
	_, _, err = l.Hit(ctx, "k", time.Hour, now)
	require.NoError(t, err)
	ttl = c.PTTL(ctx, p+"k").Val()
	require.InDelta(t, 55*time.Minute+56*time.Second, ttl, float64(time.Second), "the hour's end and a second: %v", ttl)
	_, _, err = l.Hit(ctx, "k", time.Minute, now)
	require.NoError(t, err)
	require.Greater(t, c.PTTL(ctx, p+"k").Val(), 55*time.Minute, "a shorter window does not shorten it")

	fields := c.HGetAll(ctx, p+"k").Val()
	require.Equal(t, map[string]string{
		"60000:start": strconv.FormatInt(now.Truncate(time.Minute).UnixMilli(), 10), "60000:hits": "2",
		"3600000:start": strconv.FormatInt(now.Truncate(time.Hour).UnixMilli(), 10), "3600000:hits": "1",
	}, fields)

	require.NoError(t, l.Reset(ctx, "k"))
	require.Zero(t, c.Exists(ctx, p+"k").Val(), "Reset deletes the hash")
}

func TestDefaultPrefix(t *testing.T) {
	ctx := context.Background()
	c := client(t)
	key := "test:" + prefix(t, c) // unique, and deleted with that prefix's keys
	t.Cleanup(func() { c.Del(ctx, redislimit.DefaultPrefix+key) })
	_, _, err := redislimit.New(c, "").Hit(ctx, key, time.Minute, time.Now())
	require.NoError(t, err)
	require.EqualValues(t, 1, c.Exists(ctx, redislimit.DefaultPrefix+key).Val())
}

// Redis down: every method fails, saying so.
func TestRedisDown(t *testing.T) {
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	l := redislimit.New(c, "")
	_, _, err := l.Hit(ctx, "k", time.Minute, time.Now())
	require.ErrorContains(t, err, "redislimit: ")
	require.ErrorContains(t, l.Reset(ctx, "k"), "redislimit: ")
}

// BenchmarkHit counts hits on 1,000 keys in turn (serial: one script call)
// and on one key from every P at once (parallel).
//
//	AUTHKIT_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench Hit -benchmem ./redislimit
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	c := client(b)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	b.Run("serial", func(b *testing.B) {
		l := redislimit.New(c, prefix(b, c))
		keys := make([]string, 1000)
		for i := range keys {
			keys[i] = "ip:signin:192.0.2." + strconv.Itoa(i)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, _, err := l.Hit(ctx, keys[i%len(keys)], time.Minute, now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		l := redislimit.New(c, prefix(b, c))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := l.Hit(ctx, "ip:signin:192.0.2.1", time.Minute, now); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
