package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/authkit/authkit"
)

var _ authkit.FactorStore = (*Store)(nil)

// PutPendingFactor implements [authkit.FactorStore]: in one transaction,
// the user's pending factor of the kind is deleted and f inserted; an
// active one keeps its row, and the insert then fails on the key.
func (s *Store) PutPendingFactor(ctx context.Context, f authkit.Factor) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: enrolling a factor: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.sql.deletePendingFactor, f.UserID, string(f.Kind), false); err != nil {
		return fmt.Errorf("sqlstore: enrolling a factor: %w", err)
	}
	_, err = tx.ExecContext(ctx, s.sql.insertFactor, f.UserID, string(f.Kind), f.Secret, false, int64(0), millis(f.CreatedAt))
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: factor: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: enrolling a factor: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: enrolling a factor: %w", err)
	}
	return nil
}

// FactorOf implements [authkit.FactorStore].
func (s *Store) FactorOf(ctx context.Context, userID string, kind authkit.FactorKind) (authkit.Factor, error) {
	var (
		f       authkit.Factor
		k       string
		created int64
	)
	err := s.queryRow(ctx, s.sql.factorOf, userID, string(kind)).Scan(&f.UserID, &k, &f.Secret, &f.Active, &f.LastStep, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.Factor{}, fmt.Errorf("sqlstore: factor: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.Factor{}, fmt.Errorf("sqlstore: reading a factor: %w", err)
	}
	f.Kind, f.CreatedAt = authkit.FactorKind(k), fromMillis(created)
	return f, nil
}

// ActivateFactor implements [authkit.FactorStore]: a conditional UPDATE
// of the pending row with that secret, and the user's codes replaced, in
// one transaction.
func (s *Store) ActivateFactor(ctx context.Context, userID string, kind authkit.FactorKind, secret []byte, step int64, codes []string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: activating a factor: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.sql.activateFactor, true, step, userID, string(kind), false, secret)
	if err != nil {
		return fmt.Errorf("sqlstore: activating a factor: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: activating a factor: %w", err)
	} else if n == 0 {
		return fmt.Errorf("sqlstore: pending factor: %w", authkit.ErrNotFound)
	}
	if err := s.replaceCodesTx(ctx, tx, userID, codes); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: activating a factor: %w", err)
	}
	return nil
}

// AcceptStep implements [authkit.FactorStore]: one UPDATE that holds only
// while the stored step is older, so of racing callers one changes the row.
func (s *Store) AcceptStep(ctx context.Context, userID string, kind authkit.FactorKind, step int64) (bool, error) {
	n, err := s.exec(ctx, s.sql.acceptStep, step, userID, string(kind), true, step)
	if err != nil {
		return false, fmt.Errorf("sqlstore: accepting a code: %w", err)
	}
	return n > 0, nil
}

// DeleteFactors implements [authkit.FactorStore].
func (s *Store) DeleteFactors(ctx context.Context, userID string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting factors: %w", err)
	}
	defer tx.Rollback()
	if err := s.deleteFactorsTx(ctx, tx, userID); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: deleting factors: %w", err)
	}
	return nil
}

// deleteFactorsTx deletes the user's factors, passkeys and recovery codes
// in tx.
func (s *Store) deleteFactorsTx(ctx context.Context, tx *sql.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, s.sql.passkeys.deleteAll, userID); err != nil {
		return fmt.Errorf("sqlstore: deleting passkeys: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql.deleteRecoveryCodes, userID); err != nil {
		return fmt.Errorf("sqlstore: deleting recovery codes: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.sql.deleteFactors, userID); err != nil {
		return fmt.Errorf("sqlstore: deleting factors: %w", err)
	}
	return nil
}

// ReplaceRecoveryCodes implements [authkit.FactorStore].
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: replacing recovery codes: %w", err)
	}
	defer tx.Rollback()
	if err := s.replaceCodesTx(ctx, tx, userID, codes); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: replacing recovery codes: %w", err)
	}
	return nil
}

// replaceCodesTx makes codes the user's recovery codes in tx.
func (s *Store) replaceCodesTx(ctx context.Context, tx *sql.Tx, userID string, codes []string) error {
	if _, err := tx.ExecContext(ctx, s.sql.deleteRecoveryCodes, userID); err != nil {
		return fmt.Errorf("sqlstore: replacing recovery codes: %w", err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, s.sql.insertRecoveryCode, userID, c); err != nil {
			return fmt.Errorf("sqlstore: replacing recovery codes: %w", err)
		}
	}
	return nil
}

// ConsumeRecoveryCode implements [authkit.FactorStore]: one DELETE, which
// one of racing callers wins.
func (s *Store) ConsumeRecoveryCode(ctx context.Context, userID, code string) (bool, error) {
	n, err := s.exec(ctx, s.sql.consumeRecoveryCode, userID, code)
	if err != nil {
		return false, fmt.Errorf("sqlstore: spending a recovery code: %w", err)
	}
	return n > 0, nil
}
