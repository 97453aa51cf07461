package main

import (
	"bytes"
	"context"
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
)

// TestImportBcryptUsers imports 10,000 users with bcrypt hashes from
// another system; 100 of them then sign in through the kit's HTTP API,
// and each one's hash is upgraded to argon2id by that first sign-in.
func TestImportBcryptUsers(t *testing.T) {
	users, signers := 10_000, 100
	if raceDetector {
		users, signers = 1_000, 10
	}
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
	require.Contains(t, r.stdout, fmt.Sprintf("imported %d users", users))
	require.Contains(t, r.stdout, "0 duplicates skipped, 0 rows refused")
	// Again: every row is a duplicate, skipped quietly; listed with report.
	r = ok(t, cli(t, nil, "", "--db", dsn, "users", "import", file))
	require.Contains(t, r.stdout, "imported 0 users")
	require.Contains(t, r.stdout, fmt.Sprintf("%d duplicates skipped", users))
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
