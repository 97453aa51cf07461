package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authkit/authkit"
)

// CreateSession implements [authkit.SessionStore].
func (s *Store) CreateSession(ctx context.Context, sess authkit.Session) error {
	ua, err := json.Marshal(sess.UserAgent)
	if err != nil {
		return fmt.Errorf("sqlstore: encoding a user agent: %w", err)
	}
	_, err = s.db.ExecContext(ctx, s.sql.createSession, sess.ID, sess.TokenHash, sess.UserID,
		millis(sess.CreatedAt), millis(sess.LastSeenAt), millis(sess.ExpiresAt), string(ua), sess.IP, sess.Stamp, sess.Factors)
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: session: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: creating a session: %w", err)
	}
	return nil
}

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanSession(row rowScanner) (authkit.Session, error) {
	var (
		sess authkit.Session
		r    sessionRow
	)
	if err := row.Scan(r.dest(&sess)...); err != nil {
		return authkit.Session{}, err
	}
	return sess, r.finish(&sess)
}

// sessionRow holds the columns of a session that need converting after Scan.
type sessionRow struct {
	created, seen, expires int64
	ua                     string
}

// dest returns the Scan destinations of sessionColumns, filling sess and r.
func (r *sessionRow) dest(sess *authkit.Session) []any {
	return []any{&sess.ID, &sess.TokenHash, &sess.UserID, &r.created, &r.seen, &r.expires, &r.ua, &sess.IP, &sess.Stamp, &sess.Factors}
}

// finish converts the scanned columns into sess.
func (r *sessionRow) finish(sess *authkit.Session) error {
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = fromMillis(r.created), fromMillis(r.seen), fromMillis(r.expires)
	if err := json.Unmarshal([]byte(r.ua), &sess.UserAgent); err != nil {
		return fmt.Errorf("sqlstore: decoding a user agent: %w", err)
	}
	return nil
}

// SessionAndUser implements [authkit.SessionUserFinder]: the session and
// its user in one joined query, so that an authenticated request costs one
// round trip to the database.
func (s *Store) SessionAndUser(ctx context.Context, tokenHash string) (authkit.Session, authkit.User, error) {
	var (
		sess authkit.Session
		u    authkit.User
		sr   sessionRow
		ur   userRow
	)
	err := s.queryRow(ctx, s.sql.sessionAndUser, tokenHash).Scan(append(sr.dest(&sess), ur.dest(&u)...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.Session{}, authkit.User{}, fmt.Errorf("sqlstore: session: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.Session{}, authkit.User{}, fmt.Errorf("sqlstore: reading a session: %w", err)
	}
	if err := sr.finish(&sess); err != nil {
		return authkit.Session{}, authkit.User{}, err
	}
	if err := ur.finish(&u); err != nil {
		return authkit.Session{}, authkit.User{}, err
	}
	return sess, u, nil
}

// SessionByTokenHash implements [authkit.SessionStore]: one lookup by a
// unique index.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (authkit.Session, error) {
	sess, err := scanSession(s.queryRow(ctx, s.sql.sessionByTokenHash, tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.Session{}, fmt.Errorf("sqlstore: session: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.Session{}, fmt.Errorf("sqlstore: reading a session: %w", err)
	}
	return sess, nil
}

// ListSessions implements [authkit.SessionStore].
func (s *Store) ListSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	rows, err := s.db.QueryContext(ctx, s.sql.listSessions, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
	}
	defer rows.Close()
	list := []authkit.Session{}
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
		}
		list = append(list, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing sessions: %w", err)
	}
	return list, nil
}

// TouchSession implements [authkit.SessionStore].
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.sql.touchSession, millis(lastSeen), id); err != nil {
		return fmt.Errorf("sqlstore: touching a session: %w", err)
	}
	return nil
}

// DeleteSession implements [authkit.SessionStore] with one transaction:
// the delete and, when it deleted the session, the revocation it logs
// ({userID, id}: see [Store.Revocations]).
func (s *Store) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return false, fmt.Errorf("sqlstore: deleting a session: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.sql.deleteSession, id, userID)
	if err != nil {
		return false, fmt.Errorf("sqlstore: deleting a session: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlstore: deleting a session: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if err := s.logRevocation(ctx, tx, userID, id); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: deleting a session: %w", err)
	}
	return true, nil
}

// DeleteUserSessions implements [authkit.SessionStore] with one
// transaction: the delete and the revocation it logs ({userID, ""}, even
// when there was no session to delete).
func (s *Store) DeleteUserSessions(ctx context.Context, userID, exceptID string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting sessions: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.sql.deleteUserSessions, userID, exceptID); err != nil {
		return fmt.Errorf("sqlstore: deleting sessions: %w", err)
	}
	if err := s.logRevocation(ctx, tx, userID, ""); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: deleting sessions: %w", err)
	}
	return nil
}

// DeleteExpired implements [authkit.Cleaner], with four statements
// (sessions, tokens, limit counts, revocations) that each use an index on
// the time they compare. The revocations are deleted in a write
// transaction, which on MySQL reads committed data: at MySQL's default
// (REPEATABLE READ) the DELETE would lock the gap past the newest row, and
// hold up the INSERT of every change that logs meanwhile, each waiting
// with the log's counter locked (see [Store.Revocations]).
func (s *Store) DeleteExpired(ctx context.Context, now, idleSince time.Time) (int64, error) {
	// Each bulk delete runs in a write transaction of its own: on MySQL
	// at READ COMMITTED, which locks the rows it deletes and not the gaps
	// of the range it scans, so that sign-ins and sign-outs racing it do
	// not deadlock with it; one that does all the same is tried again.
	sessions, err := s.execWriteRetried(ctx, s.sql.deleteExpiredSessions, millis(now), millis(idleSince))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting expired sessions: %w", err)
	}
	tokens, err := s.execWriteRetried(ctx, s.sql.deleteExpiredTok, millis(now))
	if err != nil {
		return sessions, fmt.Errorf("sqlstore: deleting expired tokens: %w", err)
	}
	limits, err := s.deleteEndedLimits(ctx, now)
	if err != nil {
		return sessions + tokens, err
	}
	revocations, err := s.execWrite(ctx, s.revocationSQL().deleteOld, millis(now.Add(-authkit.RevocationRetention)))
	if err != nil {
		return sessions + tokens + limits, fmt.Errorf("sqlstore: deleting old revocations: %w", err)
	}
	return sessions + tokens + limits + revocations, nil
}

// execWrite runs one statement in a write transaction of its own (see
// Store.writeTx) and returns how many rows it affected.
func (s *Store) execWrite(ctx context.Context, query string, args ...any) (int64, error) {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// execWriteRetried is execWrite tried again, up to three times in all,
// when the database chose it as a deadlock's victim: for the bulk deletes,
// which may run again whole.
func (s *Store) execWriteRetried(ctx context.Context, query string, args ...any) (int64, error) {
	for try := 1; ; try++ {
		n, err := s.execWrite(ctx, query, args...)
		if err == nil || try == 3 || !isDeadlock(err) {
			return n, err
		}
		select {
		case <-ctx.Done():
			return n, err
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

// isDeadlock reports whether err is a database's "deadlock, try again":
// MySQL's 1213, PostgreSQL's 40P01.
func isDeadlock(err error) bool {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213
	}
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "40P01"
}

// exec runs a statement and returns how many rows it affected.
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
