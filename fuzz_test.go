package authkit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
)

// Fuzz targets for every hostile input the handler decodes (SECURITY 12,
// 33; STYLE 8): JSON bodies, query values, session tokens and the OAuth
// callback. Each runs its seeds (f.Add and testdata/fuzz/<name>) in every
// `go test`; .ci/run fuzzes each for a bounded time:
//
//	go test -run '^$' -fuzz '^FuzzHandlerBodies$' -fuzztime 10s .
//
// What every answer must be, whatever came in: never a panic, never a 5xx;
// JSON with no-store; on non-2xx the Altogic error body, whose code maps to
// the status it came with. The targets serve the Handler in process
// (httptest.NewRecorder) over memstore, with cheap password hashing
// (authkit.CheapHashing) and limits too high to reach, so that an
// iteration costs microseconds and every path stays open to the fuzzer.

const (
	fuzzPassword = "correct horse battery"
	fuzzEmail    = "fuzz@example.com"
	fuzzPhone    = "+15555555555"
	fuzzPublic   = "https://api.example.com"
	fuzzRedirect = "https://app.example.com/after"
)

// discardSender takes every message and sends none.
type discardSender struct{}

func (discardSender) SendEmail(context.Context, authkit.Email) error { return nil }
func (discardSender) SendSMS(context.Context, authkit.SMS) error     { return nil }

// generousLimits keeps every abuse limit on, so that its code runs, but out
// of reach.
func generousLimits(c *authkit.Config) {
	r := authkit.Rate{Max: 1 << 30, Per: time.Hour}
	c.Limits = authkit.Limits{FailedSignIns: r, PerIP: r, EmailsPerAddress: r, EmailRepeats: r, SMSPerNumber: r, SMSPerIP: r}
}

// fuzzKit is a kit for fuzzing, with one confirmed password account that
// has fuzzEmail and fuzzPhone, whose id it returns.
func fuzzKit(f *testing.F, edit ...func(*authkit.Config)) (*authkit.Kit, *memstore.Store, string) {
	f.Helper()
	store := memstore.New()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cfg := authkit.Config{
		Store: store, Mailer: discardSender{}, SMSSender: discardSender{}, PhoneAuth: authkit.On,
		PublicURL: fuzzPublic, RedirectURL: fuzzRedirect, AllowedOrigins: []string{appOrigin},
		Logger: discardLogger(), Now: func() time.Time { return now },
	}
	generousLimits(&cfg)
	authkit.CheapHashing(&cfg)
	for _, e := range edit {
		e(&cfg)
	}
	kit, err := authkit.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		kit.Close(ctx)
	})
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, api+"signup-email", strings.NewReader(`{"email":"`+fuzzEmail+`","password":"`+fuzzPassword+`"}`))
	r.Header.Set("Content-Type", "application/json")
	kit.Handler().ServeHTTP(rec, r)
	if rec.Code != http.StatusOK {
		f.Fatalf("sign-up: %d %s", rec.Code, rec.Body)
	}
	u, err := store.UserByEmail(context.Background(), fuzzEmail)
	if err != nil {
		f.Fatal(err)
	}
	// The empty stamp, as accounts made before stamps have, is the stamp
	// of the sessions the fuzz targets store by hand.
	verified, phone, noStamp := true, fuzzPhone, ""
	if _, err := store.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{
		EmailVerified: &verified, Phone: &phone, PhoneVerified: &verified, Stamp: &noStamp,
	}}); err != nil {
		f.Fatal(err)
	}
	return kit, store, u.ID
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

