package sqlstore

// The tables Copy moves, and how it reads and writes their rows in every
// dialect.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// colKind is how a column is read and written, the same in every dialect.
type colKind uint8

const (
	kText     colKind = iota // TEXT / VARCHAR NOT NULL
	kNullText                // TEXT / VARCHAR, NULL allowed
	kInt                     // INTEGER / BIGINT (times are Unix milliseconds)
	kBool                    // INTEGER 0/1 on SQLite, BOOLEAN elsewhere
	kBlob                    // BLOB / BYTEA / VARBINARY, NULL allowed
)

type copyCol struct {
	name string
	kind colKind
}

// copyTable is a table Copy moves: its columns and its primary key, the
// order it is read and resumed in.
type copyTable struct {
	name string
	key  []string // primary key columns, each text or blob, then int
	cols []copyCol
}

// copyTables are the tables of the schema's newest version, in the order
// Copy fills them: a user before the sessions and tokens that refer to
// it. authkit_schema is not copied: the target is migrated to the same
// version itself. A migration that adds a table or a column must add it
// here (TestCopyCoversSchema checks).
var copyTables = []copyTable{
	{name: "authkit_users", key: []string{"id"}, cols: []copyCol{
		{"id", kText}, {"provider", kText}, {"provider_user_id", kText},
		{"email", kNullText}, {"email_fold", kNullText}, {"email_verified", kBool},
		{"phone", kNullText}, {"phone_verified", kBool}, {"name", kText},
		{"profile_picture", kText}, {"password_hash", kText}, {"profile", kText},
		{"sign_up_at", kInt}, {"last_login_at", kInt}, {"stamp", kText},
		{"access_groups", kNullText}, {"disabled", kBool}, {"server_data", kNullText},
	}},
	{name: "authkit_sessions", key: []string{"id"}, cols: []copyCol{
		{"id", kText}, {"token_hash", kText}, {"user_id", kText}, {"created_at", kInt},
		{"last_seen_at", kInt}, {"expires_at", kInt}, {"user_agent", kText}, {"ip", kText},
		{"stamp", kText}, {"factors", kInt},
	}},
	{name: "authkit_tokens", key: []string{"hash"}, cols: []copyCol{
		{"hash", kText}, {"purpose", kText}, {"user_id", kNullText}, {"subject", kText},
		{"action", kText}, {"link", kText}, {"attempts", kInt}, {"created_at", kInt},
		{"expires_at", kInt}, {"stamp", kText}, {"data", kBlob},
	}},
	{name: "authkit_limits", key: []string{"limit_key", "window_ms"}, cols: []copyCol{
		{"limit_key", kBlob}, {"window_ms", kInt}, {"window_start", kInt}, {"hits", kInt},
		{"expires_at", kInt},
	}},
	{name: "authkit_intents", key: []string{"id"}, cols: []copyCol{
		{"id", kText}, {"kind", kText}, {"recipient", kText}, {"user_id", kText}, {"ip", kText},
		{"user_agent", kText}, {"data", kBlob}, {"state", kText}, {"tries", kInt},
		{"next_at", kInt}, {"lease_owner", kText}, {"lease_until", kInt}, {"last_error", kText},
		{"created_at", kInt}, {"updated_at", kInt},
	}},
	{name: "authkit_factors", key: []string{"user_id", "kind"}, cols: []copyCol{
		{"user_id", kText}, {"kind", kText}, {"secret", kBlob}, {"active", kBool},
		{"last_step", kInt}, {"created_at", kInt},
	}},
	{name: "authkit_recovery_codes", key: []string{"user_id", "code_hash"}, cols: []copyCol{
		{"user_id", kText}, {"code_hash", kText},
	}},
	{name: "authkit_passkeys", key: []string{"id"}, cols: []copyCol{
		{"id", kText}, {"user_id", kText}, {"credential_id", kBlob}, {"name", kText},
		{"credential", kBlob}, {"sign_count", kInt}, {"created_at", kInt}, {"last_used_at", kInt},
	}},
}

// copyLeaves are the tables of the schema that Copy does not move, and
// does not count, check or empty in the target. The revocation log
// (authkit_revocations, and its counter authkit_revocation_seq) tells the
// instances running on a database what the others revoked since they last
// read it; no instance runs on the source during a copy (Copy refuses a
// source in use), and every instance on the target starts with an empty
// cache and reads its place in the target's log at start. The target's
// log goes on from its own counter (0 in a new database): no revocation
// of the source is one an instance of the target has to learn, since the
// copy holds its effect (the session gone, the user changed).
// TestCopyCoversSchema checks that copyTables and copyLeaves together are
// every table.
var copyLeaves = []string{"authkit_revocations", "authkit_revocation_seq"}

// keyExpr is a key column as d compares it byte for byte (see idBytes).
func (t copyTable) keyExpr(d Dialect, col string) string {
	if d == Postgres && t.kind(col) == kText {
		return col + ` COLLATE "C"`
	}
	return col
}

func (t copyTable) kind(col string) colKind {
	for _, c := range t.cols {
		if c.name == col {
			return c.kind
		}
	}
	panic("sqlstore: no column " + col + " in " + t.name)
}

