package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/sqlstore"
)

// result is what one run of the command printed and returned.
type result struct {
	stdout, stderr string
	code           int
}

// cli runs the command in-process with args and stdin, and the
// environment vars (AUTHKIT_DB, AUTHKIT_SECRET…) only.
func cli(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, env{
		stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return vars[k] },
	})
	return result{out.String(), errOut.String(), code}
}

// ok fails t unless r exited 0.
func ok(t *testing.T, r result) result {
	t.Helper()
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	return r
}

// databases are the databases the commands run on: a SQLite file always,
// PostgreSQL and MySQL when their servers are named (internal/dbtest).
var databases = []struct {
	name string
	env  string
	dsn  func(t testing.TB) string
}{
	{"sqlite", "", func(t testing.TB) string { return filepath.Join(t.TempDir(), "authkit.db") }},
	{"postgres", dbtest.PostgresEnv, dbtest.Postgres},
	{"mysql", dbtest.MySQLEnv, dbtest.MySQL},
}

func eachDatabase(t *testing.T, test func(t *testing.T, dsn string)) {
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			test(t, db.dsn(t))
		})
	}
}

// migrated returns a fresh SQLite file, migrated by the command.
func migrated(t *testing.T) string {
	dsn := filepath.Join(t.TempDir(), "authkit.db")
	ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
	return dsn
}

// store opens dsn for a test to look at it directly.
func store(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"users", "list"}, exitUsage, "no database: pass --db"},
		{[]string{"--db", filepath.Join(t.TempDir(), "missing.db"), "users", "list"}, exitUsage, "no SQLite database at"},
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"users", "frob"}, exitUsage, `unknown command "frob"`},
		{[]string{"users"}, exitUsage, "needs a command"},
		{[]string{"users", "list", "--limt", "3"}, exitUsage, "unknown flag: --limt"},
		{[]string{"users", "show"}, exitUsage, "accepts 1 arg"},
		{[]string{"--db", "redis://x", "users", "list"}, exitFailed, "unknown database"},
		{[]string{"copy", "--to", "x.db"}, exitUsage, "copy needs --from and --to"},
	} {
		r := cli(t, nil, "", tc.args...)
		require.Equal(t, tc.code, r.code, "%v: %s", tc.args, r.stderr)
		require.Contains(t, r.stderr, tc.says, tc.args)
	}
	r := ok(t, cli(t, nil, "", "--help"))
	require.Contains(t, r.stdout, "Exit codes:")
	require.Contains(t, r.stdout, "runs none of the host app's hooks")
	r = ok(t, cli(t, nil, "", "users", "delete", "--help"))
	require.Contains(t, r.stdout, "Hooks.BeforeDeleteUser cannot stop the delete")
}

func TestMigrate(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		// Before: no tables. A command other than migrate says to migrate.
		s := store(t, dsn)
		r := cli(t, nil, "", "--db", dsn, "migrate", "status")
		require.Equal(t, exitSchema, r.code, r.stderr)
		require.Contains(t, r.stderr, "run authkit migrate")
		r = cli(t, nil, "", "--db", dsn, "users", "list")
		require.Equal(t, exitSchema, r.code, r.stderr)
		require.Contains(t, r.stderr, "has no authkit tables: run authkit migrate")

		r = ok(t, cli(t, map[string]string{"AUTHKIT_DB": dsn}, "", "migrate"))
		require.Regexp(t, `schema migrated from version 0 to \d+`, r.stdout)
		r = ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
		require.Contains(t, r.stdout, "up to date")
		r = ok(t, cli(t, nil, "", "--db", dsn, "migrate", "status"))
		latest, err := sqlstore.LatestVersion(s.Dialect())
		require.NoError(t, err)
		require.Contains(t, r.stdout, fmt.Sprintf("schema at version %d; this command's is %d", latest, latest))
	})
}

