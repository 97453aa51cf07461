package main

import (
	"context"
	"time"

	"github.com/authkit/authkit"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"users", "list"}, exitUsage, "no database: pass --db"},
		{[]string{"--db", filepath.Join(t.TempDir(), "missing.db"), "users", "list"}, exitUsage, "no SQLite database at"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"users", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"users"}, exitUsage, "needs a command"},
		{[]string{"users", "list", "--limt", "3"}, exitUsage, "unknown flag: --limt"},
		{[]string{"users", "show"}, exitUsage, "accepts 1 arg"},
		{[]string{"--db", "redis://x", "users", "list"}, exitFailed, "unknown database"},
		{[]string{"copy", "--to", "x.db"}, exitUsage, "copy needs --from and --to"},
	} {
		r := cli(t, nil, "", tc.args...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.says, tc.args)
	}
	r := ok(t, cli(t, nil, "", "--help"))
	require.Contains(t, r.stdout, "Exit codes:")
	require.Contains(t, r.stdout, "runs none of the host app's hooks")
	r = ok(t, cli(t, nil, "", "users", "delete", "--help"))
	require.Contains(t, r.stdout, "Hooks.BeforeDeleteUser cannot stop the delete")
}

// TestLeavesQueuedMessages: the app's queued messages are the app's to
// deliver. The command's Kit starts no courier (which would take them and
// fail them through its mailer, which sends nothing).
func TestLeavesQueuedMessages(t *testing.T) {
	dsn := migrated(t)
	s := store(t, dsn)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, s.CreateIntent(ctx, authkit.Intent{
		ID: "queued", Kind: "signup", To: "a@example.com", State: authkit.IntentPending,
		NextAt: now.Add(-time.Minute), CreatedAt: now, UpdatedAt: now,
	}))
	ok(t, cli(t, nil, "", "--db", dsn, "users", "create", "--email", "b@example.com"))
	ok(t, cli(t, nil, "", "--db", dsn, "users", "list"))
	ok(t, cli(t, nil, "", "--db", dsn, "cleanup"))
	claimed, err := s.ClaimIntents(ctx, "test", now, now.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "still due")
	require.Equal(t, 1, claimed[0].Tries, "no try before this claim")
	require.Empty(t, claimed[0].LastError)
}
