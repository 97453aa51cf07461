package sqlstore_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authkit/authkit/sqlstore"
)

// starterEnv makes the test binary a starter (see startInstances).
const starterEnv = "AUTHKIT_SQLSTORE_STARTER"

// Two instances that start at the same moment on a new SQLite file both
// come up, 50 times of 50. They are two processes, as in production: the
// first connection of each turns WAL on, and SQLite makes one of the two
// give up at once with "database is locked", busy timeout or not (see
// TestSQLiteStartWaitsForAnotherWriter). Without the retry, an instance
// failed in Open in about one round of 20: that depends on timing, so this
// test can miss such a regression, which that test catches every time.
func TestSQLiteInstancesStartTogether(t *testing.T) {
	if os.Getenv(starterEnv) != "" {
		serveStarts()
		return
	}
	instances := startInstances(t, 2)
	dir := t.TempDir()
	const rounds = 50
	failed := 0
	for round := range rounds {
		path := filepath.Join(dir, fmt.Sprintf("%d.db", round))
		for _, in := range instances {
			in.send("open", path)
		}
		ok := true
		for i, in := range instances {
			if got := in.result(); got != "ok" {
				t.Errorf("round %d, instance %d: %s", round, i, got)
				ok = false
			}
		}
		if !ok {
			failed++
		}
	}
	require.Zero(t, failed, "rounds of %d in which an instance did not come up", rounds)
}

// starter is a child process that opens and migrates SQLite files on
// demand, as an instance of an app does when it starts.
type starter struct {
	t   *testing.T
	in  io.WriteCloser
	out *bufio.Scanner
}

// startInstances starts n starters and waits until each is ready, so
// that the start of a process does not keep instances apart.
func startInstances(t *testing.T, n int) []*starter {
	t.Helper()
	var out []*starter
	for range n {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteInstancesStartTogether$")
		cmd.Env = append(os.Environ(), starterEnv+"=1")
		cmd.Stderr = os.Stderr
		in, err := cmd.StdinPipe()
		require.NoError(t, err)
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			in.Close() // the starter ends at the end of its input
			cmd.Wait()
		})
		out = append(out, &starter{t: t, in: in, out: bufio.NewScanner(stdout)})
	}
	for _, s := range out {
		require.Equal(t, "ready", s.result())
	}
	return out
}

// send asks the starter to start on the file at path: how is "open" for
// [sqlstore.Open], "new" for [sqlstore.New] on a pool of its own.
func (s *starter) send(how, path string) {
	_, err := fmt.Fprintf(s.in, "%s %s\n", how, path)
	require.NoError(s.t, err)
}

// result returns the starter's next answer: "ok" or an error.
func (s *starter) result() string {
	for s.out.Scan() {
		if answer, ok := strings.CutPrefix(s.out.Text(), "starter: "); ok {
			return answer
		}
	}
	return fmt.Sprintf("the starter stopped (%v)", s.out.Err())
}

// serveStarts is the starter's body: it starts on each file it is sent.
func serveStarts() {
	fmt.Println("starter: ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		how, path, _ := strings.Cut(in.Text(), " ")
		answer := "ok"
		if err := startOn(how, path); err != nil {
			answer = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Println("starter: " + answer)
	}
}

// startOn opens the SQLite file at path as how says and migrates it.
func startOn(how, path string) error {
	var s *sqlstore.Store
	switch how {
	case "open":
		var err error
		if s, err = sqlstore.Open(path); err != nil {
			return err
		}
	case "new":
		// A host's own pool, set up as New asks; it connects first in
		// Migrate.
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			return err
		}
		defer db.Close()
		if s, err = sqlstore.New(db, sqlstore.SQLite); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown start %q", how)
	}
	defer s.Close()
	return s.Migrate(context.Background())
}

// The statement that failed is PRAGMA journal_mode=WAL, which the first
// connection of a pool runs on a new file: it reads the file's header
// and then asks for the write lock to rewrite it, and SQLite answers
// SQLITE_BUSY at once, busy timeout or not, when another connection
// holds that lock, as the other instance does while it makes the file
// WAL. Open (and Migrate, for a pool given to New, which connects first
// there) wait until the lock is free.
func TestSQLiteStartWaitsForAnotherWriter(t *testing.T) {
	for _, how := range []string{"open", "new"} {
		t.Run(how, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "auth.db")
			holder, err := sql.Open("sqlite", "file:"+path) // a rollback journal, as every new file has
			require.NoError(t, err)
			defer holder.Close()
			conn, err := holder.Conn(ctx)
			require.NoError(t, err)
			defer conn.Close()
			_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
			require.NoError(t, err)
			released := make(chan struct{})
			time.AfterFunc(100*time.Millisecond, func() {
				defer close(released)
				conn.ExecContext(ctx, "ROLLBACK")
			})

			require.NoError(t, startOn(how, path))
			select {
			case <-released:
			default:
				t.Fatal("came up while another connection held the write lock")
			}
		})
	}
}

