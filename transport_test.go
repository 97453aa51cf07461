package authkit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// Session transport, CSRF on cookies, CORS and the headers of every answer
// (SECURITY 18, 22, 24, 25).

const (
	appOrigin  = "https://app.example.com" // the harness's allowed origin
	evilOrigin = "https://evil.example"
)

// rawCall makes a call without h.do's checks, for the answers whose headers
// are the point of the test.
func rawCall(t *testing.T, h *harness, method, path string, header map[string]string) *http.Response {
	t.Helper()
	hr, err := http.NewRequest(method, h.srv.URL+path, nil)
	require.NoError(t, err)
	hr.Header.Set("User-Agent", chromeUA)
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(hr)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// errorCode reads the code of an error body.
func bodyErrorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &e), "%s", body)
	require.NotEmpty(t, e.Errors, "%s", body)
	return e.Errors[0].Code
}

func cookieHeader(token string) map[string]string {
	return map[string]string{"Cookie": authkit.SessionCookie + "=" + token}
}

func TestTransportSessionToken(t *testing.T) {
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", inputPassword)

	for name, header := range map[string]map[string]string{
		"Session header":       {"Session": token},
		"Authorization Bearer": {"Authorization": "Bearer " + token},
		"bearer in lower case": {"Authorization": "bearer " + token},
		"cookie":               cookieHeader(token),
	} {
		t.Run(name, func(t *testing.T) {
			a := h.do(req{method: http.MethodGet, path: api + "user", header: header})
			require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
			require.Equal(t, "ann@example.com", a.body["email"])
		})
	}

	long := strings.Repeat("A", 300)
	cases := []struct {
		name   string
		header map[string]string
		code   string
	}{
		{"none", nil, "missing_session_token"},
		{"empty Bearer", map[string]string{"Authorization": "Bearer "}, "missing_session_token"},
		{"Basic authorization", map[string]string{"Authorization": "Basic YW5uOnB3"}, "missing_session_token"},
		{"empty cookie", map[string]string{"Cookie": authkit.SessionCookie + "="}, "missing_session_token"},
		{"garbage in Session", map[string]string{"Session": "garbage"}, "invalid_session_token"},
		{"garbage in Bearer", map[string]string{"Authorization": "Bearer garbage"}, "invalid_session_token"},
		{"garbage in cookie", cookieHeader("garbage"), "invalid_session_token"},
		{"300 characters", map[string]string{"Session": long}, "invalid_session_token"},
		{"300 characters in Bearer", map[string]string{"Authorization": "Bearer " + long}, "invalid_session_token"},
		{"token with a character added", map[string]string{"Session": token + "x"}, "invalid_session_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, path := range []string{"user", "sessions"} {
				a := h.do(req{method: http.MethodGet, path: api + path, header: c.header})
				requireStatusCode(t, a, http.StatusUnauthorized, c.code)
			}
			// Same-origin, so that a cookie passes the CSRF check.
			header := map[string]string{"Sec-Fetch-Site": "same-origin"}
			for k, v := range c.header {
				header[k] = v
			}
			a := h.do(req{method: http.MethodPost, path: api + "signout-all", header: header})
			requireStatusCode(t, a, http.StatusUnauthorized, c.code)
		})
	}

	// A signed-out token is dead wherever it is sent.
	require.Equal(t, http.StatusOK, h.post(api+"signout", nil, token).status)
	for _, header := range []map[string]string{{"Session": token}, {"Authorization": "Bearer " + token}, cookieHeader(token)} {
		requireStatusCode(t, h.do(req{method: http.MethodGet, path: api + "user", header: header}), http.StatusUnauthorized, "invalid_session_token")
	}
}

