package authkit_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// kit.CORS (middleware.go) on a route of the host's: a SPA on an allowed
// origin calls /api/orders, behind kit.CORS(kit.RequireSession(h)), with
// the Altogic client's headers.

// corsApp is a host app: the kit, and an API route for a SPA on another
// origin.
func corsApp(kit *authkit.Kit) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())
	mux.Handle("/_auth/", kit.Handler())
	mux.Handle("/api/orders", kit.CORS(kit.RequireSession(http.HandlerFunc(hostHandler))))
	return mux
}

// headerSet is a comma-separated header value as a set, case folded.
func headerSet(v string) map[string]bool {
	set := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		set[strings.ToLower(strings.TrimSpace(s))] = true
	}
	return set
}

func TestCORSForHostRoutes(t *testing.T) {
	t.Parallel()
	h := newAppHarness(t, corsApp, authkit.CheapHashing, noLimits)
	const ann = "ann@example.com"
	h.passwordUser(ann)
	token := h.signIn(ann, inputPassword).token()
	require.NotEmpty(t, token)

	t.Run("a preflight passes without a session", func(t *testing.T) {
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			resp := rawCall(t, h, http.MethodOptions, "/api/orders", map[string]string{
				"Origin":                         appOrigin,
				"Access-Control-Request-Method":  method,
				"Access-Control-Request-Headers": "session, x-client, x-client-key, content-type",
			})
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusNoContent, resp.StatusCode, "%s: %s", method, body)
			require.Empty(t, body, "answered before RequireSession")
			require.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
			require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
			require.True(t, headerSet(resp.Header.Get("Access-Control-Allow-Methods"))[strings.ToLower(method)],
				"Allow-Methods %q lacks %s", resp.Header.Get("Access-Control-Allow-Methods"), method)
			allowed := headerSet(resp.Header.Get("Access-Control-Allow-Headers"))
			for _, want := range []string{"Session", "X-Client", "X-Client-Key", "Content-Type", "Authorization", "X-CSRF-Token"} {
				require.True(t, allowed[strings.ToLower(want)], "Allow-Headers %q lacks %s", resp.Header.Get("Access-Control-Allow-Headers"), want)
			}
			require.Contains(t, resp.Header.Values("Vary"), "Origin")
		}
	})

	t.Run("the call is authenticated by its Session header", func(t *testing.T) {
		resp := rawCall(t, h, http.MethodGet, "/api/orders", map[string]string{
			"Origin": appOrigin, "Session": token, "X-Client": "altogic-js", "X-Client-Key": "k",
		})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		require.Equal(t, ann, body["email"])
	})

	t.Run("a call without a session gets a 401 the app can read", func(t *testing.T) {
		resp := rawCall(t, h, http.MethodDelete, "/api/orders", map[string]string{"Origin": appOrigin})
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		require.Equal(t, "missing_session_token", bodyErrorCode(t, body))
		require.Equal(t, appOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
	})

	for name, origin := range map[string]string{
		"another origin": evilOrigin,
		"a look-alike":   "https://app.example.com.evil.example",
		"http":           "http://app.example.com",
		"the kit's own":  h.srv.URL, // no cross-origin call needs a preflight from it
	} {
		t.Run("a preflight from "+name+" is refused", func(t *testing.T) {
			resp := rawCall(t, h, http.MethodOptions, "/api/orders", map[string]string{
				"Origin": origin, "Access-Control-Request-Method": "DELETE", "Access-Control-Request-Headers": "session",
			})
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s", body)
			require.Equal(t, "origin_not_allowed", bodyErrorCode(t, body))
			for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
				require.Empty(t, resp.Header.Get(h), h)
			}
		})
	}

	t.Run("a call from another origin is not readable", func(t *testing.T) {
		resp := rawCall(t, h, http.MethodGet, "/api/orders", map[string]string{"Origin": evilOrigin, "Session": token})
		require.Equal(t, http.StatusOK, resp.StatusCode, "the host's route runs; the browser shows nothing of it")
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
		require.Empty(t, resp.Header.Get("Access-Control-Allow-Credentials"))
	})

	t.Run("the kit's own routes take GET and POST as before", func(t *testing.T) {
		resp := rawCall(t, h, http.MethodOptions, api+"user", map[string]string{
			"Origin": appOrigin, "Access-Control-Request-Method": "GET",
		})
		require.Equal(t, http.StatusNoContent, resp.StatusCode)
		require.Equal(t, "GET, POST", resp.Header.Get("Access-Control-Allow-Methods"))
	})
}

// Without AllowedOrigins, kit.CORS lets no other origin in, and the
// routes it wraps answer as they would without it.
func TestCORSWithoutAllowedOrigins(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.AllowedOrigins = nil
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	mw := func(next http.Handler) http.Handler { return kit.CORS(kit.RequireSession(next)) }
	status, header, body := serveHost(t, mw, http.MethodOptions, map[string]string{
		"Origin": appOrigin, "Access-Control-Request-Method": "GET",
	})
	require.Equal(t, http.StatusForbidden, status)
	require.Empty(t, header.Get("Access-Control-Allow-Origin"))
	require.NotNil(t, body["errors"])
	status, header, _ = serveHost(t, mw, http.MethodGet, map[string]string{"Origin": appOrigin})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Empty(t, header.Get("Access-Control-Allow-Origin"))
}
