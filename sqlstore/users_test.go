package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// A SQLite pool that a host opened without foreign keys, and gave to New,
// still loses a deleted user's sessions and tokens with the user; and a
// missing user deletes nothing, not even tokens that name it.
func TestDeleteUserWithoutForeignKeys(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "authkit.db"))
	require.NoError(t, err)
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	var fk bool
	require.NoError(t, db.QueryRow("PRAGMA foreign_keys").Scan(&fk))
	require.False(t, fk, "the pool enforces no foreign keys")

	now := time.Now()
	require.NoError(t, s.CreateUser(ctx, authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1",
		Email: "ann@example.com", SignUpAt: now, LastLoginAt: now}))
	require.NoError(t, s.CreateSession(ctx, authkit.Session{ID: "s1", TokenHash: "h1", UserID: "u1",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	for _, tok := range []authkit.Token{
		{Hash: "t1", Purpose: authkit.PurposeMagicLink, UserID: "u1", Data: []byte("data"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{Hash: "t2", Purpose: authkit.PurposeMagicLink, UserID: "ghost", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		require.NoError(t, s.CreateToken(ctx, tok))
	}

	require.ErrorIs(t, s.DeleteUser(ctx, "ghost"), authkit.ErrNotFound)
	_, err = s.TokenByHash(ctx, "t2", now)
	require.NoError(t, err, "a missing user deletes nothing")

	require.NoError(t, s.DeleteUser(ctx, "u1"))
	_, err = s.UserByID(ctx, "u1")
	require.ErrorIs(t, err, authkit.ErrNotFound)
	_, err = s.SessionByTokenHash(ctx, "h1")
	require.ErrorIs(t, err, authkit.ErrNotFound, "the user's session")
	_, err = s.TokenByHash(ctx, "t1", now)
	require.ErrorIs(t, err, authkit.ErrNotFound, "the user's token")
	require.ErrorIs(t, s.DeleteUser(ctx, "u1"), authkit.ErrNotFound, "a second time")
}

// DeleteUser races the writers that lock the user's rows in their own
// order: a new token (tokens, then the user's row through the foreign key),
// a new session, and a password change that keeps a session (the user's
// row, then the session). None deadlocks: DeleteUser succeeds, the others
// either land before it (and are deleted with the user) or find the user
// gone, and nothing of the user is left.
func TestDeleteUserRaced(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s := open(t, dsn(t))
		now := time.Now()
		for i := range 25 {
			id := fmt.Sprintf("u%d", i)
			require.NoError(t, s.CreateUser(ctx, authkit.User{ID: id, Provider: authkit.ProviderAltogic, ProviderUserID: id,
				SignUpAt: now, LastLoginAt: now}))
			require.NoError(t, s.CreateSession(ctx, authkit.Session{ID: id + "-s1", TokenHash: id + "-h1", UserID: id,
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
			require.NoError(t, s.CreateToken(ctx, authkit.Token{Hash: id + "-t1", Purpose: authkit.PurposeResetPassword,
				UserID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))

			var deleted, token, session, update error
			stamp := "new"
			storetest.Race(
				func() { deleted = s.DeleteUser(ctx, id) },
				func() {
					token = s.CreateToken(ctx, authkit.Token{Hash: id + "-t2", Purpose: authkit.PurposeResetPassword,
						UserID: id, Data: []byte("data"), CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
				},
				func() {
					session = s.CreateSession(ctx, authkit.Session{ID: id + "-s2", TokenHash: id + "-h2", UserID: id,
						CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
				},
				func() {
					_, update = s.UpdateUser(ctx, id, authkit.UserUpdate{
						Set: authkit.UserFields{Stamp: &stamp}, KeepSession: id + "-s1"})
				},
			)
			require.NoError(t, deleted, "round %d", i)
			if token != nil {
				require.True(t, isForeignKeyViolation(token), "round %d: new token: %v", i, token)
			}
			if session != nil {
				require.True(t, isForeignKeyViolation(session), "round %d: new session: %v", i, session)
			}
			if update != nil {
				require.ErrorIs(t, update, authkit.ErrNotFound, "round %d: update", i)
			}

			_, err := s.UserByID(ctx, id)
			require.ErrorIs(t, err, authkit.ErrNotFound)
			sessions, err := s.ListSessions(ctx, id)
			require.NoError(t, err)
			require.Empty(t, sessions, "round %d", i)
			for _, hash := range []string{id + "-t1", id + "-t2"} {
				_, err := s.TokenByHash(ctx, hash, now)
				require.ErrorIs(t, err, authkit.ErrNotFound, "round %d: token %s", i, hash)
			}
		}
	})
}

// isForeignKeyViolation reports whether err is a write that named a user
// who is not there.
func isForeignKeyViolation(err error) bool {
	var pg *pgconn.PgError
	var my *mysql.MySQLError
	var lite *sqlite.Error
	switch {
	case errors.As(err, &pg):
		return pg.Code == "23503" // foreign_key_violation
	case errors.As(err, &my):
		return my.Number == 1452 // ER_NO_REFERENCED_ROW_2
	case errors.As(err, &lite):
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	return false
}

// ListUsers and AllUsers go by id byte for byte on a PostgreSQL database
// whose text sorts otherwise (here the ids' own collation, ICU's English,
// puts "U1" after "b"), and ListUsers reads an index to do so.
func TestListUsersByteOrderWhateverTheCollation(t *testing.T) {
	ctx := context.Background()
	s := open(t, dbtest.Postgres(t))
	var icu bool
	require.NoError(t, s.DB().QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM pg_collation WHERE collname = 'en-x-icu')`).Scan(&icu))
	if !icu {
		t.Skip("skipped: the server has no ICU collation en-x-icu")
	}
	_, err := s.DB().ExecContext(ctx, `ALTER TABLE authkit_users ALTER COLUMN id TYPE TEXT COLLATE "en-x-icu"`)
	require.NoError(t, err)
	var first string
	require.NoError(t, s.DB().QueryRowContext(ctx,
		`SELECT id FROM (VALUES ('U1'), ('a1'), ('b')) AS v (id) ORDER BY id COLLATE "en-x-icu" LIMIT 1`).Scan(&first))
	require.Equal(t, "a1", first, "the collation sorts otherwise than bytes")

	now := time.Now()
	for _, id := range []string{"b", "a1", "U1"} {
		require.NoError(t, s.CreateUser(ctx, authkit.User{ID: id, Provider: authkit.ProviderAltogic, ProviderUserID: id,
			SignUpAt: now, LastLoginAt: now}))
	}
	page, err := s.ListUsers(ctx, "", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"U1", "a1", "b"}, userIDs(page))
	page, err = s.ListUsers(ctx, "U1", 10)
	require.NoError(t, err)
	require.Equal(t, []string{"a1", "b"}, userIDs(page))
	var all []authkit.User
	for u, err := range s.AllUsers(ctx) {
		require.NoError(t, err)
		all = append(all, u)
	}
	require.Equal(t, []string{"U1", "a1", "b"}, userIDs(all))

	// The plan, with sequential scans priced out of a table this small.
	conn, err := s.DB().Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "SET enable_seqscan = off")
	require.NoError(t, err)
	rows, err := conn.QueryContext(ctx, "EXPLAIN "+sqlstore.UsersAfterQuery(s), "", 10)
	require.NoError(t, err)
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	require.Contains(t, plan.String(), "authkit_users_id_bytes", "the plan:\n%s", plan.String())
	require.NotContains(t, plan.String(), "Sort", "the plan:\n%s", plan.String())
}

func userIDs(users []authkit.User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	return ids
}