func TestTransportCookieCSRF(t *testing.T) {
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", inputPassword)
	with := func(extra map[string]string) map[string]string {
		m := cookieHeader(token)
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"no Origin nor Sec-Fetch-Site", with(nil), http.StatusForbidden},
		{"foreign Origin", with(map[string]string{"Origin": evilOrigin}), http.StatusForbidden},
		{"look-alike Origin", with(map[string]string{"Origin": "https://app.example.com.evil.example"}), http.StatusForbidden},
		{"Origin null", with(map[string]string{"Origin": "null"}), http.StatusForbidden},
		{"foreign Origin, same-origin Sec-Fetch-Site", with(map[string]string{"Origin": evilOrigin, "Sec-Fetch-Site": "same-origin"}), http.StatusForbidden},
		{"cross-site Sec-Fetch-Site", with(map[string]string{"Sec-Fetch-Site": "cross-site"}), http.StatusForbidden},
		{"same-site Sec-Fetch-Site", with(map[string]string{"Sec-Fetch-Site": "same-site"}), http.StatusForbidden},
		{"allowed Origin", with(map[string]string{"Origin": appOrigin}), http.StatusOK},
		{"the kit's own origin", with(map[string]string{"Origin": h.srv.URL}), http.StatusOK},
		{"same-origin Sec-Fetch-Site", with(map[string]string{"Sec-Fetch-Site": "same-origin"}), http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: c.header})
			require.Equal(t, c.status, a.status, "%s", a.raw)
			if c.status == http.StatusForbidden {
				require.Equal(t, "origin_not_allowed", a.code())
			}
		})
	}
	// A refused cookie request changed nothing; a safe one needs no Origin.
	a := h.do(req{method: http.MethodGet, path: api + "user", header: with(nil)})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)

	// A token sent in a header is no ambient credential: no CSRF check.
	for name, header := range map[string]map[string]string{
		"Session header":       {"Session": token, "Origin": evilOrigin},
		"Authorization Bearer": {"Authorization": "Bearer " + token, "Origin": evilOrigin, "Sec-Fetch-Site": "cross-site"},
	} {
		t.Run("header token from a foreign Origin: "+name, func(t *testing.T) {
			a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: header})
			require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		})
	}
}

func TestTransportCORS(t *testing.T) {
	h := newHarness(t)

	t.Run("preflight from the allowed origin", func(t *testing.T) {
		resp := rawCall(t, h, http.MethodOptions, api+"signin-email", map[string]string{
			"Origin":                         appOrigin,
			"Access-Control-Request-Method":  "POST",
			"Access-Control-Request-Headers": "session, x-client, x-client-key, content-type",
		})
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
		allowed := map[string]bool{}
		for _, v := range strings.Split(resp.Header.Get("Access-Control-Allow-Headers"), ",") {
			allowed[strings.ToLower(strings.TrimSpace(v))] = true
		}
		for _, want := range []string{"Session", "X-Client", "X-Client-Key", "Content-Type"} {
			require.True(t, allowed[strings.ToLower(want)], "Allow-Headers %q lacks %s", resp.Header.Get("Access-Control-Allow-Headers"), want)
		}
		require.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
		require.Contains(t, resp.Header.Values("Vary"), "Origin")
	})

	for name, origin := range map[string]string{
		"preflight from another origin": evilOrigin,
		"preflight from a look-alike":   "https://app.example.com.evil.example",
		"preflight over http":           "http://app.example.com",
	} {
		t.Run(name, func(t *testing.T) {
			resp := rawCall(t, h, http.MethodOptions, api+"signin-email", map[string]string{
				"Origin":                        origin,
				"Access-Control-Request-Method": "POST",
			})
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
			require.Contains(t, resp.Header.Get("Content-Type"), "application/json")
			require.Equal(t, "origin_not_allowed", bodyErrorCode(t, body))
			require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
			require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
			require.Contains(t, resp.Header.Values("Vary"), "Origin")
		})
	}

	t.Run("a call from the allowed origin", func(t *testing.T) {
		for _, r := range []req{
			{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "x@example.com", "password": "whatever pw"}},
			{method: http.MethodGet, path: api + "user"},
			{method: http.MethodGet, path: api + "nope"},
		} {
			r.header = map[string]string{"Origin": appOrigin}
			a := h.do(r)
			require.Equal(t, appOrigin, a.header.Get("Access-Control-Allow-Origin"), r.path)
			require.Equal(t, "true", a.header.Get("Access-Control-Allow-Credentials"), r.path)
			require.Contains(t, a.header.Values("Vary"), "Origin", r.path)
		}
	})

	for name, header := range map[string]map[string]string{
		"a call from another origin": {"Origin": evilOrigin},
		"a call with no origin":      nil,
	} {
		t.Run(name, func(t *testing.T) {
			a := h.do(req{method: http.MethodPost, path: api + "signin-email",
				body: map[string]any{"email": "x@example.com", "password": "whatever pw"}, header: header})
			requireStatusCode(t, a, http.StatusUnauthorized, "invalid_credentials")
			require.Empty(t, a.header.Get("Access-Control-Allow-Origin"))
			require.Empty(t, a.header.Get("Access-Control-Allow-Credentials"))
			require.Contains(t, a.header.Values("Vary"), "Origin")
		})
	}
}

