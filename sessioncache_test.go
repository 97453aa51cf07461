package authkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/redispush"
)

// The session cache (Config.SessionCache), proved the way instances use
// it: two kits on one store, each with a cache, each serving HTTP. What a
// user revokes on one is refused by the other once the bound has passed,
// whatever the store; what expired is refused at once.

// cacheApp is a host app: the kit's routes, /private behind RequireSession
// and /admin behind RequireAccessGroup("admin").
func cacheApp(k *authkit.Kit) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", k.Handler())
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := authkit.UserFromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"id": u.ID})
	})
	mux.Handle("/private", k.RequireSession(ok))
	mux.Handle("/admin", k.RequireAccessGroup("admin")(ok))
	return mux
}

// cacheStores are the stores the proofs run on, each opened twice for two
// instances: one memstore shared, a SQLite file, and PostgreSQL and
// MariaDB when their variables name servers.
var cacheStores = []struct {
	name string
	open func(t *testing.T) func(t *testing.T) authkit.Store // the second call is the second instance's
}{
	{"memstore", func(t *testing.T) func(*testing.T) authkit.Store {
		s := memstore.New()
		return func(*testing.T) authkit.Store { return s }
	}},
	{"sqlite", func(t *testing.T) func(*testing.T) authkit.Store {
		dsn := filepath.Join(t.TempDir(), "authkit.db")
		return func(t *testing.T) authkit.Store { return openSQL(t, dsn) }
	}},
	{"postgres", func(t *testing.T) func(*testing.T) authkit.Store {
		dsn := dbtest.Postgres(t)
		return func(t *testing.T) authkit.Store { return openSQL(t, dsn) }
	}},
	{"mysql", func(t *testing.T) func(*testing.T) authkit.Store {
		dsn := dbtest.MySQL(t)
		return func(t *testing.T) authkit.Store { return openSQL(t, dsn) }
	}},
}

// instances are two kits on one store, each with its own cache and its
// own HTTP server, and a clock they share.
type cachingKits struct {
	a, b  *harness
	store authkit.Store // a's
	bound time.Duration
}

