package sqlstore_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
)

// copyTargets are the databases a copy goes into: a SQLite file always,
// PostgreSQL and MySQL when their servers are named.
var copyTargets = []struct {
	name string
	env  string
	dsn  func(t testing.TB) string
}{
	{"sqlite", "", func(t testing.TB) string { return filepath.Join(t.TempDir(), "target.db") }},
	{"postgres", dbtest.PostgresEnv, dbtest.Postgres},
	{"mysql", dbtest.MySQLEnv, dbtest.MySQL},
}

// generated returns a SQLite file with users and sessions made by
// sqlstore.Generate.
func generated(t *testing.T, users, sessions int) *sqlstore.Store {
	t.Helper()
	src := open(t, filepath.Join(t.TempDir(), "source.db"))
	start := time.Now()
	require.NoError(t, sqlstore.Generate(context.Background(), src, users, sessions))
	t.Logf("generated %d users and %d sessions in %v", users, sessions, time.Since(start).Round(time.Millisecond))
	return src
}

// openEmpty opens dsn without migrating it: Copy migrates its target.
func openEmpty(t testing.TB, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// requireSameRows fails unless every table Copy moves holds the same rows
// in a and b, column by column.
func requireSameRows(t *testing.T, a, b *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	for _, table := range sqlstore.CopyTableNames() {
		want, err := sqlstore.Dump(ctx, a, table)
		require.NoError(t, err)
		got, err := sqlstore.Dump(ctx, b, table)
		require.NoError(t, err)
		require.NotEmpty(t, want, table)
		require.Equal(t, len(want), len(got), table)
		for i := range want {
			require.Equal(t, want[i], got[i], "%s row %d", table, i)
		}
	}
}

func TestCopy(t *testing.T) {
	src := generated(t, 10_000, 20_000)
	for _, target := range copyTargets {
		t.Run(target.name, func(t *testing.T) {
			if target.env != "" {
				dbtest.Need(t, target.env)
			}
			ctx := context.Background()
			dst := openEmpty(t, target.dsn(t))
			var reports int
			res, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Progress: func(sqlstore.CopyProgress) { reports++ }})
			require.NoError(t, err)
			require.False(t, res.Resumed)
			require.Equal(t, []sqlstore.TableCount{
				{Table: "authkit_users", Rows: 10_000}, {Table: "authkit_sessions", Rows: 20_000},
				{Table: "authkit_tokens", Rows: 100}, {Table: "authkit_limits", Rows: 100}, {Table: "authkit_intents", Rows: 100},
				{Table: "authkit_factors", Rows: 100}, {Table: "authkit_recovery_codes", Rows: 100},
				{Table: "authkit_passkeys", Rows: 100},
			}, res.Tables)
			require.Greater(t, reports, 30, "a report per batch of 1000")
			requireSameRows(t, src, dst)

			// The copy is the kit's data: a user reads back through the store.
			u, err := dst.UserByEmail(ctx, "user1@example.com")
			require.NoError(t, err)
			require.Equal(t, "User1@Example.com", u.Email)
			sessions, err := dst.ListSessions(ctx, u.ID)
			require.NoError(t, err)
			require.Len(t, sessions, 2)

			// Copied once, the target is not empty any more.
			_, err = sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{})
			require.ErrorIs(t, err, sqlstore.ErrTargetNotEmpty)
			// Unless forced: the target is emptied and filled again.
			_, err = dst.DB().ExecContext(ctx, "DELETE FROM authkit_sessions WHERE created_at < 1767225600100")
			require.NoError(t, err)
			_, err = sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Force: true})
			require.NoError(t, err)
			requireSameRows(t, src, dst)
		})
	}
}

// TestCopyBetweenServers copies a copy on, so each dialect is a source:
// SQLite to PostgreSQL to MySQL to SQLite, the same rows throughout.
func TestCopyBetweenServers(t *testing.T) {
	dbtest.Need(t, dbtest.PostgresEnv)
	dbtest.Need(t, dbtest.MySQLEnv)
	ctx := context.Background()
	chain := []*sqlstore.Store{generated(t, 2_000, 4_000), openEmpty(t, dbtest.Postgres(t)), openEmpty(t, dbtest.MySQL(t)),
		openEmpty(t, filepath.Join(t.TempDir(), "back.db"))}
	for i := 1; i < len(chain); i++ {
		_, err := sqlstore.Copy(ctx, chain[i-1], chain[i], sqlstore.CopyOptions{Batch: 700})
		require.NoError(t, err, "%v to %v", chain[i-1].Dialect(), chain[i].Dialect())
		requireSameRows(t, chain[0], chain[i])
	}
}

