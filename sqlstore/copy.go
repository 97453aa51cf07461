package sqlstore

// Copy: every authkit table of one database into another, in batches,
// resumable, with the row counts checked at the end.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The errors of [Copy], for errors.Is.
var (
	// ErrTargetNotEmpty: the target holds authkit rows that no unfinished
	// copy put there. CopyOptions.Force empties it first.
	ErrTargetNotEmpty = errors.New("sqlstore: the target database holds authkit data already")
	// ErrSourceChanged: the source's rows changed since the copy began
	// (an app still writes to it), or the target's counts differ from the
	// source's at the end.
	ErrSourceChanged = errors.New("sqlstore: the source database changed during the copy")
	// ErrSourceActive: the source was written in the last ActiveWithin
	// (a sign-in, a session used, a message queued): an app may still be
	// running on it.
	ErrSourceActive = errors.New("sqlstore: the source database is in use")
	// ErrSchemaVersion: the source or the target is at a schema version
	// other than the one this code knows.
	ErrSchemaVersion = errors.New("sqlstore: schema version mismatch")
	// ErrSameDatabase: the source and the target are one database.
	ErrSameDatabase = errors.New("sqlstore: the source and the target are the same database")
)

// ActiveWithin is how recent a write to the source makes [Copy] take it
// for a database in use (see CopyOptions.IgnoreActivity).
const ActiveWithin = 2 * time.Minute

// CopyOptions are the settings of [Copy].
type CopyOptions struct {
	// Batch is how many rows go into the target per transaction. Default
	// 1000.
	Batch int
	// Force empties the target's authkit tables before copying when they
	// hold rows (not needed to resume an unfinished copy). Default false:
	// a target with rows is ErrTargetNotEmpty.
	Force bool
	// IgnoreActivity copies even when the source was written within
	// ActiveWithin. Default false: that is ErrSourceActive.
	IgnoreActivity bool
	// Progress, if set, is called after each batch.
	Progress func(CopyProgress)
	// Now is the clock of the activity check. Default time.Now.
	Now func() time.Time
}

// CopyProgress is where a [Copy] stands.
type CopyProgress struct {
	Table  string // the table being copied
	Copied int64  // its rows in the target so far
	Total  int64  // its rows in the source
}

// CopyResult is what a [Copy] did.
type CopyResult struct {
	// Resumed: the copy went on from an unfinished one.
	Resumed bool
	// Tables are the tables copied, in order, with their row counts,
	// equal in the source and the target.
	Tables []TableCount
}

// TableCount is a table and its rows.
type TableCount struct {
	Table string
	Rows  int64
}

// copyStateTable marks a target that an unfinished Copy is filling; it is
// dropped once the copy is verified. It holds the source's row counts
// when the copy began, and a nonce by which Copy tells whether the source
// sees it too (the same database).
const copyStateTable = "authkit_copy_state"

// copyActivity are the times that say when an app last wrote to the
// database: a sign-in, a session made or used, a link or code sent, a
// message queued or delivered, a session or user revoked (the revocation
// log, which Copy reads for this alone: see copyLeaves).
var copyActivity = []string{
	"SELECT MAX(last_login_at) FROM authkit_users",
	"SELECT MAX(last_seen_at) FROM authkit_sessions",
	"SELECT MAX(created_at) FROM authkit_tokens",
	"SELECT MAX(updated_at) FROM authkit_intents",
	"SELECT MAX(logged_at) FROM authkit_revocations",
}

