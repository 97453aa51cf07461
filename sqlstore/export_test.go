package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// MigrateTo is Migrate, stopping at schema version upTo: it makes the
// database an older release left, for the upgrade tests.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error { return s.migrate(ctx, upTo) }

// UsersAfterQuery is the statement of a page of ListUsers and AllUsers,
// for the tests that read its plan.
func UsersAfterQuery(s *Store) string { return s.sql.usersAfter }

// CopyTableNames are the tables Copy moves, in its order.
func CopyTableNames() []string {
	names := make([]string, len(copyTables))
	for i, t := range copyTables {
		names[i] = t.name
	}
	return names
}

// CopyLeftTableNames are the tables Copy leaves: see copyLeaves.
func CopyLeftTableNames() []string { return copyLeaves }

// Dump returns every row of the table in key order, byte for byte, each
// column as Copy reads it: for comparing two databases.
func Dump(ctx context.Context, s *Store, table string) ([][]any, error) {
	for _, t := range copyTables {
		if t.name != table {
			continue
		}
		q, _ := t.selectAfter(s.dialect, nil)
		rows, err := s.db.QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out [][]any
		for rows.Next() {
			ptrs := make([]any, len(t.cols))
			for i, c := range t.cols {
				ptrs[i] = newScanDest(c.kind)
			}
			if err := rows.Scan(ptrs...); err != nil {
				return nil, err
			}
			row := make([]any, len(t.cols))
			for i, c := range t.cols {
				row[i] = argOf(c.kind, ptrs[i])
			}
			out = append(out, row)
		}
		return out, rows.Err()
	}
	return nil, fmt.Errorf("no table %s", table)
}

// Generate fills s (migrated, empty) with users and sessions written
// straight into the tables, as fast as batches go: Copy's test data and
// the full-size benchmark's. Every user has two sessions while sessions
// last; a few tokens, limit counts and intents come along, with binary
// data. Every time is in January 2026, long before any copy runs, and
// the ids are in no order, as the kit's random ones are.
func Generate(ctx context.Context, s *Store, users, sessions int) error {
	rnd := rand.New(rand.NewPCG(1, uint64(users)))
	hexID := func() string {
		var b [12]byte
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return hex.EncodeToString(b[:])
	}
	const base = int64(1767225600000) // 2026-01-01
	tables := map[string]copyTable{}
	for _, t := range copyTables {
		tables[t.name] = t
	}
	const batch = 2000
	var rows [][]any
	put := func(table string, row []any, last bool) error {
		rows = append(rows, row)
		if len(rows) == batch || last {
			err := insertBatch(ctx, s, tables[table], rows)
			rows = rows[:0]
			return err
		}
		return nil
	}
	ids := make([]string, users)
	for i := range users {
		ids[i] = hexID()
		email := sql.NullString{String: fmt.Sprintf("User%d@Example.com", i), Valid: i%10 != 0}
		fold := sql.NullString{String: strings.ToLower(email.String), Valid: email.Valid}
		phone := sql.NullString{String: fmt.Sprintf("+1555%07d", i), Valid: i%3 == 0}
		groups := sql.NullString{String: `["admin","staff"]`, Valid: i%7 == 0}
		data := sql.NullString{String: `{"plan":"pro"}`, Valid: i%5 == 0}
		row := []any{ids[i], "email", ids[i], email, fold, i%2 == 0, phone, i%4 == 0, fmt.Sprintf("Zoë 名前 %d 🎉", i),
			"", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g", `{"city":"Zürich"}`,
			base + int64(i), base + int64(i)*2, hexID(), groups, i%11 == 0, data}
		if err := put("authkit_users", row, i == users-1); err != nil {
			return err
		}
	}
	for i := range sessions {
		row := []any{hexID(), hexID() + hexID(), ids[i%users], base + int64(i), base + int64(i), base + 1e12,
			`{"family":"Firefox","major":"120","os":{"family":"Linux"}}`, "203.0.113.7", "", int64(1 + i%2)}
		if err := put("authkit_sessions", row, i == sessions-1); err != nil {
			return err
		}
	}
	n := max(1, users/100)
	for i := range n {
		var blob any
		if i%2 == 0 {
			blob = []byte{0, 1, 2, 0xff, byte(i)}
		}
		row := []any{hexID() + hexID(), "magic", sql.NullString{String: ids[i%users], Valid: i%3 != 0}, "a@example.com", "", "", int64(i % 5), base, base + 1e12, "", blob}
		if err := put("authkit_tokens", row, i == n-1); err != nil {
			return err
		}
	}
	for i := range n {
		row := []any{[]byte{byte(i), 0, 0xfe, byte(i >> 8)}, int64(60000 * (1 + i%2)), base, int64(i), base + 60000}
		if err := put("authkit_limits", row, i == n-1); err != nil {
			return err
		}
	}
	for i := range n {
		var blob any
		if i%2 == 1 {
			blob = []byte(fmt.Sprintf(`{"link":%d}`, i))
		}
		row := []any{hexID(), "signup", "a@example.com", ids[i%users], "203.0.113.7", "curl", blob, "pending", int64(0), base, "", int64(0), "", base, base}
		if err := put("authkit_intents", row, i == n-1); err != nil {
			return err
		}
	}
	for i := range n {
		row := []any{ids[i%users], "totp", []byte{1, 0, byte(i), 0xff}, i%2 == 0, int64(59000000 + i), base}
		if err := put("authkit_factors", row, i == n-1); err != nil {
			return err
		}
	}
	for i := range n {
		row := []any{ids[i%users], hexID() + hexID()}
		if err := put("authkit_recovery_codes", row, i == n-1); err != nil {
			return err
		}
	}
	for i := range n {
		row := []any{hexID(), ids[i%users], []byte{byte(i), 0xff, byte(i >> 8), 0}, "Key", []byte(`{"id":"AA"}`), int64(i), base, int64(0)}
		if err := put("authkit_passkeys", row, i == n-1); err != nil {
			return err
		}
	}
	return nil
}

// SetBusyBudget sets how long Migrate retries while another connection
// holds the lock.
func SetBusyBudget(s *Store, d time.Duration) { s.busyBudget = d }
