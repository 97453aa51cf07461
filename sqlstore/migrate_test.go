package sqlstore_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
)

// schemaVersion is the newest step in migrations/<dialect>.
const schemaVersion = 9

func TestMigrateIsIdempotent(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s, err := sqlstore.Open(dsn(t))
		require.NoError(t, err)
		defer s.Close()

		v, err := s.Version(ctx)
		require.NoError(t, err)
		require.Zero(t, v, "a new database")
		require.NoError(t, s.Migrate(ctx))
		v, err = s.Version(ctx)
		require.NoError(t, err)
		require.Equal(t, schemaVersion, v)

		u := authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1", Email: "a@example.com",
			SignUpAt: time.Now(), LastLoginAt: time.Now()}
		require.NoError(t, s.CreateUser(ctx, u))
		require.NoError(t, s.Migrate(ctx), "a second Migrate")
		_, err = s.UserByID(ctx, "u1")
		require.NoError(t, err, "a second Migrate keeps the data")
		v, err = s.Version(ctx)
		require.NoError(t, err)
		require.Equal(t, schemaVersion, v)
	})
}

// Instances that start at the same moment all migrate the same database:
// each waits its turn, none fails, and each step is applied once.
func TestMigrateConcurrently(t *testing.T) {
	for _, db := range databases {
		if db.name == "sqlite memory" {
			continue // each pool would have a database of its own
		}
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			dsn := db.dsn(t)
			const n = 8
			stores := make([]*sqlstore.Store, n)
			for i := range stores {
				s, err := sqlstore.Open(dsn)
				require.NoError(t, err)
				defer s.Close()
				stores[i] = s
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i, s := range stores {
				wg.Go(func() {
					<-start
					errs[i] = s.Migrate(context.Background())
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				require.NoError(t, err, "instance %d", i)
			}
			var rows int
			require.NoError(t, stores[0].DB().QueryRow("SELECT COUNT(*) FROM authkit_schema").Scan(&rows))
			require.Equal(t, schemaVersion, rows, "each step recorded once")
		})
	}
}

// A database that a release before stamps left (schema version 2) keeps
// its sessions through the upgrade: its users, sessions and tokens take the
// stamp "" alike, so every session still carries its user's stamp.
func TestMigrateKeepsTheLastReleasesSessions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s := upgradeFrom(t, dsn(t), 2,
			// The rows as the previous release wrote them: its columns only.
			`INSERT INTO authkit_users (id, provider, provider_user_id, email, email_fold, email_verified,
				phone, phone_verified, name, profile_picture, password_hash, profile, sign_up_at, last_login_at)
			VALUES ('u1', 'altogic', 'u1', 'ann@example.com', 'ann@example.com', TRUE,
				NULL, FALSE, 'Ann', '', 'old hash', '{"plan":"pro"}', 1700000000000, 1700000001000)`,
			`INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip)
			VALUES ('s1', 'h1', 'u1', 1700000001000, 1700000002000, 4102444800000, '{"family":"Firefox"}', '192.0.2.1')`,
			`INSERT INTO authkit_tokens (hash, purpose, user_id, subject, action, link, attempts, created_at, expires_at)
			VALUES ('t1', 'reset-pwd', 'u1', 'ann@example.com', '', '', 0, 1700000001000, 4102444800000)`,
		)

		u, err := s.UserByID(ctx, "u1")
		require.NoError(t, err)
		require.Equal(t, "", u.Stamp)
		require.Equal(t, "ann@example.com", u.Email)
		require.Equal(t, "old hash", u.PasswordHash)
		require.Equal(t, `"pro"`, string(u.Profile["plan"]))
		require.Equal(t, time.UnixMilli(1700000001000).UTC(), u.LastLoginAt)

		sess, su, err := s.SessionAndUser(ctx, "h1")
		require.NoError(t, err, "the session survives the upgrade")
		require.Equal(t, "s1", sess.ID)
		require.Equal(t, "Firefox", sess.UserAgent.Family)
		require.Equal(t, "", sess.Stamp)
		require.Equal(t, 1, sess.Factors, "a session from before factors proved one")
		require.Equal(t, u, su)
		require.Equal(t, su.Stamp, sess.Stamp, "the session carries its user's stamp")

		tok, err := s.TokenByHash(ctx, "t1", time.UnixMilli(1700000002000))
		require.NoError(t, err)
		require.Equal(t, "", tok.Stamp)
		require.Nil(t, tok.Data)

		// The new release writes over the old rows: a password change
		// that keeps the session it was made from.
		hash, stamp, old := "new hash", "a1b2c3", ""
		u, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{
			Set:         authkit.UserFields{PasswordHash: &hash, Stamp: &stamp},
			If:          authkit.UserFields{Stamp: &old},
			KeepSession: "s1",
		})
		require.NoError(t, err)
		require.Equal(t, stamp, u.Stamp)
		sess, su, err = s.SessionAndUser(ctx, "h1")
		require.NoError(t, err)
		require.Equal(t, u, su)
		require.Equal(t, stamp, sess.Stamp, "the kept session takes the new stamp")
	})
}

