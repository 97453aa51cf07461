package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.PasskeyStore = (*Store)(nil)

// The statements of passkeys (migration 0009), written with ? placeholders.
const (
	passkeyColumns    = `id, user_id, credential_id, name, credential, sign_count, created_at, last_used_at`
	qInsertPasskey    = `INSERT INTO authkit_passkeys (` + passkeyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qPasskeyByCredID  = `SELECT ` + passkeyColumns + ` FROM authkit_passkeys WHERE credential_id = ?`
	qPasskeysOf       = `SELECT ` + passkeyColumns + ` FROM authkit_passkeys WHERE user_id = ? ORDER BY created_at, %s`
	qUsePasskey       = `UPDATE authkit_passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND user_id = ? AND sign_count = ?`
	qRenamePasskey    = `UPDATE authkit_passkeys SET name = ? WHERE id = ? AND user_id = ?`
	qDeletePasskey    = `DELETE FROM authkit_passkeys WHERE id = ? AND user_id = ?`
	qDeletePasskeys   = `DELETE FROM authkit_passkeys WHERE user_id = ?`
	qDeleteFactorKind = `DELETE FROM authkit_factors WHERE user_id = ? AND kind = ?`
)

// passkeyQueries are the statements of passkeys in the Store's dialect.
type passkeyQueries struct {
	insert, byCredID, of, use, rename, deleteOne, deleteAll, deleteFactor string
}

func newPasskeyQueries(d Dialect) passkeyQueries {
	q := func(s string) string { return rebind(d, s) }
	return passkeyQueries{
		insert: q(qInsertPasskey), byCredID: q(qPasskeyByCredID), of: q(fmt.Sprintf(qPasskeysOf, idBytes(d))),
		use: q(qUsePasskey), rename: q(qRenamePasskey), deleteOne: q(qDeletePasskey),
		deleteAll: q(qDeletePasskeys), deleteFactor: q(qDeleteFactorKind),
	}
}

// CreatePasskey implements [authkit.PasskeyStore]: the insert, and the
// codes replaced when there are any, in one transaction.
func (s *Store) CreatePasskey(ctx context.Context, p authkit.Passkey, codes []string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: registering a passkey: %w", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, s.sql.passkeys.insert, p.ID, p.UserID, p.CredentialID, p.Name, p.Credential,
		int64(p.SignCount), millis(p.CreatedAt), usedMillis(p.LastUsedAt))
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: passkey: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: registering a passkey: %w", err)
	}
	if codes != nil {
		if err := s.replaceCodesTx(ctx, tx, p.UserID, codes); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: registering a passkey: %w", err)
	}
	return nil
}

// usedMillis is a last use as stored: 0 for never.
func usedMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

func scanPasskey(r rowScanner) (authkit.Passkey, error) {
	var (
		p                   authkit.Passkey
		count, created, use int64
	)
	if err := r.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.Credential, &count, &created, &use); err != nil {
		return authkit.Passkey{}, err
	}
	p.SignCount, p.CreatedAt = uint32(count), fromMillis(created)
	if use != 0 {
		p.LastUsedAt = fromMillis(use)
	}
	return p, nil
}

// PasskeyByCredentialID implements [authkit.PasskeyStore].
func (s *Store) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (authkit.Passkey, error) {
	p, err := scanPasskey(s.queryRow(ctx, s.sql.passkeys.byCredID, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.Passkey{}, fmt.Errorf("sqlstore: passkey: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.Passkey{}, fmt.Errorf("sqlstore: reading a passkey: %w", err)
	}
	return p, nil
}

// PasskeysOf implements [authkit.PasskeyStore].
func (s *Store) PasskeysOf(ctx context.Context, userID string) ([]authkit.Passkey, error) {
	rows, err := s.db.QueryContext(ctx, s.sql.passkeys.of, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading passkeys: %w", err)
	}
	defer rows.Close()
	out := []authkit.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading passkeys: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading passkeys: %w", err)
	}
	return out, nil
}

// UsePasskey implements [authkit.PasskeyStore]: one UPDATE that holds
// only while the stored counter is from.
func (s *Store) UsePasskey(ctx context.Context, userID, id string, from, count uint32, at time.Time) (bool, error) {
	n, err := s.exec(ctx, s.sql.passkeys.use, int64(count), usedMillis(at), id, userID, int64(from))
	if err != nil {
		return false, fmt.Errorf("sqlstore: using a passkey: %w", err)
	}
	return n > 0, nil
}

// RenamePasskey implements [authkit.PasskeyStore]. A rename to the same
// name changes no row in MySQL, which counts changed rows: the passkey
// is then looked for.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	n, err := s.exec(ctx, s.sql.passkeys.rename, name, id, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: renaming a passkey: %w", err)
	}
	if n > 0 {
		return nil
	}
	ps, err := s.PasskeysOf(ctx, userID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.ID == id {
			return nil
		}
	}
	return fmt.Errorf("sqlstore: passkey: %w", authkit.ErrNotFound)
}

// DeletePasskey implements [authkit.PasskeyStore].
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) error {
	n, err := s.exec(ctx, s.sql.passkeys.deleteOne, id, userID)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting a passkey: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: passkey: %w", authkit.ErrNotFound)
	}
	return nil
}

// DeleteFactor implements [authkit.PasskeyStore].
func (s *Store) DeleteFactor(ctx context.Context, userID string, kind authkit.FactorKind) error {
	if _, err := s.exec(ctx, s.sql.passkeys.deleteFactor, userID, string(kind)); err != nil {
		return fmt.Errorf("sqlstore: deleting a factor: %w", err)
	}
	return nil
}
