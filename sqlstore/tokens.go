package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

var errTokenNotFound = fmt.Errorf("sqlstore: token: %w", authkit.ErrNotFound)

// CreateToken implements [authkit.TokenStore]: the voiding of older tokens
// and the insert are one transaction, so a refused token voids nothing.
func (s *Store) CreateToken(ctx context.Context, t authkit.Token) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: creating a token: %w", err)
	}
	defer tx.Rollback()
	if t.UserID != "" {
		if _, err := tx.ExecContext(ctx, s.sql.voidTokens, t.UserID, string(t.Purpose)); err != nil {
			return fmt.Errorf("sqlstore: voiding older tokens: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, s.sql.createToken, t.Hash, string(t.Purpose), nullIfEmpty(t.UserID),
		t.Subject, t.Action, t.Link, t.Attempts, t.Stamp, nullIfNoData(t.Data), millis(t.CreatedAt), millis(t.ExpiresAt))
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: token hash: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: creating a token: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: creating a token: %w", err)
	}
	return nil
}

// nullIfNoData stores no data (nil or empty) as NULL, as the tokens made
// before Token.Data existed have it: every token without data is alike.
func nullIfNoData(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// scanToken reads the tokenColumns of row. Data is a copy of the stored
// bytes, nil when there are none.
func scanToken(row rowScanner) (authkit.Token, error) {
	var (
		t                authkit.Token
		purpose          string
		userID           sql.NullString
		created, expires int64
	)
	err := row.Scan(&t.Hash, &purpose, &userID, &t.Subject, &t.Action, &t.Link, &t.Attempts, &t.Stamp, &t.Data, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.Token{}, errTokenNotFound
	}
	if err != nil {
		return authkit.Token{}, fmt.Errorf("sqlstore: reading a token: %w", err)
	}
	t.Purpose, t.UserID = authkit.TokenPurpose(purpose), userID.String
	if len(t.Data) == 0 {
		t.Data = nil
	}
	t.CreatedAt, t.ExpiresAt = fromMillis(created), fromMillis(expires)
	return t, nil
}

// TokenByHash implements [authkit.TokenStore].
func (s *Store) TokenByHash(ctx context.Context, hash string, now time.Time) (authkit.Token, error) {
	return scanToken(s.db.QueryRowContext(ctx, s.sql.tokenByHash, hash, millis(now)))
}

// ConsumeToken implements [authkit.TokenStore]. The DELETE decides: of
// many callers that read the token, only the one whose DELETE removed the
// row gets it. An expired token is deleted on the way.
func (s *Store) ConsumeToken(ctx context.Context, purpose authkit.TokenPurpose, hash string, now time.Time) (authkit.Token, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, s.sql.tokenForConsume, hash, string(purpose)))
	if err != nil {
		return authkit.Token{}, err
	}
	n, err := s.exec(ctx, s.sql.deleteToken, hash, string(purpose))
	if err != nil {
		return authkit.Token{}, fmt.Errorf("sqlstore: spending a token: %w", err)
	}
	if n == 0 {
		return authkit.Token{}, errTokenNotFound // another caller spent it first
	}
	if !t.ExpiresAt.After(now) {
		return authkit.Token{}, fmt.Errorf("sqlstore: token expired: %w", authkit.ErrNotFound)
	}
	return t, nil
}

// DeleteUserTokens implements [authkit.TokenStore].
func (s *Store) DeleteUserTokens(ctx context.Context, userID string, purposes ...authkit.TokenPurpose) error {
	if userID == "" || len(purposes) == 0 {
		return nil
	}
	args := make([]any, 0, 1+len(purposes))
	args = append(args, userID)
	for _, p := range purposes {
		args = append(args, string(p))
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(purposes)), ", ")
	query := rebind(s.dialect, fmt.Sprintf(qDeleteUserTokens, marks))
	if _, err := s.db.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("sqlstore: deleting tokens: %w", err)
	}
	return nil
}

// LatestToken implements [authkit.PhoneStore].
func (s *Store) LatestToken(ctx context.Context, purpose authkit.TokenPurpose, subject string, now time.Time) (authkit.Token, error) {
	return scanToken(s.db.QueryRowContext(ctx, s.sql.latestToken, string(purpose), subject, millis(now)))
}

// TokensBySubject implements [authkit.TokenStore].
func (s *Store) TokensBySubject(ctx context.Context, purpose authkit.TokenPurpose, subject string, now time.Time) ([]authkit.Token, error) {
	rows, err := s.db.QueryContext(ctx, s.sql.tokensBySubject, string(purpose), subject, millis(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: finding tokens: %w", err)
	}
	defer rows.Close()
	var found []authkit.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		found = append(found, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: finding tokens: %w", err)
	}
	return found, nil
}

// ClaimAttempt implements [authkit.PhoneStore] with one conditional UPDATE:
// the database serialises racing claims on the row.
func (s *Store) ClaimAttempt(ctx context.Context, hash string, max int, now time.Time) (bool, error) {
	n, err := s.exec(ctx, s.sql.claimAttempt, hash, millis(now), max)
	if err != nil {
		return false, fmt.Errorf("sqlstore: counting an attempt: %w", err)
	}
	return n > 0, nil
}
