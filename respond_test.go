package authkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

func TestInputBadBodies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, noLimits) // dozens of requests from one IP: PerIP would answer them first
	token := h.confirmedUser("ann@example.com", inputPassword)

	endpoints := []struct {
		path     string
		token    string
		field    string // a string field of the body
		optional bool   // the body may be absent
	}{
		{api + "signup-email", "", "password", false},
		{api + "signin-email", "", "password", false},
		{api + "reset-pwd?key=somekey", "", "newPassword", false},
		{api + "change-pwd", token, "newPassword", false},
		{api + "change-email", token, "newEmail", false},
		{api + "signout", token, "token", true},
	}
	huge := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	cases := []struct {
		name        string
		body        any // nil: no body
		contentType string
		status      int
		code        string
		field       string // want details.field; "@" for the endpoint's field
	}{
		{"no body", nil, "", http.StatusBadRequest, "bad_request", ""},
		{"text/plain", `{}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"form", `a=b`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"malformed JSON", `{"email":`, "", http.StatusBadRequest, "bad_request", ""},
		{"not JSON", `hello`, "", http.StatusBadRequest, "bad_request", ""},
		{"unknown field", `{"bogus":1}`, "", http.StatusBadRequest, "bad_request", "bogus"},
		{"wrong type", `{"@":5}`, "", http.StatusBadRequest, "bad_request", "@"},
		{"object for a string", `{"@":{}}`, "", http.StatusBadRequest, "bad_request", "@"},
		{"two objects", `{}{}`, "", http.StatusBadRequest, "bad_request", ""},
		{"trailing garbage", `{} x`, "", http.StatusBadRequest, "bad_request", ""},
		{"array", `[]`, "", http.StatusBadRequest, "bad_request", ""},
		{"string", `"text"`, "", http.StatusBadRequest, "bad_request", ""},
		{"over 64 KiB", huge, "", http.StatusRequestEntityTooLarge, "request_too_large", ""},
	}
	for _, ep := range endpoints {
		t.Run(strings.TrimPrefix(ep.path, api), func(t *testing.T) {
			for _, c := range cases {
				if c.body == nil && ep.optional {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					r := req{method: http.MethodPost, path: ep.path, token: ep.token}
					if s, ok := c.body.(string); ok {
						r.body = strings.ReplaceAll(s, "@", ep.field)
					}
					if c.contentType != "" {
						r.header = map[string]string{"Content-Type": c.contentType}
					}
					a := h.do(r)
					requireStatusCode(t, a, c.status, c.code)
					if c.field != "" {
						want := c.field
						if want == "@" {
							want = ep.field
						}
						require.Equal(t, want, answerDetails(t, a)["field"], "%s", a.raw)
					}
				})
			}
		})
	}
	// None of it signed the session out or changed the account.
	me := h.get(api+"user", token)
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	require.Equal(t, "ann@example.com", me.body["email"])
	require.Equal(t, http.StatusOK, h.signIn("ann@example.com", inputPassword).status)

	// A charset parameter is fine.
	a := h.do(req{method: http.MethodPost, path: api + "signin-email",
		body:   `{"email":"ann@example.com","password":"` + inputPassword + `"}`,
		header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
}

func TestInputBadPhoneBodies(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits) // dozens of requests from one IP: PerIP would answer them first
	token := h.phoneUser("+15555555555", phonePassword)
	endpoints := []struct {
		path, token, field string
	}{
		{api + "signup-phone", "", "phone"},
		{api + "signin-phone", "", "password"},
		{phoneQuery("reset-pwd-code", "+15555555555", "123456"), "", "newPassword"},
		{api + "change-phone", token, "newPhone"},
	}
	cases := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"no body", "", "", http.StatusBadRequest, "bad_request"},
		{"text/plain", `{}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"malformed JSON", `{"phone":`, "", http.StatusBadRequest, "bad_request"},
		{"unknown field", `{"bogus":1}`, "", http.StatusBadRequest, "bad_request"},
		{"wrong type", `{"@":15555555555}`, "", http.StatusBadRequest, "bad_request"},
		{"array", `[]`, "", http.StatusBadRequest, "bad_request"},
		{"over 64 KiB", `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`, "", http.StatusRequestEntityTooLarge, "request_too_large"},
	}
	for _, ep := range endpoints {
		t.Run(ep.field+" "+ep.path, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := req{method: http.MethodPost, path: ep.path, token: ep.token}
					if c.body != "" {
						r.body = strings.ReplaceAll(c.body, "@", ep.field)
					}
					if c.contentType != "" {
						r.header = map[string]string{"Content-Type": c.contentType}
					}
					requireStatusCode(t, h.do(r), c.status, c.code)
				})
			}
		})
	}
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", phonePassword).status)
}

