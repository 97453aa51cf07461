package sqlstore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	sqlite3 "modernc.org/sqlite/lib"
)

// A full disk cannot be made in a test: the mapping of SQLITE_FULL is
// tested on its own.
func TestExplainDiskFull(t *testing.T) {
	driver := errors.New("database or disk is full (13)")
	cause, kind := explain("/var/lib/app/auth.db", sqlite3.SQLITE_FULL, driver)
	require.Equal(t, "disk full: no space is left on the file system that holds /var/lib/app: database or disk is full (13)", cause)
	require.Nil(t, kind)
	err := &startError{op: "migrate", path: "/var/lib/app/auth.db", cause: cause, err: driver}
	require.EqualError(t, err, "sqlstore: migrate /var/lib/app/auth.db: "+cause)
	require.ErrorIs(t, err, driver)

	cause, _ = explain("", sqlite3.SQLITE_FULL, driver)
	require.Equal(t, "disk full: no space is left on the disk: database or disk is full (13)", cause, "a database in memory")
}

// The file a SQLite DSN names, for the errors: none in memory.
func TestSQLiteFile(t *testing.T) {
	for dsn, want := range map[string]string{
		"./auth.db":                            "./auth.db",
		"/var/lib/app/auth.db":                 "/var/lib/app/auth.db",
		"a name with spaces & a ?.db":          "a name with spaces & a ?.db",
		"file:auth.db?mode=rwc":                "auth.db",
		"file:/var/lib/app/a%20b.db":           "/var/lib/app/a b.db",
		":memory:":                             "",
		"file::memory:?cache=shared":           "",
		"file:auth.db?mode=memory&cache=share": "",
		"file:/auth.db?vfs=memdb":              "",
	} {
		require.Equal(t, want, sqliteFile(dsn), dsn)
	}
}