func twoCachingKits(t *testing.T, open func(*testing.T) authkit.Store, cache authkit.SessionCache, edit ...func(*authkit.Config)) *cachingKits {
	t.Helper()
	in := &cachingKits{store: open(t), bound: cmpOr(cache.Bound, time.Second)}
	common := func(c *authkit.Config) {
		c.SessionCache = cache
		authkit.CheapHashing(c)
		noLimits(c)
		c.Limiter = memstore.New()
		for _, e := range edit {
			e(c)
		}
	}
	in.a = newAppHarness(t, cacheApp, func(c *authkit.Config) { c.Store = in.store }, common)
	second := open(t)
	in.b = newAppHarness(t, cacheApp, func(c *authkit.Config) {
		c.Store, c.Mailer, c.Now = second, in.a.box, in.a.clock.Now
	}, common)
	return in
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// private is the status of GET path on h with token.
func private(h *harness, path, token string) int {
	h.t.Helper()
	r, err := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	require.NoError(h.t, err)
	r.Header.Set("Session", token)
	resp, err := h.srv.Client().Do(r)
	require.NoError(h.t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// refusedWithin asks h for path with token until it is refused (want),
// and fails unless a request sent once bound has passed since from is:
// that one is never allowed through. It returns how long the refusal
// took.
func refusedWithin(t *testing.T, h *harness, path, token string, want int, from time.Time, bound time.Duration) time.Duration {
	t.Helper()
	for {
		sent := time.Now()
		status := private(h, path, token)
		if status == want {
			return sent.Sub(from)
		}
		require.Equal(t, http.StatusOK, status)
		require.Less(t, sent.Sub(from), bound, "a request sent %v after the revocation was let through; the bound is %v", sent.Sub(from), bound)
		time.Sleep(5 * time.Millisecond)
	}
}

// revocation is a way a session ends or loses its access, done on
// instance a; token is the session's, other another session of the user's.
type revocation struct {
	name string
	path string // what b is asked for: /private, or /admin for groups
	do   func(t *testing.T, in *cachingKits, userID, email, token, other string)
	// keepsOther: the other session survives it.
	keepsOther bool
}

var revocations = []revocation{
	{"sign-out", "/private", func(t *testing.T, in *cachingKits, _, _, token, _ string) {
		require.Equal(t, http.StatusOK, in.a.post(api+"signout", nil, token).status)
	}, true},
	{"sign-out by another session", "/private", func(t *testing.T, in *cachingKits, _, _, token, other string) {
		require.Equal(t, http.StatusOK, in.a.post(api+"signout", map[string]any{"token": token}, other).status)
	}, true},
	{"sign-out everywhere", "/private", func(t *testing.T, in *cachingKits, _, _, token, _ string) {
		require.Equal(t, http.StatusOK, in.a.post(api+"signout-all", nil, token).status)
	}, false},
	{"sign-out of the others", "/private", func(t *testing.T, in *cachingKits, _, _, _, other string) {
		require.Equal(t, http.StatusOK, in.a.post(api+"signout-all-except", nil, other).status)
	}, true},
	{"password change", "/private", func(t *testing.T, in *cachingKits, _, _, _, other string) {
		a := in.a.post(api+"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "another good password"}, other)
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	}, true},
	{"password reset", "/private", func(t *testing.T, in *cachingKits, _, email, _, _ string) {
		key := in.a.resetKey(email)
		a := in.a.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "another good password"}, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	}, false},
	{"user disabled", "/private", func(t *testing.T, in *cachingKits, userID, _, _, _ string) {
		require.NoError(t, in.a.kit.DisableUser(t.Context(), userID))
	}, false},
	{"user deleted", "/private", func(t *testing.T, in *cachingKits, userID, _, _, _ string) {
		require.NoError(t, in.a.kit.DeleteUser(t.Context(), userID))
	}, false},
	{"session ended by the host", "/private", func(t *testing.T, in *cachingKits, userID, _, token, _ string) {
		sessions, err := in.a.kit.UserSessions(t.Context(), userID)
		require.NoError(t, err)
		ctx, err := in.a.kit.Authenticate(t.Context(), token)
		require.NoError(t, err)
		mine, _ := authkit.SessionFromContext(ctx)
		require.Len(t, sessions, 2)
		require.NoError(t, in.a.kit.EndSession(t.Context(), userID, mine.ID))
	}, true},
	{"access group taken away", "/admin", func(t *testing.T, in *cachingKits, userID, _, _, _ string) {
		_, err := in.a.kit.RemoveAccessGroups(t.Context(), userID, "admin")
		require.NoError(t, err)
	}, false},
	{"sessions ended in the store (cmd/authkit)", "/private", func(t *testing.T, in *cachingKits, userID, _, _, _ string) {
		require.NoError(t, in.store.DeleteUserSessions(t.Context(), userID, ""))
	}, false},
}

// TestSessionCacheRevocations: for each store and each way a session ends,
// a session that instance b has cached (and so would accept without a
// round trip) is refused by b within the bound after a revokes it, and by
// a at once, unless the revocation went round both kits (the store
// itself), when a too has the bound.
func TestSessionCacheRevocations(t *testing.T) {
	for _, st := range cacheStores {
		t.Run(st.name, func(t *testing.T) {
			open := st.open(t)
			for _, rv := range revocations {
				t.Run(rv.name, func(t *testing.T) {
					in := twoCachingKits(t, open, authkit.SessionCache{Size: 100, Bound: 400 * time.Millisecond})
					email := "ann." + sanitize(st.name+rv.name) + "@example.com"
					in.a.passwordUser(email)
					userID := in.a.userID(email)
					_, err := in.a.kit.AddAccessGroups(t.Context(), userID, "admin")
					require.NoError(t, err)
					token := in.a.signIn(email, inputPassword).token()
					other := in.b.signIn(email, inputPassword).token()
					for _, h := range []*harness{in.a, in.b, in.b} { // cached on both; b's second is a hit
						require.Equal(t, http.StatusOK, private(h, rv.path, token))
						require.Equal(t, http.StatusOK, private(h, rv.path, other))
					}

					rv.do(t, in, userID, email, token, other)
					done := time.Now()
					want := http.StatusUnauthorized
					if rv.path == "/admin" {
						want = http.StatusForbidden
					}
					if rv.name != "sessions ended in the store (cmd/authkit)" {
						require.Equal(t, want, private(in.a, rv.path, token), "the instance that revoked it sees it at once")
					}
					took := refusedWithin(t, in.b, rv.path, token, want, done, in.bound)
					t.Logf("refused by the other instance after %v", took)
					if rv.keepsOther {
						require.Equal(t, http.StatusOK, private(in.b, rv.path, other))
					}
				})
			}
		})
	}
}

func sanitize(s string) string {
	out := make([]byte, 0, len(s))
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}

// TestSessionCacheExpiry: a cached session is refused the moment it
// expires, absolutely or for idleness, on the clock; and one kept alive on
// the other instance is not taken for idle by the instance whose copy is
// older.
func TestSessionCacheExpiry(t *testing.T) {
	in := twoCachingKits(t, shared(memstore.New()), authkit.SessionCache{Size: 100}, func(c *authkit.Config) {
		c.SessionLifetime, c.SessionIdleTimeout = 24*time.Hour, time.Hour
	})
	in.a.passwordUser("ann@example.com")
	token := in.a.signIn("ann@example.com", inputPassword).token()
	require.Equal(t, http.StatusOK, private(in.b, "/private", token))

	in.a.clock.Advance(50 * time.Minute)
	require.Equal(t, http.StatusOK, private(in.a, "/private", token), "used on a: the store notes it")
	in.a.clock.Advance(20 * time.Minute)
	require.Equal(t, http.StatusOK, private(in.b, "/private", token), "idle 70 minutes by b's copy, 20 by the store")

	in.a.clock.Advance(time.Hour)
	require.Equal(t, http.StatusUnauthorized, private(in.b, "/private", token), "idle an hour: refused at once")
	require.Equal(t, http.StatusUnauthorized, private(in.a, "/private", token))

	// Kept busy on b alone, a session still ends 24 hours after sign-in.
	token = in.a.signIn("ann@example.com", inputPassword).token()
	start := in.a.clock.Now()
	for {
		in.a.clock.Advance(30 * time.Minute)
		status := private(in.b, "/private", token)
		if in.a.clock.Now().Sub(start) >= 24*time.Hour {
			require.Equal(t, http.StatusUnauthorized, status, "at %v", in.a.clock.Now().Sub(start))
			require.Equal(t, http.StatusUnauthorized, private(in.a, "/private", token))
			break
		}
		require.Equal(t, http.StatusOK, status, "at %v", in.a.clock.Now().Sub(start))
	}
}

func shared(s authkit.Store) func(*testing.T) authkit.Store {
	return func(*testing.T) authkit.Store { return s }
}

// TestSessionCacheHit: a warm session costs the store nothing; a cache
// that cannot read the revocation log stops answering from memory once
// the bound has passed, and so refuses what was revoked meanwhile; and
// starts again when the log can be read.
func TestSessionCacheHit(t *testing.T) {
	store := &lookupCountingStore{Store: memstore.New()}
	bound := 300 * time.Millisecond
	in := twoCachingKits(t, shared(store), authkit.SessionCache{Size: 100, Bound: bound})
	in.a.passwordUser("ann@example.com")
	token := in.a.signIn("ann@example.com", inputPassword).token()
	other := in.a.signIn("ann@example.com", inputPassword).token()
	require.Equal(t, http.StatusOK, private(in.b, "/private", token))
	require.Equal(t, http.StatusOK, private(in.b, "/private", other))
	before := store.lookups.Load()
	for range 20 {
		require.Equal(t, http.StatusOK, private(in.b, "/private", token))
	}
	require.Equal(t, before, store.lookups.Load(), "a warm session is not looked up")

	store.failLog.Store(true)
	time.Sleep(bound + bound/2)
	require.Equal(t, http.StatusOK, private(in.b, "/private", token))
	require.Greater(t, store.lookups.Load(), before, "past the bound without the log, the store is asked")

	// Revoked in the store while the log cannot be read: refused anyway.
	sessions, err := in.a.kit.UserSessions(t.Context(), in.a.userID("ann@example.com"))
	require.NoError(t, err)
	for _, s := range sessions {
		ok, err := store.Store.DeleteSession(t.Context(), s.UserID, s.ID)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.Equal(t, http.StatusUnauthorized, private(in.b, "/private", token))
	require.Equal(t, http.StatusUnauthorized, private(in.b, "/private", other))

	store.failLog.Store(false)
	fresh := in.a.signIn("ann@example.com", inputPassword).token()
	require.Eventually(t, func() bool {
		require.Equal(t, http.StatusOK, private(in.b, "/private", fresh))
		n := store.lookups.Load()
		require.Equal(t, http.StatusOK, private(in.b, "/private", fresh))
		return store.lookups.Load() == n
	}, 5*time.Second, 50*time.Millisecond, "once the log is read again, sessions are cached again")
}

// TestSessionCachePush: with a notifier (PostgreSQL's LISTEN/NOTIFY, or
// Redis pub/sub), the other instance learns of a revocation long before
// its next read of the log: the bound here is 20 seconds, so its poll
// comes every 5.
func TestSessionCachePush(t *testing.T) {
	cases := []struct {
		name string
		open func(t *testing.T) (func(*testing.T) authkit.Store, authkit.RevocationNotifier)
	}{
		{"postgres", func(t *testing.T) (func(*testing.T) authkit.Store, authkit.RevocationNotifier) {
			dsn := dbtest.Postgres(t)
			return func(t *testing.T) authkit.Store { return openSQL(t, dsn) }, nil
		}},
		{"redis", func(t *testing.T) (func(*testing.T) authkit.Store, authkit.RevocationNotifier) {
			rdb := dbtest.Redis(t)
			dsn := filepath.Join(t.TempDir(), "authkit.db")
			return func(t *testing.T) authkit.Store { return openSQL(t, dsn) }, redispush.New(rdb, dbtest.Name())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			open, notifier := tc.open(t)
			in := twoCachingKits(t, open, authkit.SessionCache{Size: 100, Bound: 20 * time.Second, Notifier: notifier})
			in.a.passwordUser("ann@example.com")
			token := in.a.signIn("ann@example.com", inputPassword).token()
			require.Equal(t, http.StatusOK, private(in.b, "/private", token))
			time.Sleep(500 * time.Millisecond) // both listening
			require.Equal(t, http.StatusOK, in.a.post(api+"signout", nil, token).status)
			took := refusedWithin(t, in.b, "/private", token, http.StatusUnauthorized, time.Now(), 3*time.Second)
			t.Logf("refused by the other instance after %v", took)
		})
	}
}

// TestSessionCacheConfig: the cache's settings are checked at New.
func TestSessionCacheConfig(t *testing.T) {
	t.Run("a setting after it refused", func(t *testing.T) {
		store := &lookupCountingStore{Store: memstore.New()}
		cfg := validConfig()
		cfg.Store, cfg.Limiter = store, memstore.New()
		cfg.SessionCache = authkit.SessionCache{Size: 10, Bound: 100 * time.Millisecond}
		cfg.DeliveryAttempts = 1000
		_, err := authkit.New(cfg)
		require.ErrorContains(t, err, "DeliveryAttempts")
		n := store.reads.Load()
		time.Sleep(300 * time.Millisecond)
		require.Equal(t, n, store.reads.Load(), "the refused kit's cache reads its log no more")
	})
	for _, tc := range []struct {
		name  string
		store authkit.Store
		cache authkit.SessionCache
		want  string
	}{
		{"negative size", nil, authkit.SessionCache{Size: -1}, "Size"},
		{"a bound without a size", nil, authkit.SessionCache{Bound: time.Second}, "Size is 0"},
		{"a bound too short", nil, authkit.SessionCache{Size: 10, Bound: time.Millisecond}, "at least 100ms"},
		{"a store without a log", storeOnly{memstore.New()}, authkit.SessionCache{Size: 10}, "RevocationLog"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := validConfig()
			if tc.store != nil {
				cfg.Store, cfg.Limiter = tc.store, memstore.New()
			}
			cfg.SessionCache = tc.cache
			_, err := authkit.New(cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// lookupCountingStore counts the store's lookups of sessions, and fails the
// reads of the revocation log when told to.
type lookupCountingStore struct {
	*memstore.Store
	lookups atomic.Int64
	reads   atomic.Int64 // of the revocation log
	failLog atomic.Bool
}

func (s *lookupCountingStore) SessionAndUser(ctx context.Context, tokenHash string) (authkit.Session, authkit.User, error) {
	s.lookups.Add(1)
	return s.Store.SessionAndUser(ctx, tokenHash)
}

func (s *lookupCountingStore) Revocations(ctx context.Context, after int64, limit int) ([]authkit.Revocation, error) {
	s.reads.Add(1)
	if s.failLog.Load() {
		return nil, errors.New("connection refused")
	}
	return s.Store.Revocations(ctx, after, limit)
}

// A handler that changes the user or session it is handed changes its own
// copy: the next request, served from the same cached session, sees the
// user as stored.
func TestSessionCacheHandsOutCopies(t *testing.T) {
	var seen []string
	app := func(k *authkit.Kit) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", k.Handler())
		mux.Handle("/private", k.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := authkit.UserFromContext(r.Context())
			s, _ := authkit.SessionFromContext(r.Context())
			seen = append(seen, string(u.ServerData["plan"])+" "+u.AccessGroups[0]+" "+s.AccessGroupKeys[0])
			u.ServerData["plan"][1] = 'X'
			u.ServerData["plan"] = json.RawMessage(`"free"`)
			u.AccessGroups[0], s.AccessGroupKeys[0] = "root", "root"
		})))
		return mux
	}
	h := newAppHarness(t, app, authkit.CheapHashing, func(c *authkit.Config) { c.SessionCache = authkit.SessionCache{Size: 10} })
	h.passwordUser("ann@example.com")
	id := h.userID("ann@example.com")
	_, err := h.kit.SetServerData(t.Context(), id, map[string]json.RawMessage{"plan": json.RawMessage(`"pro"`)})
	require.NoError(t, err)
	_, err = h.kit.SetAccessGroups(t.Context(), id, "staff")
	require.NoError(t, err)
	token := h.signIn("ann@example.com", inputPassword).token()
	for range 3 {
		require.Equal(t, http.StatusOK, private(h, "/private", token))
	}
	require.Equal(t, []string{`"pro" staff staff`, `"pro" staff staff`, `"pro" staff staff`}, seen)
}
