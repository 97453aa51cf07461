package sqlstore_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
)

// Two instances on one database share their abuse limits, with no setup:
// the store is the limiter. Failed sign-ins spread over both lock the
// account on both. PostgreSQL is the many-instance database; the test runs
// on the others too.
func TestTwoInstancesShareLimits(t *testing.T) {
	for _, db := range databases {
		if db.name == "sqlite memory" {
			continue // not shareable
		}
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			testTwoInstancesShareLimits(t, db.dsn(t))
		})
	}
}

func testTwoInstancesShareLimits(t *testing.T, dsn string) {
	// A fixed clock, so that no window ends during the test: 03:04:05, 655
	// seconds before the end of the 15-minute window.
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	kits, _ := cluster(t, dsn, 2, func(c *authkit.Config) { c.Now = func() time.Time { return now } })
	const email, pw = "ann@example.com", "correct horse battery"
	status, body := kits[0].call(http.MethodPost, api+"signup-email", map[string]any{"email": email, "password": pw}, "")
	require.Equal(t, http.StatusOK, status, "%v", body)

	signIn := func(in *instance, email, pw string) (int, map[string]any) {
		return in.call(http.MethodPost, api+"signin-email", map[string]any{"email": email, "password": pw}, "")
	}
	for i := range 10 {
		status, body := signIn(kits[i%2], email, "a wrong password")
		require.Equal(t, http.StatusUnauthorized, status, "failure %d: %v", i+1, body)
		status, _ = signIn(kits[i%2], "nobody@example.com", "a wrong password")
		require.Equal(t, http.StatusUnauthorized, status)
	}
	for _, in := range kits {
		status, body := signIn(in, email, pw)
		require.Equal(t, http.StatusTooManyRequests, status, "the account is limited on both, even for the right password: %v", body)
		require.Equal(t, "too_many_requests", body["errors"].([]any)[0].(map[string]any)["code"])
		status, _ = signIn(in, "nobody@example.com", pw)
		require.Equal(t, http.StatusTooManyRequests, status, "an unknown email too")
	}

	// The per-IP count is shared as well: 1 + 20 + 4 requests so far.
	for i := range 5 {
		status, _ := signIn(kits[i%2], "user"+strconv.Itoa(i)+"@example.com", "a wrong password")
		require.Equal(t, http.StatusUnauthorized, status)
	}
	for _, in := range kits {
		status, _ := signIn(in, "another@example.com", "a wrong password")
		require.Equal(t, http.StatusTooManyRequests, status, "30 requests from one IP, across both")
	}
}
