package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// Instances (stores of their own) that race every change that logs, each
// on a user of its own, meet only on the log's counter: none deadlocks or
// fails, and the revocations are numbered with no gap. (Changes of one
// user raced from many instances, DeleteExpired among them, can deadlock
// on MariaDB, log or no log, as can DeleteUser and CreateToken on
// PostgreSQL: on the rows and indexes of the sessions, tokens and users,
// which every writer locks before the counter.)
func TestRevocationsRacedAcrossInstances(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn func(testing.TB) string) {
		const instances, writers = 4, 24
		ctx := context.Background()
		name := dsn(t)
		stores := make([]*sqlstore.Store, instances)
		for i := range stores {
			if name == ":memory:" && i > 0 {
				stores[i] = stores[0] // every connection to ":memory:" is a database of its own
				continue
			}
			stores[i] = open(t, name)
		}
		now := time.Now()
		errs := make([]error, writers)
		var logged atomic.Int64
		var fns []func()
		for i := range writers {
			s, user, sess := stores[i%instances], fmt.Sprintf("u%02d", i), fmt.Sprintf("s%02d", i)
			require.NoError(t, s.CreateUser(ctx, authkit.User{ID: user, Provider: authkit.ProviderAltogic,
				ProviderUserID: user, SignUpAt: now, LastLoginAt: now}))
			fns = append(fns, func() {
				errs[i] = func() error {
					for _, id := range []string{sess, sess + "b"} {
						if err := s.CreateSession(ctx, authkit.Session{ID: id, TokenHash: "h" + id, UserID: user,
							CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
							return err
						}
					}
					if _, err := s.UpdateUser(ctx, user, authkit.UserUpdate{Set: authkit.UserFields{Stamp: &sess}, KeepSession: sess}); err != nil {
						return err
					}
					if _, err := s.UpdateUser(ctx, user, authkit.UserUpdate{Set: authkit.UserFields{LastLoginAt: &now}}); err != nil {
						return err
					}
					if ok, err := s.DeleteSession(ctx, user, sess+"b"); err != nil || !ok {
						return fmt.Errorf("DeleteSession: %v, %w", ok, err)
					}
					if err := s.DeleteUserSessions(ctx, user, sess); err != nil {
						return err
					}
					if _, err := s.DeleteExpired(ctx, now, now.Add(-time.Hour)); err != nil {
						return err
					}
					if err := s.DeleteUser(ctx, user); err != nil {
						return err
					}
					logged.Add(4)
					return nil
				}()
			})
		}
		storetest.Race(fns...)
		for i, err := range errs {
			require.NoError(t, err, "writer %d", i)
		}
		last, err := stores[0].LastRevocation(ctx)
		require.NoError(t, err)
		require.Equal(t, logged.Load(), last, "one revocation per change that logs")
		list, err := stores[1].Revocations(ctx, 0, 10_000)
		require.NoError(t, err)
		require.Len(t, list, int(last))
		for i, r := range list {
			require.Equal(t, int64(i+1), r.Seq)
		}
	})
}