func TestSecret(t *testing.T) {
	a := ok(t, cli(t, nil, "", "secret")).stdout
	b := ok(t, cli(t, nil, "", "secret")).stdout
	require.NotEqual(t, a, b)
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(a))
	require.NoError(t, err)
	require.Len(t, raw, 32)
	// The kit takes it as AUTHKIT_SECRET; a short one is refused with the fix.
	dsn := migrated(t)
	ok(t, cli(t, map[string]string{"AUTHKIT_SECRET": strings.TrimSpace(a)}, "", "--db", dsn, "users", "list"))
	r := cli(t, map[string]string{"AUTHKIT_SECRET": "short"}, "", "--db", dsn, "users", "list")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "authkit secret makes one")
}

func TestUsers(t *testing.T) {
	eachDatabase(t, func(t *testing.T, dsn string) {
		ok(t, cli(t, nil, "", "--db", dsn, "migrate"))
		db := func(args ...string) []string { return append([]string{"--db", dsn}, args...) }

		id := strings.TrimSpace(ok(t, cli(t, nil, "correct horse battery\n", db("users", "create", "--email", "Ann@Example.com", "--name", "Ann",
			"--email-verified", "--group", "staff", "--password-stdin")...)).stdout)
		require.Regexp(t, `^[0-9a-f]{24}$`, id)
		ok(t, cli(t, nil, "", db("users", "create", "--phone", "+1 555 555 5555", "--name", "Bob")...))

		r := cli(t, nil, "", db("users", "create", "--email", "ann@example.com")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "email_taken")
		r = cli(t, nil, "123\n", db("users", "create", "--email", "c@example.com", "--password-stdin")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "password_too_short")
		r = cli(t, nil, "", db("users", "create", "--email", "c@example.com", "--password-hash", "md5:abc")...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "neither an argon2id PHC string nor a bcrypt hash")

		list := ok(t, cli(t, nil, "", db("users", "list")...)).stdout
		require.Contains(t, list, "ann@example.com")
		require.Contains(t, list, "+15555555555")
		require.Len(t, strings.Split(strings.TrimSpace(list), "\n"), 3, "a header and two users")
		lines := strings.Split(strings.TrimSpace(ok(t, cli(t, nil, "", db("users", "list", "--json", "--limit", "1")...)).stdout), "\n")
		require.Len(t, lines, 1)

		var u userJSON
		require.NoError(t, json.Unmarshal([]byte(ok(t, cli(t, nil, "", db("users", "show", "--json", "ANN@example.com")...)).stdout), &u))
		require.Equal(t, id, u.ID)
		require.True(t, u.EmailVerified)
		require.Equal(t, []string{"staff"}, u.AccessGroups)
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", "+15555555555")...)).stdout, "Bob")
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "ann@example.com")
		r = cli(t, nil, "", db("users", "show", "nobody@example.com")...)
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, `no user "nobody@example.com"`)

		// Groups.
		require.Equal(t, "admin\nstaff\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--add", "admin")...)).stdout)
		require.Equal(t, "admin\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--remove", "staff")...)).stdout)
		require.Equal(t, "a\nb\n", ok(t, cli(t, nil, "", db("users", "groups", id, "--set", "a,b")...)).stdout)
		require.Equal(t, "a\nb\n", ok(t, cli(t, nil, "", db("users", "groups", id)...)).stdout)
		require.Equal(t, "", ok(t, cli(t, nil, "", db("users", "groups", id, "--clear")...)).stdout)
		require.Equal(t, exitUsage, cli(t, nil, "", db("users", "groups", id, "--set", "a", "--add", "b")...).code)

		// Sessions, then set-password ends them.
		s := store(t, dsn)
		addSessions(t, s, id, "s1", "s2", "s3")
		list = ok(t, cli(t, nil, "", db("sessions", "list", "ann@example.com")...)).stdout
		require.Contains(t, list, "s1")
		require.Contains(t, list, "Firefox 120")
		ok(t, cli(t, nil, "", db("sessions", "revoke", id, "s2")...))
		r = cli(t, nil, "", db("sessions", "revoke", id, "s2")...)
		require.Equal(t, exitNotFound, r.code)
		require.Contains(t, r.stderr, "has no session s2")
		r = cli(t, nil, "", db("sessions", "revoke", id)...)
		require.Equal(t, exitUsage, r.code)
		require.Contains(t, r.stderr, "or give --all")
		require.Len(t, jsonLines(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout), 2)
		ok(t, cli(t, nil, "", db("sessions", "revoke", id, "--all")...))
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout)

		addSessions(t, s, id, "s4")
		before, err := s.UserByID(context.Background(), id)
		require.NoError(t, err)
		ok(t, cli(t, nil, "a new long passphrase\n", db("users", "set-password", id)...))
		after, err := s.UserByID(context.Background(), id)
		require.NoError(t, err)
		require.NotEqual(t, before.PasswordHash, after.PasswordHash)
		require.True(t, strings.HasPrefix(after.PasswordHash, "$argon2id$"))
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout, "set-password ended the sessions")

		// Disable, enable.
		addSessions(t, s, id, "s5")
		ok(t, cli(t, nil, "", db("users", "disable", id)...))
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "disabled:          yes")
		require.Empty(t, ok(t, cli(t, nil, "", db("sessions", "list", "--json", id)...)).stdout)
		ok(t, cli(t, nil, "", db("users", "enable", id)...))
		require.Contains(t, ok(t, cli(t, nil, "", db("users", "show", id)...)).stdout, "disabled:          no")

		// Delete needs --yes.
		r = cli(t, nil, "", db("users", "delete", id)...)
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "add --yes")
		ok(t, cli(t, nil, "", db("users", "delete", "--yes", "ann@example.com")...))
		require.Equal(t, exitNotFound, cli(t, nil, "", db("users", "show", id)...).code)
		require.Len(t, strings.Split(strings.TrimSpace(ok(t, cli(t, nil, "", db("users", "list")...)).stdout), "\n"), 2)
	})
}

