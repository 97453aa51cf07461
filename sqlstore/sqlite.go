package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite start-up: instances that open one file at the same moment take
// turns instead of failing.

// busyBudget is how long Open and Migrate keep retrying a SQLite
// statement that failed because another connection held the lock.
//
// The busy timeout does not cover every such failure. SQLite calls no
// busy handler when a connection holding a read lock asks for the write
// lock, because waiting there could deadlock: one of the two must give up.
// That is what `PRAGMA journal_mode=WAL` does on a new file (it reads the
// header, then writes it), so of two processes that open a fresh file at
// once, one failed with "database is locked" in Open. Retrying the whole
// statement, from no lock, is safe: the winner has made the file WAL by
// then, and the retry only reads that.
const busyBudget = 5 * time.Second

// Bounds of the wait between two tries: it doubles from the first to the
// last, with jitter, so that instances that collided once do not collide
// again in step.
const (
	firstRetryDelay = 10 * time.Millisecond
	lastRetryDelay  = 500 * time.Millisecond
)

// sqliteCode returns the primary result code (SQLITE_BUSY…) of the SQLite
// error in err, or 0 if err holds none.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() & 0xff // the driver turns extended codes on
	}
	return 0
}

// isBusy reports whether err is SQLite's "database is locked" or "table
// is locked": another connection holds a lock that a retry may find free.
func isBusy(err error) bool {
	code := sqliteCode(err)
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// retryBusy runs op until it returns nil or an error that is not
// [isBusy], or until budget has passed since the first try, sleeping a
// growing, jittered delay between tries. It stops early when ctx ends,
// returning op's last error with ctx's.
func retryBusy(ctx context.Context, budget time.Duration, op func() error) error {
	deadline := time.Now().Add(budget)
	delay := firstRetryDelay
	for {
		err := op()
		left := time.Until(deadline)
		if err == nil || !isBusy(err) || left <= 0 {
			return err
		}
		wait := min(delay/2+rand.N(delay), left)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("%w (stopped retrying: %w)", err, context.Cause(ctx))
		case <-timer.C:
		}
		delay = min(2*delay, lastRetryDelay)
	}
}

// sqliteFile returns the file a SQLite DSN of Open names, "" for a
// database in memory.
func sqliteFile(dsn string) string {
	if dsn == ":memory:" {
		return ""
	}
	rest, ok := strings.CutPrefix(dsn, "file:")
	if !ok {
		return dsn
	}
	p, query, _ := strings.Cut(rest, "?")
	q, _ := url.ParseQuery(query)
	if p == ":memory:" || p == "" || q.Get("mode") == "memory" || q.Get("vfs") == "memdb" {
		return ""
	}
	if unescaped, err := url.PathUnescape(p); err == nil {
		p = unescaped
	}
	return p
}

// startError is a SQLite error of Open or Migrate, with its path and its
// cause in words. It unwraps to the driver's error and to
// [fs.ErrPermission] or [fs.ErrNotExist] when that is the cause.
type startError struct {
	op    string // "open" or "migrate"
	path  string // the database file, "" if unknown or in memory
	cause string
	kind  error // fs.ErrPermission, fs.ErrNotExist or nil
	err   error
}

func (e *startError) Error() string {
	if e.path == "" {
		return "sqlstore: " + e.op + ": " + e.cause
	}
	return "sqlstore: " + e.op + " " + e.path + ": " + e.cause
}

func (e *startError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// sqliteError describes err, which op ("open" or "migrate") met on the
// SQLite database at path.
func sqliteError(op, path string, err error) error {
	cause, kind := explain(path, sqliteCode(err), err)
	return &startError{op: op, path: path, cause: cause, kind: kind, err: err}
}

// explain names the cause of err, a SQLite error with result code code, on
// the database at path.
func explain(path string, code int, err error) (cause string, kind error) {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return "the database stayed locked by another connection or process through every retry: " + err.Error(), nil
	}
	return err.Error(), nil
}
