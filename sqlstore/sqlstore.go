// Package sqlstore keeps authkit's users, sessions, one-time tokens and
// rate-limit counts in a SQL database: SQLite (embedded, pure Go, no cgo: the default for a single
// server), PostgreSQL or MySQL/MariaDB (for production and for many
// instances sharing one database).
//
// A [Store] is an [authkit.Store] with every optional capability the kit
// looks for: [authkit.PhoneStore] (phone accounts),
// [authkit.SessionUserFinder] (a session and its user in one query),
// [authkit.UserLister] (every user, or a page of them, by id byte for
// byte, read a page at a time), [authkit.Limiter]
// and [authkit.Cleaner] (below), [authkit.Courier] (the messages the
// kit promised, in the authkit_intents table: instances on one database
// claim them with FOR UPDATE SKIP LOCKED on PostgreSQL and MySQL 8.0 or
// MariaDB 10.6 and later, and through SQLite's one writer at a time), and
// [authkit.RevocationLog] and [authkit.RevocationNotifier] (below).
//
// # Opening
//
// [Open] takes a DSN and picks the database from it:
//
//	sqlstore.Open("./authkit.db")                                  // SQLite file, made if missing
//	sqlstore.Open(":memory:")                                      // SQLite in memory (tests)
//	sqlstore.Open("postgres://user:pw@db.example.com:5432/app")    // PostgreSQL (pgx)
//	sqlstore.Open("mysql://user:pw@db.example.com:3306/app")       // MySQL or MariaDB
//
// [New] wraps a *sql.DB the host opened itself. Either way, call
// [Store.Migrate] before use: it creates or upgrades the authkit_* tables
// and is safe to call from every instance at start-up, at the same moment.
//
// # SQLite at start-up
//
// Instances (processes) that start together on one SQLite file all come
// up, a new file included. The first connection of each turns on WAL
// journaling (PRAGMA journal_mode=WAL), and while one does, SQLite makes
// another fail at once with "database is locked" there, whatever the busy
// timeout: the statement holds a read lock when it asks for the write
// lock, and SQLite waits for no lock then, as waiting could deadlock. [Open] and [Store.Migrate]
// retry such failures (SQLITE_BUSY, SQLITE_LOCKED) from the start, for up
// to five seconds, with a growing delay; Migrate also stops when its
// context ends. A lock that outlasts that is an error that says so.
//
// When Open or Migrate cannot use the file, the error names the file and,
// where the file system tells, the cause that SQLite's "unable to open
// database file" leaves out:
//
//	sqlstore: open /var/lib/app/auth.db: the directory /var/lib/app does not exist
//	sqlstore: open /var/lib/app/auth.db: permission denied: the directory /var/lib/app is not writable by this process
//	sqlstore: open /var/lib/app/auth.db: permission denied: the file /var/lib/app/auth.db is not readable by this process
//	sqlstore: migrate /var/lib/app/auth.db: permission denied: the file /var/lib/app/auth.db is not writable by this process
//	sqlstore: migrate /var/lib/app/auth.db: disk full: no space is left on the file system that holds /var/lib/app: database or disk is full (13)
//	sqlstore: migrate /var/lib/app/auth.db: the database stayed locked by another connection or process through every retry: database is locked (5) (SQLITE_BUSY)
//
// A directory must let the process make files in it even when the
// database exists: WAL mode keeps auth.db-wal and auth.db-shm beside it.
// A file the process may read but not write fails in Migrate, which makes
// a write that changes nothing, rather than at the first sign-in. Such an
// error matches [errors.Is] with [fs.ErrPermission] or [fs.ErrNotExist]
// when that is the cause, and [errors.As] with the driver's
// *sqlite.Error.
//
// # Concurrency and many instances
//
// Every one-time token and code is spent by a conditional statement whose
// affected-row count says who won, so N instances racing for one token get
// exactly one success. A user is written in a transaction that locks its
// row before checking the conditions of the write (see [Store.UpdateUser]),
// so racing writers neither undo each other's fields nor act on a row that
// has changed. [Store.DeleteUser] deletes a user with their sessions and
// tokens in one transaction. Nothing is cached in the process: a sign-out
// on one instance is seen by the next request on any other.
//
// # Revocation log
//
// The kit may cache sessions in each instance ([authkit.Config.SessionCache]);
// the Store still does not, but it tells the instances what to drop. Every
// change that may end a session logs, in its own transaction, one row in
// authkit_revocations: [Store.DeleteSession] that deleted one logs
// {user, session}; [Store.DeleteUserSessions], [Store.DeleteUser] and
// [Store.UpdateUser] of any field but LastLoginAt log {user, ""}. A
// change that fails logs nothing. The rows are numbered 1, 2, 3… from a
// one-row counter (authkit_revocation_seq) that the transaction raises as
// its last write: its row stays locked to the commit, so the numbers
// follow the commits with no gap, a rollback gives its number back, and a
// reader that has seen n never finds a later row numbered n or less
// ([Store.Revocations], [Store.LastRevocation]). Every such write waits
// on the counter for the ones before it to commit: revocations are
// written one at a time per database (sign-outs and user changes, not
// the sign-ins and requests, which log nothing).
//
// On PostgreSQL the same transaction notifies the channel
// authkit_revocations, which the server delivers at the commit:
// [Store.Listen] holds a connection of its own that LISTENs there, so
// instances read the log at once rather than at their next poll. The
// channel is the database's, not a schema's, so a notice names its
// schema and a listener wakes only for its own. SQLite and
// MySQL have no such notices ([Store.Listen] returns
// [errors.ErrUnsupported]); their instances poll.
//
// An instance of a release before the log changes users and sessions
// without logging: turn the session cache on only once every instance on
// the database runs a release that logs.
//
// # Limits
//
// A Store implements [authkit.Limiter], so the kit's abuse limits are
// counted in the authkit_limits table and shared by every instance on the
// database: each hit is one upsert.
//
// # Expiry
//
// A Store implements [authkit.Cleaner]: [authkit.Kit.Cleanup] deletes
// expired sessions and tokens, ended limit windows and revocations older
// than [authkit.RevocationRetention] in bulk, and
// [authkit.Kit.RunJanitor] does so on a timer.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authkit/authkit"
)