// addSessions writes sessions of the user straight into the store.
func addSessions(t *testing.T, s *sqlstore.Store, userID string, ids ...string) {
	t.Helper()
	u, err := s.UserByID(context.Background(), userID)
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range ids {
		require.NoError(t, s.CreateSession(context.Background(), authkit.Session{
			ID: id, TokenHash: "hash-" + id + "-" + userID, UserID: userID, CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(24 * time.Hour), IP: "203.0.113.9", Stamp: u.Stamp,
			UserAgent: authkit.UserAgent{Family: "Firefox", Major: "120", OS: authkit.OS{Family: "Linux"}},
		}))
	}
}

func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m))
		out = append(out, m)
	}
	return out
}

func TestCleanup(t *testing.T) {
	dsn := migrated(t)
	id := strings.TrimSpace(ok(t, cli(t, nil, "", "--db", dsn, "users", "create", "--email", "a@example.com")).stdout)
	s := store(t, dsn)
	old := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	addSessions(t, s, id, "live")
	for i, last := range []time.Time{old, time.Now().Add(-2 * 24 * time.Hour)} {
		require.NoError(t, s.CreateSession(context.Background(), authkit.Session{
			ID: fmt.Sprintf("old%d", i), TokenHash: fmt.Sprintf("old%d", i), UserID: id, CreatedAt: old, LastSeenAt: last.UTC().Truncate(time.Millisecond),
			ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond),
		}))
	}
	r := ok(t, cli(t, nil, "", "--db", dsn, "cleanup"))
	require.Contains(t, r.stdout, "deleted 1 expired records", "idle ten days, past the default week")
	r = ok(t, cli(t, nil, "", "--db", dsn, "cleanup", "--session-idle", "24h"))
	require.Contains(t, r.stdout, "deleted 1 expired records", "idle two days, past the app's day")
	sessions, err := s.ListSessions(context.Background(), id)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, "live", sessions[0].ID)
}