// Every answer of the kit, error or redirect, is kept out of caches and
// sends no Referer onward (SECURITY 18).
func TestTransportNoStoreEverywhere(t *testing.T) {
	h := newHarness(t)
	h.signUp("ann@example.com", inputPassword, nil)
	link := h.link("ann@example.com")

	cases := []struct {
		name, method, path string
		header             map[string]string
	}{
		{"a redirect of a link", http.MethodGet, strings.TrimPrefix(link, h.srv.URL), nil},
		{"a redirect of a bad link", http.MethodGet, "/_auth/verify?key=bad", nil},
		{"200", http.MethodPost, api + "send-reset?email=ann@example.com", nil},
		{"400", http.MethodGet, api + "grant?key=bad", nil},
		{"401", http.MethodGet, api + "user", nil},
		{"404", http.MethodGet, "/nowhere", nil},
		{"405", http.MethodGet, api + "signin-email", nil},
		{"415", http.MethodPost, api + "signin-email", map[string]string{"Content-Type": "text/plain"}},
		{"preflight", http.MethodOptions, api + "signin-email", map[string]string{"Origin": appOrigin, "Access-Control-Request-Method": "POST"}},
		{"refused preflight", http.MethodOptions, api + "signin-email", map[string]string{"Origin": evilOrigin, "Access-Control-Request-Method": "POST"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := rawCall(t, h, c.method, c.path, c.header)
			require.Equal(t, "no-store", resp.Header.Get("Cache-Control"), "status %d", resp.StatusCode)
			require.Equal(t, "no-referrer", resp.Header.Get("Referrer-Policy"), "status %d", resp.StatusCode)
		})
	}
	// The answers RequireSession gives in the host's routes are the kit's too.
	for name, header := range map[string]map[string]string{
		"RequireSession without a token":           nil,
		"RequireSession with a bad token":          {"Session": "garbage"},
		"RequireSession refusing a foreign cookie": {"Cookie": authkit.SessionCookie + "=x", "Origin": evilOrigin},
	} {
		t.Run(name, func(t *testing.T) {
			status, header, _ := serveHost(t, h.kit.RequireSession, http.MethodPost, header)
			require.Equal(t, "no-store", header.Get("Cache-Control"), "status %d", status)
			require.Equal(t, "no-referrer", header.Get("Referrer-Policy"), "status %d", status)
		})
	}
}

// hostHandler reports what the kit's middleware put in the context.
func hostHandler(w http.ResponseWriter, r *http.Request) {
	u, okU := authkit.UserFromContext(r.Context())
	s, okS := authkit.SessionFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"hasUser": okU, "userId": u.ID, "email": u.Email,
		"hasSession": okS, "sessionId": s.ID, "sessionUserId": s.UserID,
	})
}

// serveHost runs mw(hostHandler) on one request with the given headers.
func serveHost(t *testing.T, mw func(http.Handler) http.Handler, method string, header map[string]string) (int, http.Header, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(method, "/private", nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(hostHandler)).ServeHTTP(rec, r)
	var body map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), "%s", rec.Body)
	return rec.Code, rec.Header(), body
}

func TestTransportRequireSession(t *testing.T) {
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", inputPassword)
	me := h.get(api+"user", token)
	list := h.get(api+"sessions", token)
	require.Len(t, list.list, 1)
	handle := list.list[0].(map[string]any)["token"]

	for name, header := range map[string]map[string]string{
		"Session header":       {"Session": token},
		"Authorization Bearer": {"Authorization": "Bearer " + token},
		"cookie":               cookieHeader(token),
	} {
		t.Run(name, func(t *testing.T) {
			status, _, body := serveHost(t, h.kit.RequireSession, http.MethodGet, header)
			require.Equal(t, http.StatusOK, status, "%v", body)
			require.Equal(t, true, body["hasUser"])
			require.Equal(t, me.body["_id"], body["userId"])
			require.Equal(t, "ann@example.com", body["email"])
			require.Equal(t, true, body["hasSession"])
			require.Equal(t, handle, body["sessionId"], "the session is the one listed")
			require.Equal(t, me.body["_id"], body["sessionUserId"])
		})
	}

	cases := []struct {
		name   string
		method string
		header map[string]string
		status int
		code   string
	}{
		{"no token", http.MethodGet, nil, http.StatusUnauthorized, "missing_session_token"},
		{"bad token", http.MethodGet, map[string]string{"Session": "garbage"}, http.StatusUnauthorized, "invalid_session_token"},
		{"cookie POST from a foreign origin", http.MethodPost, map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": evilOrigin}, http.StatusForbidden, "origin_not_allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, header, body := serveHost(t, h.kit.RequireSession, c.method, c.header)
			require.Equal(t, c.status, status, "%v", body)
			require.Contains(t, header.Get("Content-Type"), "application/json")
			require.NotContains(t, body, "hasUser", "the host handler did not run")
			errs := body["errors"].([]any)
			require.Equal(t, c.code, errs[0].(map[string]any)["code"])
		})
	}
}

