package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.Courier = (*Store)(nil)

// The statements of the intents, with ? placeholders (rebound per dialect
// by intentSQL).
const (
	intentColumns = `id, kind, recipient, user_id, ip, user_agent, data, state, tries, next_at,
		lease_owner, lease_until, last_error, created_at, updated_at`
	qCreateIntent = `INSERT INTO authkit_intents (` + intentColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	// intentDue is the condition of a due intent: pending and due, or
	// leased under a lease that ran out. Its placeholders: now, now.
	intentDue     = `((state = 'pending' AND next_at <= ?) OR (state = 'leased' AND lease_until <= ?))`
	qDueIntents   = `SELECT id FROM authkit_intents WHERE ` + intentDue + ` ORDER BY next_at, id LIMIT ?`
	qLeaseIntent  = `UPDATE authkit_intents SET state = 'leased', lease_owner = ?, lease_until = ?, tries = tries + 1 WHERE id = ? AND ` + intentDue
	qIntentByID   = `SELECT ` + intentColumns + ` FROM authkit_intents WHERE id = ?`
	qFinishIntent = `UPDATE authkit_intents SET state = ?, next_at = ?, last_error = ?, updated_at = ?,
		lease_owner = '', lease_until = 0, data = CASE WHEN ? THEN NULL ELSE data END
		WHERE id = ? AND state = 'leased' AND lease_owner = ?`
	qIntentExists  = `SELECT state FROM authkit_intents WHERE id = ?`
	qDeadIntents   = `SELECT ` + intentColumns + ` FROM authkit_intents WHERE state = 'dead' ORDER BY updated_at, id`
	qRetryIntent   = `UPDATE authkit_intents SET state = 'pending', tries = 0, next_at = ?, updated_at = ?, last_error = '' WHERE id = ? AND state = 'dead'`
	qDeleteIntents = `DELETE FROM authkit_intents WHERE (state = 'delivered' AND updated_at <= ?) OR (state = 'dead' AND updated_at <= ?)`
)

// intentSQL holds the intents' statements in the Store's dialect.
type intentSQL struct {
	create, due, lease, byID, finish, exists, dead, retry, deleteFinished string
}

func (s *Store) intentSQL() intentSQL {
	q := func(x string) string { return rebind(s.dialect, x) }
	due := q(qDueIntents)
	if s.dialect != SQLite {
		// Rows another claimer locked are skipped, not waited for: the
		// claimers each take other rows (MySQL 8.0, MariaDB 10.6, and
		// every supported PostgreSQL).
		due += " FOR UPDATE SKIP LOCKED"
	}
	return intentSQL{
		create: q(qCreateIntent), due: due, lease: q(qLeaseIntent), byID: q(qIntentByID),
		finish: q(qFinishIntent), exists: q(qIntentExists), dead: q(qDeadIntents),
		retry: q(qRetryIntent), deleteFinished: q(qDeleteIntents),
	}
}

// CreateIntent implements [authkit.Courier].
func (s *Store) CreateIntent(ctx context.Context, i authkit.Intent) error {
	_, err := s.db.ExecContext(ctx, s.intentSQL().create, i.ID, i.Kind, i.To, i.UserID, i.IP, i.UserAgent,
		nullIfNoData(i.Data), string(i.State), i.Tries, millis(i.NextAt), i.LeaseOwner, millis(i.LeaseUntil),
		i.LastError, millis(i.CreatedAt), millis(i.UpdatedAt))
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: intent id: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: recording an intent: %w", err)
	}
	return nil
}

// ClaimIntents implements [authkit.Courier] in one write transaction: the
// due rows are found (and, on PostgreSQL and MySQL, locked, skipping the
// rows other claimers hold), each is leased by an UPDATE that checks again
// that it is due, and read back.
func (s *Store) ClaimIntents(ctx context.Context, owner string, now, until time.Time, max int) ([]authkit.Intent, error) {
	q := s.intentSQL()
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claiming intents: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q.due, millis(now), millis(now), max)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claiming intents: %w", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: claiming intents: %w", err)
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("sqlstore: claiming intents: %w", err)
	}
	out := []authkit.Intent{}
	if len(ids) == 0 {
		return out, nil
	}
	for _, id := range ids {
		res, err := tx.ExecContext(ctx, q.lease, owner, millis(until), id, millis(now), millis(now))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: leasing an intent: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("sqlstore: leasing an intent: %w", err)
		} else if n != 1 {
			continue // no longer due
		}
		i, err := scanIntent(tx.QueryRowContext(ctx, q.byID, id))
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlstore: claiming intents: %w", err)
	}
	return out, nil
}

// scanIntent reads the intentColumns of row.
func scanIntent(row rowScanner) (authkit.Intent, error) {
	var (
		i                                  authkit.Intent
		state                              string
		next, leaseUntil, created, updated int64
	)
	err := row.Scan(&i.ID, &i.Kind, &i.To, &i.UserID, &i.IP, &i.UserAgent, &i.Data, &state, &i.Tries, &next,
		&i.LeaseOwner, &leaseUntil, &i.LastError, &created, &updated)
	if err != nil {
		return authkit.Intent{}, fmt.Errorf("sqlstore: reading an intent: %w", err)
	}
	i.State = authkit.IntentState(state)
	i.NextAt, i.CreatedAt, i.UpdatedAt = fromMillis(next), fromMillis(created), fromMillis(updated)
	if leaseUntil != 0 {
		i.LeaseUntil = fromMillis(leaseUntil)
	}
	return i, nil
}

// FinishIntent implements [authkit.Courier]: one conditional UPDATE,
// which holds only while the lease is owner's.
func (s *Store) FinishIntent(ctx context.Context, id, owner string, out authkit.IntentOutcome) error {
	q := s.intentSQL()
	var next int64
	if !out.NextAt.IsZero() {
		next = millis(out.NextAt)
	}
	n, err := s.exec(ctx, q.finish, string(out.State), next, out.LastError, millis(out.At),
		out.State == authkit.IntentDelivered, id, owner)
	if err != nil {
		return fmt.Errorf("sqlstore: finishing an intent: %w", err)
	}
	if n == 1 {
		return nil
	}
	var state string
	err = s.db.QueryRowContext(ctx, q.exists, id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: intent: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: finishing an intent: %w", err)
	}
	return fmt.Errorf("sqlstore: intent not leased to %s: %w", owner, authkit.ErrConflict)
}

// DeadIntents implements [authkit.Courier].
func (s *Store) DeadIntents(ctx context.Context) ([]authkit.Intent, error) {
	rows, err := s.db.QueryContext(ctx, s.intentSQL().dead)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing dead intents: %w", err)
	}
	defer rows.Close()
	out := []authkit.Intent{}
	for rows.Next() {
		i, err := scanIntent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing dead intents: %w", err)
	}
	return out, nil
}

// RetryIntent implements [authkit.Courier].
func (s *Store) RetryIntent(ctx context.Context, id string, now time.Time) error {
	n, err := s.exec(ctx, s.intentSQL().retry, millis(now), millis(now), id)
	if err != nil {
		return fmt.Errorf("sqlstore: retrying an intent: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: dead intent %q: %w", id, authkit.ErrNotFound)
	}
	return nil
}

// DeleteFinishedIntents implements [authkit.Courier].
func (s *Store) DeleteFinishedIntents(ctx context.Context, deliveredBefore, deadBefore time.Time) (int64, error) {
	n, err := s.exec(ctx, s.intentSQL().deleteFinished, millis(deliveredBefore), millis(deadBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: deleting finished intents: %w", err)
	}
	return n, nil
}