// TestCopyCommand copies a database the command filled into each kind of
// database, refusing what would lose data on the way.
func TestCopyCommand(t *testing.T) {
	src := migrated(t)
	for i := range 25 {
		ok(t, cli(t, nil, "", "--db", src, "users", "create", "--email", fmt.Sprintf("u%d@example.com", i), "--group", "g"))
	}
	eachDatabase(t, func(t *testing.T, dst string) {
		r := cli(t, nil, "", "copy", "--from", src, "--to", dst)
		require.Equal(t, exitRefused, r.code, r.stderr)
		require.Contains(t, r.stderr, "stop every app using it", "the users were made just now")
		require.Contains(t, r.stderr, "Every app using the source must be stopped")

		r = ok(t, cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity", "--batch", "10"))
		require.Regexp(t, `authkit_users +25 rows, the same in both`, r.stdout)
		list := ok(t, cli(t, nil, "", "--db", dst, "users", "list", "--json")).stdout
		require.Len(t, jsonLines(t, list), 25)
		require.Equal(t, ok(t, cli(t, nil, "", "--db", src, "users", "list", "--json")).stdout, list)

		r = cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity")
		require.Equal(t, exitRefused, r.code)
		require.Contains(t, r.stderr, "empty this one with --force")
		ok(t, cli(t, nil, "", "copy", "--from", src, "--to", dst, "--ignore-activity", "--force"))
	})
	r := cli(t, nil, "", "copy", "--from", src, "--to", src, "--ignore-activity", "--force")
	require.Equal(t, exitRefused, r.code)
	require.Contains(t, r.stderr, "the same database")
	r = cli(t, nil, "", "copy", "--from", filepath.Join(t.TempDir(), "nothing.db"), "--to", filepath.Join(t.TempDir(), "t.db"))
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "--from: no SQLite database at")
}

// TestImportBcryptUsers imports 10,000 users with bcrypt hashes from
// another system; 100 of them then sign in through the kit's HTTP API,
// and each one's hash is upgraded to argon2id by that first sign-in.
func TestImportBcryptUsers(t *testing.T) {
	const users, signers = 10_000, 100
	dsn := migrated(t)
	hashes := make([]string, users)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < users; i += 4 {
				h, err := bcrypt.GenerateFromPassword([]byte(password(i)), bcrypt.MinCost)
				if err != nil {
					panic(err)
				}
				hashes[i] = string(h)
			}
		})
	}
	wg.Wait()
	var csv strings.Builder
	csv.WriteString("email,email_verified,name,password_hash,groups,sign_up_at\n")
	for i := range users {
		fmt.Fprintf(&csv, "user%d@example.com,true,User %d,%s,customer;legacy,2019-03-0%dT10:00:00Z\n", i, i, hashes[i], 1+i%9)
	}
	file := filepath.Join(t.TempDir(), "users.csv")
	require.NoError(t, os.WriteFile(file, []byte(csv.String()), 0o600))

	start := time.Now()
	r := ok(t, cli(t, nil, "", "--db", dsn, "users", "import", file))
	t.Logf("imported %d bcrypt users in %v", users, time.Since(start).Round(time.Millisecond))
	require.Contains(t, r.stdout, "imported 10000 users")
	require.Contains(t, r.stdout, "0 duplicates skipped, 0 rows refused")
	// Again: every row is a duplicate, skipped quietly; listed with report.
	r = ok(t, cli(t, nil, "", "--db", dsn, "users", "import", file))
	require.Contains(t, r.stdout, "imported 0 users")
	require.Contains(t, r.stdout, "10000 duplicates skipped")
	require.Empty(t, r.stderr)

	s := store(t, dsn)
	ctx := context.Background()
	u, err := s.UserByEmail(ctx, "user7@example.com")
	require.NoError(t, err)
	require.Equal(t, hashes[7], u.PasswordHash)
	require.Equal(t, []string{"customer", "legacy"}, u.AccessGroups)
	require.Equal(t, time.Date(2019, 3, 8, 10, 0, 0, 0, time.UTC), u.SignUpAt)

	kit, err := authkit.New(authkit.Config{
		Store: s, Mailer: noMailer{}, PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		Limits: authkit.Limits{PerIP: authkit.Rate{Max: -1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() { kit.Close(context.Background()) })
	srv := httptest.NewServer(kit.Handler())
	t.Cleanup(srv.Close)

	signIn := func(i int, pw string) int {
		body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("user%d@example.com", i), "password": pw})
		resp, err := http.Post(srv.URL+"/_api/rest/v1/auth/signin-email", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			var got struct {
				User    struct{ Email string }
				Session struct{ Token string }
			}
			require.NoError(t, json.Unmarshal(out, &got))
			require.Equal(t, fmt.Sprintf("user%d@example.com", i), got.User.Email)
			require.NotEmpty(t, got.Session.Token)
		}
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, signIn(0, "not the password"))
	codes := make([]int, signers)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < signers; i += 4 {
				codes[i] = signIn(i*97, password(i*97)) // spread over the file
			}
		})
	}
	wg.Wait()
	for i, code := range codes {
		require.Equal(t, http.StatusOK, code, "user %d", i*97)
		u, err := s.UserByEmail(ctx, fmt.Sprintf("user%d@example.com", i*97))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), "upgraded on sign-in: %s", u.PasswordHash)
	}
	u, err = s.UserByEmail(ctx, "user1@example.com")
	require.NoError(t, err)
	require.Equal(t, hashes[1], u.PasswordHash, "no sign-in, no upgrade")
	// The upgraded hash still takes the password.
	require.Equal(t, http.StatusOK, signIn(97, password(97)))
}

