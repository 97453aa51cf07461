package authkit_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// SECURITY 12, 33: whatever a client sends to whatever path, a non-2xx
// answer is the JSON error body (the Altogic client hangs on anything
// else), and never a 5xx. h.do checks JSON, below 500 and no-store on
// every answer; these tests name the status and code.

// apiRoutes are the kit's REST routes with their method.
var apiRoutes = map[string]string{
	"signup-email": "POST", "signin-email": "POST", "grant": "GET", "send-magic": "POST", "send-reset": "POST",
	"reset-pwd": "POST", "resend": "POST", "user": "GET", "sessions": "GET", "signout": "POST",
	"signout-all": "POST", "signout-all-except": "POST", "change-pwd": "POST", "change-email": "POST",
	"signup-phone": "POST", "signin-phone": "POST", "verify-phone": "POST", "resend-code": "POST",
	"send-code": "POST", "signin-code": "POST", "send-reset-code": "POST", "reset-pwd-code": "POST", "change-phone": "POST",
}

func TestRoutesWrongMethods(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, generousLimits)
	paths := map[string]string{"/_auth/verify": "GET", "/_auth/github": "GET", "/_auth/github/callback": "GET"}
	for route, method := range apiRoutes {
		paths[api+route] = method
	}
	for path, method := range paths {
		for _, wrong := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "HEAD"} {
			if wrong == method {
				continue
			}
			if wrong == "HEAD" {
				// No body comes back, but the status and the type do.
				resp := rawCall(t, h, wrong, path, nil)
				require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "HEAD %s", path)
				require.Contains(t, resp.Header.Get("Content-Type"), "application/json", "HEAD %s", path)
				require.Equal(t, method, resp.Header.Get("Allow"), "HEAD %s", path)
				continue
			}
			a := h.do(req{method: wrong, path: path, body: `{}`})
			requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
			require.Equal(t, method, a.header.Get("Allow"), "%s %s", wrong, path)
		}
	}
}

func TestRoutesUnknownPaths(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	for _, path := range []string{
		"/", "/_api", "/_api/", "/_api/rest/v1/auth", api, api + "SIGNIN-EMAIL", api + "signin-email/", api + "signin-email/x",
		api + "../auth/signin-email", "/_api/rest/v2/auth/signin-email", "//_api/rest/v1/auth/signin-email",
		api + "signin-email%00", api + strings.Repeat("a", 10000), "/_auth", "/_auth/", "/_auth/verify/", "/_auth/github/callback/x",
		"/_auth/GitHub.", "/_auth/" + strings.Repeat("g", 33), "/favicon.ico", "/.env", "/_auth/github/../../etc/passwd",
	} {
		for _, method := range []string{"GET", "POST"} {
			a := h.do(req{method: method, path: path})
			requireStatusCode(t, a, http.StatusNotFound, "not_found")
		}
	}
}

func TestInputRoutes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, api + "nope", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, api + "nope", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/_auth/nope/deeper", http.StatusNotFound, "not_found", ""}, // /_auth/nope is a provider's start: see TestOAuthUnknownOrUnconfiguredProvider
		{http.MethodGet, api + "signin-email/", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, api + "signin-email", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPut, api + "signup-email", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPost, api + "grant", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodDelete, api + "user", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodPost, "/_auth/verify", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			a := h.do(req{method: c.method, path: c.path})
			requireStatusCode(t, a, c.status, c.code)
			if c.allow != "" {
				require.Equal(t, c.allow, a.header.Get("Allow"))
			}
		})
	}
}

func TestInputPhoneRoutes(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	for _, route := range []string{"signup-phone", "signin-phone", "verify-phone", "resend-code", "send-code", "signin-code", "send-reset-code", "reset-pwd-code", "change-phone"} {
		a := h.get(api+route, "")
		requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Equal(t, "POST", a.header.Get("Allow"))
	}
	requireStatusCode(t, h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": "+15555555555"}, ""),
		http.StatusUnauthorized, "missing_session_token")
}
