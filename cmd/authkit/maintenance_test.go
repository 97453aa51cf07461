package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore"
)

func TestMigrate(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		// Before: no tables. A command other than migrate says to migrate.
		s := store(t, dsn)
		r := cli(t, nil, "", "--db", dsn, "migrate", "status")
		require.Equal(t, exitSchema, r.code, r.stderr)
		require.Contains(t, r.stderr, "run authkit migrate")
		r = cli(t, nil, "", "--db", dsn, "users", "list")
		require.Equal(t, exitSchema, r.code, r.stderr)
		require.Contains(t, r.stderr, "has no authkit tables: run authkit migrate")

		r = ok(t, cli(t, map[string]string{"AUTHKIT_DB": dsn}, "", "migrate"))
		require.Regexp(t, `schema migrated from version 0 to \d+`, r.stdout)
		r = ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
		require.Contains(t, r.stdout, "up to date")
		r = ok(t, cli(t, nil, "", "--db", dsn, "migrate", "status"))
		latest, err := sqlstore.LatestVersion(s.Dialect())
		require.NoError(t, err)
		require.Contains(t, r.stdout, fmt.Sprintf("schema at version %d; this command's is %d", latest, latest))
	})
}

func TestSecret(t *testing.T) {
	a := ok(t, cli(t, nil, "", "secret")).stdout
	b := ok(t, cli(t, nil, "", "secret")).stdout
	require.NotEqual(t, a, b)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a))
	require.NoError(t, err)
	require.Len(t, raw, 32)
	// The kit takes it as AUTHKIT_SECRET; a short one is refused with the fix.
	dsn := migrated(t)
	ok(t, cli(t, map[string]string{"AUTHKIT_SECRET": strings.TrimSpace(a)}, "", "--db", dsn, "users", "list"))
	r := cli(t, map[string]string{"AUTHKIT_SECRET": "short"}, "", "--db", dsn, "users", "list")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "authkit secret makes one")
	// While rotating, AUTHKIT_SECRETS, as the example app takes it.
	ok(t, cli(t, map[string]string{"AUTHKIT_SECRETS": strings.TrimSpace(a) + "," + strings.TrimSpace(b)}, "", "--db", dsn, "users", "list"))
	r = cli(t, map[string]string{"AUTHKIT_SECRETS": strings.TrimSpace(a), "AUTHKIT_SECRET": strings.TrimSpace(b)}, "", "--db", dsn, "users", "list")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "both set")
}

func TestCleanup(t *testing.T) {
	dsn := migrated(t)
	id := strings.TrimSpace(ok(t, cli(t, nil, "", "--db", dsn, "users", "create", "--email", "a@example.com")).stdout)
	s := store(t, dsn)
	old := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	addSessions(t, s, id, "live")
	for i, last := range []time.Time{old, time.Now().Add(-2 * 24 * time.Hour)} {
		require.NoError(t, s.CreateSession(context.Background(), authkit.Session{
			ID: fmt.Sprintf("old%d", i), TokenHash: fmt.Sprintf("old%d", i), UserID: id, CreatedAt: old, LastSeenAt: last.UTC().Truncate(time.Millisecond),
			ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond),
		}))
	}
	r := ok(t, cli(t, nil, "", "--db", dsn, "cleanup"))
	require.Contains(t, r.stdout, "deleted 1 expired records", "idle ten days, past the default week")
	r = ok(t, cli(t, nil, "", "--db", dsn, "cleanup", "--session-idle", "24h"))
	require.Contains(t, r.stdout, "deleted 1 expired records", "idle two days, past the app's day")
	sessions, err := s.ListSessions(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, "live", sessions[0].ID)
}

// TestCopyCommand copies a database the command filled into each kind of
// database, refusing what would lose data on the way.
func TestCopyCommand(t *testing.T) {
	src := migrated(t)
	for i := range 25 {
		ok(t, cli(t, nil, "", "--db", src, "users", "create", "--email", fmt.Sprintf("u%d@example.com", i), "--group", "g"))
	}
	eachDatabase(t, func(t *testing.T, dst string) {
		r := cli(t, nil, "", "copy", "--from", src, "--to", dst)
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "stop every app using it", "the users were made just now")
		require.Contains(t, r.stderr, "Every app using the source must be stopped")

		r = ok(t, cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity", "--batch", "10"))
		require.Regexp(t, `authkit_users +25 rows, the same in both`, r.stdout)
		require.NotContains(t, r.stderr, "\r", "no progress line when stderr is no terminal")
		list := ok(t, cli(t, nil, "", "--db", dst, "users", "list", "--json")).stdout
		require.Len(t, jsonLines(t, list), 25)
		require.Equal(t, ok(t, cli(t, nil, "", "--db", src, "users", "list", "--json")).stdout, list)

		r = cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity")
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "empty this one with --force")
		ok(t, cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity", "--force"))
	})
	r := cli(t, nil, "", "copy", "--from", src, "--to", src, "--ignore-activity", "--force")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, "the same database")
	r = cli(t, nil, "", "copy", "--from", filepath.Join(t.TempDir(), "nothing.db"), "--to", filepath.Join(t.TempDir(), "t.db"))
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--from: no SQLite database at")
}