// A database that the previous release left (schema version 3) keeps its
// tokens through the upgrade: a link, a code and a grant key work as they
// did, with no data, and the upgraded table keeps data of the most bytes a
// token may hold.
func TestMigrateKeepsTheLastReleasesTokens(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s := upgradeFrom(t, dsn(t), 3,
			// The rows as the previous release wrote them: its columns only.
			`INSERT INTO authkit_users (id, provider, provider_user_id, email, email_fold, email_verified,
				phone, phone_verified, name, profile_picture, password_hash, profile, sign_up_at, last_login_at, stamp)
			VALUES ('u1', 'altogic', 'u1', 'ann@example.com', 'ann@example.com', TRUE,
				'+15550100', TRUE, 'Ann', '', 'hash', '{}', 1700000000000, 1700000001000, 'st1')`,
			`INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, stamp)
			VALUES ('s1', 'h1', 'u1', 1700000001000, 1700000002000, 4102444800000, '{}', '192.0.2.1', 'st1')`,
			`INSERT INTO authkit_tokens (hash, purpose, user_id, subject, action, link, attempts, stamp, created_at, expires_at)
			VALUES ('t1', 'reset-pwd', 'u1', 'ann@example.com', '', '', 0, 'st1', 1700000001000, 4102444800000)`,
			`INSERT INTO authkit_tokens (hash, purpose, user_id, subject, action, link, attempts, stamp, created_at, expires_at)
			VALUES ('c1', 'signin-code', 'u1', '+15550100', '', '', 1, 'st1', 1700000001000, 4102444800000)`,
			`INSERT INTO authkit_tokens (hash, purpose, user_id, subject, action, link, attempts, stamp, created_at, expires_at)
			VALUES ('g1', 'grant', 'u1', '', 'magic-link', 'l1', 0, 'st1', 1700000001000, 4102444800000)`,
		)

		now := time.UnixMilli(1700000002000)
		link, err := s.TokenByHash(ctx, "t1", now)
		require.NoError(t, err, "the link survives the upgrade")
		require.Equal(t, authkit.Token{Hash: "t1", Purpose: authkit.PurposeResetPassword, UserID: "u1",
			Subject: "ann@example.com", Stamp: "st1",
			CreatedAt: time.UnixMilli(1700000001000).UTC(), ExpiresAt: time.UnixMilli(4102444800000).UTC()}, link)
		require.Nil(t, link.Data)

		code, err := s.LatestToken(ctx, authkit.PurposeSignInCode, "+15550100", now)
		require.NoError(t, err, "the code survives the upgrade")
		require.Equal(t, "c1", code.Hash)
		require.Equal(t, 1, code.Attempts)
		require.Nil(t, code.Data)
		claimed, err := s.ClaimAttempt(ctx, "c1", 2, now)
		require.NoError(t, err)
		require.True(t, claimed, "the code's second try")
		claimed, err = s.ClaimAttempt(ctx, "c1", 2, now)
		require.NoError(t, err)
		require.False(t, claimed, "the tries counted before the upgrade count")

		grant, err := s.ConsumeToken(ctx, authkit.PurposeGrant, "g1", now)
		require.NoError(t, err, "the grant key survives the upgrade")
		require.Equal(t, "magic-link", grant.Action)
		require.Equal(t, "l1", grant.Link)
		require.Nil(t, grant.Data)
		spent, err := s.ConsumeToken(ctx, authkit.PurposeResetPassword, "t1", now)
		require.NoError(t, err)
		require.Equal(t, link, spent)

		// The new release writes data beside the old rows: as much as a
		// token may hold, every byte value (no text encoding touches it).
		data := make([]byte, authkit.MaxTokenData)
		for i := range data {
			data[i] = byte(i)
		}
		tok := authkit.Token{Hash: "t2", Purpose: authkit.PurposeMagicLink, UserID: "u1", Subject: "ann@example.com",
			Stamp: "st1", Data: data, CreatedAt: now, ExpiresAt: time.UnixMilli(4102444800000)}
		require.NoError(t, s.CreateToken(ctx, tok))
		got, err := s.TokenByHash(ctx, "t2", now)
		require.NoError(t, err)
		require.Equal(t, data, got.Data)

		require.NoError(t, s.DeleteUser(ctx, "u1"))
		for _, hash := range []string{"c1", "t2"} {
			_, err := s.TokenByHash(ctx, hash, now)
			require.ErrorIs(t, err, authkit.ErrNotFound, "token %s of a deleted user", hash)
		}
		_, err = s.SessionByTokenHash(ctx, "h1")
		require.ErrorIs(t, err, authkit.ErrNotFound, "the session of a deleted user")
	})
}