func TestRoutesWrongContentTypes(t *testing.T) {
	t.Parallel()
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

// Every answer of the kit, error or redirect, is kept out of caches and
// sends no Referer onward (SECURITY 18).
func TestTransportNoStoreEverywhere(t *testing.T) {
	t.Parallel()
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

// fuzzSessions hands out fresh sessions of one user, a new one per
// iteration, so that an input that signs out spoils no later one.
type fuzzSessions struct {
	store  *memstore.Store
	userID string
	n      atomic.Int64
}

func (s *fuzzSessions) next(t *testing.T) string {
	n := s.n.Add(1)
	token := "fuzz-session-" + strconv.FormatInt(n, 10)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	err := s.store.CreateSession(context.Background(), authkit.Session{
		ID: "fuzz" + strconv.FormatInt(n, 10), TokenHash: sha256Hex(token), UserID: s.userID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// checkStrictBody checks that a body a route took (2xx) was one JSON
// object holding only the route's fields, spelled as they are, each once.
func checkStrictBody(t *testing.T, body []byte, fields []string, what string) {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return // routes with an optional body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s took a body that is no object: %q", what, body)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s took a malformed body: %q", what, body)
		}
		key := tok.(string)
		known := false
		for _, f := range fields {
			known = known || f == key
		}
		if !known || seen[key] {
			t.Fatalf("%s took a body with the key %q (unknown, case-folded or repeated): %q", what, key, body)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s took a malformed body: %q", what, body)
		}
	}
}

// bodyRoutes are the POST routes, with the fields of the body each reads
// (nil: it reads none) and whether it needs a session.
var bodyRoutes = []struct {
	path    string
	fields  []string
	session bool
}{
	{api + "signup-email", []string{"email", "password", "nameOrUserData"}, false},
	{api + "signin-email", []string{"email", "password"}, false},
	{api + "reset-pwd?key=bm90LWEta2V5LW9mLXRoZS1raXQtYXQtYWxsLTAwMDAwMDA", []string{"newPassword"}, false},
	{api + "change-pwd", []string{"newPassword", "oldPassword"}, true},
	{api + "change-email", []string{"currentPassword", "newEmail"}, true},
	{api + "signout", []string{"token"}, true},
	{api + "signup-phone", []string{"phone", "password", "nameOrUserData"}, false},
	{api + "signin-phone", []string{"phone", "password"}, false},
	{api + "reset-pwd-code?phone=%2B15555555555&code=123456", []string{"newPassword"}, false},
	{api + "change-phone", []string{"currentPassword", "newPhone"}, true},
	{api + "signout-all", nil, true},
	{api + "signout-all-except", nil, true},
	{api + "send-magic?email=" + fuzzEmail, nil, false},
	{api + "send-reset?email=" + fuzzEmail, nil, false},
	{api + "resend?email=" + fuzzEmail, nil, false},
	{api + "verify-phone?phone=%2B15555555555&code=123456", nil, false},
	{api + "resend-code?phone=%2B15555555555", nil, false},
	{api + "send-code?phone=%2B15555555555", nil, false},
	{api + "signin-code?phone=%2B15555555555&code=123456", nil, false},
	{api + "send-reset-code?phone=%2B15555555555", nil, false},
}

// fuzzValues are good values of the body fields: the account's own
// password and number, new addresses and passwords that are allowed.
var fuzzValues = map[string]any{
	"email": fuzzEmail, "password": fuzzPassword, "nameOrUserData": map[string]any{"name": "Ann", "age": 3},
	"phone": fuzzPhone, "newPassword": "a new long password", "oldPassword": fuzzPassword,
	"currentPassword": fuzzPassword, "newEmail": "other@example.com", "newPhone": "+15555555502", "token": "fuzz1",
}

// FuzzHandlerBodies sends any bytes, with any Content-Type, as the body of
// every POST route.
func FuzzHandlerBodies(f *testing.F) {
	kit, store, userID := fuzzKit(f)
	sessions := &fuzzSessions{store: store, userID: userID}
	// Per route: a body it takes, the same with a key in capitals, with a
	// key given twice, with a value of the wrong type, and nothing.
	for i, rt := range bodyRoutes {
		route := uint8(i)
		valid := map[string]any{}
		for _, field := range rt.fields {
			valid[field] = fuzzValues[field]
		}
		raw, _ := json.Marshal(valid)
		f.Add(route, "application/json", raw)
		f.Add(route, "", []byte(nil))
		if len(rt.fields) == 0 {
			f.Add(route, "application/json", []byte(`{"token":"x"}`))
			continue
		}
		first := rt.fields[0]
		f.Add(route, "application/json; charset=utf-8", bytes.Replace(raw, []byte(`"`+first+`"`), []byte(`"`+strings.ToUpper(first)+`"`), 1))
		f.Add(route, "application/json", append(raw[:len(raw)-1:len(raw)-1], []byte(`,"`+first+`":"again"}`)...))
		f.Add(route, "application/json", []byte(`{"`+first+`":5}`))
	}
	for i, body := range []string{
		"null", "[]", `"text"`, "{} {}", `{"bogus":1}`, "{\"email\":\"a\xffb@example.com\"}", "\ufeff{}",
		`{"email":"` + strings.Repeat("a", 300) + `@example.com","password":"` + strings.Repeat("p", 1100) + `"}`,
	} {
		f.Add(uint8(i), "application/json", []byte(body))
	}
	f.Add(uint8(1), "text/plain", []byte(`{}`))
	f.Fuzz(func(t *testing.T, route uint8, contentType string, body []byte) {
		rt := bodyRoutes[int(route)%len(bodyRoutes)]
		r := httptest.NewRequest(http.MethodPost, rt.path, bytes.NewReader(body))
		r.Header.Set("User-Agent", chromeUA)
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		if rt.session {
			r.Header.Set("Session", sessions.next(t))
		}
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		what := "POST " + rt.path
		checkAPIAnswer(t, rec, what)
		if rec.Code < 300 && rt.fields != nil {
			checkStrictBody(t, body, rt.fields, what)
		}
	})
}
