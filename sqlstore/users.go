package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/authkit/authkit"
)

// Times are stored as Unix milliseconds, the same on every database.
func millis(t time.Time) int64      { return t.UnixMilli() }
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// foldEmail is the key emails are unique and found by, whatever their case.
func foldEmail(email string) sql.NullString { return nullIfEmpty(strings.ToLower(email)) }

// The JSON columns: profile and server_data hold a JSON object,
// access_groups a JSON array of strings. Each is written compact and, an
// object, with its keys sorted (json.Marshal sorts a map's keys and
// compacts each json.RawMessage), so that equal values are equal text. An
// empty map or list is "{}" in profile, which is NOT NULL, and NULL in
// access_groups and server_data (as in the rows that migration 0006 found);
// each reads back as nil, as "[]" does.

func encodeProfile(p map[string]json.RawMessage) (string, error) {
	s, err := encodeObject(p)
	if err != nil {
		return "", fmt.Errorf("sqlstore: encoding the profile: %w", err)
	}
	return s, nil
}

func decodeProfile(s string) (map[string]json.RawMessage, error) {
	p, err := decodeObject(s)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: decoding the profile: %w", err)
	}
	return p, nil
}

func encodeServerData(m map[string]json.RawMessage) (sql.NullString, error) {
	s, err := encodeObject(m)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sqlstore: encoding the server data: %w", err)
	}
	return sql.NullString{String: s, Valid: s != "{}"}, nil
}

func decodeServerData(s sql.NullString) (map[string]json.RawMessage, error) {
	m, err := decodeObject(s.String)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: decoding the server data: %w", err)
	}
	return m, nil
}

func encodeAccessGroups(groups []string) (sql.NullString, error) {
	if len(groups) == 0 {
		return sql.NullString{}, nil
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return sql.NullString{}, fmt.Errorf("sqlstore: encoding the access groups: %w", err)
	}
	return sql.NullString{String: string(b), Valid: true}, nil
}

func decodeAccessGroups(s sql.NullString) ([]string, error) {
	if s.String == "" || s.String == "[]" {
		return nil, nil
	}
	var groups []string
	if err := json.Unmarshal([]byte(s.String), &groups); err != nil {
		return nil, fmt.Errorf("sqlstore: decoding the access groups: %w", err)
	}
	return groups, nil
}

