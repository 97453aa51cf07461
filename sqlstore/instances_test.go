package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/outbox"
)

// publicURL is where users reach the kit: a load balancer in front of every
// instance. Links carry it; the test sends each request to the instance it
// chooses.
const publicURL = "https://auth.example.com"

// instance is one kit with its own store (its own connection pool) on the
// shared database, served over HTTP.
type instance struct {
	t   *testing.T
	srv *httptest.Server
}

// cluster starts n kits on the database at dsn, sharing one secret and one
// mailbox, as instances behind a load balancer do. edit, if given, adjusts
// each Config before New.
func cluster(t *testing.T, dsn string, n int, edit ...func(*authkit.Config)) ([]*instance, *outbox.Outbox) {
	box := outbox.New()
	secret := bytes.Repeat([]byte("s"), 32)
	var out []*instance
	for range n {
		cfg := authkit.Config{
			Store:       open(t, dsn),
			Mailer:      box,
			PublicURL:   publicURL,
			RedirectURL: "https://app.example.com/after",
			Secret:      secret,
			Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		for _, e := range edit {
			e(&cfg)
		}
		kit, err := authkit.New(cfg)
		require.NoError(t, err)
		srv := httptest.NewServer(kit.Handler())
		t.Cleanup(func() {
			srv.Close()
			kit.Close(context.Background())
		})
		out = append(out, &instance{t: t, srv: srv})
	}
	return out, box
}

// call sends a request to this instance and decodes its JSON answer.
func (in *instance) call(method, path string, body any, token string) (int, map[string]any) {
	in.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(in.t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.srv.URL+path, r)
	require.NoError(in.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Session", token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(in.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(in.t, err)
	var v map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		require.NoError(in.t, json.Unmarshal(raw, &v), "%s", raw)
	}
	return resp.StatusCode, v
}

// follow opens a mailed link on this instance, as if the load balancer had
// sent the browser here, and returns the query of the redirect.
func (in *instance) follow(link string) url.Values {
	in.t.Helper()
	require.True(in.t, strings.HasPrefix(link, publicURL+"/"), link)
	req, err := http.NewRequest(http.MethodGet, in.srv.URL+strings.TrimPrefix(link, publicURL), nil)
	require.NoError(in.t, err)
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(in.t, err)
	resp.Body.Close()
	require.Equal(in.t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(in.t, err)
	return loc.Query()
}

var linkPattern = regexp.MustCompile(`https?://\S+`)

// nextLink waits for the next message to an address and returns its link.
func nextLink(t *testing.T, box *outbox.Outbox, to string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := box.Next(ctx, to)
	require.NoError(t, err)
	return linkPattern.FindString(m.Body)
}

func sessionToken(t *testing.T, answer map[string]any) string {
	t.Helper()
	s, ok := answer["session"].(map[string]any)
	require.True(t, ok, "no session in %v", answer)
	return s["token"].(string)
}

const api = "/_api/rest/v1/auth/"

// Two instances on one database are one service: whatever one does, the
// other sees at once. PostgreSQL is the many-instance database; the test runs
// on the others too (two processes may share one SQLite file).
func TestTwoInstancesShareOneDatabase(t *testing.T) {
	for _, db := range databases {
		if db.name == "sqlite memory" {
			continue // not shareable
		}
		t.Run(db.name, func(t *testing.T) {
			if db.env != "" {
				dbtest.Need(t, db.env)
			}
			testTwoInstances(t, db.dsn(t))
		})
	}
}

func testTwoInstances(t *testing.T, dsn string) {
	kits, box := cluster(t, dsn, 2)
	a, b := kits[0], kits[1]
	const email, pw = "ann@example.com", "correct horse battery"

	status, body := a.call(http.MethodPost, api+"signup-email", map[string]any{"email": email, "password": pw, "nameOrUserData": "Ann"}, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Nil(t, body["session"], "confirmation pending")

	q := b.follow(nextLink(t, box, email))
	require.Equal(t, "email-confirm", q.Get("action"), "B confirms A's link")
	require.Equal(t, "200", q.Get("status"))
	status, body = a.call(http.MethodGet, api+"grant?key="+q.Get("access_token"), nil, "")
	require.Equal(t, http.StatusOK, status, "A exchanges B's grant key: %v", body)
	require.Equal(t, true, body["user"].(map[string]any)["emailVerified"])
	grantToken := sessionToken(t, body)
	status, _ = a.call(http.MethodGet, api+"grant?key="+q.Get("access_token"), nil, "")
	require.Equal(t, http.StatusBadRequest, status, "a grant key is spent everywhere")

	status, body = b.call(http.MethodPost, api+"signin-email", map[string]any{"email": email, "password": pw}, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	onB := sessionToken(t, body)
	status, _ = a.call(http.MethodGet, api+"user", nil, onB)
	require.Equal(t, http.StatusOK, status, "B's session works on A")

	status, _ = a.call(http.MethodPost, api+"signout", map[string]any{"token": onB}, onB)
	require.Equal(t, http.StatusOK, status)
	status, body = b.call(http.MethodGet, api+"user", nil, onB)
	require.Equal(t, http.StatusUnauthorized, status, "signed out on A, dead on B: %v", body)

	status, body = a.call(http.MethodPost, api+"signin-email", map[string]any{"email": email, "password": pw}, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	onA := sessionToken(t, body)

	status, _ = b.call(http.MethodPost, api+"send-reset?email="+email, nil, "")
	require.Equal(t, http.StatusOK, status)
	q = b.follow(nextLink(t, box, email))
	require.Equal(t, "reset-pwd", q.Get("action"))
	status, body = b.call(http.MethodPost, api+"reset-pwd?key="+q.Get("access_token"), map[string]any{"newPassword": "a whole new password"}, "")
	require.Equal(t, http.StatusOK, status, "%v", body)
	for _, token := range []string{onA, grantToken} {
		status, _ = a.call(http.MethodGet, api+"user", nil, token)
		require.Equal(t, http.StatusUnauthorized, status, "a reset on B ends A's sessions")
	}
	status, _ = a.call(http.MethodPost, api+"signin-email", map[string]any{"email": email, "password": "a whole new password"}, "")
	require.Equal(t, http.StatusOK, status, "A takes the password set on B")
}
