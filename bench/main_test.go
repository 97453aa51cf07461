package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain serves as the child when the parent under test starts one:
// the test binary is the executable it runs.
func TestMain(m *testing.M) {
	if raw := os.Getenv(childEnv); raw != "" {
		if err := serveChild(raw); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A smoke run of every measurement, on every store the environment names:
// it runs, and prints a row for each.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts servers and hashes for real")
	}
	var out bytes.Buffer
	o := options{
		sessions: 50, active: 20, duration: 200 * time.Millisecond, conns: 4, signins: 8, hashes: 1,
		postgres: os.Getenv("AUTHKIT_TEST_POSTGRES_DSN"), mysql: os.Getenv("AUTHKIT_TEST_MYSQL_DSN"), out: &out,
	}
	if err := run(t.Context(), o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := []string{"memory", "memory cached", "sqlite", "sqlite cached", "sign-in vs the bare argon2id hash", "peak resident memory"}
	if o.postgres != "" {
		want = append(want, "postgres", "postgres cached", "three instances on one PostgreSQL", "a sign-out on the first refused")
	}
	if o.mysql != "" {
		want = append(want, "mysql", "mysql cached")
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("no %q in the output:\n%s", w, out.String())
		}
	}
	t.Log("\n" + out.String())
}
