package sqlstore_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// Two instances, each with its own connection pool on one database, count
// as one: their racing hits get the counts 1..N between them.
func TestLimiterTwoInstances(t *testing.T) {
	for _, db := range databases {
		if db.name == "sqlite memory" {
			continue // not shareable
		}
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			dsn := db.dsn(t)
			storetest.RaceHits(t, 60, open(t, dsn), open(t, dsn))
		})
	}
}

// A database migrated before the limits existed (schema version 1) gets
// them from the next Migrate, and keeps its data.
func TestMigrateAddsLimits(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		ctx := context.Background()
		s, err := sqlstore.Open(dsn(t))
		require.NoError(t, err)
		defer s.Close()
		// Only version 1: as a database that an older authkit made.
		require.NoError(t, s.MigrateTo(ctx, 1))
		_, err = s.DB().ExecContext(ctx, `INSERT INTO authkit_users (id, provider, provider_user_id, email, email_fold,
				email_verified, phone, phone_verified, name, profile_picture, password_hash, profile, sign_up_at, last_login_at)
			VALUES ('u1', 'altogic', 'u1', 'a@example.com', 'a@example.com', FALSE, NULL, FALSE, '', '', '', '{}', 0, 0)`)
		require.NoError(t, err)
		now := time.Now()
		v, err := s.Version(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, v)
		_, _, err = s.Hit(ctx, "k", time.Minute, now)
		require.Error(t, err, "no table yet")

		require.NoError(t, s.Migrate(ctx))
		v, err = s.Version(ctx)
		require.NoError(t, err)
		require.Equal(t, schemaVersion, v)
		n, _, err := s.Hit(ctx, "k", time.Minute, now)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
		_, err = s.UserByID(ctx, "u1")
		require.NoError(t, err, "the data stays")
	})
}

// BenchmarkHit counts hits on 1,000 keys in turn (serial: the cost of one
// upsert) and on one key from every P at once (parallel: hits queue on the
// row lock).
//
//	AUTHKIT_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//	AUTHKIT_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/test \
//		go test -run '^$' -bench Hit -benchmem ./sqlstore
func BenchmarkHit(b *testing.B) {
	ctx := context.Background()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, db := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "authkit.db") }},
		{"postgres", func(b *testing.B) string { return dbtest.Postgres(b) }},
		{"mysql", func(b *testing.B) string { return dbtest.MySQL(b) }},
	} {
		b.Run(db.name+"/serial", func(b *testing.B) {
			s := open(b, db.dsn(b))
			keys := make([]string, 1000)
			for i := range keys {
				keys[i] = "ip:signin:192.0.2." + strconv.Itoa(i)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, _, err := s.Hit(ctx, keys[i%len(keys)], time.Minute, now); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(db.name+"/parallel", func(b *testing.B) {
			s := open(b, db.dsn(b))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := s.Hit(ctx, "ip:signin:192.0.2.1", time.Minute, now); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
