package main

// The commands on the database as a whole: migrate, copy, cleanup, and
// secret, which needs none.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/authkit/authkit/sqlstore"
)

func (a *app) migrateCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the authkit tables",
		Long: `migrate creates the authkit tables in the database, or upgrades them to this
command's schema version, as the app's Store.Migrate does at start. It is
safe to run while the app runs, and to run again. A SQLite file is made if
missing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, _, err := a.openDB(true)
			if err != nil {
				return err
			}
			defer s.Close()
			before, err := s.Version(ctx)
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			if err := s.Migrate(ctx); err != nil {
				return fail(exitFailed, "%v", err)
			}
			after, err := s.Version(ctx)
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			if after == before {
				fmt.Fprintf(a.stdout, "%s: schema at version %d, up to date\n", s.Dialect(), after)
			} else {
				fmt.Fprintf(a.stdout, "%s: schema migrated from version %d to %d\n", s.Dialect(), before, after)
			}
			return nil
		},
	}
	c.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Report the schema version, and whether migrate has steps to apply (exit 6 if so)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, dsn, err := a.openDB(false)
			if err != nil {
				return err
			}
			defer s.Close()
			v, err := s.Version(ctx)
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			latest, err := sqlstore.LatestVersion(s.Dialect())
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			fmt.Fprintf(a.stdout, "%s: schema at version %d; this command's is %d\n", s.Dialect(), v, latest)
			switch {
			case v < latest:
				return fail(exitSchema, "%d migration steps to apply: run authkit migrate --db %s", latest-v, redact(dsn))
			case v > latest:
				return fail(exitSchema, "the database is newer than this command: install the authkit command of the app's release")
			}
			return nil
		},
	})
	return c
}

func (a *app) copyCmd() *cobra.Command {
	var (
		from, to string
		opts     sqlstore.CopyOptions
	)
	c := &cobra.Command{
		Use:   "copy --from DSN --to DSN",
		Short: "Copy every authkit table to another database (SQLite to PostgreSQL, say)",
		Long: `copy moves every authkit table (users, sessions, one-time tokens, limit
counts, queued messages) from one database to another, of the same dialect or
not: a SQLite file to PostgreSQL or MySQL/MariaDB is the common move.

Stop every instance of the app that uses --from first: rows written during
the copy would be missed. copy refuses a source written in the last two
minutes (--ignore-activity to go on anyway), and checks at the end that the
source's row counts did not move and equal the target's.

--from must be at this command's schema version (authkit migrate --db FROM).
--to is migrated if it is behind, and must hold no authkit rows, unless
--force, which empties its authkit tables first.

Rows go in transactions of --batch rows, in primary-key order. A copy that
stops (an error, Ctrl-C, a kill) can be run again with the same flags: it
goes on where the target stops.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if from == "" || to == "" {
				return fail(exitUsage, "copy needs --from and --to: the database to copy and the one to fill")
			}
			src, err := openStore(from, "--from", false)
			if err != nil {
				return err
			}
			defer src.Close()
			dst, err := openStore(to, "--to", true)
			if err != nil {
				return err
			}
			defer dst.Close()
			fmt.Fprintf(a.stderr, "Copying %s (%s) to %s (%s). Every app using the source must be stopped: rows written during the copy would be missed. Interrupted, the same command resumes.\n",
				redact(from), src.Dialect(), redact(to), dst.Dialect())
			p := a.progress()
			start := time.Now()
			opts.Progress = func(cp sqlstore.CopyProgress) {
				p.show("%s: %d of %d rows (%.0f%%)", cp.Table, cp.Copied, cp.Total, percent(cp.Copied, cp.Total))
			}
			res, err := sqlstore.Copy(ctx, src, dst, opts)
			p.done()
			if err != nil {
				return copyError(err)
			}
			if res.Resumed {
				fmt.Fprintln(a.stdout, "resumed an unfinished copy")
			}
			for _, t := range res.Tables {
				fmt.Fprintf(a.stdout, "%-18s %10d rows, the same in both\n", t.Table, t.Rows)
			}
			fmt.Fprintf(a.stdout, "copied in %v; point the app at the new database\n", time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().StringVar(&from, "from", "", "the database to copy (`DSN`): a SQLite file path, postgres://… or mysql://…")
	c.Flags().StringVar(&to, "to", "", "the database to fill (`DSN`)")
	c.Flags().IntVar(&opts.Batch, "batch", 1000, "rows per transaction")
	c.Flags().BoolVar(&opts.Force, "force", false, "empty the target's authkit tables first when they hold rows")
	c.Flags().BoolVar(&opts.IgnoreActivity, "ignore-activity", false, "copy even if the source was written in the last two minutes")
	return c
}