// Copy copies every authkit table of src into dst: users, sessions,
// one-time tokens, limit counts and queued messages; not the revocation
// log, which only the instances running on src had use for (dst's starts
// empty, numbered from its own counter). It is meant for a
// move to another database (SQLite to PostgreSQL is the common one), with
// every app that uses src stopped: rows written to src during the copy
// would be missed, and Copy refuses a source written within ActiveWithin
// (ErrSourceActive) and checks at the end that src's row counts did not
// move (ErrSourceChanged).
//
// src must be migrated to the newest schema this code knows; dst is
// migrated by Copy when it is behind, and must then hold no rows
// (ErrTargetNotEmpty) unless opts.Force, which empties it.
//
// Each table is read in primary-key order, byte for byte, and written in
// transactions of opts.Batch rows. A copy that stops (an error, a kill)
// leaves dst marked, and the next Copy into it resumes: each table goes on
// after the largest key dst holds, in the fixed table order. At the end
// the row count of every table is compared in src and dst, and the mark
// removed.
func Copy(ctx context.Context, src, dst *Store, opts CopyOptions) (CopyResult, error) {
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	latest, err := LatestVersion(src.dialect)
	if err != nil {
		return CopyResult{}, err
	}
	if v, err := src.Version(ctx); err != nil {
		return CopyResult{}, fmt.Errorf("sqlstore: copy: source: %w", err)
	} else if v != latest {
		return CopyResult{}, fmt.Errorf("%w: the source is at version %d, this authkit's schema is version %d: migrate the source first (or use the authkit release that matches it)", ErrSchemaVersion, v, latest)
	}
	if err := migrateTarget(ctx, dst); err != nil {
		return CopyResult{}, err
	}
	if err := checkColumns(ctx, src, "source"); err != nil {
		return CopyResult{}, err
	}
	if err := checkColumns(ctx, dst, "target"); err != nil {
		return CopyResult{}, err
	}
	if !opts.IgnoreActivity {
		if err := checkQuiet(ctx, src, opts.Now()); err != nil {
			return CopyResult{}, err
		}
	}
	srcCounts, err := countRows(ctx, src)
	if err != nil {
		return CopyResult{}, fmt.Errorf("sqlstore: copy: counting the source's rows: %w", err)
	}
	res := CopyResult{}
	started, err := readCopyState(ctx, dst)
	if err != nil {
		return CopyResult{}, err
	}
	switch {
	case started != nil && !opts.Force:
		res.Resumed = true
		for i, t := range copyTables {
			if started[t.name] != srcCounts[i] {
				return CopyResult{}, fmt.Errorf("%w: when the copy began, the source's %s had %d rows, it has %d now: stop every app using the source, then start over with --force", ErrSourceChanged, t.name, started[t.name], srcCounts[i])
			}
		}
	default:
		dstCounts, err := countRows(ctx, dst)
		if err != nil {
			return CopyResult{}, fmt.Errorf("sqlstore: copy: counting the target's rows: %w", err)
		}
		if slices.ContainsFunc(dstCounts, func(n int64) bool { return n > 0 }) && !opts.Force {
			return CopyResult{}, fmt.Errorf("%w (%s): copy into an empty database, or empty this one with --force", ErrTargetNotEmpty, describeCounts(dstCounts))
		}
		if err := markTarget(ctx, src, dst); err != nil {
			return CopyResult{}, err
		}
		if slices.ContainsFunc(dstCounts, func(n int64) bool { return n > 0 }) {
			if err := emptyTables(ctx, dst); err != nil {
				return CopyResult{}, err
			}
		}
		// Only now is the mark one to resume from: a copy stopped while
		// emptying leaves a target with rows, which wants --force again.
		if err := recordSourceCounts(ctx, dst, srcCounts); err != nil {
			return CopyResult{}, err
		}
	}
	for i, t := range copyTables {
		if err := copyTableRows(ctx, src, dst, t, srcCounts[i], opts); err != nil {
			return res, err
		}
	}
	// Verify.
	after, err := countRows(ctx, src)
	if err != nil {
		return res, fmt.Errorf("sqlstore: copy: counting the source's rows: %w", err)
	}
	got, err := countRows(ctx, dst)
	if err != nil {
		return res, fmt.Errorf("sqlstore: copy: counting the target's rows: %w", err)
	}
	for i, t := range copyTables {
		switch {
		case after[i] != srcCounts[i]:
			return res, fmt.Errorf("%w: the source's %s had %d rows when the copy began and has %d now: stop every app using the source, then run the copy again with --force", ErrSourceChanged, t.name, srcCounts[i], after[i])
		case got[i] != after[i]:
			return res, fmt.Errorf("%w: %s has %d rows in the source and %d in the target: run the copy again with --force", ErrSourceChanged, t.name, after[i], got[i])
		}
		res.Tables = append(res.Tables, TableCount{Table: t.name, Rows: got[i]})
	}
	if _, err := dst.db.ExecContext(ctx, "DROP TABLE "+copyStateTable); err != nil {
		return res, fmt.Errorf("sqlstore: copy: removing the copy's mark from the target: %w", err)
	}
	return res, nil
}