// The core and the capabilities a Store implements ([authkit.Limiter] in
// limiter.go, [authkit.Courier] in intents.go, [authkit.RevocationLog]
// and [authkit.RevocationNotifier] in revocations.go).
var (
	_ authkit.Store             = (*Store)(nil)
	_ authkit.PhoneStore        = (*Store)(nil)
	_ authkit.SessionUserFinder = (*Store)(nil)
	_ authkit.Cleaner           = (*Store)(nil)
	_ authkit.UserLister        = (*Store)(nil)
)

// Dialect names the SQL database behind a *sql.DB.
type Dialect int

// The databases a Store works with.
const (
	SQLite   Dialect = iota + 1 // modernc.org/sqlite, driver name "sqlite"
	Postgres                    // github.com/jackc/pgx/v5/stdlib, driver name "pgx"
	MySQL                       // github.com/go-sql-driver/mysql, driver name "mysql"
)

func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	case MySQL:
		return "mysql"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// Store is an [authkit.Store] in a SQL database, and an
// [authkit.PhoneStore], [authkit.SessionUserFinder], [authkit.Cleaner],
// [authkit.UserLister], [authkit.Limiter], [authkit.Courier],
// [authkit.RevocationLog] and [authkit.RevocationNotifier]. It is safe
// for concurrent use; make one with [Open] or [New].
type Store struct {
	db      *sql.DB
	dialect Dialect
	owned   bool // Close closes db: Open opened it
	sql     *queries
	// writeTx are the options of the store's write transactions. On MySQL
	// they read committed data: at its default (REPEATABLE READ), the
	// DELETE that voids a user's older tokens takes gap locks, and two
	// users' concurrent requests deadlock on each other's inserts.
	writeTx *sql.TxOptions
	// path is the SQLite file Open opened, for errors; "" if in memory
	// or unknown (a pool given to New).
	path string
	// busyBudget is how long Migrate retries on SQLite while another
	// connection holds the lock (see the constant busyBudget).
	busyBudget time.Duration

	// hot holds the statements of the request path, prepared on first use
	// (after Migrate has made the tables).
	hot sync.Map // query string -> *sql.Stmt
}

// queryRow runs a query that returns one row through a prepared statement,
// so the database parses and plans it once per connection, not per call.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := s.hot.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		// No statement (no table yet, say): the plain query reports why.
		return s.db.QueryRowContext(ctx, query, args...)
	}
	if prev, loaded := s.hot.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// New returns a Store over db, which the host opened with the driver of
// dialect (see [Dialect]) and still owns: Close leaves it open. A SQLite
// db should enable foreign keys and a busy timeout, and begin its
// transactions IMMEDIATE (the driver's _txlock=immediate), as [Open] does:
// [Store.UpdateUser] reads and then writes in one transaction, and a
// deferred one fails with SQLITE_BUSY when another writer goes first.
func New(db *sql.DB, dialect Dialect) (*Store, error) {
	switch dialect {
	case SQLite, Postgres, MySQL:
	default:
		return nil, fmt.Errorf("sqlstore: unknown dialect %v", dialect)
	}
	return newStore(db, dialect, false)
}

