package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// migrations holds each dialect's schema as numbered steps:
// migrations/<dialect>/0001_name.sql, applied in order, each once.
//
//go:embed migrations
var migrations embed.FS

// migration is one numbered step of a dialect's schema.
type migration struct {
	version    int
	name       string
	statements []string
}

// loadMigrations returns the dialect's steps in order.
func loadMigrations(d Dialect) ([]migration, error) {
	dir := path.Join("migrations", d.String())
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return nil, err
	}
	var list []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("sqlstore: migration %s is not named NNNN_name.sql", e.Name())
		}
		body, err := fs.ReadFile(migrations, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		list = append(list, migration{version: v, name: e.Name(), statements: splitStatements(string(body))})
	}
	slices.SortFunc(list, func(a, b migration) int { return a.version - b.version })
	return list, nil
}

// splitStatements cuts a migration at the semicolons that end its lines.
// The migrations hold no semicolon elsewhere, and no comment-only statement
// survives.
func splitStatements(body string) []string {
	var out []string
	for _, part := range strings.SplitAfter(body, ";\n") {
		code := false
		for _, line := range strings.Split(part, "\n") {
			if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
				code = true
			}
		}
		if code {
			out = append(out, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")))
		}
	}
	return out
}

const createVersionTable = `CREATE TABLE IF NOT EXISTS authkit_schema (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at BIGINT  NOT NULL
)`

// migrationLockID is the PostgreSQL advisory lock that Migrate holds.
const migrationLockID = 0x6175746b6974 // "authkit"

// Migrate creates or upgrades the schema: the authkit_* tables and their
// indexes, recording each step applied in authkit_schema. It is idempotent,
// and safe to run from many instances at once: they take turns under a
// lock (an advisory lock on PostgreSQL, GET_LOCK on MySQL, the write lock on
// SQLite), and each step runs once. A database already at a newer version
// than this code knows is left as it is.
//
// On SQLite, Migrate retries while another connection holds the lock, for
// up to five seconds or until ctx ends, fails on a file it may not write
// even when there is nothing to apply, and names the file and the cause
// in its errors (see the package doc, "SQLite at start-up").
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrate(ctx, 0)
}

// migrate is Migrate, applying only the steps up to version upTo when upTo
// is not 0: the tests make a database of an older release this way.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	steps, err := loadMigrations(s.dialect)
	if err != nil {
		return fmt.Errorf("sqlstore: reading migrations: %w", err)
	}
	if upTo != 0 {
		steps = slices.DeleteFunc(steps, func(m migration) bool { return m.version > upTo })
	}
	if s.dialect == SQLite {
		// A try that met another connection's lock rolled back whole:
		// try again (see busyBudget).
		err := retryBusy(ctx, s.busyBudget, func() error { return s.migrateOnce(ctx, steps) })
		if err != nil {
			return sqliteError("migrate", s.sqlitePath(ctx), err)
		}
		return nil
	}
	if err := s.migrateOnce(ctx, steps); err != nil {
		return fmt.Errorf("sqlstore: migrating: %w", err)
	}
	return nil
}

// migrateOnce applies steps on a connection of its own, under the
// dialect's migration lock.
func (s *Store) migrateOnce(ctx context.Context, steps []migration) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	switch s.dialect {
	case Postgres:
		return s.migrateInTx(ctx, conn, steps, "SELECT pg_advisory_xact_lock("+strconv.Itoa(migrationLockID)+")")
	case SQLite:
		return s.migrateInTx(ctx, conn, steps, "")
	case MySQL:
		return s.migrateMySQL(ctx, conn, steps)
	}
	return nil
}

// sqlitePath returns the SQLite file behind the Store, for errors: the one
// Open opened, or else the one SQLite reports ("" in memory, or if it
// cannot say).
func (s *Store) sqlitePath(ctx context.Context) string {
	if s.path != "" {
		return s.path
	}
	var file string
	s.db.QueryRowContext(context.WithoutCancel(ctx), "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file)
	return file
}

// migrateInTx applies steps in one transaction, for databases whose DDL is
// transactional: all of it lands or none. lock, if set, is run first to
// take the migration lock for the transaction's life.
func (s *Store) migrateInTx(ctx context.Context, conn *sql.Conn, steps []migration, lock string) (err error) {
	begin, commit, rollback := "BEGIN", "COMMIT", "ROLLBACK"
	if s.dialect == SQLite {
		begin = "BEGIN IMMEDIATE" // the write lock now, not at the first write
	}
	if _, err := conn.ExecContext(ctx, begin); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), rollback)
		}
	}()
	if lock != "" {
		if _, err := conn.ExecContext(ctx, lock); err != nil {
			return err
		}
	}
	if err := s.applySteps(ctx, conn, steps); err != nil {
		return err
	}
	if s.dialect == SQLite {
		// SQLite opens a file it may not write read-only, takes BEGIN
		// IMMEDIATE as BEGIN there, and fails only at the first write:
		// make that now, changing nothing, rather than at a sign-in.
		if _, err := conn.ExecContext(ctx, "UPDATE authkit_schema SET version = version WHERE version < 0"); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, commit)
	return err
}

// migrateMySQL applies steps under a named lock. MySQL commits each DDL
// statement on its own, so a step is recorded right after it lands.
func (s *Store) migrateMySQL(ctx context.Context, conn *sql.Conn, steps []migration) error {
	const name = "CONCAT('authkit_migrate:', DATABASE())"
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK("+name+", 60)").Scan(&got); err != nil {
		return err
	}
	if got.Int64 != 1 {
		return fmt.Errorf("another instance held the migration lock for 60 seconds")
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DO RELEASE_LOCK("+name+")")
	return s.applySteps(ctx, conn, steps)
}

// applySteps runs the steps the database has not recorded yet. The caller
// holds the migration lock.
func (s *Store) applySteps(ctx context.Context, conn *sql.Conn, steps []migration) error {
	if _, err := conn.ExecContext(ctx, createVersionTable); err != nil {
		return err
	}
	applied := map[int]bool{}
	rows, err := conn.QueryContext(ctx, "SELECT version FROM authkit_schema")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	record := rebind(s.dialect, "INSERT INTO authkit_schema (version, applied_at) VALUES (?, ?)")
	for _, m := range steps {
		if applied[m.version] {
			continue
		}
		for _, stmt := range m.statements {
			if _, err := conn.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
		}
		if _, err := conn.ExecContext(ctx, record, m.version, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
	}
	return nil
}

// Version reports the newest schema step applied to the database, 0 before
// the first Migrate.
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM authkit_schema").Scan(&v)
	if err != nil {
		if exists, _ := s.hasVersionTable(ctx); !exists {
			return 0, nil
		}
		return 0, fmt.Errorf("sqlstore: reading the schema version: %w", err)
	}
	return int(v.Int64), nil
}

// hasVersionTable reports whether authkit_schema exists.
func (s *Store) hasVersionTable(ctx context.Context) (bool, error) {
	var query string
	switch s.dialect {
	case SQLite:
		query = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'authkit_schema'"
	case Postgres:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'authkit_schema'"
	case MySQL:
		query = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'authkit_schema'"
	}
	var n int
	err := s.db.QueryRowContext(ctx, query).Scan(&n)
	return n > 0, err
}
