package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/authkit/authkit"
)

const importHelp = `import makes an account for each row of FILE ("-" for stdin), as "users
create" does: CSV with a header row, or JSON lines (one object a line).
--format says which; by default the file's extension does (.csv; .jsonl,
.ndjson, .json), or for stdin its first character ('{' is JSON lines).

CSV columns (in any order; only email or phone is required):
  email, email_verified, phone, phone_verified, name, profile_picture,
  password (plaintext), password_hash (argon2id or bcrypt), groups
  (separated by ';' or spaces), sign_up_at (RFC 3339 or 2006-01-02)
  Booleans are true/false, 1/0, yes/no; empty is false.

JSON lines fields:
  email, emailVerified, phone, phoneVerified, name, profilePicture, password,
  passwordHash, accessGroups (array), signUpAt (RFC 3339), profile (object),
  serverData (object)

A plaintext password is hashed with argon2id and must pass the kit's default
password rules; a bcrypt or argon2id hash is kept as it is, and a bcrypt hash
is upgraded to argon2id at the user's first sign-in. Emails and numbers are
checked and normalised as at sign-up.

A row whose email or number an account has already is a duplicate: with
--duplicates skip (the default) it is counted and skipped, so an import that
stopped can be run again; with --duplicates report each is listed and the
command exits 4. A row the kit refuses (an invalid email, a weak password, a
malformed hash) is listed with its line and exits 4; the other rows are
imported all the same. A database failure stops the import (exit 1): run it
again, and the rows already imported are skipped as duplicates.

Nothing is sent to the users and no hook of the app runs.`

func (a *app) usersImportCmd() *cobra.Command {
	var (
		format     string
		duplicates string
		workers    int
	)
	c := &cobra.Command{
		Use:   "import FILE",
		Short: "Import users from CSV or JSON lines, with passwords or bcrypt/argon2id hashes",
		Long:  importHelp,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if duplicates != "skip" && duplicates != "report" {
				return fail(exitUsage, "--duplicates is skip or report, not %q", duplicates)
			}
			if workers < 1 || workers > 64 {
				return fail(exitUsage, "--workers is 1 to 64")
			}
			in, name, err := a.openInput(args[0])
			if err != nil {
				return err
			}
			defer in.Close()
			r := bufio.NewReaderSize(in, 1<<16)
			if format == "" {
				format = guessFormat(name, r)
			}
			var rows func(yield func(importRow) bool) error
			switch format {
			case "csv":
				rows = csvRows(r)
			case "jsonl":
				rows = jsonRows(r)
			default:
				return fail(exitUsage, "--format is csv or jsonl, not %q", format)
			}
			return a.withKit(cmd, func(ctx context.Context, kit *authkit.Kit) error {
				return a.importUsers(ctx, kit, rows, duplicates == "report", workers)
			})
		},
	}
	c.Flags().StringVar(&format, "format", "", "csv or jsonl (default: by the file's extension, or its first character)")
	c.Flags().StringVar(&duplicates, "duplicates", "skip", "skip: count and skip rows whose email or number is taken; report: list them, and exit 4")
	c.Flags().IntVar(&workers, "workers", 4, "rows imported at once")
	return c
}

// openInput opens the file, or stdin for "-".
func (a *app) openInput(path string) (io.ReadCloser, string, error) {
	if path == "-" {
		return io.NopCloser(a.stdin), "", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fail(exitUsage, "%v: give the file to import, or - for stdin", err)
	}
	return f, path, nil
}

// guessFormat picks the format by the file's extension, else by its first
// character.
func guessFormat(name string, r *bufio.Reader) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return "csv"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	head, _ := r.Peek(512)
	if t := bytes.TrimLeft(head, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return "jsonl"
	}
	return "csv"
}

// importRow is one row of the input: the account it asks for, or why it
// cannot be read.
type importRow struct {
	line int
	user authkit.NewUser
	err  error
}

