package authkit_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// stallStore is a memstore that, once stalled, holds each call a sign-in,
// a session lookup or a send makes until the call's context ends: a
// database that froze.
type stallStore struct {
	*memstore.Store
	stalled atomic.Bool
	held    atomic.Int32 // calls held
}

func newStallStore() *stallStore { return &stallStore{Store: memstore.New()} }

func (s *stallStore) hold(ctx context.Context) error {
	if !s.stalled.Load() {
		return nil
	}
	s.held.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (s *stallStore) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	if err := s.hold(ctx); err != nil {
		return authkit.User{}, err
	}
	return s.Store.UserByEmail(ctx, email)
}

func (s *stallStore) UserByPhone(ctx context.Context, phone string) (authkit.User, error) {
	if err := s.hold(ctx); err != nil {
		return authkit.User{}, err
	}
	return s.Store.UserByPhone(ctx, phone)
}

func (s *stallStore) SessionAndUser(ctx context.Context, tokenHash string) (authkit.Session, authkit.User, error) {
	if err := s.hold(ctx); err != nil {
		return authkit.Session{}, authkit.User{}, err
	}
	return s.Store.SessionAndUser(ctx, tokenHash)
}

func (s *stallStore) CreateIntent(ctx context.Context, i authkit.Intent) error {
	if err := s.hold(ctx); err != nil {
		return err
	}
	return s.Store.CreateIntent(ctx, i)
}

func (s *stallStore) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if err := s.hold(ctx); err != nil {
		return 0, time.Time{}, err
	}
	return s.Store.Hit(ctx, key, window, now)
}

// boundHarness serves a kit on st, with its limits counted apart (unless
// edit says otherwise), under a store bound of 200 ms, with /private
// behind RequireSession; its logs go to logs.
func boundHarness(t *testing.T, st *stallStore, logs *syncBuffer, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	app := func(kit *authkit.Kit) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", kit.Handler())
		mux.Handle("/private", kit.RequireSession(http.HandlerFunc(hostHandler)))
		return mux
	}
	return newAppHarness(t, app, append([]func(*authkit.Config){func(c *authkit.Config) {
		c.Store = st
		c.Limiter = memstore.New()
		c.PhoneAuth = authkit.On
		c.StoreTimeout = 200 * time.Millisecond
		c.Logger = timelessLogger(logs)
	}}, edit...)...)
}

// timedCall makes a call with a client that gives up after 5 seconds, and
// returns its status, its Retry-After, its body and how long it took.
func timedCall(t *testing.T, method, url, token, body string) (int, string, string, time.Duration) {
	t.Helper()
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Session", token)
	}
	start := time.Now()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(r)
	require.NoError(t, err, "the request was held")
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(raw), time.Since(start)
}

// A frozen database holds no request past Config.StoreTimeout: a
// sign-in (by email: the core; by phone: the PhoneStore), a
// RequireSession'd request and a send-reset (the Courier) each answer 503
// service_unavailable with Retry-After once the bound passes, and the
// timeout is logged as one.
func TestStoreTimeoutAnswersUnavailable(t *testing.T) {
	t.Parallel()
	st := newStallStore()
	logs := &syncBuffer{}
	h := boundHarness(t, st, logs)
	token := h.confirmedUser("ann@example.com", "correct horse battery")
	h.phoneUser("+15555555501", "correct horse battery")
	st.stalled.Store(true)

	for _, c := range []struct {
		name, method, path, token, body, call string
	}{
		{"sign-in", http.MethodPost, api + "signin-email", "", `{"email":"ann@example.com","password":"correct horse battery"}`, "UserByEmail"},
		{"phone sign-in", http.MethodPost, api + "signin-phone", "", `{"phone":"+15555555501","password":"correct horse battery"}`, "UserByPhone"},
		{"RequireSession", http.MethodGet, "/private", token, "", "the session lookup"},
		{"send-reset", http.MethodPost, api + "send-reset?email=ann@example.com", "", "", "CreateIntent"},
	} {
		status, retry, body, took := timedCall(t, c.method, h.srv.URL+c.path, c.token, c.body)
		require.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", c.name, body)
		require.Contains(t, body, `"service_unavailable"`, c.name)
		require.Equal(t, "5", retry, c.name)
		require.GreaterOrEqual(t, took, 200*time.Millisecond, c.name)
		require.Less(t, took, 2*time.Second, "%s: held past the bound", c.name)
		require.Contains(t, logs.String(), "timeout: "+c.call+" ran past Config.StoreTimeout", c.name)
	}
	require.NotContains(t, logs.String(), "internal_error")

	st.stalled.Store(false)
	status, _, body, _ := timedCall(t, http.MethodGet, h.srv.URL+"/private", token, "")
	require.Equal(t, http.StatusOK, status, "the session works again once the store does: %s", body)
}