// LatestVersion is the newest schema version this code has for d: what
// [Store.Migrate] brings a database to.
func LatestVersion(d Dialect) (int, error) {
	steps, err := loadMigrations(d)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: reading migrations: %w", err)
	}
	if len(steps) == 0 {
		return 0, nil
	}
	return steps[len(steps)-1].version, nil
}

// migrateTarget brings dst to the newest schema, refusing one newer.
func migrateTarget(ctx context.Context, dst *Store) error {
	latest, err := LatestVersion(dst.dialect)
	if err != nil {
		return err
	}
	v, err := dst.Version(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: copy: target: %w", err)
	}
	if v > latest {
		return fmt.Errorf("%w: the target is at version %d, newer than this authkit's %d: use the authkit release that matches it", ErrSchemaVersion, v, latest)
	}
	if v < latest {
		if err := dst.Migrate(ctx); err != nil {
			return fmt.Errorf("sqlstore: copy: migrating the target: %w", err)
		}
	}
	return nil
}

// checkColumns checks that the tables of s have the columns Copy moves,
// no fewer and no more: a column it did not know would be lost.
func checkColumns(ctx context.Context, s *Store, which string) error {
	for _, t := range copyTables {
		rows, err := s.db.QueryContext(ctx, "SELECT * FROM "+t.name+" WHERE 1 = 0")
		if err != nil {
			return fmt.Errorf("sqlstore: copy: reading the %s's %s: %w", which, t.name, err)
		}
		have, err := rows.Columns()
		rows.Close()
		if err != nil {
			return fmt.Errorf("sqlstore: copy: reading the %s's %s: %w", which, t.name, err)
		}
		want := make([]string, len(t.cols))
		for i, c := range t.cols {
			want[i] = c.name
		}
		for i := range have {
			have[i] = strings.ToLower(have[i])
		}
		slices.Sort(have)
		slices.Sort(want)
		if !slices.Equal(have, want) {
			return fmt.Errorf("%w: the %s's %s has the columns %v, this authkit copies %v", ErrSchemaVersion, which, t.name, have, want)
		}
	}
	return nil
}

// checkQuiet returns ErrSourceActive when s was written within
// ActiveWithin of now.
func checkQuiet(ctx context.Context, s *Store, now time.Time) error {
	var last int64
	for _, q := range copyActivity {
		var v sql.NullInt64
		if err := s.db.QueryRowContext(ctx, q).Scan(&v); err != nil {
			return fmt.Errorf("sqlstore: copy: reading the source: %w", err)
		}
		last = max(last, v.Int64)
	}
	if last == 0 {
		return nil
	}
	if ago := now.Sub(fromMillis(last)); ago < ActiveWithin {
		return fmt.Errorf("%w: it was written %s ago: stop every app using it, then copy (or pass --ignore-activity if you are sure nothing writes to it)", ErrSourceActive, ago.Round(time.Second))
	}
	return nil
}

// countRows counts the rows of each of copyTables.
func countRows(ctx context.Context, s *Store) ([]int64, error) {
	out := make([]int64, len(copyTables))
	for i, t := range copyTables {
		if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.name).Scan(&out[i]); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return out, nil
}

