package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/sqlstore"
)

// The exit codes; the package doc and the root command's help list them.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitIncomplete  = 4
	exitRefused     = 5
	exitSchema      = 6
	exitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0    done
  1    failed: the database could not be reached, or a write failed
  2    usage: a bad command, flag or value (an invalid email, a weak password, an email taken)
  3    not found: no such user or session
  4    incomplete: an import left rows out (refused ones, or duplicates with --duplicates report)
  5    refused, to keep data safe: a copy into a database with data or from a source
       in use, a delete without --yes
  6    schema: the database is not at this command's schema version (run authkit migrate),
       or "migrate status" found steps to apply
  130  interrupted`

// env is what a run reads and writes besides its arguments: the process's
// own in main, buffers in tests.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// exitError is an error with the exit code it ends the command with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// fail returns an error that exits with code.
func fail(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

// run runs the command line args and returns the exit code. Errors go to
// stderr as one line that says what to fix.
func run(ctx context.Context, args []string, e env) int {
	if e.getenv == nil {
		e.getenv = func(string) string { return "" }
	}
	root := newRoot(ctx, e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage // cobra's own errors: an unknown command, a bad flag
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || code == exitFailed) {
		code = exitInterrupted
		err = fmt.Errorf("interrupted: %w", err)
	}
	fmt.Fprintln(e.stderr, "authkit:", err)
	if code == exitUsage && ee == nil {
		fmt.Fprintln(e.stderr, "Run 'authkit --help' for the commands and their flags.")
	}
	return code
}

// app is a command's view of its run: flags shared by every command and
// the environment.
type app struct {
	env
	db      string // --db
	verbose bool
}

func newRoot(ctx context.Context, e env) *cobra.Command {
	a := &app{env: e}
	root := &cobra.Command{
		Use:   "authkit",
		Short: "Operate an authkit database: schema, users, sessions, imports, moves",
		Long: `authkit operates the database of an app that uses the authkit library: it
migrates the schema, manages users and their sessions, imports users from
another system, copies every table to another database, deletes expired
records and makes secrets.

The database is --db, or $AUTHKIT_DB: a SQLite file path, postgres://… or
mysql://…, as the example app takes it. AUTHKIT_SECRET (or AUTHKIT_SECRETS
while rotating), when set, is read and checked as the example app reads it.

The command runs none of the host app's hooks: a Hooks.BeforeDeleteUser does
not run for "users delete", nor AfterPasswordChange for "users set-password".
It sends no mail and no texts, and leaves the messages the app has queued for
the app to deliver.

` + exitCodesHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fail(exitUsage, "%v (see '%s --help')", err, c.CommandPath())
	})
	root.PersistentFlags().StringVar(&a.db, "db", "", "the database `DSN`: a SQLite file path, postgres://… or mysql://… (default $AUTHKIT_DB)")
	root.PersistentFlags().BoolVarP(&a.verbose, "verbose", "v", false, "log the kit's events (one line per user changed) on stderr")
	root.AddCommand(a.migrateCmd(), a.usersCmd(), a.sessionsCmd(), a.copyCmd(), a.cleanupCmd(), a.secretCmd())
	root.SetContext(ctx)
	return root
}

// dsn returns --db or $AUTHKIT_DB.
func (a *app) dsn() (string, error) {
	dsn := a.db
	if dsn == "" {
		dsn = a.getenv("AUTHKIT_DB")
	}
	if dsn == "" {
		return "", fail(exitUsage, "no database: pass --db (a SQLite file path, postgres://… or mysql://…) or set AUTHKIT_DB")
	}
	return dsn, nil
}

// openDB opens the store of --db; create lets a SQLite file be made.
func (a *app) openDB(create bool) (*sqlstore.Store, string, error) {
	dsn, err := a.dsn()
	if err != nil {
		return nil, "", err
	}
	s, err := openStore(dsn, "--db", create)
	return s, dsn, err
}

// redact hides the password of a DSN that is a URL.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

// isSQLiteFile reports whether dsn names a SQLite file by its path.
func isSQLiteFile(dsn string) bool {
	return dsn != ":memory:" && !strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "file:")
}

// openStore opens dsn. A SQLite file must exist unless create (Open would
// make an empty one for a mistyped path).
func openStore(dsn, flag string, create bool) (*sqlstore.Store, error) {
	if isSQLiteFile(dsn) && !create {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fail(exitUsage, "%s: no SQLite database at %s: check the path (authkit migrate --db %s makes one)", flag, dsn, dsn)
		}
	}
	s, err := sqlstore.Open(dsn)
	if err != nil {
		return nil, fail(exitFailed, "%s %s: %v: check the DSN and that the database server runs", flag, redact(dsn), err)
	}
	return s, nil
}

// checkSchema fails with exitSchema unless s is at the schema version this
// command knows.
func checkSchema(ctx context.Context, s *sqlstore.Store, dsn string) error {
	v, err := s.Version(ctx)
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	latest, err := sqlstore.LatestVersion(s.Dialect())
	if err != nil {
		return fail(exitFailed, "%v", err)
	}
	switch {
	case v == 0:
		return fail(exitSchema, "%s has no authkit tables: run authkit migrate --db %s first", redact(dsn), redact(dsn))
	case v < latest:
		return fail(exitSchema, "%s is at schema version %d and this command needs %d: run authkit migrate --db %s first", redact(dsn), v, latest, redact(dsn))
	case v > latest:
		return fail(exitSchema, "%s is at schema version %d, newer than this command's %d: install the authkit command of the app's release", redact(dsn), v, latest)
	}
	return nil
}

// adminStore is the store as the command's Kit sees it: every capability
// of a sqlstore.Store but authkit.Courier, so that the Kit starts no
// courier, which would deliver the app's queued messages through the
// command's mailer, which sends nothing.
type adminStore struct {
	authkit.Store
	authkit.PhoneStore
	authkit.UserLister
	authkit.SessionUserFinder
	authkit.Cleaner
	authkit.Limiter
}

func newAdminStore(s *sqlstore.Store) adminStore {
	return adminStore{s, s, s, s, s, s}
}

// noMailer is the command's Mailer and SMSSender: the commands send
// nothing (no notice is on), and a message asked for anyway fails loudly.
type noMailer struct{}

var errNoMail = errors.New("the authkit command sends no mail or texts")

func (noMailer) SendEmail(context.Context, authkit.Email) error { return errNoMail }
func (noMailer) SendSMS(context.Context, authkit.SMS) error     { return errNoMail }

// quietCourier drops the warning New logs because adminStore hides the
// Courier on purpose: it tells an app that messages may be lost, and the
// command sends none.
type quietCourier struct{ slog.Handler }

func (q quietCourier) Handle(ctx context.Context, r slog.Record) error {
	if strings.HasPrefix(r.Message, "authkit: the Store does not implement authkit.Courier") {
		return nil
	}
	return q.Handler.Handle(ctx, r)
}

// group is a command that only holds others: run without one, or with an
// unknown one, it says so (cobra would print the help and exit 0).
func group(c *cobra.Command) *cobra.Command {
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return fail(exitUsage, "%s needs a command (see '%s --help')", cmd.CommandPath(), cmd.CommandPath())
		}
		return fail(exitUsage, "unknown command %q for %s (see '%s --help')", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return c
}

// kitOptions are the settings of the command's Kit that commands change.
type kitOptions struct {
	sessionIdle time.Duration // Config.SessionIdleTimeout, for cleanup
}

// open opens the database of --db, checks its schema and builds a Kit on
// it. close closes both.
func (a *app) open(ctx context.Context, o kitOptions) (kit *authkit.Kit, s *sqlstore.Store, close func(), err error) {
	s, dsn, err := a.openDB(false)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := checkSchema(ctx, s, dsn); err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	secrets, err := a.secrets()
	if err != nil {
		s.Close()
		return nil, nil, nil, err
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelInfo
	}
	cfg := authkit.Config{
		Store:     newAdminStore(s),
		Mailer:    noMailer{},
		SMSSender: noMailer{},
		// No link is made: these only satisfy New.
		PublicURL:   "http://localhost/",
		RedirectURL: "http://localhost/",
		Secrets:     secrets,
		Logger:      slog.New(quietCourier{slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level})}),
	}
	if o.sessionIdle > 0 {
		cfg.SessionIdleTimeout = o.sessionIdle
		cfg.SessionLifetime = max(o.sessionIdle, 30*24*time.Hour)
	}
	kit, err = authkit.New(cfg)
	if err != nil {
		s.Close()
		return nil, nil, nil, fail(exitUsage, "%v", err)
	}
	return kit, s, func() {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		kit.Close(closing)
		s.Close()
	}, nil
}

// secrets reads AUTHKIT_SECRET, or AUTHKIT_SECRETS (new,old) while a
// secret is rotated, as the example app does, for Config.Secrets; unset,
// the Kit draws one (the commands keep nothing that needs it).
func (a *app) secrets() ([][]byte, error) {
	secrets, err := appenv.Secrets(a.getenv, "authkit secret")
	if err != nil {
		return nil, fail(exitUsage, "%v", err)
	}
	return secrets, nil
}

// kitError turns an error of the Kit into the command's: user_not_found
// and session_not_found exit 3, a refused value 2, the rest 1.
func kitError(err error) error {
	if err == nil {
		return nil
	}
	var ke *authkit.Error
	if !errors.As(err, &ke) {
		return fail(exitFailed, "%v", err)
	}
	switch ke.Code {
	case authkit.CodeUserNotFound, authkit.CodeSessionNotFound:
		return &exitError{code: exitNotFound, err: errors.New(ke.Message)}
	case authkit.CodeInternal, authkit.CodeUnavailable:
		return &exitError{code: exitFailed, err: err}
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%s (%s)", ke.Message, ke.Code)}
}
