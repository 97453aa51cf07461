package redislimit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/redislimit"
)

// Two kits that count their limits in one Redis, each through its own
// client, share them: failed sign-ins spread over both lock the account on
// both. (They share a memstore too, standing in for the database that
// instances share.)
func TestTwoKitsShareLimits(t *testing.T) {
	a, b := client(t), client(t)
	p := prefix(t, a)
	store := memstore.New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // no window ends during the test
	var urls []string
	for _, c := range []*redislimit.Limiter{redislimit.New(a, p), redislimit.New(b, p)} {
		kit, err := authkit.New(authkit.Config{
			Store:       store,
			Limiter:     c,
			Mailer:      outbox.New(),
			PublicURL:   "https://auth.example.com",
			RedirectURL: "https://app.example.com/after",
			Now:         func() time.Time { return now },
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		require.NoError(t, err)
		srv := httptest.NewServer(kit.Handler())
		t.Cleanup(func() {
			srv.Close()
			kit.Close(context.Background())
		})
		urls = append(urls, srv.URL)
	}
	post := func(url, route string, body any) (int, string) {
		t.Helper()
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		resp, err := http.Post(url+"/_api/rest/v1/auth/"+route, "application/json", bytes.NewReader(raw))
		require.NoError(t, err)
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(got)
	}

	const email, pw = "ann@example.com", "correct horse battery"
	status, body := post(urls[0], "signup-email", map[string]any{"email": email, "password": pw})
	require.Equal(t, http.StatusOK, status, body)
	for i := range 10 {
		status, body := post(urls[i%2], "signin-email", map[string]any{"email": email, "password": "a wrong password"})
		require.Equal(t, http.StatusUnauthorized, status, "failure %d: %s", i+1, body)
	}
	for _, url := range urls {
		status, body := post(url, "signin-email", map[string]any{"email": email, "password": pw})
		require.Equal(t, http.StatusTooManyRequests, status, "limited on both, even for the right password: %s", body)
		require.Contains(t, body, `"code":"too_many_requests"`)
	}
	keys, err := a.Keys(context.Background(), p+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys, "the counts are in Redis")
}
