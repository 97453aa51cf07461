// Package dbtest gives tests a database of their own on the servers named by
// the environment: a fresh PostgreSQL schema or MySQL database per call,
// dropped when the test ends, so parallel packages and runs never collide.
//
// AUTHKIT_TEST_POSTGRES_DSN names a PostgreSQL server (postgres://…) and
// AUTHKIT_TEST_MYSQL_DSN a MySQL or MariaDB one (mysql://…). When one is
// unset, the tests that need it skip and say so; .ci/run sets both.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Environment variables naming the test servers.
const (
	PostgresEnv = "AUTHKIT_TEST_POSTGRES_DSN"
	MySQLEnv    = "AUTHKIT_TEST_MYSQL_DSN"
)

// name returns a fresh schema or database name.
func name() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "authkit_test_" + hex.EncodeToString(b)
}

// Need skips tb, saying how to run it, unless env (PostgresEnv or
// MySQLEnv) names a server. Postgres and MySQL call it; a test that makes
// many databases can call it once first, to skip once.
func Need(tb testing.TB, env string) string {
	tb.Helper()
	dsn := os.Getenv(env)
	if dsn == "" {
		example := "postgres://postgres@127.0.0.1:5432/test"
		switch env {
		case MySQLEnv:
			example = "mysql://root@127.0.0.1:3306/test"
		case RedisEnv:
			example = "redis://127.0.0.1:6379/0"
		}
		tb.Skipf("skipped: set %s (e.g. %s) to run the tests that need this server", env, example)
	}
	return dsn
}

// Postgres creates a schema of its own on the server that PostgresEnv names
// and returns a DSN whose connections use it (through search_path). The
// schema is dropped when tb ends. Without PostgresEnv, tb is skipped.
func Postgres(tb testing.TB) string {
	tb.Helper()
	dsn := Need(tb, PostgresEnv)
	schema := name()
	admin := open(tb, "pgx", dsn)
	exec(tb, admin, "CREATE SCHEMA "+schema)
	tb.Cleanup(func() {
		exec(tb, admin, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("%s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// MySQL creates a database of its own on the server that MySQLEnv names and
// returns a mysql:// DSN for it. The database is dropped when tb ends.
// Without MySQLEnv, tb is skipped.
func MySQL(tb testing.TB) string {
	tb.Helper()
	dsn := Need(tb, MySQLEnv)
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme != "mysql" {
		tb.Fatalf("%s must be a mysql://user:password@host:port/database URL", MySQLEnv)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr = "tcp", u.Host
	db := name()
	admin := open(tb, "mysql", cfg.FormatDSN())
	exec(tb, admin, "CREATE DATABASE "+db)
	tb.Cleanup(func() {
		exec(tb, admin, "DROP DATABASE "+db)
		admin.Close()
	})
	u.Path = "/" + db
	return u.String()
}

func open(tb testing.TB, driver, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("opening the test server: %v", err)
	}
	return db
}

func exec(tb testing.TB, db *sql.DB, stmt string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		tb.Fatalf("%s: %v", strings.Fields(stmt)[0], err)
	}
}
