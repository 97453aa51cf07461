package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/limitwin"
)

var _ authkit.Limiter = (*Store)(nil)

// The rate-limit statements. authkit_limits holds one row per key and
// window length: the newest window counted and its count. A hit in a newer
// window starts the count again at 1; a hit in the row's window, or in an
// older one (a lagging clock), adds 1 to it. The window never moves back,
// so instances whose clocks disagree at a boundary cannot reset each other.
//
// Each Hit is one statement, an upsert, that the database runs atomically
// on the row: racing hits queue on the row's lock, and each reads the count
// the previous one wrote.
const (
	// PostgreSQL and SQLite evaluate every SET expression against the row
	// as it was, and RETURNING gives the row as it is.
	qLimitHitPostgres = `INSERT INTO authkit_limits AS l (limit_key, window_ms, window_start, hits, expires_at)
		VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (limit_key, window_ms) DO UPDATE SET
			hits = CASE WHEN excluded.window_start > l.window_start THEN 1 ELSE l.hits + 1 END,
			window_start = GREATEST(l.window_start, excluded.window_start),
			expires_at = GREATEST(l.expires_at, excluded.expires_at)
		RETURNING hits, window_start`
	qLimitHitSQLite = `INSERT INTO authkit_limits (limit_key, window_ms, window_start, hits, expires_at)
		VALUES (?, ?, ?, 1, ?)
		ON CONFLICT (limit_key, window_ms) DO UPDATE SET
			hits = CASE WHEN excluded.window_start > authkit_limits.window_start THEN 1 ELSE authkit_limits.hits + 1 END,
			window_start = MAX(authkit_limits.window_start, excluded.window_start),
			expires_at = MAX(authkit_limits.expires_at, excluded.expires_at)
		RETURNING hits, window_start`

	// MySQL has no RETURNING. Instead, LAST_INSERT_ID(x) returns x and
	// makes it the statement's insert id, which comes back in the server's
	// OK packet (Result.LastInsertId): the answer travels with the write,
	// on its connection, in one round trip. It carries
	// hits<<limitShift | windows ahead, where windows ahead is how many
	// windows the row's is newer than the caller's: 0 unless its clock
	// lags, and capped (a clock a million windows behind gets a wrong
	// resetAt, still the right count). MySQL runs the assignments left to
	// right, each seeing those before it: hits must come before
	// window_start. VALUES(col) is deprecated in MySQL 8.0.20 and later
	// but still works, and is the only form MariaDB has.
	qLimitHitMySQL = `INSERT INTO authkit_limits (limit_key, window_ms, window_start, hits, expires_at)
		VALUES (?, ?, ?, LAST_INSERT_ID(1048576) DIV 1048576, ?)
		ON DUPLICATE KEY UPDATE
			hits = LAST_INSERT_ID(IF(VALUES(window_start) > window_start, 1048576,
				(hits + 1) * 1048576 + LEAST((window_start - VALUES(window_start)) DIV window_ms, 1048575))) DIV 1048576,
			window_start = GREATEST(window_start, VALUES(window_start)),
			expires_at = GREATEST(expires_at, VALUES(expires_at))`

	limitShift     = 20 // 1048576 = 1 << limitShift in qLimitHitMySQL
	limitAheadMask = 1<<limitShift - 1

	qLimitReset       = `DELETE FROM authkit_limits WHERE limit_key = ?`
	qLimitDeleteEnded = `DELETE FROM authkit_limits WHERE expires_at <= ?`
)

// limitSQL is every rate-limit statement in one dialect.
type limitSQL struct{ hit, reset, deleteEnded string }

func newLimitSQL(d Dialect, hit string) limitSQL {
	return limitSQL{
		hit:         rebind(d, hit),
		reset:       rebind(d, qLimitReset),
		deleteEnded: rebind(d, qLimitDeleteEnded),
	}
}

// limitQueries holds the statements of each dialect, at Dialect-1.
var limitQueries = [...]limitSQL{
	SQLite - 1:   newLimitSQL(SQLite, qLimitHitSQLite),
	Postgres - 1: newLimitSQL(Postgres, qLimitHitPostgres),
	MySQL - 1:    newLimitSQL(MySQL, qLimitHitMySQL),
}

func (s *Store) limitSQL() *limitSQL { return &limitQueries[s.dialect-1] }

// Hit implements [authkit.Limiter] with one upsert statement (see above).
func (s *Store) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	w, err := limitwin.Of(key, window, now)
	if err != nil {
		return 0, time.Time{}, err
	}
	args := []any{[]byte(key), w.Len, w.Start, w.Start + w.Len}
	var hits, start int64
	if s.dialect == MySQL {
		var res sql.Result
		res, err = s.execPrepared(ctx, s.limitSQL().hit, args...)
		if err == nil {
			var id int64
			id, err = res.LastInsertId()
			hits, start = id>>limitShift, w.Start+(id&limitAheadMask)*w.Len
		}
	} else {
		err = s.queryRow(ctx, s.limitSQL().hit, args...).Scan(&hits, &start)
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlstore: counting a hit: %w", err)
	}
	return hits, limitwin.Time(start + w.Len), nil
}

// Reset implements [authkit.Limiter].
func (s *Store) Reset(ctx context.Context, key string) error {
	if err := limitwin.CheckKey(key); err != nil {
		return err
	}
	if _, err := s.execPrepared(ctx, s.limitSQL().reset, []byte(key)); err != nil {
		return fmt.Errorf("sqlstore: resetting a count: %w", err)
	}
	return nil
}

// deleteEndedLimits deletes the counts whose window ended (its end is not
// after now), by the index on expires_at. [Store.DeleteExpired] calls it.
func (s *Store) deleteEndedLimits(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.exec(ctx, s.limitSQL().deleteEnded, millis(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting ended limit counts: %w", err)
	}
	return n, nil
}

// execPrepared runs a statement through a statement prepared once, as
// queryRow does.
func (s *Store) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := s.hot.Load(query); ok {
		return st.(*sql.Stmt).ExecContext(ctx, args...)
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return s.db.ExecContext(ctx, query, args...)
	}
	if prev, loaded := s.hot.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.ExecContext(ctx, args...)
}
