// Command authkit is the operator's tool for an authkit database: it
// migrates the schema, manages users and sessions, imports users from
// another system, copies every table to another database (SQLite to
// PostgreSQL, say), deletes expired records and makes secrets.
//
//	go install github.com/authkit/authkit/cmd/authkit@latest
//	authkit --db ./authkit.db migrate
//	authkit --db postgres://app@db/app users list
//	authkit copy --from ./authkit.db --to postgres://app@db/app
//
// The database is --db, or $AUTHKIT_DB: a SQLite file path, postgres://…
// or mysql://…, as [sqlstore.Open] takes it. AUTHKIT_SECRET (or AUTHKIT_SECRETS
// while rotating) is read as the example app reads it.
//
// The command works on the database through the kit's Go API, with no
// hooks of the host app: a host's Hooks.BeforeDeleteUser does not run for
// "users delete", nor its AfterPasswordChange for "users set-password". It
// sends no mail and no texts, and delivers none of the messages the app
// has queued.
//
// # Exit codes
//
//	0  done
//	1  failed: the database could not be reached or a write failed
//	2  usage: a bad command, flag or value (an invalid email, a weak password, an email taken)
//	3  not found: no such user or session
//	4  incomplete: an import left rows out (refused ones, or duplicates with --duplicates report)
//	5  refused, to keep data safe: a copy into a database with data, from a source in use,
//	   or a delete without --yes
//	6  schema: the database is not at this command's schema version (run authkit migrate),
//	   or "migrate status" found steps to apply
//	130 interrupted
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}
