package main

// The server side: a child process serving a kit, whose CPU time the
// parent reads from /_bench/usage between phases, so that no load
// generator's work is counted in it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/sqlstore"
)

// childEnv carries a child's spec, as JSON; its presence makes the
// process a child.
const childEnv = "AUTHKIT_BENCH_CHILD"

// spec is what a child serves.
type spec struct {
	Store    string // "memory", or a sqlstore DSN
	Sessions int    // sessions made before serving, over Sessions/10 users
	Active   int    // the first Active of them are the ones requests use
	Seed     string // tokens are token(Seed, i)
	Password string // every user's password, hashed for real
	// Cache is the size of the kit's session cache; 0 leaves it off.
	Cache int
	// Seeded: another child seeded the store already (a second instance).
	Seeded bool
}

// token is the i-th session token of a run: the parent knows them all
// without being told.
func token(seed string, i int) string { return "bench-" + seed + "-" + strconv.Itoa(i) }

// userEmail is the email of the i-th user of the run of seed: runs on
// one database have users of their own.
func userEmail(seed string, i int) string {
	return "user" + strconv.Itoa(i) + "-" + seed + "@bench.example"
}

// usage is a child's resource use so far.
type usage struct {
	CPU    time.Duration // user + system
	MaxRSS int64         // bytes, the peak resident set
}

// serveChild runs the child named by the environment: it prints the
// address it listens on, then serves until its stdin closes.
func serveChild(raw string) error {
	var sp spec
	if err := json.Unmarshal([]byte(raw), &sp); err != nil {
		return fmt.Errorf("%s: %w", childEnv, err)
	}
	ctx := context.Background()
	store, closeStore, err := openStore(ctx, sp.Store)
	if err != nil {
		return err
	}
	defer closeStore()
	kit, err := authkit.New(authkit.Config{
		Store:             store,
		SessionCache:      authkit.SessionCache{Size: sp.Cache},
		Mailer:            outbox.New(),
		PublicURL:         "http://localhost",
		RedirectURL:       "http://localhost/",
		Secret:            bytes.Repeat([]byte("b"), 32),
		EmailConfirmation: authkit.Off,
		// Every request comes from one address, to one account, and is
		// meant to.
		Limits: authkit.Limits{PerIP: authkit.Rate{Max: -1}, FailedSignIns: authkit.Rate{Max: -1}, FailedSignInsPerAccount: authkit.Rate{Max: -1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer kit.Close(ctx)
	if !sp.Seeded {
		if err := seed(ctx, kit, store, sp); err != nil {
			return err
		}
	}

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())
	mux.Handle("GET /public", ok)
	mux.Handle("GET /private", kit.RequireSession(ok))
	mux.HandleFunc("GET /_bench/usage", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(selfUsage())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent holds it open while it needs us
		ln.Close()
	}()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil && !isClosed(err) {
		return err
	}
	return nil
}

func isClosed(err error) bool {
	return errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed)
}

// openStore opens and migrates the store dsn names.
func openStore(ctx context.Context, dsn string) (authkit.Store, func() error, error) {
	if dsn == "memory" {
		return memstore.New(), func() error { return nil }, nil
	}
	s, err := sqlstore.Open(dsn)
	if err != nil {
		return nil, nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, s.Close, nil
}

// seed makes the users and sessions of sp, straight in the store: the
// sessions are the kit's (the same stamp, hash and times), only made
// faster than sign-ins would, in batches of rows on SQL. The first
// user's password is hashed for real, for the sign-ins.
func seed(ctx context.Context, kit *authkit.Kit, store authkit.Store, sp spec) error {
	users := min(max(1, sp.Sessions/10), 1000)
	ids := make([]string, users)
	stamps := make([]string, users)
	now := time.Now()
	for i := range users {
		nu := authkit.NewUser{Email: userEmail(sp.Seed, i), EmailVerified: true}
		if i == 0 {
			nu.Password = sp.Password
		}
		u, err := kit.CreateUser(ctx, nu)
		if err != nil {
			return fmt.Errorf("seeding user %d: %w", i, err)
		}
		ids[i], stamps[i] = u.ID, u.Stamp
	}
	session := func(i int) authkit.Session {
		sum := sha256.Sum256([]byte(token(sp.Seed, i)))
		return authkit.Session{
			ID: randomID(), TokenHash: hex.EncodeToString(sum[:]), UserID: ids[i%users], Stamp: stamps[i%users],
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour), IP: "127.0.0.1",
		}
	}
	if sql, ok := store.(*sqlstore.Store); ok {
		return seedSQL(ctx, sql, sp.Sessions, session)
	}
	for i := range sp.Sessions {
		if err := store.CreateSession(ctx, session(i)); err != nil {
			return fmt.Errorf("seeding session %d: %w", i, err)
		}
	}
	return nil
}

// seedSQL inserts n sessions 500 rows to a statement, in one
// transaction: a million take a minute, not hours of one-row commits.
func seedSQL(ctx context.Context, store *sqlstore.Store, n int, session func(int) authkit.Session) error {
	tx, err := store.DB().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	const batch, cols = 500, 8
	ua := `{"family":"Other","major":"","minor":"","patch":"","device":{"family":"Other","major":"","minor":"","patch":""},"os":{"family":"Other","major":"","minor":"","patch":""}}`
	for start := 0; start < n; start += batch {
		end := min(start+batch, n)
		var q strings.Builder
		q.WriteString("INSERT INTO authkit_sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at, user_agent, ip, stamp) VALUES ")
		args := make([]any, 0, (cols+1)*(end-start))
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for c := range cols + 1 {
				if c > 0 {
					q.WriteString(", ")
				}
				if store.Dialect() == sqlstore.Postgres {
					fmt.Fprintf(&q, "$%d", len(args)+c+1)
				} else {
					q.WriteString("?")
				}
			}
			q.WriteString(")")
			s := session(i)
			args = append(args, s.ID, s.TokenHash, s.UserID, s.CreatedAt.UnixMilli(), s.LastSeenAt.UnixMilli(), s.ExpiresAt.UnixMilli(), ua, s.IP, s.Stamp)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("seeding sessions %d to %d: %w", start, end, err)
		}
	}
	return tx.Commit()
}

func randomID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// selfUsage is this process's resource use so far.
func selfUsage() usage {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return usage{
		CPU:    time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		MaxRSS: ru.Maxrss * 1024, // KiB on Linux
	}
}