// csvRows reads CSV with a header row.
func csvRows(r io.Reader) func(yield func(importRow) bool) error {
	return func(yield func(importRow) bool) error {
		cr := csv.NewReader(r)
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fail(exitUsage, "reading the CSV header: %v", err)
		}
		known := []string{"email", "email_verified", "phone", "phone_verified", "name", "profile_picture", "password", "password_hash", "groups", "sign_up_at"}
		cols := make([]string, len(header))
		for i, h := range header {
			h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
			h = strings.NewReplacer("-", "_", " ", "_").Replace(h)
			if !slices.Contains(known, h) {
				return fail(exitUsage, "the CSV header has a column %q; the columns are %s", header[i], strings.Join(known, ", "))
			}
			cols[i] = h
		}
		if !slices.Contains(cols, "email") && !slices.Contains(cols, "phone") {
			return fail(exitUsage, "the CSV header has neither an email nor a phone column")
		}
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fail(exitUsage, "the CSV cannot be read: %v (the rows before were imported)", err)
			}
			line, _ := cr.FieldPos(0)
			row := importRow{line: line}
			if len(rec) != len(cols) {
				row.err = fmt.Errorf("%d fields, the header has %d", len(rec), len(cols))
			} else {
				row.user, row.err = csvUser(cols, rec)
			}
			if !yield(row) {
				return nil
			}
		}
	}
}

func csvUser(cols, rec []string) (authkit.NewUser, error) {
	var n authkit.NewUser
	for i, col := range cols {
		v := strings.TrimSpace(rec[i])
		var err error
		switch col {
		case "email":
			n.Email = v
		case "email_verified":
			n.EmailVerified, err = parseBool(col, v)
		case "phone":
			n.Phone = v
		case "phone_verified":
			n.PhoneVerified, err = parseBool(col, v)
		case "name":
			n.Name = v
		case "profile_picture":
			n.ProfilePicture = v
		case "password":
			n.Password = rec[i] // as written: spaces may be part of it
		case "password_hash":
			n.PasswordHash = v
		case "groups":
			n.AccessGroups = strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == ',' })
		case "sign_up_at":
			n.SignUpAt, err = parseTime(v)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func parseBool(col, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false", "0", "no", "f", "n":
		return false, nil
	case "true", "1", "yes", "t", "y":
		return true, nil
	}
	return false, fmt.Errorf("%s is %q: give true or false", col, v)
}

func parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("sign_up_at is %q: give RFC 3339 (2024-05-01T12:00:00Z) or a date (2024-05-01)", v)
}

// jsonUser is a row of JSON lines.
type jsonUser struct {
	Email          string                     `json:"email"`
	EmailVerified  bool                       `json:"emailVerified"`
	Phone          string                     `json:"phone"`
	PhoneVerified  bool                       `json:"phoneVerified"`
	Name           string                     `json:"name"`
	ProfilePicture string                     `json:"profilePicture"`
	Password       string                     `json:"password"`
	PasswordHash   string                     `json:"passwordHash"`
	AccessGroups   []string                   `json:"accessGroups"`
	SignUpAt       time.Time                  `json:"signUpAt"`
	Profile        map[string]json.RawMessage `json:"profile"`
	ServerData     map[string]json.RawMessage `json:"serverData"`
}