func (t copyTable) colList() string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// orderBy is the table's key order in d, descending if desc.
func (t copyTable) orderBy(d Dialect, desc bool) string {
	parts := make([]string, len(t.key))
	for i, k := range t.key {
		parts[i] = t.keyExpr(d, k)
		if desc {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// lastKey returns the largest key of t in s, nil when t is empty.
func (t copyTable) lastKey(ctx context.Context, s *Store) ([]any, error) {
	dest := make([]any, len(t.key))
	ptrs := make([]any, len(t.key))
	for i, k := range t.key {
		ptrs[i] = newScanDest(t.kind(k))
	}
	err := s.db.QueryRowContext(ctx, "SELECT "+strings.Join(t.key, ", ")+" FROM "+t.name+" ORDER BY "+t.orderBy(s.dialect, true)+" LIMIT 1").Scan(ptrs...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for i, k := range t.key {
		dest[i] = argOf(t.kind(k), ptrs[i])
	}
	return dest, nil
}

// selectAfter is the query that reads t from src in key order, after the
// key after if it is not nil, with its arguments.
func (t copyTable) selectAfter(d Dialect, after []any) (string, []any) {
	q := "SELECT " + t.colList() + " FROM " + t.name
	var args []any
	switch {
	case after == nil:
	case len(t.key) == 1:
		q += " WHERE " + t.keyExpr(d, t.key[0]) + " > ?"
		args = after
	case len(t.key) == 2:
		q += " WHERE (" + t.keyExpr(d, t.key[0]) + " > ? OR (" + t.key[0] + " = ? AND " + t.keyExpr(d, t.key[1]) + " > ?))"
		args = []any{after[0], after[0], after[1]}
	default:
		panic("sqlstore: copy: a key of more than two columns")
	}
	return rebind(d, q+" ORDER BY "+t.orderBy(d, false)), args
}

func newScanDest(k colKind) any {
	switch k {
	case kText:
		return new(string)
	case kNullText:
		return new(sql.NullString)
	case kInt:
		return new(int64)
	case kBool:
		return new(bool)
	default:
		return new([]byte)
	}
}

// argOf is the value Scan put in p, as an argument of an INSERT.
func argOf(k colKind, p any) any {
	switch k {
	case kText:
		return *p.(*string)
	case kNullText:
		return *p.(*sql.NullString)
	case kInt:
		return *p.(*int64)
	case kBool:
		return *p.(*bool)
	default:
		b := *p.(*[]byte)
		if b == nil {
			return nil
		}
		return b
	}
}

// argSize is about how many bytes v takes in a statement.
func argSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case sql.NullString:
		return len(v.String)
	case []byte:
		return len(v)
	}
	return 8
}

// maxStmtBytes bounds the data of one INSERT, well under MySQL's default
// max_allowed_packet (16 MiB on MariaDB, 64 MiB on MySQL 8): a token or a
// queued message may carry 64 KiB of data.
const maxStmtBytes = 4 << 20

// maxStmtArgs bounds the placeholders of one INSERT (SQLite allows 32766,
// PostgreSQL and MySQL 65535).
const maxStmtArgs = 30000

// copyTableRows copies t's rows from src into dst that come after the
// largest key dst holds, in transactions of opts.Batch rows.
func copyTableRows(ctx context.Context, src, dst *Store, t copyTable, total int64, opts CopyOptions) error {
	after, err := t.lastKey(ctx, dst)
	if err != nil {
		return fmt.Errorf("sqlstore: copy: reading the target's %s: %w", t.name, err)
	}
	var copied int64
	if after != nil {
		if err := dst.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&copied); err != nil {
			return fmt.Errorf("sqlstore: copy: counting the target's %s: %w", t.name, err)
		}
	}
	if opts.Progress != nil {
		opts.Progress(CopyProgress{Table: t.name, Copied: copied, Total: total})
	}
	q, args := t.selectAfter(src.dialect, after)
	rows, err := src.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlstore: copy: reading the source's %s: %w", t.name, err)
	}
	defer rows.Close()
	ptrs := make([]any, len(t.cols))
	batch := make([][]any, 0, opts.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := insertBatch(ctx, dst, t, batch); err != nil {
			return fmt.Errorf("sqlstore: copy: writing %s (the rows from key %v): %w", t.name, batch[0][:len(t.key)], err)
		}
		copied += int64(len(batch))
		batch = batch[:0]
		if opts.Progress != nil {
			opts.Progress(CopyProgress{Table: t.name, Copied: copied, Total: total})
		}
		return nil
	}
	for rows.Next() {
		for i, c := range t.cols {
			ptrs[i] = newScanDest(c.kind)
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("sqlstore: copy: reading the source's %s: %w", t.name, err)
		}
		row := make([]any, len(t.cols))
		for i, c := range t.cols {
			row[i] = argOf(c.kind, ptrs[i])
		}
		batch = append(batch, row)
		if len(batch) == opts.Batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: copy: reading the source's %s: %w", t.name, err)
	}
	return flush()
}

// insertBatch writes rows into t in one transaction, in as few INSERTs as
// the limits on statements allow. The key columns come first in t.cols.
func insertBatch(ctx context.Context, dst *Store, t copyTable, rows [][]any) error {
	tx, err := dst.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	head := "INSERT INTO " + t.name + " (" + t.colList() + ") VALUES "
	one := "(" + strings.Repeat("?, ", len(t.cols)-1) + "?)"
	for len(rows) > 0 {
		n, size := 0, 0
		for n < len(rows) && (n+1)*len(t.cols) <= maxStmtArgs {
			rs := 0
			for _, v := range rows[n] {
				rs += argSize(v)
			}
			if n > 0 && size+rs > maxStmtBytes {
				break
			}
			size += rs
			n++
		}
		var b strings.Builder
		b.WriteString(head)
		args := make([]any, 0, n*len(t.cols))
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, rows[i]...)
		}
		if _, err := tx.ExecContext(ctx, rebind(dst.dialect, b.String()), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return tx.Commit()
}