// checkAPIAnswer checks what every answer of the REST API must be.
func checkAPIAnswer(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	body := rec.Body.Bytes()
	if rec.Code >= 500 {
		t.Fatalf("%s: a %d: %s", what, rec.Code, body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: %d with Content-Type %q: %s", what, rec.Code, ct, body)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("%s: %d with Cache-Control %q", what, rec.Code, cc)
	}
	if !json.Valid(body) {
		t.Fatalf("%s: %d with a body that is not JSON: %q", what, rec.Code, body)
	}
	if rec.Code < 300 {
		return
	}
	var e struct {
		Errors []map[string]json.RawMessage `json:"errors"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("%s: %d without one error in the Altogic body: %s", what, rec.Code, body)
	}
	var origin, code, message string
	for k, v := range map[string]*string{"origin": &origin, "code": &code, "message": &message} {
		if err := json.Unmarshal(e.Errors[0][k], v); err != nil || *v == "" {
			t.Fatalf("%s: the error's %s is not a string: %s", what, k, body)
		}
	}
	if origin != "client_error" {
		t.Fatalf("%s: a %d from %q: %s", what, rec.Code, origin, body)
	}
	if s := authkit.Code(code).Status(); s != rec.Code {
		t.Fatalf("%s: code %s answered with %d, not its %d", what, code, rec.Code, s)
	}
	if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: a 429 without Retry-After", what)
	}
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

// queryRoutes are the routes that read their query, and how each is called.
var queryRoutes = []struct {
	method, path, body, query string
}{
	{http.MethodPost, api + "send-magic", "", "email=" + fuzzEmail},
	{http.MethodPost, api + "send-reset", "", "email=" + fuzzEmail},
	{http.MethodPost, api + "resend", "", "email=" + fuzzEmail},
	{http.MethodPost, api + "send-code", "", "phone=%2B15555555555"},
	{http.MethodPost, api + "send-reset-code", "", "phone=%2B15555555555"},
	{http.MethodPost, api + "resend-code", "", "phone=%2B15555555555"},
	{http.MethodPost, api + "signin-code", "", "phone=%2B15555555555&code=123456"},
	{http.MethodPost, api + "verify-phone", "", "phone=%2B15555555555&code=123456"},
	{http.MethodPost, api + "reset-pwd", `{"newPassword":"a new long password"}`, "key=bm90LWEta2V5LW9mLXRoZS1raXQtYXQtYWxsLTAwMDAwMDA"},
	{http.MethodPost, api + "reset-pwd-code", `{"newPassword":"a new long password"}`, "phone=%2B15555555555&code=123456"},
	{http.MethodGet, api + "grant", "", "key=bm90LWEta2V5LW9mLXRoZS1raXQtYXQtYWxsLTAwMDAwMDA"},
	{http.MethodGet, "/_auth/verify", "", "key=bm90LWEta2V5LW9mLXRoZS1raXQtYXQtYWxsLTAwMDAwMDA"},
}

// FuzzQueryValues sends any query string to every route that reads one:
// the email, phone, code and key parameters, unencoded as the client
// sends them, encoded, repeated, oversized or malformed.
func FuzzQueryValues(f *testing.F) {
	kit, _, _ := fuzzKit(f)
	// Per route: no query and one it takes; then odd queries, spread
	// over the routes.
	for i, rt := range queryRoutes {
		f.Add(uint8(i), "")
		f.Add(uint8(i), rt.query)
	}
	for i, q := range []string{
		"email=fuzz+tag@example.com", "email=Fuzz%2BTag%40Example.com", "email=a@b@c", "email=%ff@example.com",
		"email=" + strings.Repeat("e", 300) + "@example.com", "email=" + fuzzEmail + "&email=other@example.com",
		"phone=+15555555555", "phone= 1 555 555 5555", "phone=%2B1555", "phone=" + strings.Repeat("5", 300),
		"phone=%2B15555555555&code=12345a", "phone=%2B15555555555&code=" + strings.Repeat("1", 300),
		"key=" + strings.Repeat("k", 300), "key=%00", "key=a%20b", "key=..%2F..%2F", "key=a;key=b",
		"%zz", "a=%", ";;;", "email", "&&&=&",
	} {
		f.Add(uint8(i), q)
	}
	f.Fuzz(func(t *testing.T, route uint8, query string) {
		rt := queryRoutes[int(route)%len(queryRoutes)]
		var body *strings.Reader
		if rt.body != "" {
			body = strings.NewReader(rt.body)
		}
		var r *http.Request
		if body != nil {
			r = httptest.NewRequest(rt.method, rt.path, body)
			r.Header.Set("Content-Type", "application/json")
		} else {
			r = httptest.NewRequest(rt.method, rt.path, nil)
		}
		r.URL.RawQuery = query
		r.Header.Set("User-Agent", chromeUA)
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		what := rt.method + " " + rt.path + "?" + query
		if rt.path != "/_auth/verify" {
			checkAPIAnswer(t, rec, what)
			return
		}
		checkRedirect(t, rec, what)
		if q := redirectQuery(t, rec); q.Get("access_token") != "" || q.Get("status") == "200" {
			t.Fatalf("%s: a link the kit never issued worked: %v", what, q)
		}
	})
}

// checkRedirect checks an answer that ends in the browser: a 303 to the
// Redirect URL, kept out of caches and referers.
func checkRedirect(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("%s: %d, not a redirect: %s", what, rec.Code, rec.Body)
	}
	if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("%s: a redirect without no-store and no-referrer: %v", what, rec.Header())
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != fuzzRedirect || loc.Fragment != "" {
		t.Fatalf("%s: redirected to %q, not to the Redirect URL", what, rec.Header().Get("Location"))
	}
	for key := range loc.Query() {
		switch key {
		case "status", "error", "action", "access_token":
		default:
			t.Fatalf("%s: the redirect carries %q: %s", what, key, loc)
		}
	}
}

func redirectQuery(t *testing.T, rec *httptest.ResponseRecorder) url.Values {
	t.Helper()
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
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

// FuzzOAuthCallback sends any query, form and state cookie to the OAuth
// callbacks (GitHub's GET, Apple's form POST, Google's, and a provider
// that is not configured). None signs anyone in: each ends at the
// Redirect URL with status and error, and clears the state cookie.
func FuzzOAuthCallback(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		f.Fatal(err)
	}
	nowhere := "http://127.0.0.1:1" // never reached: no state of the fuzzer's is valid
	kit, _, _ := fuzzKit(f, withProviders(map[string]authkit.OAuthProvider{
		"github": {ClientID: "id", ClientSecret: "secret", AuthURL: nowhere + "/auth", TokenURL: nowhere + "/token", APIURL: nowhere},
		"google": {ClientID: "id", ClientSecret: "secret", AuthURL: nowhere + "/auth", TokenURL: nowhere + "/token", Issuer: nowhere, JWKSURL: nowhere + "/jwks"},
		"apple": {ClientID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567",
			PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
			AuthURL:    nowhere + "/auth", TokenURL: nowhere + "/token", Issuer: nowhere, JWKSURL: nowhere + "/jwks"},
	}))
	providers := []string{"github", "apple", "google", "discord"}
	// A sign-in started for real: its cookie and state pass the first
	// checks, once.
	rec := httptest.NewRecorder()
	kit.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/_auth/github", nil))
	started := rec.Result().Cookies()
	if len(started) != 1 {
		f.Fatalf("start set %d cookies", len(started))
	}
	state := redirectState(f, rec.Header().Get("Location"))
	f.Add(uint8(0), "state="+state+"&code=abc", "", started[0].Value, false)
	for i := range providers {
		p := uint8(i)
		for _, s := range []struct{ query, form, cookie string }{
			{"", "", ""}, {"state=x&code=y", "", ""}, {"state=x&code=y", "", "not-a-cookie"},
			{"error=access_denied&state=x", "", started[0].Value}, {"state=" + state + "&code=" + strings.Repeat("c", 300), "", started[0].Value},
			{"state=" + strings.Repeat("s", 300), "", ""}, {"%zz", "%zz", "%zz"}, {"", "state=x&code=y&user=%7B%22name%22%3A%7B%7D%7D", ""},
			{"", "state=" + state + "&code=abc&id_token=a.b.c", started[0].Value}, {"", strings.Repeat("a=b&", 300), ""},
		} {
			f.Add(p, s.query, s.form, s.cookie, false)
			f.Add(p, s.query, s.form, s.cookie, true)
		}
	}
	cookieName := started[0].Name
	f.Fuzz(func(t *testing.T, provider uint8, query, form, cookie string, post bool) {
		name := providers[int(provider)%len(providers)]
		path := "/_auth/" + name + "/callback"
		var r *http.Request
		if post {
			r = httptest.NewRequest(http.MethodPost, path, strings.NewReader(form))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			r = httptest.NewRequest(http.MethodGet, path, nil)
		}
		r.URL.RawQuery = query
		r.Header.Set("User-Agent", chromeUA)
		if cookie != "" {
			r.Header.Set("Cookie", cookieName+"="+cookie)
		}
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		what := r.Method + " " + path
		if post && name != "apple" {
			checkAPIAnswer(t, rec, what)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Fatalf("%s: %d, not 405", what, rec.Code)
			}
			return
		}
		checkRedirect(t, rec, what)
		q := redirectQuery(t, rec)
		if q.Get("access_token") != "" || q.Get("status") == "200" || q.Get("error") == "" || q.Get("action") != "oauth-signin" {
			t.Fatalf("%s: ended with %v", what, q)
		}
		cleared := false
		for _, c := range rec.Result().Cookies() {
			cleared = cleared || (c.Name == cookieName && c.Value == "" && c.MaxAge < 0)
		}
		if !cleared {
			t.Fatalf("%s: the state cookie is not cleared: %v", what, rec.Header().Values("Set-Cookie"))
		}
	})
}

func redirectState(f *testing.F, location string) string {
	u, err := url.Parse(location)
	if err != nil || u.Query().Get("state") == "" {
		f.Fatalf("no state in %q", location)
	}
	return u.Query().Get("state")
}