// TestCopyResumes interrupts a copy after a few batches, as a kill would,
// and runs it again: it goes on where the target stops and ends with the
// same rows as the source.
func TestCopyResumes(t *testing.T) {
	src := generated(t, 3_000, 6_000)
	for _, target := range copyTargets {
		t.Run(target.name, func(t *testing.T) {
			if target.env != "" {
				dbtest.Need(t, target.env)
			}
			dst := openEmpty(t, target.dsn(t))
			for _, stopAt := range []struct {
				table string
				after int64
			}{{"authkit_users", 1_500}, {"authkit_sessions", 2_500}} {
				ctx, cancel := context.WithCancel(context.Background())
				_, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Batch: 500, Progress: func(p sqlstore.CopyProgress) {
					if p.Table == stopAt.table && p.Copied >= stopAt.after {
						cancel()
					}
				}})
				cancel()
				require.ErrorIs(t, err, context.Canceled)
			}
			var n int64
			require.NoError(t, dst.DB().QueryRow("SELECT COUNT(*) FROM authkit_sessions").Scan(&n))
			require.Equal(t, int64(2_500), n, "stopped after the fifth batch of sessions")

			var first []sqlstore.CopyProgress
			res, err := sqlstore.Copy(context.Background(), src, dst, sqlstore.CopyOptions{Batch: 500, Progress: func(p sqlstore.CopyProgress) {
				if !slices.ContainsFunc(first, func(q sqlstore.CopyProgress) bool { return q.Table == p.Table }) {
					first = append(first, p)
				}
			}})
			require.NoError(t, err)
			require.True(t, res.Resumed)
			require.Equal(t, sqlstore.CopyProgress{Table: "authkit_users", Copied: 3_000, Total: 3_000}, first[0], "users were done")
			require.Equal(t, sqlstore.CopyProgress{Table: "authkit_sessions", Copied: 2_500, Total: 6_000}, first[1], "sessions go on")
			requireSameRows(t, src, dst)

			// Finished, the mark is gone: a third copy is refused.
			_, err = sqlstore.Copy(context.Background(), src, dst, sqlstore.CopyOptions{})
			require.ErrorIs(t, err, sqlstore.ErrTargetNotEmpty)
		})
	}
}

func TestCopyRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := open(t, filepath.Join(dir, "source.db"))
	require.NoError(t, sqlstore.Generate(ctx, src, 50, 50))

	t.Run("the same database", func(t *testing.T) {
		same := openEmpty(t, filepath.Join(dir, "source.db"))
		_, err := sqlstore.Copy(ctx, src, same, sqlstore.CopyOptions{Force: true})
		require.ErrorIs(t, err, sqlstore.ErrSameDatabase)
		n, err := src.Version(ctx) // nothing was emptied
		require.NoError(t, err)
		require.NotZero(t, n)
		rows, err := sqlstore.Dump(ctx, src, "authkit_users")
		require.NoError(t, err)
		require.Len(t, rows, 50)
	})
	t.Run("a source in use", func(t *testing.T) {
		now := time.Now()
		require.NoError(t, src.CreateUser(ctx, authkit.User{ID: "fresh", Provider: "email", ProviderUserID: "fresh", SignUpAt: now, LastLoginAt: now}))
		// Removed behind the store's back: DeleteUser would log a
		// revocation, which is activity too.
		t.Cleanup(func() { src.DB().ExecContext(ctx, "DELETE FROM authkit_users WHERE id = 'fresh'") })
		_, err := sqlstore.Copy(ctx, src, openEmpty(t, filepath.Join(t.TempDir(), "t.db")), sqlstore.CopyOptions{})
		require.ErrorIs(t, err, sqlstore.ErrSourceActive)
		_, err = sqlstore.Copy(ctx, src, openEmpty(t, filepath.Join(t.TempDir(), "t.db")), sqlstore.CopyOptions{IgnoreActivity: true})
		require.NoError(t, err)
	})
	t.Run("a source written since the copy began", func(t *testing.T) {
		dst := openEmpty(t, filepath.Join(t.TempDir(), "t.db"))
		cctx, cancel := context.WithCancel(ctx)
		_, err := sqlstore.Copy(cctx, src, dst, sqlstore.CopyOptions{Batch: 10, Progress: func(p sqlstore.CopyProgress) {
			if p.Copied == 20 {
				cancel()
			}
		}})
		require.ErrorIs(t, err, context.Canceled)
		old := time.UnixMilli(1767225600000)
		require.NoError(t, src.CreateUser(ctx, authkit.User{ID: "late", Provider: "email", ProviderUserID: "late", SignUpAt: old, LastLoginAt: old}))
		t.Cleanup(func() { src.DeleteUser(ctx, "late") })
		_, err = sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{})
		require.ErrorIs(t, err, sqlstore.ErrSourceChanged)
		_, err = sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{Force: true})
		require.NoError(t, err)
		requireSameRows(t, src, dst)
	})
	t.Run("a source behind the schema", func(t *testing.T) {
		old := openEmpty(t, filepath.Join(t.TempDir(), "old.db"))
		require.NoError(t, old.MigrateTo(ctx, 5))
		_, err := sqlstore.Copy(ctx, old, openEmpty(t, filepath.Join(t.TempDir(), "t.db")), sqlstore.CopyOptions{})
		require.ErrorIs(t, err, sqlstore.ErrSchemaVersion)
	})
}

