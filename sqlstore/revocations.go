package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/authkit/authkit"
)

var (
	_ authkit.RevocationLog      = (*Store)(nil)
	_ authkit.RevocationNotifier = (*Store)(nil)
)

// The revocation log's statements. authkit_revocation_seq holds one row,
// the newest Seq ever given; a change that revokes raises it and logs its
// revocation with the new value, in its own transaction (see
// logRevocation).
const (
	qRaiseRevocationSeq = `UPDATE authkit_revocation_seq SET seq = seq + 1 WHERE id = 1`
	// The counter as the transaction itself left it: every dialect reads
	// its own transaction's write.
	qLogRevocation = `INSERT INTO authkit_revocations (seq, user_id, session_id, logged_at)
		SELECT seq, ?, ?, ? FROM authkit_revocation_seq WHERE id = 1`
	qRevocations = `SELECT seq, user_id, session_id, logged_at FROM authkit_revocations
		WHERE seq > ? ORDER BY seq LIMIT ?`
	qLastRevocation       = `SELECT seq FROM authkit_revocation_seq WHERE id = 1`
	qDeleteOldRevocations = `DELETE FROM authkit_revocations WHERE logged_at < ?`

	// revocationChannel is the PostgreSQL channel a logged revocation
	// notifies. Channels are the database's, not a schema's: a notice
	// carries the schema of the log it was written to (current_schema()),
	// and a listener wakes only for its own, so that stores on one
	// database in different schemas (apps, tenants, tests) do not wake
	// each other to read logs that did not change.
	revocationChannel  = "authkit_revocations"
	qNotifyRevocation  = `SELECT pg_notify('` + revocationChannel + `', current_schema())`
	qListenRevocations = `LISTEN ` + revocationChannel
	qCurrentSchema     = `SELECT current_schema()`
)

// revocationSQL is every revocation statement in one dialect.
type revocationSQL struct{ raise, log, list, last, deleteOld string }

func newRevocationSQL(d Dialect) revocationSQL {
	return revocationSQL{
		raise:     rebind(d, qRaiseRevocationSeq),
		log:       rebind(d, qLogRevocation),
		list:      rebind(d, qRevocations),
		last:      rebind(d, qLastRevocation),
		deleteOld: rebind(d, qDeleteOldRevocations),
	}
}

// revocationQueries holds the statements of each dialect, at Dialect-1.
var revocationQueries = [...]revocationSQL{
	SQLite - 1:   newRevocationSQL(SQLite),
	Postgres - 1: newRevocationSQL(Postgres),
	MySQL - 1:    newRevocationSQL(MySQL),
}

func (s *Store) revocationSQL() *revocationSQL { return &revocationQueries[s.dialect-1] }

// logRevocation appends {userID, sessionID} to the revocation log in tx,
// the transaction of the change it records. The caller runs it last,
// right before the commit: the counter's row stays locked from its UPDATE
// to the commit (on SQLite, the whole database's write lock does), so the
// next change that revokes waits for this one to commit before it takes
// the next number. Numbers thus follow the commits, and a reader that has
// seen n will never find a later revocation numbered n or less; a
// rollback gives the number back with the rest, so none is skipped. Taken
// last, the lock waits on no other: no cycle of waits runs through it.
//
// On PostgreSQL the transaction also notifies revocationChannel, which
// the server delivers at the commit, not before (see [Store.Listen]).
func (s *Store) logRevocation(ctx context.Context, tx *sql.Tx, userID, sessionID string) error {
	q := s.revocationSQL()
	if _, err := tx.ExecContext(ctx, q.raise); err != nil {
		return fmt.Errorf("sqlstore: logging a revocation: %w", err)
	}
	res, err := tx.ExecContext(ctx, q.log, userID, sessionID, millis(time.Now()))
	if err != nil {
		return fmt.Errorf("sqlstore: logging a revocation: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: logging a revocation: %w", err)
	} else if n != 1 {
		return errors.New("sqlstore: logging a revocation: authkit_revocation_seq has lost its row: run Migrate, or put back (1, the largest seq of authkit_revocations)")
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, qNotifyRevocation); err != nil {
			return fmt.Errorf("sqlstore: notifying a revocation: %w", err)
		}
	}
	return nil
}

// Revocations implements [authkit.RevocationLog] with one query on the
// primary key.
func (s *Store) Revocations(ctx context.Context, after int64, limit int) ([]authkit.Revocation, error) {
	list := []authkit.Revocation{}
	if limit <= 0 {
		return list, nil
	}
	rows, err := s.db.QueryContext(ctx, s.revocationSQL().list, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading revocations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r  authkit.Revocation
			at int64
		)
		if err := rows.Scan(&r.Seq, &r.UserID, &r.SessionID, &at); err != nil {
			return nil, fmt.Errorf("sqlstore: reading revocations: %w", err)
		}
		r.At = fromMillis(at)
		list = append(list, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading revocations: %w", err)
	}
	return list, nil
}

// LastRevocation implements [authkit.RevocationLog]: the counter's row,
// which holds the newest Seq ever given, deleted or not.
func (s *Store) LastRevocation(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.db.QueryRowContext(ctx, s.revocationSQL().last).Scan(&seq); err != nil {
		return 0, fmt.Errorf("sqlstore: reading the last revocation: %w", err)
	}
	return seq, nil
}

// Notify implements [authkit.RevocationNotifier] by doing nothing: on
// PostgreSQL the transaction that logs a revocation notifies too, and the
// other databases have no notices.
func (s *Store) Notify(context.Context) error { return nil }

// Listen implements [authkit.RevocationNotifier] on PostgreSQL: it takes a
// connection of its own from the pool for as long as it listens (LISTEN
// on the channel the transactions that log revocations notify), and calls
// wake for each notice. When it returns, the connection is closed, not
// put back in the pool, where it would go on listening. On SQLite and
// MySQL it returns an error that is [errors.ErrUnsupported] at once: the
// kit reads the log on its timer alone.
//
// Listen needs the pgx driver (as [Open] uses); on a *sql.DB of another
// driver given to [New] it returns errors.ErrUnsupported too.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	if s.dialect != Postgres {
		return fmt.Errorf("sqlstore: no notices on %v: %w", s.dialect, errors.ErrUnsupported)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("sqlstore: listening: %w", err)
	}
	defer conn.Close()
	var listenErr error
	conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			listenErr = fmt.Errorf("sqlstore: listening needs the pgx driver, not %T: %w", dc, errors.ErrUnsupported)
			return nil
		}
		listenErr = listen(ctx, c.Conn(), wake)
		// Listening, or broken: either way not for the pool, which closes
		// a connection that reports itself bad.
		return driver.ErrBadConn
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return listenErr
}

// listen listens on conn, calling wake for each notice, until ctx ends or
// the connection fails.
func listen(ctx context.Context, conn *pgx.Conn, wake func()) error {
	var schema string
	if err := conn.QueryRow(ctx, qCurrentSchema).Scan(&schema); err != nil {
		return fmt.Errorf("sqlstore: listening: %w", err)
	}
	if _, err := conn.Exec(ctx, qListenRevocations); err != nil {
		return fmt.Errorf("sqlstore: listening: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("sqlstore: listening: %w", err)
		}
		if n.Payload == schema {
			wake()
		}
	}
}