func describeCounts(counts []int64) string {
	var parts []string
	for i, t := range copyTables {
		if counts[i] > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d rows", t.name, counts[i]))
		}
	}
	return strings.Join(parts, ", ")
}

// readCopyState returns the source's counts that an unfinished copy into
// dst recorded, or nil when dst is not marked.
func readCopyState(ctx context.Context, dst *Store) (map[string]int64, error) {
	exists, err := dst.hasTable(ctx, copyStateTable)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: reading the target: %w", err)
	}
	if !exists {
		return nil, nil
	}
	var raw string
	err = dst.db.QueryRowContext(ctx, "SELECT source_counts FROM "+copyStateTable).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && raw == "") {
		return nil, nil // marked, but stopped before it began: start again
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy: reading the target's %s: %w", copyStateTable, err)
	}
	counts := map[string]int64{}
	if err := json.Unmarshal([]byte(raw), &counts); err != nil {
		return nil, fmt.Errorf("sqlstore: copy: the target's %s is damaged (%v): drop it and copy again with --force", copyStateTable, err)
	}
	return counts, nil
}

// markTarget marks dst as being filled, with no source counts yet,
// after checking that src does not see the mark (the same database).
func markTarget(ctx context.Context, src, dst *Store) error {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	for _, stmt := range []string{
		"CREATE TABLE IF NOT EXISTS " + copyStateTable + " (nonce VARCHAR(64) NOT NULL, source_counts TEXT NOT NULL, started_at BIGINT NOT NULL)",
		"DELETE FROM " + copyStateTable,
	} {
		if _, err := dst.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("sqlstore: copy: marking the target: %w", err)
		}
	}
	if _, err := dst.db.ExecContext(ctx, rebind(dst.dialect, "INSERT INTO "+copyStateTable+" (nonce, source_counts, started_at) VALUES (?, '', ?)"),
		nonce, time.Now().UnixMilli()); err != nil {
		return fmt.Errorf("sqlstore: copy: marking the target: %w", err)
	}
	if exists, err := src.hasTable(ctx, copyStateTable); err == nil && exists {
		var n int
		if err := src.db.QueryRowContext(ctx, rebind(src.dialect, "SELECT COUNT(*) FROM "+copyStateTable+" WHERE nonce = ?"), nonce).Scan(&n); err == nil && n > 0 {
			dst.db.ExecContext(context.WithoutCancel(ctx), "DROP TABLE "+copyStateTable)
			return fmt.Errorf("%w: give --to another database than --from", ErrSameDatabase)
		}
	}
	return nil
}

// recordSourceCounts writes src's row counts into dst's mark: from then
// on, a copy into dst resumes, if src still has those counts.
func recordSourceCounts(ctx context.Context, dst *Store, counts []int64) error {
	m := map[string]int64{}
	for i, t := range copyTables {
		m[t.name] = counts[i]
	}
	raw, _ := json.Marshal(m)
	if _, err := dst.db.ExecContext(ctx, rebind(dst.dialect, "UPDATE "+copyStateTable+" SET source_counts = ?"), string(raw)); err != nil {
		return fmt.Errorf("sqlstore: copy: marking the target: %w", err)
	}
	return nil
}

// emptyTables deletes every row of copyTables in dst, the referring
// tables first.
func emptyTables(ctx context.Context, dst *Store) error {
	for _, t := range slices.Backward(copyTables) {
		if _, err := dst.db.ExecContext(ctx, "DELETE FROM "+t.name); err != nil {
			return fmt.Errorf("sqlstore: copy: emptying the target's %s: %w", t.name, err)
		}
	}
	return nil
}

// hasTable reports whether the table exists in s.
func (s *Store) hasTable(ctx context.Context, name string) (bool, error) {
	var query string
	switch s.dialect {
	case SQLite:
		query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
	case Postgres:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1"
	case MySQL:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?"
	}
	var n int
	err := s.db.QueryRowContext(ctx, query, name).Scan(&n)
	return n > 0, err
}