func password(i int) string { return fmt.Sprintf("legacy-pass-%d", i) }

func TestImportReports(t *testing.T) {
	dsn := migrated(t)
	ok(t, cli(t, nil, "", "--db", dsn, "users", "create", "--email", "taken@example.com"))
	hash, err := bcrypt.GenerateFromPassword([]byte("whatever1"), bcrypt.MinCost)
	require.NoError(t, err)
	input := strings.Join([]string{
		`{"email":"a@example.com","password":"a long enough one","name":"A","accessGroups":["x"],"profile":{"city":"Oslo"}}`,
		``,
		`{"email":"taken@example.com"}`,
		`{"email":"not an email"}`,
		`{"phone":"+15555550100","passwordHash":"` + string(hash) + `","phoneVerified":true}`,
		`{"email":"b@example.com","password":"short"}`,
		`{"email":"c@example.com","role":"admin"}`,
		`{"name":"nobody"}`,
	}, "\n")
	r := cli(t, nil, input, "--db", dsn, "users", "import", "--duplicates", "report", "-")
	require.Equal(t, exitIncomplete, r.code, r.stderr)
	require.Contains(t, r.stdout, "imported 2 users")
	require.Contains(t, r.stdout, "1 duplicates skipped, 4 rows refused")
	require.Equal(t, []string{
		"line 3: An account with this email exists already. (email_taken), skipped",
		"line 4: ", // the kit's own words follow
		"line 6: ",
		"line 7: not a user object: json: unknown field \"role\"",
		"line 8: neither an email nor a phone",
		"authkit: 5 rows were not imported (listed above with their lines)",
	}, prefixes(strings.Split(strings.TrimSpace(r.stderr), "\n"), []int{0, 8, 8, 0, 0, 0}))
	require.Contains(t, r.stderr, "invalid_email")
	require.Contains(t, r.stderr, "password_too_short")

	var u userJSON
	require.NoError(t, json.Unmarshal([]byte(ok(t, cli(t, nil, "", "--db", dsn, "users", "show", "--json", "+15555550100")).stdout), &u))
	require.True(t, u.PhoneVerified)

	// CSV with a column the command does not know: refused before any row.
	r = cli(t, nil, "email,role\na@example.com,admin\n", "--db", dsn, "users", "import", "--format", "csv", "-")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `a column "role"; the columns are email,`)
	// Duplicates skipped by default: exit 0.
	r = ok(t, cli(t, nil, "email,name\ntaken@example.com,T\nd@example.com,D\n", "--db", dsn, "users", "import", "-"))
	require.Contains(t, r.stdout, "imported 1 users in")
	require.Contains(t, r.stdout, "1 duplicates skipped")
}

// prefixes cuts each line to n[i] characters, where n[i] is not 0.
func prefixes(lines []string, n []int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if i < len(n) && n[i] > 0 && len(l) > n[i] {
			l = l[:n[i]]
		}
		out[i] = l
	}
	return out
}
