package authkit_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

func cookieHeader(token string) map[string]string {
	return map[string]string{"Cookie": authkit.SessionCookie + "=" + token}
}

func TestTransportSessionToken(t *testing.T) {
	t.Parallel()
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

func TestTransportRequireSession(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

func TestTransportCookieCSRF(t *testing.T) {
	t.Parallel()
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

// newSessionToken stores a fresh session of the user, as a sign-in would,
// and returns its token.
func newSessionToken(t *testing.T, h *harness, userID string) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := h.clock.Now()
	u, err := h.store.UserByID(context.Background(), userID)
	require.NoError(t, err)
	require.NoError(t, h.store.CreateSession(context.Background(), authkit.Session{
		ID: token[:24], TokenHash: sha256Hex(token), UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
		Stamp: u.Stamp,
	}))
	return token
}

// SECURITY 24: on every unsafe route that takes a session, email and
// phone alike, a session cookie works only from this app's own origin or
// an allowed one; refused, the request changes nothing. A token sent in a
// header is no ambient credential and needs no such check.
func TestCookiesCSRFOnEverySessionRoute(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, generousLimits) // dozens of wrong passwords, on purpose
	h.phoneUser("+15555555501", inputPassword)
	u, err := h.store.UserByPhone(context.Background(), "+15555555501")
	require.NoError(t, err)
	email, verified := "ann@example.com", true
	_, err = h.store.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{Email: &email, EmailVerified: &verified}})
	require.NoError(t, err)
	h.settle()

	// Each route with a body that would do harm (no body signs the
	// session out; the right password changes what it says), and one that
	// is harmless but gets past the CSRF check.
	routes := []struct {
		name           string
		harm, harmless any
		harmlessStatus int
	}{
		{"signout", "", map[string]any{"token": "no-such-session"}, http.StatusNotFound},
		{"signout-all", "", nil, http.StatusOK},
		{"signout-all-except", "", nil, http.StatusOK},
		{"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "a new long password"},
			map[string]any{"oldPassword": "not the password", "newPassword": "a new long password"}, http.StatusForbidden},
		{"change-email", map[string]any{"currentPassword": inputPassword, "newEmail": "mallory@example.com"},
			map[string]any{"currentPassword": "not the password", "newEmail": "mallory@example.com"}, http.StatusForbidden},
		{"change-phone", map[string]any{"currentPassword": inputPassword, "newPhone": "+15555555599"},
			map[string]any{"currentPassword": "not the password", "newPhone": "+15555555599"}, http.StatusForbidden},
	}
	refused := map[string]map[string]string{
		"no Origin nor Sec-Fetch-Site":               nil,
		"a foreign Origin":                           {"Origin": evilOrigin},
		"Origin null":                                {"Origin": "null"},
		"the allowed origin over http":               {"Origin": "http://app.example.com"},
		"the allowed host on another port":           {"Origin": "https://app.example.com:8443"},
		"a look-alike of the allowed origin":         {"Origin": "https://app.example.com.evil.example"},
		"Sec-Fetch-Site cross-site":                  {"Sec-Fetch-Site": "cross-site"},
		"Sec-Fetch-Site same-site":                   {"Sec-Fetch-Site": "same-site"},
		"a foreign Origin, Sec-Fetch-Site same-orig": {"Origin": evilOrigin, "Sec-Fetch-Site": "same-origin"},
	}
	allowed := map[string]map[string]string{
		"the allowed origin":         {"Origin": appOrigin},
		"the kit's own origin":       {"Origin": h.srv.URL},
		"Sec-Fetch-Site same-origin": {"Sec-Fetch-Site": "same-origin"},
	}
	with := func(extra map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range extra {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			for name, header := range refused {
				token := newSessionToken(t, h, u.ID)
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harm,
					header: with(header, "Cookie", authkit.SessionCookie+"="+token)})
				requireStatusCode(t, a, http.StatusForbidden, "origin_not_allowed")
				// The session lives on; the password, email and phone are
				// as they were.
				require.Equal(t, http.StatusOK, h.get(api+"user", token).status, name)
			}
			for name, header := range allowed {
				token := newSessionToken(t, h, u.ID)
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harmless,
					header: with(header, "Cookie", authkit.SessionCookie+"="+token)})
				require.Equal(t, rt.harmlessStatus, a.status, "%s: %s", name, a.raw)
				require.NotEqual(t, "origin_not_allowed", a.code(), name)
			}
			for name, header := range map[string]map[string]string{
				"Session header":       {"Origin": evilOrigin, "Sec-Fetch-Site": "cross-site"},
				"Authorization Bearer": {"Origin": evilOrigin},
			} {
				token := newSessionToken(t, h, u.ID)
				if name == "Session header" {
					header = with(header, "Session", token)
				} else {
					header = with(header, "Authorization", "Bearer "+token)
				}
				a := h.do(req{method: http.MethodPost, path: api + rt.name, body: rt.harmless, header: header})
				require.Equal(t, rt.harmlessStatus, a.status, "%s from a foreign origin: %s", name, a.raw)
			}
		})
	}
	in := h.signInPhone("+15555555501", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "the password is unchanged: %s", in.raw)
	me := h.get(api+"user", in.token())
	require.Equal(t, "ann@example.com", me.body["email"])
	require.Equal(t, "+15555555501", me.body["phone"])
	h.noMail("mallory@example.com")
	h.noMail("+15555555599")

	// A safe request with the cookie needs no origin: it changes nothing,
	// and CORS keeps its answer from a foreign page.
	token := newSessionToken(t, h, u.ID)
	a := h.do(req{method: http.MethodGet, path: api + "user", header: map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": evilOrigin}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Empty(t, a.header.Get("Access-Control-Allow-Origin"))

	// The host's own unsafe routes behind RequireSession and LoadSession
	// refuse a foreign cookie request the same way, whatever the method.
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for name, mw := range map[string]func(http.Handler) http.Handler{"RequireSession": h.kit.RequireSession, "LoadSession": h.kit.LoadSession} {
			status, _, body := serveHost(t, mw, method, map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": evilOrigin})
			require.Equal(t, http.StatusForbidden, status, "%s %s: %v", name, method, body)
			status, _, body = serveHost(t, mw, method, map[string]string{"Cookie": authkit.SessionCookie + "=" + token, "Origin": appOrigin})
			require.Equal(t, http.StatusOK, status, "%s %s: %v", name, method, body)
			require.Equal(t, true, body["hasUser"])
		}
	}
}

// A PublicURL or an allowed origin written with its scheme's default port,
// or in capitals, names the origin a browser sends without them (SECURITY
// 24-25): the app's own cookie requests must not be refused for it.
func TestOriginsCompareAsBrowsersWriteThem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) {
		c.AllowedOrigins = []string{"https://App.Example.com:443"}
		c.EmailConfirmation = authkit.Off
	})
	a := h.signUp("ann@example.com", inputPassword, "Ann")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	token := a.token()
	for _, origin := range []string{"https://app.example.com", "https://APP.example.com"} {
		header := cookieHeader(token)
		header["Origin"] = origin
		a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: header})
		require.Equal(t, http.StatusOK, a.status, "Origin %s: %s", origin, a.raw)
	}
	for _, origin := range []string{"https://app.example.com:8443", "http://app.example.com"} {
		header := cookieHeader(token)
		header["Origin"] = origin
		a := h.do(req{method: http.MethodPost, path: api + "signout-all-except", header: header})
		require.Equal(t, http.StatusForbidden, a.status, "Origin %s: %s", origin, a.raw)
	}

	// The kit's own origin, configured with its default port.
	k, err := authkit.New(func() authkit.Config {
		c := validConfig()
		c.PublicURL = "https://API.example.com:443/auth"
		c.EmailConfirmation = authkit.Off
		return c
	}())
	require.NoError(t, err)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, api+"signup-email", strings.NewReader(`{"email":"bo@example.com","password":"`+inputPassword+`"}`))
	r.Header.Set("Content-Type", "application/json")
	k.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, "%s", w.Body)
	var signedUp struct{ Session struct{ Token string } }
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &signedUp))
	w = httptest.NewRecorder()
	r = httptest.NewRequest(http.MethodPost, api+"signout-all-except", nil)
	r.AddCookie(&http.Cookie{Name: "session_token", Value: signedUp.Session.Token})
	r.Header.Set("Origin", "https://api.example.com")
	k.Handler().ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code, "the kit's own origin: %s", w.Body)
}

