package authkit_test

import (
	"io"
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

func TestRoutesWrongContentTypes(t *testing.T) {
	h := newPhoneHarness(t, generousLimits)
	token := h.phoneUser("+15555555501", inputPassword)
	routes := map[string]string{ // a route that reads a body, with the token it needs
		"signup-email": "", "signin-email": "", "reset-pwd?key=somekey": "", "change-pwd": token, "change-email": token,
		"signout": token, "signup-phone": "", "signin-phone": "", "reset-pwd-code?phone=%2B15555555501&code=123456": "", "change-phone": token,
	}
	for route, tok := range routes {
		for _, ct := range []string{
			"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx",
			"application/vnd.api+json", "text/json", "application/xml", "application/json/x", "application/json; charset", "*/*", "none",
		} {
			header := map[string]string{"Content-Type": ct}
			if ct == "none" {
				header["Content-Type"] = ""
			}
			a := h.do(req{method: http.MethodPost, path: api + route, body: `{}`, token: tok, header: header})
			require.Equal(t, http.StatusUnsupportedMediaType, a.status, "%s with %q: %s", route, ct, a.raw)
			require.Equal(t, "unsupported_media_type", a.code())
		}
	}
	require.Equal(t, http.StatusOK, h.get(api+"user", token).status, "nothing of that signed out")
}

// A query value of any size is refused by what it should be, in JSON: up
// to the 1 MB of headers that net/http reads (past that, the host's
// http.Server answers 431 itself, before any handler).
func TestRoutesOversizedQueryValues(t *testing.T) {
	h := newPhoneHarness(t, generousLimits)
	for _, size := range []int{300, 100 << 10, 900 << 10} {
		email := strings.Repeat("e", size) + "@example.com"
		digits := strings.Repeat("5", size)
		for _, c := range []struct {
			method, path string
			body         any
			code         string
		}{
			{"POST", api + "send-magic?email=" + email, nil, "invalid_email"},
			{"POST", api + "send-reset?email=" + email, nil, "invalid_email"},
			{"POST", api + "resend?email=" + email, nil, "invalid_email"},
			{"POST", api + "send-code?phone=%2B" + digits, nil, "invalid_phone"},
			{"POST", api + "send-reset-code?phone=%2B" + digits, nil, "invalid_phone"},
			{"POST", api + "resend-code?phone=%2B" + digits, nil, "invalid_phone"},
			{"POST", api + "signin-code?phone=%2B15555555501&code=" + digits, nil, "invalid_code"},
			{"POST", api + "verify-phone?phone=%2B15555555501&code=" + digits, nil, "invalid_code"},
			{"POST", api + "reset-pwd-code?phone=%2B15555555501&code=" + digits, map[string]any{"newPassword": "a new long password"}, "invalid_code"},
			{"POST", api + "reset-pwd?key=" + digits, map[string]any{"newPassword": "a new long password"}, "invalid_token"},
			{"GET", api + "grant?key=" + digits, nil, "invalid_token"},
		} {
			a := h.do(req{method: c.method, path: c.path, body: c.body})
			requireStatusCode(t, a, http.StatusBadRequest, c.code)
		}
		// The browser routes end at the Redirect URL, never on a bare page.
		q := h.follow(h.srv.URL + "/_auth/verify?key=" + digits)
		require.Equal(t, "invalid_token", q.Get("error"))
		resp := rawCall(t, h, http.MethodGet, "/_auth/github/callback?code=x&state="+digits, nil)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode, "%s", body)
		require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "https://app.example.com/after?"), resp.Header.Get("Location"))
	}
}

// Apple's callback takes GET and POST (response_mode=form_post); a wrong
// method is told both.
func TestRoutesAppleCallbackAllowsBoth(t *testing.T) {
	h := newHarness(t)
	a := h.do(req{method: http.MethodPut, path: "/_auth/apple/callback"})
	requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
	require.Equal(t, "GET, POST", a.header.Get("Allow"))
}
