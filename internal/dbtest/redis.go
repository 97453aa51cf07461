package dbtest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
)

// RedisEnv names the Redis the tests use; .ci/run sets it.
const RedisEnv = "AUTHKIT_TEST_REDIS_URL"

// Redis connects to the Redis that RedisEnv names, or skips tb. The
// client is closed when tb ends. Tests that share it keep to names of
// their own (Name).
func Redis(tb testing.TB) *redis.Client {
	tb.Helper()
	url := Need(tb, RedisEnv)
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("%s: %v", RedisEnv, err)
	}
	c := redis.NewClient(opts)
	tb.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("Redis at %s: %v", url, err)
	}
	return c
}

// Name returns a fresh name for a test's own keys, channels or schemas.
func Name() string { return name() }