// Migrate retries for a bounded time, and no longer than its context
// allows, then says the database stayed locked, and where.
func TestSQLiteMigrateGivesUpOnALockHeldTooLong(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	open(t, path) // WAL, migrated
	holder := open(t, path)
	conn, err := holder.DB().Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, "BEGIN IMMEDIATE")
	require.NoError(t, err)
	defer conn.ExecContext(ctx, "ROLLBACK")

	// A pool with no busy timeout: each try fails at once.
	db, err := sql.Open("sqlite", "file:"+path+"?_txlock=immediate")
	require.NoError(t, err)
	defer db.Close()
	s, err := sqlstore.New(db, sqlstore.SQLite)
	require.NoError(t, err)

	sqlstore.SetBusyBudget(s, 300*time.Millisecond)
	start := time.Now()
	err = s.Migrate(ctx)
	took := time.Since(start)
	require.Error(t, err)
	reported, evalErr := filepath.EvalSymlinks(path) // as SQLite reports it
	require.NoError(t, evalErr)
	require.Equal(t, "sqlstore: migrate "+reported+": the database stayed locked by another connection or process through every retry: database is locked (5) (SQLITE_BUSY)", err.Error())
	require.GreaterOrEqual(t, took, 300*time.Millisecond, "it retried")
	require.Less(t, took, 3*time.Second, "for the budget only")

	sqlstore.SetBusyBudget(s, time.Minute)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	err = s.Migrate(short)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second, "it stopped with its context")
}

// A start-up error names its cause and the path, where SQLite says only
// "unable to open database file".
func TestSQLiteStartErrorsNameTheCause(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "auth.db")
	_, err := sqlstore.Open(path)
	require.EqualError(t, err, "sqlstore: open "+path+": the directory "+filepath.Join(dir, "missing")+" does not exist")
	require.ErrorIs(t, err, fs.ErrNotExist)
	var driver *sqlite.Error
	require.ErrorAs(t, err, &driver, "the driver's error stays within")
	require.Equal(t, sqlite3.SQLITE_CANTOPEN, driver.Code())

	_, err = sqlstore.Open("file:" + path + "?_pragma=synchronous(NORMAL)")
	require.EqualError(t, err, "sqlstore: open "+path+": the directory "+filepath.Join(dir, "missing")+" does not exist", "a file: URI")

	_, err = sqlstore.Open(dir)
	require.EqualError(t, err, "sqlstore: open "+dir+": "+dir+" is a directory, not a database file")

	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	path = filepath.Join(file, "auth.db")
	_, err = sqlstore.Open(path)
	require.EqualError(t, err, "sqlstore: open "+path+": "+file+" is not a directory")
}

// A file or directory this process may not write is named as such: the
// directory of a new file, a read-only file, an unreadable file, the
// directory where SQLite must make the WAL files of an existing one.
func TestSQLiteStartErrorsNamePermissions(t *testing.T) {
	if !asUnprivileged(t) {
		return
	}
	ctx := context.Background()
	// start opens and migrates path, as an app does at start.
	start := func(path string) error {
		s, err := sqlstore.Open(path)
		if err != nil {
			return err
		}
		defer s.Close()
		return s.Migrate(ctx)
	}
	// made returns the path of a migrated database, closed, in a
	// directory of its own.
	made := func(t *testing.T) (dir, path string) {
		dir = t.TempDir()
		path = filepath.Join(dir, "auth.db")
		require.NoError(t, start(path))
		return dir, path
	}
	chmod := func(t *testing.T, path string, mode os.FileMode) {
		require.NoError(t, os.Chmod(path, mode))
		t.Cleanup(func() { os.Chmod(path, 0o700) })
	}

	t.Run("directory not writable", func(t *testing.T) {
		dir := t.TempDir()
		chmod(t, dir, 0o500)
		path := filepath.Join(dir, "auth.db")
		err := start(path)
		require.EqualError(t, err, "sqlstore: open "+path+": permission denied: the directory "+dir+" is not writable by this process")
		require.ErrorIs(t, err, fs.ErrPermission)
	})
	t.Run("directory not reachable", func(t *testing.T) {
		outer := t.TempDir()
		dir := filepath.Join(outer, "app")
		require.NoError(t, os.Mkdir(dir, 0o700))
		chmod(t, outer, 0o600) // no search permission
		path := filepath.Join(dir, "auth.db")
		err := start(path)
		require.EqualError(t, err, "sqlstore: open "+path+": permission denied: the directory "+dir+" cannot be reached by this process")
		require.ErrorIs(t, err, fs.ErrPermission)
	})
	t.Run("file read-only", func(t *testing.T) {
		_, path := made(t)
		chmod(t, path, 0o400)
		err := start(path)
		require.EqualError(t, err, "sqlstore: migrate "+path+": permission denied: the file "+path+" is not writable by this process",
			"Migrate, not the first sign-in")
		require.ErrorIs(t, err, fs.ErrPermission)
	})
	t.Run("file not readable", func(t *testing.T) {
		_, path := made(t)
		chmod(t, path, 0o200)
		err := start(path)
		require.EqualError(t, err, "sqlstore: open "+path+": permission denied: the file "+path+" is not readable by this process")
		require.ErrorIs(t, err, fs.ErrPermission)
	})
	t.Run("directory of a file not writable", func(t *testing.T) {
		dir, path := made(t)
		chmod(t, dir, 0o500)
		err := start(path)
		require.EqualError(t, err, "sqlstore: open "+path+": permission denied: the directory "+dir+" is not writable by this process, and SQLite must make auth.db-wal there")
		require.ErrorIs(t, err, fs.ErrPermission)
	})
}
