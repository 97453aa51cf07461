// Package redislimit is an [authkit.Limiter] on Redis, for instances that
// share a Redis (or Valkey, or a Redis Cluster) rather than a SQL database,
// or that keep their counts off the database.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	limiter := redislimit.New(rdb, "authkit:limit:")
//
// # Layout
//
// Each limit key is one Redis hash, named prefix+key. For each window length
// counted (in milliseconds, say 60000), it holds the newest window's start
// ("60000:start", Unix milliseconds) and count ("60000:hits"). Reset is one
// DEL: no index to keep, no SCAN. Every command touches one key, so the
// package works on Redis Cluster as is.
//
// # Atomicity and time
//
// Hit is one Lua script, which Redis runs atomically: racing hits, from any
// number of clients and instances, are counted one after another. The
// windows are computed from the caller's now, never from Redis's clock;
// Redis's clock only expires a hash, a second after the end of the longest
// window it holds (set relative to now, so a clock gap between an instance
// and Redis moves it by no more than the gap). Expiry frees memory: a count
// in a window that ended is 0 whether or not Redis has dropped it yet.
package redislimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/limitwin"
)

var _ authkit.Limiter = (*Limiter)(nil)

// DefaultPrefix is the prefix of the keys of a Limiter made with an empty one.
const DefaultPrefix = "authkit:limit:"

// expiryGrace is how long a hash outlives the end of its longest window.
const expiryGrace = time.Second

// Limiter is an [authkit.Limiter] on Redis. It is safe for concurrent use.
type Limiter struct {
	client redis.UniversalClient
	prefix string
}

// New returns a Limiter that keeps its counts through client (a
// *redis.Client, *redis.ClusterClient or *redis.Ring) in keys that start
// with prefix ("" means [DefaultPrefix]). Limiters with the same prefix on
// one Redis share their counts.
func New(client redis.UniversalClient, prefix string) *Limiter {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Limiter{client: client, prefix: prefix}
}

// hitScript counts one hit. KEYS[1] is the hash of a limit key; ARGV are
// the window's length and start (ms) and how long (ms) the hash must live
// for that window. It returns the count and the start of the window counted
// in: the caller's, or a newer one when the caller's clock lags.
var hitScript = redis.NewScript(`
local key, len = KEYS[1], ARGV[1]
local start, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local got = redis.call('HMGET', key, len .. ':start', len .. ':hits')
local s, n = tonumber(got[1]), tonumber(got[2])
if s == nil or n == nil or s < start then
	s, n = start, 1
else
	n = n + 1
	ttl = ttl + (s - start)
end
redis.call('HSET', key, len .. ':start', s, len .. ':hits', n)
if redis.call('PTTL', key) < ttl then
	redis.call('PEXPIRE', key, ttl)
end
return {n, s}
`)

// Hit implements [authkit.Limiter] with one Lua script.
func (l *Limiter) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	w, err := limitwin.Of(key, window, now)
	if err != nil {
		return 0, time.Time{}, err
	}
	ttl := w.Start + w.Len - now.UnixMilli() + expiryGrace.Milliseconds()
	got, err := hitScript.Run(ctx, l.client, []string{l.prefix + key}, w.Len, w.Start, ttl).Int64Slice()
	if err == nil && len(got) != 2 {
		err = fmt.Errorf("the script answered %v", got)
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("redislimit: counting a hit: %w", err)
	}
	return got[0], limitwin.Time(got[1] + w.Len), nil
}

// Reset implements [authkit.Limiter] with one DEL.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := limitwin.CheckKey(key); err != nil {
		return err
	}
	if err := l.client.Del(ctx, l.prefix+key).Err(); err != nil {
		return fmt.Errorf("redislimit: resetting a count: %w", err)
	}
	return nil
}