// A client that hangs up while its request waits on the store is logged
// as gone, at debug level, and not as an internal error.
func TestClientGoneIsNoInternalError(t *testing.T) {
	t.Parallel()
	st := newStallStore()
	logs := &syncBuffer{}
	h := boundHarness(t, st, logs, func(c *authkit.Config) { c.StoreTimeout = time.Minute })
	h.confirmedUser("ann@example.com", "correct horse battery")
	st.stalled.Store(true)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, h.srv.URL+api+"signin-email",
		strings.NewReader(`{"email":"ann@example.com","password":"correct horse battery"}`))
	require.NoError(t, err)
	r.Header.Set("Content-Type", "application/json")
	_, err = http.DefaultClient.Do(r)
	require.Error(t, err)
	h.srv.Close() // waits for the request's handler to end

	out := logs.String()
	require.Contains(t, out, "client went away")
	require.NotContains(t, out, `"level":"ERROR"`)
	require.NotContains(t, out, `"code":"internal_error"`)
}

// Config.StoreTimeout is checked in New.
func TestStoreTimeoutConfig(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.StoreTimeout = time.Microsecond
	_, err := authkit.New(cfg)
	require.ErrorContains(t, err, "StoreTimeout")
	cfg.StoreTimeout = -1
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	require.NoError(t, kit.Close(context.Background()))
}

// A limiter that hangs is a limiter that is down once Config.StoreTimeout
// passes: a sign-in answers 503 by default, and with LimiterDown.SignIn
// FailOpen it signs in, held for one bound and not one per limit (of the
// five counts a sign-in makes, the first is tried, the others skipped).
func TestLimiterTimeoutIsLimiterDown(t *testing.T) {
	t.Parallel()
	for _, policy := range []authkit.LimiterPolicy{authkit.FailClosed, authkit.FailOpen} {
		lim := newStallStore()
		logs := &syncBuffer{}
		h := boundHarness(t, newStallStore(), logs, func(c *authkit.Config) {
			c.Limiter = lim
			c.LimiterDown.SignIn = policy
			c.StoreTimeout = 500 * time.Millisecond
		})
		h.confirmedUser("ann@example.com", "correct horse battery")
		lim.stalled.Store(true)
		status, retry, body, took := timedCall(t, http.MethodPost, h.srv.URL+api+"signin-email", "",
			`{"email":"ann@example.com","password":"correct horse battery"}`)
		require.GreaterOrEqual(t, took, 500*time.Millisecond)
		require.Equal(t, int32(1), lim.held.Load(), "limiter calls held")
		if policy == authkit.FailClosed {
			require.Equal(t, http.StatusServiceUnavailable, status, body)
			require.Equal(t, "5", retry)
			require.Contains(t, logs.String(), "timeout: Limiter.Hit ran past Config.StoreTimeout")
		} else {
			require.Equal(t, http.StatusOK, status, body)
			require.Contains(t, logs.String(), "timeout: Limiter.Hit ran past Config.StoreTimeout")
			require.Contains(t, logs.String(), "a sign-in goes through uncounted")
		}
	}
}
