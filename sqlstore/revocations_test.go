package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
	"github.com/authkit/authkit/storetest"
)

// listening runs Listen on s in a goroutine and returns the channel that
// wake signals and the one Listen's error comes on, once Listen is seen
// listening: notices that other sends until one wakes it.
func listening(t *testing.T, ctx context.Context, s, other *sqlstore.Store) (<-chan struct{}, <-chan error) {
	t.Helper()
	woken := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, func() {
			select {
			case woken <- struct{}{}:
			default:
			}
		})
	}()
	deadline := time.After(10 * time.Second)
	for {
		_, err := other.DB().ExecContext(ctx, "SELECT pg_notify('authkit_revocations', current_schema())")
		require.NoError(t, err)
		select {
		case <-woken:
			return woken, done
		case err := <-done:
			t.Fatalf("Listen returned before listening: %v", err)
		case <-deadline:
			t.Fatal("Listen does not listen after 10 seconds")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// drain empties woken of the notices sent so far.
func drain(woken <-chan struct{}) {
	for {
		select {
		case <-woken:
		case <-time.After(50 * time.Millisecond):
			return
		}
	}
}

// On PostgreSQL, a revocation logged by one store wakes the Listen of
// another on the same database; Listen returns when its context ends or
// its connection dies, and leaves no listening connection in the pool.
func TestListenOnPostgres(t *testing.T) {
	dsn := dbtest.Postgres(t)
	ctx := context.Background()
	listener, writer := open(t, dsn), open(t, dsn)
	require.NoError(t, listener.Notify(ctx), "Notify does nothing")
	// One connection: the one Listen takes, and then the pool's next.
	listener.DB().SetMaxOpenConns(1)
	pidOf := func() (pid int) {
		t.Helper()
		require.NoError(t, listener.DB().QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&pid))
		return pid
	}
	pid := pidOf()

	require.NoError(t, writer.CreateUser(ctx, authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1"}))
	require.NoError(t, writer.CreateSession(ctx, authkit.Session{ID: "s1", TokenHash: "h1", UserID: "u1"}))

	lctx, cancel := context.WithCancel(ctx)
	woken, done := listening(t, lctx, listener, writer)
	drain(woken)
	ok, err := writer.DeleteSession(ctx, "u1", "s1")
	require.NoError(t, err)
	require.True(t, ok)
	select {
	case <-woken:
	case <-time.After(time.Second):
		t.Fatal("a revocation on another store did not wake Listen within a second")
	}

	cancel()
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when its context ended")
	}
	var channels int
	require.NoError(t, listener.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM pg_listening_channels()").Scan(&channels))
	require.Zero(t, channels, "the pool's connection listens to nothing")
	require.NotEqual(t, pid, pidOf(), "the listening connection was closed, not put back")

	// A connection that dies ends Listen with an error of its own.
	pid = pidOf()
	lctx, cancel = context.WithCancel(ctx)
	defer cancel()
	_, done = listening(t, lctx, listener, writer)
	_, err = writer.DB().ExecContext(ctx, "SELECT pg_terminate_backend($1)", pid)
	require.NoError(t, err)
	select {
	case err := <-done:
		require.Error(t, err)
		require.NotErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return when its connection died")
	}
	require.NotEqual(t, pid, pidOf(), "the pool works on")
}

// SQLite and MySQL have no notices: Listen says so at once.
func TestListenUnsupported(t *testing.T) {
	for _, db := range databases {
		if db.name == "postgres" {
			continue
		}
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			s := open(t, db.dsn(t))
			err := s.Listen(context.Background(), func() { t.Error("woken") })
			require.True(t, errors.Is(err, errors.ErrUnsupported), "%v", err)
			require.NoError(t, s.Notify(context.Background()))
		})
	}
}

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

// A notice of another schema's log (another app, tenant or test on the
// database) wakes no listener: its log did not change.
func TestListenIgnoresOtherSchemas(t *testing.T) {
	mine, theirs := open(t, dbtest.Postgres(t)), open(t, dbtest.Postgres(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	woken, _ := listening(t, ctx, mine, mine)
	drain(woken)
	require.NoError(t, theirs.CreateUser(ctx, authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1"}))
	require.NoError(t, theirs.DeleteUserSessions(ctx, "u1", ""))
	select {
	case <-woken:
		t.Fatal("another schema's revocation woke the listener")
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, mine.CreateUser(ctx, authkit.User{ID: "u1", Provider: authkit.ProviderAltogic, ProviderUserID: "u1"}))
	require.NoError(t, mine.DeleteUserSessions(ctx, "u1", ""))
	select {
	case <-woken:
	case <-time.After(2 * time.Second):
		t.Fatal("its own schema's revocation did not wake the listener")
	}
}