func TestTransportLoadSession(t *testing.T) {
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", inputPassword)

	cases := []struct {
		name     string
		header   map[string]string
		signedIn bool
	}{
		{"anonymous", nil, false},
		{"valid token", map[string]string{"Session": token}, true},
		{"valid cookie", cookieHeader(token), true},
		{"bad token", map[string]string{"Session": "garbage"}, false},
		{"300-character token", map[string]string{"Session": strings.Repeat("A", 300)}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := serveHost(t, h.kit.LoadSession, http.MethodGet, c.header)
			require.Equal(t, http.StatusOK, status, "%v", body)
			require.Equal(t, c.signedIn, body["hasUser"])
			require.Equal(t, c.signedIn, body["hasSession"])
			if c.signedIn {
				require.Equal(t, "ann@example.com", body["email"])
			} else {
				require.Equal(t, "", body["userId"])
			}
		})
	}
}

func TestTransportSessionIdleTimeout(t *testing.T) {
	const idle = time.Hour
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = idle })
	token := h.confirmedUser("ann@example.com", inputPassword)

	// Used every 50 minutes for 5 hours: never idle for an hour.
	for i := range 6 {
		h.clock.Advance(50 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d steps: %s", i+1, a.raw)
	}
	// Used every 2 minutes (less often than activity is recorded) for 2 hours.
	for i := range 60 {
		h.clock.Advance(2 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d short steps: %s", i+1, a.raw)
	}
	// Then left alone for the idle timeout: it is over.
	h.clock.Advance(idle)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.post(api+"signout-all", nil, token), http.StatusUnauthorized, "invalid_session_token")
}

func TestTransportSessionIdleEndsUnusedSession(t *testing.T) {
	const idle = time.Hour
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = idle })
	token := h.confirmedUser("ann@example.com", inputPassword)

	h.clock.Advance(idle - time.Second)
	require.Equal(t, http.StatusOK, h.get(api+"user", token).status, "just inside the idle window")
	h.clock.Advance(idle + time.Second)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
}

func TestTransportSessionLifetime(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) {
		c.SessionLifetime = 2 * time.Hour
		c.SessionIdleTimeout = time.Hour
	})
	token := h.confirmedUser("ann@example.com", inputPassword)

	// Active all along, yet over at two hours.
	for i := range 11 {
		h.clock.Advance(10 * time.Minute)
		a := h.get(api+"user", token)
		require.Equal(t, http.StatusOK, a.status, "after %d minutes: %s", 10*(i+1), a.raw)
	}
	h.clock.Advance(9*time.Minute + 59*time.Second)
	require.Equal(t, http.StatusOK, h.get(api+"user", token).status, "a second before the end")
	h.clock.Advance(time.Second)
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")

	// A new sign-in starts a new lifetime.
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", in.token()).status)
}

func TestTransportExpiredSessionsNotListed(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) { c.SessionIdleTimeout = time.Hour })
	old := h.confirmedUser("ann@example.com", inputPassword)

	h.clock.Advance(50 * time.Minute)
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	fresh := in.token()
	require.Len(t, h.get(api+"sessions", fresh).list, 2, "both sessions are alive")

	h.clock.Advance(20 * time.Minute) // the first is idle for 70 minutes
	requireStatusCode(t, h.get(api+"user", old), http.StatusUnauthorized, "invalid_session_token")
	list := h.get(api+"sessions", fresh)
	require.Equal(t, http.StatusOK, list.status, "%s", list.raw)
	require.Len(t, list.list, 1, "the idle session is not listed: %s", list.raw)
	require.Equal(t, in.session()["creationDtm"], list.list[0].(map[string]any)["creationDtm"])
}

// touchCounter counts the writes of session activity.
type touchCounter struct {
	*memstore.Store
	touches atomic.Int32
}

func (c *touchCounter) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.touches.Add(1)
	return c.Store.TouchSession(ctx, id, at)
}

// RequireSession runs on every request: a busy session records its activity
// now and then, not with a write per request.
func TestActivityIsWrittenCoarsely(t *testing.T) {
	counter := &touchCounter{Store: memstore.New()}
	h := newHarness(t, func(c *authkit.Config) {
		c.Store = counter
		c.EmailConfirmation = authkit.Off
		c.SessionIdleTimeout = 20 * time.Hour // activity is written at most hourly
	})
	tok := h.signUp("act@example.com", "correct horse battery", nil).token()
	for range 5 {
		require.Equal(t, http.StatusOK, h.get(api+"user", tok).status)
	}
	require.Zero(t, counter.touches.Load(), "no write while the session is fresh")
	h.clock.Advance(time.Hour)
	for range 5 {
		require.Equal(t, http.StatusOK, h.get(api+"user", tok).status)
	}
	require.EqualValues(t, 1, counter.touches.Load(), "one write per interval")
}