// Open connects to the database that dsn names and returns a Store that
// owns the connection pool. The forms of dsn:
//
//   - "postgres://…" or "postgresql://…": PostgreSQL, in pgx's URL form
//     (parameters such as sslmode and search_path pass through).
//   - "mysql://user:password@host:port/database?param=value": MySQL or
//     MariaDB; parameters are go-sql-driver/mysql's.
//   - ":memory:": a SQLite database in memory, gone when the Store closes.
//   - anything else: a SQLite file path, or a "file:" URI; the file is made
//     if missing. WAL journaling, a 10-second busy timeout and foreign keys
//     are turned on.
//
// SQLite's synchronous level stays FULL, SQLite's default: a write (a
// sign-out, a password reset, a spent link) is on the disk before it
// returns. NORMAL is several times cheaper per write, and a crash of the
// process loses nothing, but a power loss or an OS crash can undo the
// last writes, and so bring back a session that was signed out or a link
// that was spent. Choose it with a "file:" URI, whose parameters pass
// through: "file:auth.db?_pragma=synchronous(NORMAL)".
//
// Open checks that the database answers. Call [Store.Migrate] next. On
// SQLite it waits out another instance opening the same file, and its
// errors name the file and the cause (see "SQLite at start-up" above).
func Open(dsn string) (*Store, error) {
	driver, source, dialect, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: opening %v: %w", dialect, err)
	}
	if dialect == SQLite {
		if source == memoryDSN {
			// Every connection to ":memory:" is a database of its own:
			// keep exactly one, forever.
			db.SetMaxOpenConns(1)
			db.SetMaxIdleConns(1)
			db.SetConnMaxLifetime(0)
			db.SetConnMaxIdleTime(0)
		} else {
			// SQLite has one writer at a time; more connections only
			// queue on its lock.
			db.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
		}
	}
	if dialect != SQLite {
		if err := db.Ping(); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlstore: connecting to %v: %w", dialect, err)
		}
		return newStore(db, dialect, true)
	}
	// The first connection turns WAL on, which another process opening
	// the file at the same moment can refuse with SQLITE_BUSY, however
	// long the busy timeout: see busyBudget.
	path := sqliteFile(dsn)
	if err := retryBusy(context.Background(), busyBudget, db.Ping); err != nil {
		db.Close()
		return nil, sqliteError("open", path, err)
	}
	s, err := newStore(db, dialect, true)
	if err == nil {
		s.path = path
	}
	return s, err
}

func newStore(db *sql.DB, dialect Dialect, owned bool) (*Store, error) {
	s := &Store{db: db, dialect: dialect, owned: owned, sql: newQueries(dialect), busyBudget: busyBudget}
	if dialect == MySQL {
		s.writeTx = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	return s, nil
}

// sqlitePragmas are set on every SQLite connection Open makes.
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"

// memoryDSN is the source Open gives the driver for ":memory:".
const memoryDSN = "file::memory:?" + sqlitePragmas

// parseDSN returns the driver name and its data source for dsn.
func parseDSN(dsn string) (driver, source string, d Dialect, err error) {
	switch {
	case dsn == "":
		return "", "", 0, errors.New("sqlstore: empty DSN")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "pgx", dsn, Postgres, nil
	case strings.HasPrefix(dsn, "mysql://"):
		source, err := mysqlSource(dsn)
		return "mysql", source, MySQL, err
	case dsn == ":memory:":
		return "sqlite", memoryDSN, SQLite, nil
	case strings.Contains(dsn, "://"):
		scheme, _, _ := strings.Cut(dsn, "://")
		return "", "", 0, fmt.Errorf("sqlstore: unknown database %q: use postgres://, mysql://, :memory: or a SQLite file path", scheme)
	case strings.HasPrefix(dsn, "file:"):
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return "sqlite", dsn + sep + sqlitePragmas + "&_pragma=journal_mode(WAL)", SQLite, nil
	default:
		return "sqlite", "file:" + (&url.URL{Path: dsn}).EscapedPath() + "?" + sqlitePragmas + "&_pragma=journal_mode(WAL)", SQLite, nil
	}
}

// mysqlSource turns a mysql:// URL into go-sql-driver/mysql's DSN.
func mysqlSource(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("sqlstore: MySQL DSN: %w", err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || db == "" || strings.Contains(db, "/") {
		return "", errors.New("sqlstore: a MySQL DSN is mysql://user:password@host:port/database")
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, db
	if q := u.RawQuery; q != "" {
		// Let the driver parse (and check) its own parameters.
		parsed, err := mysql.ParseDSN("/?" + q)
		if err != nil {
			return "", fmt.Errorf("sqlstore: MySQL DSN: %w", err)
		}
		parsed.User, parsed.Passwd, parsed.Net, parsed.Addr, parsed.DBName = cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName
		cfg = parsed
	}
	// UPDATE reports the rows it matched, not only those it changed.
	cfg.ClientFoundRows = true
	return cfg.FormatDSN(), nil
}

// DB returns the connection pool, for the host to tune (SetMaxOpenConns…)
// or to share.
func (s *Store) DB() *sql.DB { return s.db }

// Dialect reports the database behind the Store.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connection pool if [Open] opened it; a pool given to
// [New] stays open.
func (s *Store) Close() error {
	s.hot.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// isDuplicate reports whether err is a unique-key violation.
func (s *Store) isDuplicate(err error) bool {
	var pg *pgconn.PgError
	var my *mysql.MySQLError
	var lite *sqlite.Error
	switch {
	case errors.As(err, &pg):
		return pg.Code == "23505" // unique_violation
	case errors.As(err, &my):
		return my.Number == 1062 // ER_DUP_ENTRY
	case errors.As(err, &lite):
		return lite.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || lite.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// nullIfEmpty stores "" as NULL, so that unique indexes allow many.
func nullIfEmpty(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