// copyError gives the errors of sqlstore.Copy their exit codes.
func copyError(err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return fail(exitInterrupted, "%v: run the same command again to resume", err)
	case errors.Is(err, sqlstore.ErrTargetNotEmpty), errors.Is(err, sqlstore.ErrSourceActive), errors.Is(err, sqlstore.ErrSameDatabase):
		return &exitError{code: exitRefused, err: err}
	case errors.Is(err, sqlstore.ErrSchemaVersion):
		return &exitError{code: exitSchema, err: err}
	}
	return fail(exitFailed, "%v (run the same command again to resume)", err)
}

func percent(n, total int64) float64 {
	if total == 0 {
		return 100
	}
	return 100 * float64(n) / float64(total)
}

func (a *app) cleanupCmd() *cobra.Command {
	var idle time.Duration
	c := &cobra.Command{
		Use:   "cleanup",
		Short: "Delete expired sessions, links, codes, limit counts and old delivered messages",
		Long: `cleanup deletes what can no longer be used, as the app's Kit.Cleanup and
RunJanitor do: sessions expired or idle longer than --session-idle, expired
links and codes, ended limit windows, messages delivered more than a day ago
and dead letters older than 30 days. Expired records are refused whether or
not they are deleted; deleting keeps the tables small.

Give --session-idle the app's Config.SessionIdleTimeout, or sessions the app
still takes are deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kit, s, closeAll, err := a.open(ctx, kitOptions{sessionIdle: idle})
			if err != nil {
				return err
			}
			defer closeAll()
			p := a.progress()
			start := time.Now()
			stop := p.ticker(func() string {
				return fmt.Sprintf("deleting expired records… %v", time.Since(start).Round(time.Second))
			})
			n, err := kit.Cleanup(ctx)
			if err == nil {
				// The Kit sees no Courier (see adminStore): the queued
				// messages' cleanup, with the Kit's retentions.
				var m int64
				now := time.Now()
				m, err = s.DeleteFinishedIntents(ctx, now.Add(-24*time.Hour), now.Add(-30*24*time.Hour))
				n += m
			}
			stop()
			if err != nil {
				return fail(exitFailed, "%v", err)
			}
			fmt.Fprintf(a.stdout, "deleted %d expired records in %v\n", n, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	c.Flags().DurationVar(&idle, "session-idle", 7*24*time.Hour, "the app's Config.SessionIdleTimeout: sessions unused this long are deleted")
	return c
}

func (a *app) secretCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "secret",
		Short: "Print a fresh AUTHKIT_SECRET (32 random bytes, base64)",
		Long: `secret prints 32 random bytes in base64 (44 characters), the form the app's
AUTHKIT_SECRET takes (Config.Secret): export AUTHKIT_SECRET=$(authkit secret).
Give every instance the same one, and keep it out of the database. To change
it without breaking codes and sign-ins in flight, see Config.Secrets.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := make([]byte, 32)
			if _, err := rand.Read(b); err != nil {
				return fail(exitFailed, "reading randomness: %v", err)
			}
			fmt.Fprintln(a.stdout, base64.StdEncoding.EncodeToString(b))
			return nil
		},
	}
}
