package sqlstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/sqlstore"
)

// The benchmarks run on a SQLite file and, when AUTHKIT_TEST_POSTGRES_DSN
// is set, on PostgreSQL:
//
//	AUTHKIT_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//		go test -run '^$' -bench . -benchmem ./sqlstore
var benchDatabases = []struct {
	name string
	dsn  func(b *testing.B) string
}{
	{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "authkit.db") }},
	{"postgres", func(b *testing.B) string { return dbtest.Postgres(b) }},
}

// benchKit is a kit on a fresh database with one signed-in user; it returns
// the kit, its store and the user's session token.
func benchKit(b *testing.B, dsn string) (*authkit.Kit, *sqlstore.Store, string) {
	b.Helper()
	store := open(b, dsn)
	kit, err := authkit.New(authkit.Config{
		Store:             store,
		Mailer:            outbox.New(),
		PublicURL:         "http://localhost",
		RedirectURL:       "http://localhost/",
		EmailConfirmation: authkit.Off,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kit.Close(context.Background()) })
	w := httptest.NewRecorder()
	kit.Handler().ServeHTTP(w, jsonRequest(api+"signup-email", `{"email":"bench@example.com","password":"correct horse battery"}`))
	if w.Code != http.StatusOK {
		b.Fatalf("sign-up: %d %s", w.Code, w.Body)
	}
	_, token, _ := strings.Cut(w.Body.String(), `"token":"`)
	token, _, _ = strings.Cut(token, `"`)
	return kit, store, token
}

func jsonRequest(path, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// BenchmarkRequireSession is the cost the kit adds to every private
// request: hash the token, one indexed session lookup, one user lookup.
func BenchmarkRequireSession(b *testing.B) {
	for _, db := range benchDatabases {
		b.Run(db.name, func(b *testing.B) {
			kit, _, token := benchKit(b, db.dsn(b))
			h := kit.RequireSession(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			r := httptest.NewRequest(http.MethodGet, "/private", nil)
			r.Header.Set("Session", token)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}

// BenchmarkSignIn is a whole sign-in: the user lookup, an argon2id
// verification (most of the time), a new session and the lastLoginAt write.
func BenchmarkSignIn(b *testing.B) {
	for _, db := range benchDatabases {
		b.Run(db.name, func(b *testing.B) {
			kit, _, _ := benchKit(b, db.dsn(b))
			h := kit.Handler()
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, jsonRequest(api+"signin-email", `{"email":"bench@example.com","password":"correct horse battery"}`))
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

// BenchmarkSessionLookup looks a session up among 1,000 and among
// 1,000,000 stored: the unique index on the token hash keeps it flat.
// Filling a million rows takes a minute or so per database.
func BenchmarkSessionLookup(b *testing.B) {
	for _, db := range benchDatabases {
		for _, n := range []int{1_000, 1_000_000} {
			b.Run(db.name+"/sessions="+strconv.Itoa(n), func(b *testing.B) {
				store := open(b, db.dsn(b))
				fillSessions(b, store, n)
				ctx := context.Background()
				hashes := []string{hashOf(0), hashOf(n / 2), hashOf(n - 1)}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := store.SessionByTokenHash(ctx, hashes[i%3]); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}

func hashOf(i int) string {
	sum := sha256.Sum256([]byte("session " + strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}

// fillSessions stores n sessions, of 1,000 users, with multi-row INSERTs in
// one transaction.
func fillSessions(b *testing.B, store *sqlstore.Store, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	users := min(n, 1000)
	for u := range users {
		id := "user" + strconv.Itoa(u)
		err := store.CreateUser(ctx, authkit.User{ID: id, Provider: authkit.ProviderAltogic, ProviderUserID: id,
			Email: id + "@example.com", SignUpAt: now, LastLoginAt: now})
		if err != nil {
			b.Fatal(err)
		}
	}
	tx, err := store.DB().BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	const batch = 500
	ms := now.UnixMilli()
	ua := `{"family":"Chrome","major":"99","minor":"0","patch":"4844","device":{"family":"Mac","major":"","minor":"","patch":""},"os":{"family":"Mac OS X","major":"10","minor":"15","patch":"7"}}`
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var q strings.Builder
		q.WriteString("INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip) VALUES ")
		args := make([]any, 0, 8*(end-start))
		p := 0
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for c := range 8 {
				if c > 0 {
					q.WriteString(", ")
				}
				p++
				if store.Dialect() == sqlstore.Postgres {
					fmt.Fprintf(&q, "$%d", p)
				} else {
					q.WriteString("?")
				}
			}
			q.WriteString(")")
			args = append(args, fmt.Sprintf("s%08d", i), hashOf(i), "user"+strconv.Itoa(i%users),
				ms, ms, ms+int64(30*24*time.Hour/time.Millisecond), ua, "192.0.2.1")
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
