package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// Times are stored as Unix milliseconds, the same on every database.
func millis(t time.Time) int64      { return t.UnixMilli() }
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// foldEmail is the key emails are unique and found by, whatever their case.
func foldEmail(email string) sql.NullString { return nullIfEmpty(strings.ToLower(email)) }

func encodeProfile(p map[string]json.RawMessage) (string, error) {
	if len(p) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encoding the profile: %w", err)
	}
	return string(b), nil
}

func decodeProfile(s string) (map[string]json.RawMessage, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("sqlstore: decoding the profile: %w", err)
	}
	return p, nil
}

// userArgs returns u's columns in the order of userColumns, then email_fold.
func userArgs(u *authkit.User) ([]any, error) {
	profile, err := encodeProfile(u.Profile)
	if err != nil {
		return nil, err
	}
	return []any{
		u.ID, u.Provider, u.ProviderUserID, nullIfEmpty(u.Email), u.EmailVerified,
		nullIfEmpty(u.Phone), u.PhoneVerified, u.Name, u.ProfilePicture, u.PasswordHash,
		profile, millis(u.SignUpAt), millis(u.LastLoginAt), foldEmail(u.Email),
	}, nil
}

// CreateUser implements [authkit.UserStore].
func (s *Store) CreateUser(ctx context.Context, u authkit.User) error {
	args, err := userArgs(&u)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.sql.createUser, args...)
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: user: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: creating a user: %w", err)
	}
	return nil
}

// UserByID implements [authkit.UserStore].
func (s *Store) UserByID(ctx context.Context, id string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByID, id)
}

// UserByEmail implements [authkit.UserStore]; the email is matched whatever its case.
func (s *Store) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByEmail, strings.ToLower(email))
}

// UserByPhone implements [authkit.UserStore].
func (s *Store) UserByPhone(ctx context.Context, phone string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByPhone, phone)
}

// UserByProvider implements [authkit.UserStore].
func (s *Store) UserByProvider(ctx context.Context, provider, providerUserID string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByProvider, provider, providerUserID)
}

// user runs a query for one user.
func (s *Store) user(ctx context.Context, query string, args ...any) (authkit.User, error) {
	var (
		u   authkit.User
		row userRow
	)
	err := s.queryRow(ctx, query, args...).Scan(row.dest(&u)...)
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.User{}, fmt.Errorf("sqlstore: user: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.User{}, fmt.Errorf("sqlstore: reading a user: %w", err)
	}
	if err := row.finish(&u); err != nil {
		return authkit.User{}, err
	}
	return u, nil
}

// userRow holds the columns of a user that need converting after Scan.
type userRow struct {
	email, phone        sql.NullString
	profile             string
	signUpAt, lastLogin int64
}

// dest returns the Scan destinations of userColumns, filling u and r.
func (r *userRow) dest(u *authkit.User) []any {
	return []any{&u.ID, &u.Provider, &u.ProviderUserID, &r.email, &u.EmailVerified, &r.phone, &u.PhoneVerified,
		&u.Name, &u.ProfilePicture, &u.PasswordHash, &r.profile, &r.signUpAt, &r.lastLogin}
}

// finish converts the scanned columns into u.
func (r *userRow) finish(u *authkit.User) (err error) {
	u.Email, u.Phone = r.email.String, r.phone.String
	u.SignUpAt, u.LastLoginAt = fromMillis(r.signUpAt), fromMillis(r.lastLogin)
	u.Profile, err = decodeProfile(r.profile)
	return err
}

// UpdateUser implements [authkit.UserStore].
func (s *Store) UpdateUser(ctx context.Context, u authkit.User) error {
	args, err := userArgs(&u)
	if err != nil {
		return err
	}
	// The columns after id, then id for the WHERE.
	args = append(args[1:], u.ID)
	res, err := s.db.ExecContext(ctx, s.sql.updateUser, args...)
	if s.isDuplicate(err) {
		return fmt.Errorf("sqlstore: user: %w", authkit.ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: updating a user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlstore: updating a user: %w", err)
	} else if n > 0 {
		return nil
	}
	// A MySQL connection that counts changed rows reports 0 for an update
	// that changed nothing: tell that from a missing user.
	var one int
	err = s.db.QueryRowContext(ctx, s.sql.userExists, u.ID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: user %q: %w", u.ID, authkit.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlstore: updating a user: %w", err)
	}
	return nil
}