func TestTransportCORS(t *testing.T) {
	t.Parallel()
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

// A User-Agent of 100 KB, sent to every route, makes no log line over
// 1 KB: the kit keeps the first 512 bytes of it, for its logs and its
// sessions alike, on the API, the email links and the OAuth routes.
func TestHugeUserAgentLogsNoHugeLine(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	gh := oauthtest.NewGitHub(t)
	h := newPhoneHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}), func(c *authkit.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Limits.FailedSignIns = authkit.Rate{Max: 2, Per: time.Hour} // so that a limit logs too
	})
	huge := strings.Repeat("Mozilla/5.0 (X11; Linux x86_64) ", 100<<10/32)
	session := h.confirmedUser("ann@example.com", "correct horse battery")
	h.settle()

	const pw, phone = "correct horse battery", "+15555555555"
	calls := []req{
		{method: http.MethodPost, path: api + "signup-email", body: map[string]any{"email": "bob@example.com", "password": pw}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": pw}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodPost, path: api + "signin-email", body: map[string]any{"email": "ann@example.com", "password": "wrong password"}},
		{method: http.MethodGet, path: api + "grant?key=no-such-key"},
		{method: http.MethodPost, path: api + "send-magic?email=ann@example.com"},
		{method: http.MethodPost, path: api + "send-reset?email=ann@example.com"},
		{method: http.MethodPost, path: api + "reset-pwd?key=no-such-key", body: map[string]any{"newPassword": pw}},
		{method: http.MethodPost, path: api + "resend?email=bob@example.com"},
		{method: http.MethodGet, path: api + "user", token: session},
		{method: http.MethodGet, path: api + "sessions", token: session},
		{method: http.MethodPost, path: api + "change-pwd", body: map[string]any{"oldPassword": "wrong password", "newPassword": pw + "!"}, token: session},
		{method: http.MethodPost, path: api + "change-email", body: map[string]any{"currentPassword": "wrong password", "newEmail": "ann2@example.com"}, token: session},
		{method: http.MethodPost, path: api + "signup-phone", body: map[string]any{"phone": phone, "password": pw}},
		{method: http.MethodPost, path: api + "signin-phone", body: map[string]any{"phone": phone, "password": "wrong password"}},
		{method: http.MethodPost, path: phoneQuery("verify-phone", phone, "000000")},
		{method: http.MethodPost, path: phoneQuery("resend-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("send-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("signin-code", phone, "000000")},
		{method: http.MethodPost, path: phoneQuery("send-reset-code", phone, "")},
		{method: http.MethodPost, path: phoneQuery("reset-pwd-code", phone, "000000"), body: map[string]any{"newPassword": pw}},
		{method: http.MethodPost, path: api + "change-phone", body: map[string]any{"currentPassword": "wrong password", "newPhone": "+15555555556"}, token: session},
		{method: http.MethodGet, path: "/_auth/verify?key=no-such-key"},
		{method: http.MethodGet, path: "/_auth/nope"},
		{method: http.MethodGet, path: "/_auth/github/callback?state=forged&code=x"},
		{method: http.MethodGet, path: "/no/such/route"},
		{method: http.MethodPost, path: api + "signout-all-except", token: session},
		{method: http.MethodPost, path: api + "signout-all", token: session},
	}
	for _, c := range calls {
		c.header = map[string]string{"User-Agent": huge}
		h.do(c)
	}
	b := h.browser()
	b.userAgent = huge
	require.Equal(t, "200", b.signIn("github").Get("status"))
	h.settle()

	out := logs.String()
	for _, want := range []string{"sign-up", "sign-in", "sign-in failed", "too many requests", "oauth sign-in failed", "oauth sign-up", "code refused"} {
		require.Contains(t, out, `"msg":"authkit: `+want+`"`)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines {
		require.LessOrEqual(t, len(line), 1024, "a log line of %d bytes: %.200s…", len(line), line)
	}
	require.Contains(t, out, huge[:512], "the logs keep the start of the user agent")
}

// fuzzToken is the one live session token of FuzzSessionToken.
const fuzzToken = "ZnV6ei1zZXNzaW9uLXRva2VuLW9mLTMyLWJ5dGVzLXh4eA"

// FuzzSessionToken sends any Session header, Authorization header and
// session cookie, on a safe and on an unsafe request, to a kit route and
// to a host route behind RequireSession and LoadSession. Only the live
// token gets in; everything else is a 401 (or, for a cookie on an unsafe
// request without an allowed origin, a 403), in JSON.
func FuzzSessionToken(f *testing.F) {
	kit, store, userID := fuzzKit(f)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := store.CreateSession(context.Background(), authkit.Session{
		ID: "fuzzlive", TokenHash: sha256Hex(fuzzToken), UserID: userID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct{ session, authorization, cookie string }{
		{fuzzToken, "", ""}, {"", "Bearer " + fuzzToken, ""}, {"", "bearer  " + fuzzToken + " ", ""}, {"", "", fuzzToken},
		{"", "", authkit.SessionCookie + "=" + fuzzToken + "; other=1"}, {"", "", `"` + fuzzToken + `"`},
		{"", "", ""}, {"garbage", "", ""}, {"", "Bearer", ""}, {"", "Bearer ", ""}, {"", "Basic YW5uOnB3", ""},
		{strings.Repeat("A", 257), "", ""}, {fuzzToken + "x", "", ""}, {"", "", "=;=;"}, {"", "", "\x00"},
		{"", "Bearer " + strings.Repeat("t", 300), ""}, {" ", " ", " "},
	} {
		for _, unsafe := range []bool{false, true} {
			f.Add(s.session, s.authorization, s.cookie, unsafe)
		}
	}
	host := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(`{}`))
	})
	targets := []struct {
		name string
		h    http.Handler
		path string
	}{
		{"kit", kit.Handler(), ""},
		{"RequireSession", kit.RequireSession(host), "/private"},
		{"LoadSession", kit.LoadSession(host), "/private"},
	}
	f.Fuzz(func(t *testing.T, session, authorization, cookie string, unsafe bool) {
		sent := session + "\x00" + authorization + "\x00" + cookie
		for _, tg := range targets {
			method, path := http.MethodGet, api+"user"
			if unsafe {
				method, path = http.MethodPost, api+"signout-all-except"
			}
			if tg.path != "" {
				path = tg.path
			}
			r := httptest.NewRequest(method, path, nil)
			for k, v := range map[string]string{"Session": session, "Authorization": authorization} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			if cookie != "" {
				if strings.Contains(cookie, "=") {
					r.Header.Set("Cookie", cookie)
				} else {
					r.Header.Set("Cookie", authkit.SessionCookie+"="+cookie)
				}
			}
			rec := httptest.NewRecorder()
			tg.h.ServeHTTP(rec, r)
			what := tg.name + " " + method
			checkAPIAnswer(t, rec, what)
			switch rec.Code {
			case http.StatusOK:
				if tg.name != "LoadSession" && !strings.Contains(sent, fuzzToken) {
					t.Fatalf("%s let in a request without the live token: %q", what, sent)
				}
			case http.StatusUnauthorized, http.StatusForbidden:
				code := bodyErrorCode(t, rec.Body.Bytes())
				if code != "missing_session_token" && code != "invalid_session_token" && code != "origin_not_allowed" {
					t.Fatalf("%s: %d %s", what, rec.Code, code)
				}
				if code == "origin_not_allowed" && !unsafe {
					t.Fatalf("%s: a safe request refused for its origin", what)
				}
			default:
				t.Fatalf("%s: %d: %s", what, rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkRequireSession measures the middleware on every private request:
// read the token, hash it, look the session and user up, fill the context.
//
//	go test -run '^$' -bench RequireSession -benchmem .
func BenchmarkRequireSession(b *testing.B) {
	for _, bc := range []struct {
		name string
		edit func(*authkit.Config)
	}{
		{"memstore", nil},
		{"memstore cached", withCache},
		{"sqlite", onSQLite(b)},
		{"sqlite cached", func(c *authkit.Config) { onSQLite(b)(c); withCache(c) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			kit, token := benchKit(b, bc.edit)
			h := kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, ok := authkit.UserFromContext(r.Context()); !ok {
					b.Fatal("no user in context")
				}
			}))
			r := httptest.NewRequest(http.MethodGet, "/private", nil)
			r.Header.Set("Session", token)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
			b.StopTimer()
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		})
	}
}

// withCache turns the session cache on.
func withCache(c *authkit.Config) { c.SessionCache = authkit.SessionCache{Size: 1000} }

// onSQLite puts a kit on a SQLite file of its own.
func onSQLite(tb testing.TB) func(*authkit.Config) {
	return func(c *authkit.Config) {
		c.Store = openSQL(tb, filepath.Join(tb.TempDir(), "authkit.db"))
	}
}

// benchKit is a kit with one signed-in user, and that user's token; edit,
// when not nil, changes its Config first.
func benchKit(b testing.TB, edit func(*authkit.Config)) (*authkit.Kit, string) {
	b.Helper()
	cfg := authkit.Config{
		Store:             memstore.New(),
		Mailer:            outbox.New(),
		PublicURL:         "http://localhost",
		RedirectURL:       "http://localhost/",
		EmailConfirmation: authkit.Off,
		Logger:            discardLogger(),
	}
	if edit != nil {
		edit(&cfg)
	}
	kit, err := authkit.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { kit.Close(context.Background()) })
	srv := httptest.NewServer(kit.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+api+"signup-email", "application/json",
		stringsReader(`{"email":"bench@example.com","password":"correct horse battery"}`))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Session struct{ Token string }
	}
	if err := jsonDecode(resp.Body, &ans); err != nil || ans.Session.Token == "" {
		b.Fatalf("sign-up: %v (status %d)", err, resp.StatusCode)
	}
	return kit, ans.Session.Token
}
