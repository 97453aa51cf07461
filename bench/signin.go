package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"golang.org/x/crypto/argon2"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/password"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// browser is the User-Agent of the sign-ins: a session records it parsed.
const browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// signInVsHash times n sign-ins through the Go API on memory and n bare
// argon2id hashes with the kit's parameters, alternating them so that
// the machine's drift falls on both; it returns the median of each.
func signInVsHash(ctx context.Context, n int) (hash, signIn time.Duration, err error) {
	const email, pw = "hash@bench.example", "correct horse battery staple"
	kit, err := authkit.New(authkit.Config{
		Store: memstore.New(), Mailer: outbox.New(),
		PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		Secret: bytes.Repeat([]byte("b"), 32),
		Limits: authkit.Limits{PerIP: authkit.Rate{Max: -1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return 0, 0, err
	}
	defer kit.Close(ctx)
	if _, err := kit.CreateUser(ctx, authkit.NewUser{Email: email, EmailVerified: true, Password: pw}); err != nil {
		return 0, 0, err
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("User-Agent", browser)
	rctx := kit.RequestContext(r)
	p := password.Default
	salt := []byte("0123456789abcdef")[:p.SaltLen]
	// One sign-in first: it loads what the first one loads (the
	// User-Agent parser).
	if _, err := kit.SignInWithEmail(rctx, email, pw); err != nil {
		return 0, 0, err
	}
	hashes, signIns := make([]time.Duration, n), make([]time.Duration, n)
	hash1 := func(i int) error {
		start := time.Now()
		argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		hashes[i] = time.Since(start)
		return nil
	}
	signIn1 := func(i int) error {
		start := time.Now()
		_, err := kit.SignInWithEmail(rctx, email, pw)
		signIns[i] = time.Since(start)
		return err
	}
	for i := range n {
		// Each goes first half the time: the one that follows pays for
		// the garbage the other left.
		first, second := hash1, signIn1
		if i%2 == 1 {
			first, second = signIn1, hash1
		}
		if err := errors.Join(first(i), second(i)); err != nil {
			return 0, 0, err
		}
	}
	return percentile(hashes, 0.5), percentile(signIns, 0.5), nil
}

// benchName is a schema or database of a PostgreSQL or MySQL run of its
// own (authkit_bench_ and random hex): runs at once (a smoke in CI, a
// full one beside it) leave each other's be.
func benchName() string { return "authkit_bench_" + randomSeed() }

// postgresSchema makes a schema of its own on dsn's server, and returns a
// DSN that uses it and what drops it.
func postgresSchema(ctx context.Context, dsn string) (string, func(), error) {
	benchName := benchName()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, err
	}
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+benchName+" CASCADE; CREATE SCHEMA "+benchName); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("postgres: %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", benchName)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		db.ExecContext(context.Background(), "DROP SCHEMA IF EXISTS "+benchName+" CASCADE")
		db.Close()
	}, nil
}

// mysqlDatabase makes a database of its own on dsn's server, and returns
// a DSN that uses it and what drops it.
func mysqlDatabase(ctx context.Context, dsn string) (string, func(), error) {
	benchName := benchName()
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	pass, _ := u.User.Password()
	server := fmt.Sprintf("%s:%s@tcp(%s)/", u.User.Username(), pass, u.Host)
	db, err := sql.Open("mysql", server)
	if err != nil {
		return "", nil, err
	}
	for _, stmt := range []string{"DROP DATABASE IF EXISTS " + benchName, "CREATE DATABASE " + benchName} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return "", nil, fmt.Errorf("mysql: %w", err)
		}
	}
	u.Path = "/" + benchName
	return u.String(), func() {
		db.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+benchName)
		db.Close()
	}, nil
}