// jsonRows reads JSON lines; blank lines are skipped.
func jsonRows(r *bufio.Reader) func(yield func(importRow) bool) error {
	return func(yield func(importRow) bool) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for line := 1; sc.Scan(); line++ {
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			var j jsonUser
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.DisallowUnknownFields()
			row := importRow{line: line}
			if err := dec.Decode(&j); err != nil {
				row.err = fmt.Errorf("not a user object: %v", err)
			} else {
				row.user = authkit.NewUser{Email: j.Email, EmailVerified: j.EmailVerified, Phone: j.Phone, PhoneVerified: j.PhoneVerified,
					Name: j.Name, ProfilePicture: j.ProfilePicture, Password: j.Password, PasswordHash: j.PasswordHash,
					AccessGroups: j.AccessGroups, SignUpAt: j.SignUpAt, Profile: j.Profile, ServerData: j.ServerData}
				if j.Email == "" && j.Phone == "" {
					row.err = errors.New("neither an email nor a phone")
				}
			}
			if !yield(row) {
				return nil
			}
		}
		if err := sc.Err(); err != nil {
			return fail(exitUsage, "reading the input: %v", err)
		}
		return nil
	}
}

// importProblem is a row not imported.
type importProblem struct {
	line      int
	duplicate bool
	msg       string
}

// importUsers creates the rows' users with workers at once, then reports.
func (a *app) importUsers(ctx context.Context, kit *authkit.Kit, rows func(yield func(importRow) bool) error, report bool, workers int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		imported, dups, refused atomic.Int64
		mu                      sync.Mutex
		problems                []importProblem
		wg                      sync.WaitGroup
	)
	start := time.Now()
	p := a.progress()
	work := make(chan importRow)
	for range workers {
		wg.Go(func() {
			for row := range work {
				if ctx.Err() != nil {
					continue
				}
				err := row.err
				if err == nil {
					if _, err = kit.CreateUser(ctx, row.user); err == nil {
						imported.Add(1)
					}
				}
				if err != nil {
					var ke *authkit.Error
					isKit := errors.As(err, &ke)
					switch {
					case isKit && (ke.Code == authkit.CodeEmailTaken || ke.Code == authkit.CodePhoneTaken):
						dups.Add(1)
						mu.Lock()
						problems = append(problems, importProblem{line: row.line, duplicate: true, msg: fmt.Sprintf("%s (%s), skipped", ke.Message, ke.Code)})
						mu.Unlock()
					case isKit && ke.Code != authkit.CodeInternal && ke.Code != authkit.CodeUnavailable:
						refused.Add(1)
						mu.Lock()
						problems = append(problems, importProblem{line: row.line, msg: fmt.Sprintf("%s (%s)", ke.Message, ke.Code)})
						mu.Unlock()
					case !isKit && row.err != nil:
						refused.Add(1)
						mu.Lock()
						problems = append(problems, importProblem{line: row.line, msg: row.err.Error()})
						mu.Unlock()
					default:
						cancel(fmt.Errorf("line %d: %w", row.line, err))
					}
				}
				p.show("imported %d users (%d duplicates, %d refused), %.0f/s", imported.Load(), dups.Load(), refused.Load(),
					float64(imported.Load())/time.Since(start).Seconds())
			}
		})
	}
	readErr := rows(func(row importRow) bool {
		select {
		case work <- row:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(work)
	wg.Wait()
	p.done()

	slices.SortFunc(problems, func(x, y importProblem) int { return x.line - y.line })
	for _, pr := range problems {
		if pr.duplicate && !report {
			continue
		}
		fmt.Fprintf(a.stderr, "line %d: %s\n", pr.line, pr.msg)
	}
	fmt.Fprintf(a.stdout, "imported %d users in %v; %d duplicates skipped, %d rows refused\n",
		imported.Load(), time.Since(start).Round(time.Millisecond), dups.Load(), refused.Load())
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fail(exitFailed, "import stopped: %v; run it again to go on (imported rows are skipped as duplicates)", cause)
	}
	if ctx.Err() != nil {
		return fail(exitInterrupted, "import interrupted; run it again to go on (imported rows are skipped as duplicates)")
	}
	if readErr != nil {
		return readErr
	}
	if refused.Load() > 0 || (report && dups.Load() > 0) {
		n := refused.Load()
		if report {
			n += dups.Load()
		}
		return fail(exitIncomplete, "%d rows were not imported (listed above with their lines)", n)
	}
	return nil
}
