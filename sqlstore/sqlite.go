package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLite start-up: instances that open one file at the same moment take
// turns instead of failing, and a file that cannot be opened or written
// says why, with its path.

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

// startError is a SQLite error of Open or Migrate, with its path and, where
// the file system tells, its cause in words. It unwraps to the driver's
// error and to [fs.ErrPermission] or [fs.ErrNotExist] when that is the
// cause.
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
// the database at path. SQLite says "unable to open database file" for a
// directory that is missing or not writable alike, and "attempt to write a
// readonly database" when it opened a file it may not write; the file
// system tells which.
func explain(path string, code int, err error) (cause string, kind error) {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return "the database stayed locked by another connection or process through every retry: " + err.Error(), nil
	case sqlite3.SQLITE_FULL:
		where := "the disk"
		if path != "" {
			where = "the file system that holds " + filepath.Dir(path)
		}
		return "disk full: no space is left on " + where + ": " + err.Error(), nil
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_IOERR:
		if path != "" {
			if cause, kind := checkFileSystem(path); cause != "" {
				return cause, kind
			}
		}
	}
	return err.Error(), nil
}

// checkFileSystem looks for the reason this process cannot read and write
// the SQLite file at path, and its journal files beside it: a missing or
// unwritable directory, an unreadable or unwritable file. It returns ""
// when it finds none.
func checkFileSystem(path string) (cause string, kind error) {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "the directory " + dir + " does not exist", fs.ErrNotExist
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: the directory " + dir + " cannot be reached by this process", fs.ErrPermission
	case errors.Is(err, syscall.ENOTDIR), err == nil && !st.IsDir():
		return dir + " is not a directory", nil
	case err != nil:
		return "", nil
	}
	st, err = os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// SQLite makes the file: the directory must let it.
		return checkDirWritable(dir, "")
	case err != nil:
		return "", nil
	case st.IsDir():
		return path + " is a directory, not a database file", nil
	}
	if cause, kind := checkFile(path, os.O_RDONLY, "readable"); cause != "" {
		return cause, kind
	}
	if cause, kind := checkFile(path, os.O_RDWR, "writable"); cause != "" {
		return cause, kind
	}
	// In WAL mode SQLite writes path-wal and path-shm beside the file.
	for _, journal := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Stat(journal); errors.Is(err, fs.ErrNotExist) {
			if cause, kind := checkDirWritable(dir, filepath.Base(journal)); cause != "" {
				return cause, kind
			}
		} else if cause, kind := checkFile(journal, os.O_RDWR, "writable"); cause != "" {
			return cause, kind
		}
	}
	return "", nil
}

// checkFile opens the file at path with flag and names why that failed.
func checkFile(path string, flag int, able string) (cause string, kind error) {
	f, err := os.OpenFile(path, flag, 0)
	switch {
	case err == nil:
		f.Close()
		return "", nil
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: the file " + path + " is not " + able + " by this process", fs.ErrPermission
	case errors.Is(err, syscall.EROFS):
		return "the file " + path + " is on a read-only file system", nil
	}
	return "", nil
}

// checkDirWritable makes and removes a file in dir, to learn whether this
// process may make one there (as SQLite must: the database, or the
// journal named journal), and names why not.
func checkDirWritable(dir, journal string) (cause string, kind error) {
	f, err := os.CreateTemp(dir, ".authkit-probe-*")
	if err == nil {
		f.Close()
		os.Remove(f.Name())
		return "", nil
	}
	why := ""
	if journal != "" {
		why = ", and SQLite must make " + journal + " there"
	}
	switch {
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: the directory " + dir + " is not writable by this process" + why, fs.ErrPermission
	case errors.Is(err, syscall.EROFS):
		return "the directory " + dir + " is on a read-only file system" + why, nil
	case errors.Is(err, syscall.ENOSPC):
		return "disk full: no space is left on the file system that holds " + dir, nil
	}
	return "", nil
}
