package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// open opens dsn, migrates it and closes it when t ends.
func open(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// The databases every test runs on. PostgreSQL and MySQL skip without
// their environment variable (see internal/dbtest); .ci/run sets both.
var databases = []struct {
	name string
	env  string // the variable that must name a server, if any
	dsn  func(t testing.TB) string
}{
	{"sqlite memory", "", func(testing.TB) string { return ":memory:" }},
	{"sqlite file", "", func(t testing.TB) string { return filepath.Join(t.TempDir(), "authkit.db") }},
	{"postgres", dbtest.PostgresEnv, dbtest.Postgres},
	{"mysql", dbtest.MySQLEnv, dbtest.MySQL},
}

// eachDatabase runs test as a subtest per database, skipping (once) those
// without a server.
func eachDatabase(t *testing.T, test func(t *testing.T, dsn func(testing.TB) string)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			test(t, db.dsn)
		})
	}
}

func TestStore(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		storetest.Run(t, func(t *testing.T) authkit.Store { return open(t, dsn(t)) })
	})
}

// SQLite's synchronous level: FULL unless a file: URI asks for another.
func TestSQLiteSynchronous(t *testing.T) {
	dir := t.TempDir()
	for dsn, want := range map[string]int{
		filepath.Join(dir, "full.db"): 2,
		"file:" + filepath.Join(dir, "normal.db") + "?_pragma=synchronous(NORMAL)": 1,
	} {
		s, err := sqlstore.Open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if got != want {
			t.Errorf("%s: synchronous = %d, want %d", dsn, got, want)
		}
	}
}