// A database that the previous release left (schema version 5) keeps its
// users through the upgrade, with no access groups, not disabled and no
// server data; the new release writes those fields over the old rows, and
// an instance of the previous release, still running during a rolling
// upgrade, still creates users.
func TestMigrateKeepsTheLastReleasesUsers(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		// A user as the previous release wrote it: its columns only.
		oldUser := func(id string) string {
			return `INSERT INTO authkit_users (id, provider, provider_user_id, email, email_fold, email_verified,
				phone, phone_verified, name, profile_picture, password_hash, profile, sign_up_at, last_login_at, stamp)
			VALUES ('` + id + `', 'altogic', '` + id + `', NULL, NULL, FALSE,
				NULL, FALSE, 'Ann', '', 'hash', '{"plan":"pro"}', 1700000000000, 1700000001000, 'st1')`
		}
		s := upgradeFrom(t, dsn(t), 5, oldUser("u1"),
			`INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, stamp)
			VALUES ('s1', 'h1', 'u1', 1700000001000, 1700000002000, 4102444800000, '{}', '192.0.2.1', 'st1')`)
		_, err := s.DB().ExecContext(ctx, oldUser("u2"))
		require.NoError(t, err, "the previous release's insert")

		want := authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1", Name: "Ann",
			PasswordHash: "hash", Profile: map[string]json.RawMessage{"plan": json.RawMessage(`"pro"`)},
			SignUpAt: time.UnixMilli(1700000000000).UTC(), LastLoginAt: time.UnixMilli(1700000001000).UTC(), Stamp: "st1"}
		u, err := s.UserByID(ctx, "u1")
		require.NoError(t, err)
		require.Equal(t, want, u, "no access groups, not disabled, no server data")
		_, su, err := s.SessionAndUser(ctx, "h1")
		require.NoError(t, err)
		require.Equal(t, want, su)
		page, err := s.ListUsers(ctx, "", 10)
		require.NoError(t, err)
		require.Len(t, page, 2)
		require.Equal(t, want, page[0])
		want.ID, want.ProviderUserID = "u2", "u2"
		require.Equal(t, want, page[1], "a user the previous release created after the upgrade")

		// None is nil or empty: a condition of either holds on the old row.
		u, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{
			Set: authkit.UserFields{
				AccessGroups: &[]string{"admin"}, Disabled: ptr(true),
				ServerData: &map[string]json.RawMessage{"seats": json.RawMessage(`5`)},
			},
			If: authkit.UserFields{
				AccessGroups: &[]string{}, Disabled: ptr(false), ServerData: &map[string]json.RawMessage{},
			},
		})
		require.NoError(t, err)
		require.Equal(t, []string{"admin"}, u.AccessGroups)
		require.True(t, u.Disabled)
		require.Equal(t, `5`, string(u.ServerData["seats"]))
		again, err := s.UserByID(ctx, "u1")
		require.NoError(t, err)
		require.Equal(t, u, again)
	})
}

func ptr[T any](v T) *T { return &v }

func TestSQLiteFileKeepsDataAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested name", "authkit.db")
	_, err := sqlstore.Open(path)
	require.Error(t, err, "a directory that does not exist")

	path = filepath.Join(t.TempDir(), "a name with spaces & a ?.db")
	s, err := sqlstore.Open(path)
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	now := time.Now()
	require.NoError(t, s.CreateUser(ctx, authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1",
		Email: "a@example.com", SignUpAt: now, LastLoginAt: now}))
	require.NoError(t, s.CreateSession(ctx, authkit.Session{ID: "s1", TokenHash: "h1", UserID: "u1",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, s.Close())

	s, err = sqlstore.Open(path)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx))
	u, err := s.UserByEmail(ctx, "A@example.com")
	require.NoError(t, err)
	require.Equal(t, "u1", u.ID)
	sess, err := s.SessionByTokenHash(ctx, "h1")
	require.NoError(t, err)
	require.Equal(t, "u1", sess.UserID)
}

func TestOpenRefusesBadDSNs(t *testing.T) {
	for name, dsn := range map[string]string{
		"empty":                  "",
		"unknown scheme":         "mongodb://127.0.0.1/app",
		"mysql without database": "mysql://root@127.0.0.1:3306",
		"mysql without host":     "mysql:///app",
		"mysql bad parameter":    "mysql://root@127.0.0.1:3306/app?timeout=soon",
	} {
		t.Run(name, func(t *testing.T) {
			s, err := sqlstore.Open(dsn)
			require.Error(t, err)
			require.Nil(t, s)
			require.Contains(t, err.Error(), "sqlstore: ")
		})
	}
}

func TestNewWrapsTheHostsPool(t *testing.T) {
	s := open(t, ":memory:")
	wrapped, err := sqlstore.New(s.DB(), sqlstore.SQLite)
	require.NoError(t, err)
	require.NoError(t, wrapped.Close(), "closing a wrapped pool is a no-op")
	require.NoError(t, s.DB().Ping(), "the host's pool stays open")
	require.Equal(t, sqlstore.SQLite, wrapped.Dialect())

	_, err = sqlstore.New(s.DB(), sqlstore.Dialect(42))
	require.Error(t, err)
}

// A database that the previous release left (schema version 6) starts
// its revocation log empty, numbered from 1: what that release revoked is
// in no log, and the cache of an instance starts from the log's end.
func TestMigrateStartsTheRevocationLog(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s := upgradeFrom(t, dsn(t), 6,
			`INSERT INTO authkit_users (id, provider, provider_user_id, email, email_fold, email_verified,
				phone, phone_verified, name, profile_picture, password_hash, profile, sign_up_at, last_login_at, stamp)
			VALUES ('u1', 'altogic', 'u1', NULL, NULL, FALSE, NULL, FALSE, 'Ann', '', 'hash', '{}', 1700000000000, 1700000001000, 'st1')`,
			`INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, stamp)
			VALUES ('s1', 'h1', 'u1', 1700000001000, 1700000002000, 4102444800000, '{}', '192.0.2.1', 'st1')`)
		last, err := s.LastRevocation(ctx)
		require.NoError(t, err)
		require.Zero(t, last)
		list, err := s.Revocations(ctx, 0, 10)
		require.NoError(t, err)
		require.Empty(t, list)

		ok, err := s.DeleteSession(ctx, "u1", "s1")
		require.NoError(t, err)
		require.True(t, ok)
		list, err = s.Revocations(ctx, 0, 10)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, authkit.Revocation{Seq: 1, UserID: "u1", SessionID: "s1", At: list[0].At}, list[0])
	})
}

// upgradeFrom opens the database at dsn migrated to version, writes rows
// with stmts as that release did, and migrates it to the newest version.
func upgradeFrom(t *testing.T, dsn string, version int, stmts ...string) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.MigrateTo(ctx, version))
	v, err := s.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, version, v)
	for _, stmt := range stmts {
		_, err := s.DB().ExecContext(ctx, stmt)
		require.NoError(t, err, stmt)
	}
	require.NoError(t, s.Migrate(ctx))
	v, err = s.Version(ctx)
	require.NoError(t, err)
	require.Equal(t, schemaVersion, v)
	return s
}
