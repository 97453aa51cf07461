package main

import (
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