// encodeObject returns m as a JSON object, "{}" when it is empty.
func encodeObject(m map[string]json.RawMessage) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeObject reads a JSON object; "" and "{}" are nil.
func decodeObject(s string) (map[string]json.RawMessage, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// userArgs returns u's columns in the order of userColumns, then email_fold.
func userArgs(u *authkit.User) ([]any, error) {
	profile, err := encodeProfile(u.Profile)
	if err != nil {
		return nil, err
	}
	groups, err := encodeAccessGroups(u.AccessGroups)
	if err != nil {
		return nil, err
	}
	serverData, err := encodeServerData(u.ServerData)
	if err != nil {
		return nil, err
	}
	return []any{
		u.ID, u.Provider, u.ProviderUserID, nullIfEmpty(u.Email), u.EmailVerified,
		nullIfEmpty(u.Phone), u.PhoneVerified, u.Name, u.ProfilePicture, u.PasswordHash,
		profile, millis(u.SignUpAt), millis(u.LastLoginAt), u.Stamp,
		groups, u.Disabled, serverData, foldEmail(u.Email),
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

// UserByPhone implements [authkit.PhoneStore].
func (s *Store) UserByPhone(ctx context.Context, phone string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByPhone, phone)
}

// UserByProvider implements [authkit.UserStore].
func (s *Store) UserByProvider(ctx context.Context, provider, providerUserID string) (authkit.User, error) {
	return s.user(ctx, s.sql.userByProvider, provider, providerUserID)
}

// ListUsers implements [authkit.UserLister] with one query on the primary
// key (on PostgreSQL, on an index of the ids byte for byte: see
// qUsersAfter).
func (s *Store) ListUsers(ctx context.Context, after string, limit int) ([]authkit.User, error) {
	if limit <= 0 {
		return []authkit.User{}, nil
	}
	page, err := s.usersAfter(ctx, after, limit)
	if page == nil && err == nil {
		page = []authkit.User{}
	}
	return page, err
}

// usersPage is how many users AllUsers reads in one query.
const usersPage = 128

// AllUsers implements [authkit.UserLister]: it reads the users a page at a
// time, by id, and yields a page only once its rows are closed, so the
// caller may use the store (and a one-connection SQLite pool) meanwhile.
func (s *Store) AllUsers(ctx context.Context) iter.Seq2[authkit.User, error] {
	return func(yield func(authkit.User, error) bool) {
		after := ""
		for {
			page, err := s.usersAfter(ctx, after, usersPage)
			if err != nil {
				yield(authkit.User{}, err)
				return
			}
			for _, u := range page {
				if !yield(u, nil) {
					return
				}
			}
			if len(page) < usersPage {
				return
			}
			after = page[len(page)-1].ID
		}
	}
}

// usersAfter reads the page of at most limit users whose ids follow after.
func (s *Store) usersAfter(ctx context.Context, after string, limit int) ([]authkit.User, error) {
	rows, err := s.db.QueryContext(ctx, s.sql.usersAfter, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing users: %w", err)
	}
	defer rows.Close()
	var page []authkit.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing users: %w", err)
		}
		page = append(page, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: listing users: %w", err)
	}
	return page, nil
}

// user runs a query for one user.
func (s *Store) user(ctx context.Context, query string, args ...any) (authkit.User, error) {
	u, err := scanUser(s.queryRow(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.User{}, fmt.Errorf("sqlstore: user: %w", authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.User{}, fmt.Errorf("sqlstore: reading a user: %w", err)
	}
	return u, nil
}

// scanUser reads the userColumns of row. No row is sql.ErrNoRows.
func scanUser(row rowScanner) (authkit.User, error) {
	var (
		u authkit.User
		r userRow
	)
	if err := row.Scan(r.dest(&u)...); err != nil {
		return authkit.User{}, err
	}
	return u, r.finish(&u)
}

// userRow holds the columns of a user that need converting after Scan.
type userRow struct {
	email, phone        sql.NullString
	profile             string
	signUpAt, lastLogin int64
	groups, serverData  sql.NullString
}

// dest returns the Scan destinations of userColumns, filling u and r.
func (r *userRow) dest(u *authkit.User) []any {
	return []any{&u.ID, &u.Provider, &u.ProviderUserID, &r.email, &u.EmailVerified, &r.phone, &u.PhoneVerified,
		&u.Name, &u.ProfilePicture, &u.PasswordHash, &r.profile, &r.signUpAt, &r.lastLogin, &u.Stamp,
		&r.groups, &u.Disabled, &r.serverData}
}

// finish converts the scanned columns into u.
func (r *userRow) finish(u *authkit.User) (err error) {
	u.Email, u.Phone = r.email.String, r.phone.String
	u.SignUpAt, u.LastLoginAt = fromMillis(r.signUpAt), fromMillis(r.lastLogin)
	if u.Profile, err = decodeProfile(r.profile); err != nil {
		return err
	}
	if u.AccessGroups, err = decodeAccessGroups(r.groups); err != nil {
		return err
	}
	u.ServerData, err = decodeServerData(r.serverData)
	return err
}

// UpdateUser implements [authkit.UserStore] with one transaction that
// reads the user's row and holds it locked to the end: SELECT … FOR UPDATE
// on PostgreSQL and MySQL, and on SQLite the database's write lock, which
// the transaction takes at its start (BEGIN IMMEDIATE: see [Open]). up.If
// is checked against the row as it is then, and the columns up.Set names,
// and the kept session's stamp, are written before the lock is released.
// A racing UpdateUser of the same user waits for the lock and then reads
// the row as this one left it: its check sees this write, and its own
// write, of its own columns only, keeps this one's.
//
// When up.Set names a field other than LastLoginAt, the transaction logs
// the user's revocation last, before its commit (see
// [Store.Revocations]): a sign-in's LastLoginAt alone logs nothing.
//
// Both up.If and up.Set are taken as stored (see [asStored]): a condition
// holds if its values are the row's once written, and the user returned is
// the one the next read finds.
func (s *Store) UpdateUser(ctx context.Context, id string, up authkit.UserUpdate) (authkit.User, error) {
	cond, err := asStored(up.If)
	if err != nil {
		return authkit.User{}, err
	}
	set, err := asStored(up.Set)
	if err != nil {
		return authkit.User{}, err
	}
	sets, args, err := userSets(set)
	if err != nil {
		return authkit.User{}, err
	}
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return authkit.User{}, fmt.Errorf("sqlstore: updating a user: %w", err)
	}
	defer tx.Rollback()
	u, err := scanUser(tx.QueryRowContext(ctx, s.sql.userForUpdate, id))
	if errors.Is(err, sql.ErrNoRows) {
		return authkit.User{}, fmt.Errorf("sqlstore: user %q: %w", id, authkit.ErrNotFound)
	}
	if err != nil {
		return authkit.User{}, fmt.Errorf("sqlstore: updating a user: %w", err)
	}
	if !cond.Matches(u) {
		return authkit.User{}, fmt.Errorf("sqlstore: user %q changed: %w", id, authkit.ErrConflict)
	}
	if len(sets) > 0 {
		query := rebind(s.dialect, fmt.Sprintf(qUpdateUser, strings.Join(sets, ", ")))
		_, err := tx.ExecContext(ctx, query, append(args, id)...)
		if s.isDuplicate(err) {
			return authkit.User{}, fmt.Errorf("sqlstore: user: %w", authkit.ErrDuplicate)
		}
		if err != nil {
			return authkit.User{}, fmt.Errorf("sqlstore: updating a user: %w", err)
		}
	}
	if set.Stamp != nil && up.KeepSession != "" {
		if _, err := tx.ExecContext(ctx, s.sql.keepSessionStamp, *set.Stamp, up.KeepSession, id); err != nil {
			return authkit.User{}, fmt.Errorf("sqlstore: keeping a session: %w", err)
		}
	}
	if set.Revokes() {
		if err := s.logRevocation(ctx, tx, id, ""); err != nil {
			return authkit.User{}, err
		}
	}
	if err := tx.Commit(); err != nil {
		return authkit.User{}, fmt.Errorf("sqlstore: updating a user: %w", err)
	}
	set.ApplyTo(&u)
	return u, nil
}

// asStored returns f with each value it names as the store writes and
// then reads it: a time to the millisecond, in UTC; a map or list through
// its JSON text (each JSON value compacted), in memory of its own.
func asStored(f authkit.UserFields) (authkit.UserFields, error) {
	if t := f.LastLoginAt; t != nil {
		stored := storedTime(*t)
		f.LastLoginAt = &stored
	}
	var err error
	if f.Profile, err = reread(f.Profile, encodeProfile, decodeProfile); err != nil {
		return authkit.UserFields{}, err
	}
	if f.AccessGroups, err = reread(f.AccessGroups, encodeAccessGroups, decodeAccessGroups); err != nil {
		return authkit.UserFields{}, err
	}
	if f.ServerData, err = reread(f.ServerData, encodeServerData, decodeServerData); err != nil {
		return authkit.UserFields{}, err
	}
	return f, nil
}

// reread returns the value p names encoded and decoded again, or nil when p
// is nil.
func reread[T, Col any](p *T, encode func(T) (Col, error), decode func(Col) (T, error)) (*T, error) {
	if p == nil {
		return nil, nil
	}
	col, err := encode(*p)
	if err != nil {
		return nil, err
	}
	v, err := decode(col)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// storedTime returns t as the store keeps it and reads it back: to the
// millisecond, in UTC.
func storedTime(t time.Time) time.Time { return fromMillis(millis(t)) }

// userSets returns the assignments ("column = ?") of the fields f names,
// and their values in the same order. Email sets email_fold with it.
func userSets(f authkit.UserFields) (sets []string, args []any, err error) {
	set := func(column string, value any) {
		sets = append(sets, column+" = ?")
		args = append(args, value)
	}
	if f.Email != nil {
		set("email", nullIfEmpty(*f.Email))
		set("email_fold", foldEmail(*f.Email))
	}
	if f.EmailVerified != nil {
		set("email_verified", *f.EmailVerified)
	}
	if f.Phone != nil {
		set("phone", nullIfEmpty(*f.Phone))
	}
	if f.PhoneVerified != nil {
		set("phone_verified", *f.PhoneVerified)
	}
	if f.Name != nil {
		set("name", *f.Name)
	}
	if f.ProfilePicture != nil {
		set("profile_picture", *f.ProfilePicture)
	}
	if f.PasswordHash != nil {
		set("password_hash", *f.PasswordHash)
	}
	if f.Stamp != nil {
		set("stamp", *f.Stamp)
	}
	if f.LastLoginAt != nil {
		set("last_login_at", millis(*f.LastLoginAt))
	}
	if f.Disabled != nil {
		set("disabled", *f.Disabled)
	}
	if f.Profile != nil {
		profile, err := encodeProfile(*f.Profile)
		if err != nil {
			return nil, nil, err
		}
		set("profile", profile)
	}
	if f.AccessGroups != nil {
		groups, err := encodeAccessGroups(*f.AccessGroups)
		if err != nil {
			return nil, nil, err
		}
		set("access_groups", groups)
	}
	if f.ServerData != nil {
		data, err := encodeServerData(*f.ServerData)
		if err != nil {
			return nil, nil, err
		}
		set("server_data", data)
	}
	return sets, args, nil
}

// DeleteUser implements [authkit.UserStore] with one transaction of three
// statements: the user's tokens, then the user, then their sessions; and
// last, the user's revocation (see [Store.Revocations]). The
// user's row is deleted only if it exists (else the transaction is rolled
// back and ErrNotFound returned), and the foreign keys (ON DELETE CASCADE)
// take with it whatever sessions and tokens are left. The explicit deletes
// make the step whole on a SQLite pool given to [New] without foreign keys.
//
// The order is the one the other writers take their locks in, so that none
// deadlocks with DeleteUser on PostgreSQL or MySQL: [Store.CreateToken]
// deletes tokens and then checks its user's row (the foreign key), and
// [Store.UpdateUser] locks the user's row and then writes a session. A
// token or session made while DeleteUser runs is held up by the user's row
// and then cascaded away with it, or fails on the foreign key once the
// user is gone. The revocation log's counter is every writer's last lock.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	tx, err := s.db.BeginTx(ctx, s.writeTx)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting a user: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.sql.deleteAllUserTokens, id); err != nil {
		return fmt.Errorf("sqlstore: deleting a user's tokens: %w", err)
	}
	if err := s.deleteFactorsTx(ctx, tx, id); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, s.sql.deleteUser, id)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting a user: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlstore: deleting a user: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlstore: user %q: %w", id, authkit.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, s.sql.deleteAllUserSessions, id); err != nil {
		return fmt.Errorf("sqlstore: deleting a user's sessions: %w", err)
	}
	if err := s.logRevocation(ctx, tx, id, ""); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: deleting a user: %w", err)
	}
	return nil
}