// The revocation log stays behind: a revocation makes the source one in
// use, and the target's log starts empty, from its own counter.
func TestCopyLeavesTheRevocationLog(t *testing.T) {
	ctx := context.Background()
	src := generated(t, 10, 10)
	require.NoError(t, src.DeleteUserSessions(ctx, "nobody", ""))
	dst := openEmpty(t, filepath.Join(t.TempDir(), "target.db"))
	_, err := sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{})
	require.ErrorIs(t, err, sqlstore.ErrSourceActive, "a sign-out is activity")
	_, err = sqlstore.Copy(ctx, src, dst, sqlstore.CopyOptions{IgnoreActivity: true})
	require.NoError(t, err)
	last, err := dst.LastRevocation(ctx)
	require.NoError(t, err)
	require.Zero(t, last)
	list, err := dst.Revocations(ctx, 0, 10)
	require.NoError(t, err)
	require.Empty(t, list)
}

// TestCopyCoversSchema checks that Copy moves every table the migrations
// make, but those it leaves on purpose (the revocation log), so a new
// table cannot be left behind by a move.
func TestCopyCoversSchema(t *testing.T) {
	s := open(t, ":memory:")
	rows, err := s.DB().Query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
	require.NoError(t, err)
	defer rows.Close()
	var tables []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		tables = append(tables, name)
	}
	want := append(sqlstore.CopyTableNames(), "authkit_schema")
	want = append(want, sqlstore.CopyLeftTableNames()...)
	slices.Sort(want)
	require.Equal(t, want, tables)
	// The columns: Copy checks them against its own list.
	_, err = sqlstore.Copy(context.Background(), s, open(t, ":memory:"), sqlstore.CopyOptions{})
	require.NoError(t, err)
}

// TestCopyFullSize is the benchmark of BENCHMARKS.md: 1,000,000 users and
// 2,000,000 sessions from SQLite to PostgreSQL and to MySQL. It runs only
// with AUTHKIT_COPY_FULL_SIZE=1 (and the servers' variables):
//
//	AUTHKIT_COPY_FULL_SIZE=1 go test -run TestCopyFullSize -timeout 1h -v ./sqlstore/
//
// AUTHKIT_COPY_USERS overrides the number of users (sessions are twice as
// many).
func TestCopyFullSize(t *testing.T) {
	if os.Getenv("AUTHKIT_COPY_FULL_SIZE") == "" {
		t.Skip("skipped: set AUTHKIT_COPY_FULL_SIZE=1 to copy 1,000,000 users and 2,000,000 sessions (minutes)")
	}
	users := 1_000_000
	if v := os.Getenv("AUTHKIT_COPY_USERS"); v != "" {
		var err error
		users, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	// Filled through one connection with a 1 GiB page cache (random keys
	// into big indexes crawl through the default 2 MiB, and each
	// connection's cache is its own), then opened as the command would.
	path := filepath.Join(t.TempDir(), "source.db")
	gen := open(t, "file:"+path+"?_pragma=cache_size(-1048576)")
	gen.DB().SetMaxOpenConns(1)
	start := time.Now()
	require.NoError(t, sqlstore.Generate(context.Background(), gen, users, 2*users))
	t.Logf("generated %d users and %d sessions in %v", users, 2*users, time.Since(start).Round(time.Second))
	require.NoError(t, gen.Close())
	src := openEmpty(t, path)
	for _, target := range copyTargets[1:] {
		t.Run(target.name, func(t *testing.T) {
			dbtest.Need(t, target.env)
			dst := openEmpty(t, target.dsn(t))
			start := time.Now()
			res, err := sqlstore.Copy(context.Background(), src, dst, sqlstore.CopyOptions{})
			require.NoError(t, err)
			t.Logf("copied %v from SQLite to %v in %v", res.Tables, dst.Dialect(), time.Since(start).Round(time.Second))
			require.Equal(t, int64(users), res.Tables[0].Rows)
			require.Equal(t, int64(2*users), res.Tables[1].Rows)
		})
	}
}
