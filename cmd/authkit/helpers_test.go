package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
)

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command in-process with args and stdin, and the
// environment vars (AUTHKIT_DB, AUTHKIT_SECRET…) only.
func cli(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] },
	})
	return result{out.String(), errOut.String(), code}
}

// ok fails t unless r exited 0.
func ok(t *testing.T, r result) result {
	t.Helper()
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return r
}

// databases are the databases the commands run on: a SQLite file always,
// PostgreSQL and MySQL when their servers are named (internal/dbtest).
var databases = []struct {
	name string
	env  string
	dsn  func(t testing.TB) string
}{
	{"sqlite", "", func(t testing.TB) string { return filepath.Join(t.TempDir(), "authkit.db") }},
	{"postgres", dbtest.PostgresEnv, dbtest.Postgres},
	{"mysql", dbtest.MySQLEnv, dbtest.MySQL},
}

func eachDatabase(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			test(t, db.dsn(t))
		})
	}
}

// migrated returns a fresh SQLite file, migrated by the command.
func migrated(t *testing.T) string {
	dsn := filepath.Join(t.TempDir(), "authkit.db")
	ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
	return dsn
}

// store opens dsn for a test to look at it directly.
func store(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// addSessions writes sessions of the user straight into the store.
func addSessions(t *testing.T, s *sqlstore.Store, userID string, ids ...string) {
	t.Helper()
	u, err := s.UserByID(context.Background(), userID)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range ids {
		require.NoError(t, s.CreateSession(context.Background(), authkit.Session{
			ID: id, TokenHash: "hash-" + id + "-" + userID, UserID: userID, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(24 * time.Hour), IP: "203.0.113.9", Stamp: u.Stamp,
			UserAgent: authkit.UserAgent{Family: "Firefox", Major: "120", OS: authkit.OS{Family: "Linux"}},
		}))
	}
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	return out
}
