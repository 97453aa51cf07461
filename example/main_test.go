package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/sqlstore"
)

var smtpVars = []string{
	"AUTHKIT_SMTP_HOST", "AUTHKIT_SMTP_PORT", "AUTHKIT_SMTP_USERNAME",
	"AUTHKIT_SMTP_PASSWORD", "AUTHKIT_SMTP_FROM", "AUTHKIT_SMTP_TLS",
}

func clearSMTPEnv(t *testing.T) {
	t.Helper()
	for _, v := range smtpVars {
		t.Setenv(v, "")
	}
}

func devOptions() options {
	return options{addr: "127.0.0.1:8080", db: "memory", dev: true}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestDevAppServesPageAndOutbox(t *testing.T) {
	clearSMTPEnv(t)
	h, kit, err := newApp(devOptions(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })

	rec := get(t, h, http.MethodGet, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("GET /: Content-Type %q", ct)
	}
	if rp := rec.Header().Get("Referrer-Policy"); rp != "no-referrer" {
		t.Errorf("GET /: Referrer-Policy %q, want no-referrer (the URL may hold an access_token)", rp)
	}
	body := rec.Body.String()
	for _, want := range []string{"<html", "/_api/rest/v1/auth/", "grant?key=", "access_token", "signup-email", "reset-pwd"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page refers to an external asset; the machine may have no internet access")
	}

	if rec := get(t, h, http.MethodGet, "/nope"); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
		t.Errorf("GET /nope: %d %q, want the kit's JSON 404", rec.Code, rec.Body)
	}

	// The API's OpenAPI document, for an explorer or a client generator.
	if rec := get(t, h, http.MethodGet, "/_api/rest/v1/auth/openapi.json"); rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), authkit.OpenAPI()) {
		t.Errorf("GET /_api/rest/v1/auth/openapi.json: %d, want 200 and the kit's OpenAPI document", rec.Code)
	}

	rec = get(t, h, http.MethodGet, "/dev/outbox")
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("GET /dev/outbox: %d %q, want 200 []", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET /dev/outbox: Content-Type %q", ct)
	}
	rec = get(t, h, http.MethodPost, "/dev/outbox")
	var e struct{ Errors []struct{ Code string } }
	if rec.Code != http.StatusMethodNotAllowed || json.Unmarshal(rec.Body.Bytes(), &e) != nil || len(e.Errors) != 1 || e.Errors[0].Code != "method_not_allowed" {
		t.Errorf("POST /dev/outbox: %d %q, want 405 with a JSON error", rec.Code, rec.Body)
	}
}

func TestOutboxOnlyWithDev(t *testing.T) {
	t.Setenv("AUTHKIT_SMTP_HOST", "smtp.example.com")
	t.Setenv("AUTHKIT_SMTP_FROM", "app@example.com")
	o := devOptions()
	o.dev = false
	h, kit, err := newApp(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kit.Close(t.Context()) })
	if rec := get(t, h, http.MethodGet, "/dev/outbox"); rec.Code != http.StatusNotFound {
		t.Errorf("GET /dev/outbox without -dev: status %d, want 404", rec.Code)
	}
	if rec := get(t, h, http.MethodGet, "/"); rec.Code != http.StatusOK {
		t.Errorf("GET /: status %d", rec.Code)
	}
}

func TestDBChoices(t *testing.T) {
	clearSMTPEnv(t)
	for _, db := range []string{"memory", filepath.Join(t.TempDir(), "app.db")} {
		o := devOptions()
		o.db = db
		h, kit, err := newApp(o, io.Discard)
		if err != nil {
			t.Fatalf("-db %q: %v", db, err)
		}
		kit.Close(t.Context())
		if err := h.Close(); err != nil {
			t.Errorf("-db %q: closing: %v", db, err)
		}
	}
	for _, db := range []string{"", "mongodb://localhost/x", "mysql://root@127.0.0.1:3306", filepath.Join(t.TempDir(), "missing", "app.db")} {
		o := devOptions()
		o.db = db
		_, _, err := newApp(o, io.Discard)
		if err == nil {
			t.Errorf("-db %q: no error", db)
			continue
		}
		if !strings.Contains(err.Error(), "-db") {
			t.Errorf("-db %q: error %q does not name the flag", db, err)
		}
	}
}

// Tried as a new user would: the default SQLite file keeps users, sessions
// and pending links across a restart.
func TestDevAppKeepsUsersAcrossRestart(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.db = filepath.Join(t.TempDir(), "authkit.db")
	const email, pw = "ann@example.com", "correct horse battery"

	first := startApp(t, o)
	first.call(t, http.MethodPost, "/_api/rest/v1/auth/signup-email", `{"email":"`+email+`","password":"`+pw+`"}`, "")
	confirm := first.follow(t, first.nextLink(t, email))
	status, body := first.call(t, http.MethodGet, "/_api/rest/v1/auth/grant?key="+confirm.Get("access_token"), "", "")
	if status != http.StatusOK {
		t.Fatalf("grant: %d %s", status, body)
	}
	token := sessionToken(t, body)
	first.call(t, http.MethodPost, "/_api/rest/v1/auth/send-magic?email="+email, "", "")
	magic := first.nextLink(t, email)
	first.stop(t)

	second := startApp(t, o)
	if status, body := second.call(t, http.MethodGet, "/_api/rest/v1/auth/user", "", token); status != http.StatusOK {
		t.Fatalf("the session after a restart: %d %s", status, body)
	}
	if status, body := second.call(t, http.MethodPost, "/_api/rest/v1/auth/signin-email", `{"email":"`+email+`","password":"`+pw+`"}`, ""); status != http.StatusOK {
		t.Fatalf("signing in after a restart: %d %s", status, body)
	}
	// A restarted app listens where it did before; these test servers
	// cannot, so the link is pointed at the new one.
	q := second.follow(t, strings.Replace(magic, first.srv.URL, second.srv.URL, 1))
	if q.Get("action") != "magic-link" || q.Get("access_token") == "" {
		t.Fatalf("the magic link sent before the restart: %v", q)
	}
	if status, body := second.call(t, http.MethodGet, "/_api/rest/v1/auth/grant?key="+q.Get("access_token"), "", ""); status != http.StatusOK {
		t.Fatalf("grant after a restart: %d %s", status, body)
	}
	second.stop(t)
}

// running is the example app served over HTTP.
type running struct {
	srv *httptest.Server
	app *app
	kit *authkit.Kit
	// read counts, per address, the mails nextLink has returned. The outbox
	// is in memory: a restarted app starts from zero.
	read map[string]int
}

func startApp(t *testing.T, o options) *running {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	o.addr = srv.Listener.Addr().String()
	h, kit, err := newApp(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	return &running{srv: srv, app: h, kit: kit, read: map[string]int{}}
}

// stop shuts the app down as run does: server, kit, then the database.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.srv.Close()
	if err := r.kit.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.app.Close(); err != nil {
		t.Fatal(err)
	}
}

func (r *running) call(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Session", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

var linkPattern = regexp.MustCompile(`https?://\S+`)

// nextLink waits for the next mail to an address, reading /dev/outbox as
// the page's user does, and returns its link.
func (r *running) nextLink(t *testing.T, to string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, raw := r.call(t, http.MethodGet, "/dev/outbox", "", "")
		var msgs []struct{ To, Body string }
		if err := json.Unmarshal([]byte(raw), &msgs); err != nil {
			t.Fatalf("/dev/outbox: %v", err)
		}
		var mine []string
		for _, m := range msgs {
			if m.To == to {
				mine = append(mine, m.Body)
			}
		}
		if len(mine) > r.read[to] {
			r.read[to]++
			return linkPattern.FindString(mine[r.read[to]-1])
		}
	}
	t.Fatalf("no mail to %s", to)
	return ""
}

// follow opens a link without following the redirect and returns the query
// of where it sends the browser.
func (r *running) follow(t *testing.T, link string) url.Values {
	t.Helper()
	resp, err := http.DefaultTransport.RoundTrip(must(http.NewRequest(http.MethodGet, link, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("following %s: %d %v", link, resp.StatusCode, err)
	}
	return loc.Query()
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func sessionToken(t *testing.T, body string) string {
	t.Helper()
	var a struct{ Session struct{ Token string } }
	if err := json.Unmarshal([]byte(body), &a); err != nil || a.Session.Token == "" {
		t.Fatalf("no session in %s", body)
	}
	return a.Session.Token
}

func TestNoDevNeedsSMTP(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.dev = false
	_, _, err := newApp(o, io.Discard)
	if err == nil {
		t.Fatal("no -dev and no SMTP configured: no error")
	}
	for _, want := range []string{"-dev", "AUTHKIT_SMTP_HOST", "AUTHKIT_SMTP_PORT", "AUTHKIT_SMTP_FROM", "AUTHKIT_SMTP_TLS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestSMTPEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		ok   bool
	}{
		{"defaults", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com"}, true},
		{"everything", map[string]string{
			"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_PORT": "465",
			"AUTHKIT_SMTP_USERNAME": "user", "AUTHKIT_SMTP_PASSWORD": "secret",
			"AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_TLS": "tls",
		}, true},
		{"bad port", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_PORT": "smtp"}, false},
		{"bad tls", map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com", "AUTHKIT_SMTP_TLS": "ssl3"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearSMTPEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			o := devOptions()
			o.dev = false
			h, kit, err := newApp(o, io.Discard)
			if !tc.ok {
				if err == nil {
					t.Fatal("no error")
				}
				if !strings.Contains(err.Error(), "AUTHKIT_SMTP_HOST") {
					t.Errorf("error %q does not say how to configure SMTP", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { kit.Close(t.Context()) })
			if h == nil {
				t.Fatal("nil handler")
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:8080": "http://127.0.0.1:8080",
		":8080":          "http://localhost:8080",
		"0.0.0.0:9000":   "http://localhost:9000",
		"[::1]:8080":     "http://[::1]:8080",
		"example.test":   "http://example.test",
	} {
		if got := baseURL(addr); got != want {
			t.Errorf("baseURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestSecretsFromEnv(t *testing.T) {
	const a, b = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	env := func(one, many string) func(string) string {
		return func(name string) string {
			return map[string]string{"AUTHKIT_SECRET": one, "AUTHKIT_SECRETS": many}[name]
		}
	}
	for _, tc := range []struct {
		name, one, many string
		want            []string
		err             string
	}{
		{"unset: the kit makes one", "", "", nil, ""},
		{"one", a, "", []string{a}, ""},
		{"rotating", "", b + ", " + a, []string{b, a}, ""},
		{"a short one", "short", "", nil, "AUTHKIT_SECRET: secret 1 has 5 characters"},
		{"a short old one", "", b + ",short", nil, "AUTHKIT_SECRETS: secret 2 has 5 characters"},
		{"an empty old one", "", b + ",", nil, "AUTHKIT_SECRETS: secret 2 has 0 characters"},
		{"both", a, b, nil, "both set"},
	} {
		got, err := appenv.Secrets(env(tc.one, tc.many), "openssl rand -base64 32")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v; want an error with %q", tc.name, err, tc.err)
			}
			continue
		}
		var gotS []string
		for _, s := range got {
			gotS = append(gotS, string(s))
		}
		if err != nil || !slices.Equal(gotS, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.name, gotS, err, tc.want)
		}
	}
	clearSMTPEnv(t)
	t.Setenv("AUTHKIT_SECRET", "short")
	if _, _, err := newApp(devOptions(), io.Discard); err == nil {
		t.Error("the app starts with a short AUTHKIT_SECRET")
	}
}

// Accounts stored before today's rules are reported at start, by user,
// and the app still starts.
func TestStartReportsIdentifiersToLookAt(t *testing.T) {
	clearSMTPEnv(t)
	o := devOptions()
	o.db = filepath.Join(t.TempDir(), "authkit.db")
	s, err := sqlstore.Open(o.db)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, u := range []authkit.User{
		{ID: "u1", Email: "y@m\u00fcnchen.de"},
		{ID: "u2", Email: "y@xn--mnchen-3ya.de"},
		{ID: "u3", Email: "ann\u200b@example.com"},
	} {
		u.Provider, u.ProviderUserID, u.SignUpAt, u.LastLoginAt = authkit.ProviderAltogic, u.ID, now, now
		if err := s.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	// A Facebook account of an older release, holding an address Facebook
	// never vouched for.
	if err := s.CreateUser(t.Context(), authkit.User{ID: "u4", Provider: "facebook", ProviderUserID: "10158",
		Email: "victim@example.com", SignUpAt: now, LastLoginAt: now}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	h, kit, err := newApp(o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	// The kit's courier stops before the store closes: a poll still
	// running would otherwise write the database's files while the test's
	// directory is removed.
	defer kit.Close(context.Background())
	var log strings.Builder
	reportIdentifiers(t.Context(), kit, &log)
	for _, want := range []string{
		`warning: user u1: email "y@münchen.de"; the same as the one of u2`,
		`warning: user u2: email "y@xn--mnchen-3ya.de" is "y@münchen.de" today`,
		`warning: user u3: email "ann\u200b@example.com" is refused by today's rules`,
		`warning: user u4: email "victim@example.com" was never vouched for by the account's provider`,
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, log.String())
		}
	}
}

// The example's server holds no client forever: a slow body and an idle
// keep-alive connection are closed after their timeouts, and connections
// past the cap wait to be accepted rather than take a file descriptor
// each. (Found by an adversarial review: ~20,000 idle connections from one
// host exhausted the process's descriptors.)
func TestServerLimitsHoldNoClientForever(t *testing.T) {
	t.Parallel()
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		io.WriteString(w, "ok")
	})
	serve := func(l serverLimits) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv, capped := newServer(echo, ln, l)
		go srv.Serve(capped)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	// closedWithin reports whether the server closes c within d.
	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}

	short := serverLimits{readHeader: 200 * time.Millisecond, read: 300 * time.Millisecond, write: time.Second,
		idle: 300 * time.Millisecond, maxHeaderBytes: 4 << 10, maxConns: 100}
	addr := serve(short)

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	io.WriteString(slow, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly a few bytes")
	if !closedWithin(slow, 5*time.Second) {
		t.Error("a body that never ends kept its connection open")
	}

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if line, err := bufio.NewReader(idle).ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("the first request: %q, %v", line, err)
	}
	if !closedWithin(idle, 5*time.Second) {
		t.Error("an idle keep-alive connection was kept open")
	}

	// One connection at a time: a second waits until the first is gone.
	capped := serve(serverLimits{readHeader: time.Minute, read: time.Minute, write: time.Minute, idle: time.Minute,
		maxHeaderBytes: 4 << 10, maxConns: 1})
	holder, err := net.Dial("tcp", capped)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := client.Get("http://" + capped + "/"); err == nil {
		resp.Body.Close()
		t.Fatal("a connection past the cap was served")
	}
	holder.Close()
	client.Timeout = 5 * time.Second
	resp, err := client.Get("http://" + capped + "/")
	if err != nil {
		t.Fatalf("once the first connection closed: %v", err)
	}
	resp.Body.Close()
}

// Second factors need a fixed secret: they are on with AUTHKIT_SECRET, on
// with -dev under the development secret, and off otherwise, which the
// app says at start; the page's authenticator card and the app's
// /account/authenticator follow.
func TestSecondFactorsNeedASecret(t *testing.T) {
	smtp := map[string]string{"AUTHKIT_SMTP_HOST": "smtp.example.com", "AUTHKIT_SMTP_FROM": "app@example.com"}
	withSecret := map[string]string{"AUTHKIT_SECRET": strings.Repeat("s", 32)}
	for k, v := range smtp {
		withSecret[k] = v
	}
	for _, tc := range []struct {
		name string
		dev  bool
		env  map[string]string
		on   bool
	}{
		{"-dev without a secret", true, nil, true},
		{"a secret", false, withSecret, true},
		{"neither", false, smtp, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := devOptions()
			o.dev = tc.dev
			o.getenv = func(k string) string { return tc.env[k] }
			var log strings.Builder
			h, kit, err := newApp(o, &log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				kit.Close(context.Background())
				h.Close()
			})
			page := get(t, h, http.MethodGet, "/").Body.String()
			if got := strings.Contains(page, `data-mfa="on"`); got != tc.on {
				t.Errorf("the page's authenticator card shown: %v, want %v", got, tc.on)
			}
			if got := strings.Contains(log.String(), "second factors off"); got == tc.on {
				t.Errorf("the start says second factors are off: %v; it said %q", got, log.String())
			}
			want := http.StatusNotFound
			if tc.on {
				want = http.StatusUnauthorized // behind RequireSession
			}
			if rec := get(t, h, http.MethodGet, "/account/authenticator"); rec.Code != want {
				t.Errorf("GET /account/authenticator without a session: %d %s, want %d", rec.Code, rec.Body, want)
			}
		})
	}
}

// Passkeys follow -public-url: a local address binds them to localhost
// (browsers bind none to an IP address), a https domain to itself, and
// an http one or an IP address turns them off, saying why.
func TestPasskeysFor(t *testing.T) {
	for _, tc := range []struct {
		publicURL, rpID string
		want            authkit.Passkeys
		line            string
	}{
		{"http://127.0.0.1:8080", "", authkit.Passkeys{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, "passkeys on at http://localhost:8080/"},
		{"http://localhost:8080", "", authkit.Passkeys{RPID: "localhost"}, "passkeys on, bound to localhost"},
		{"https://app.example.com", "", authkit.Passkeys{RPID: "app.example.com"}, "bound to app.example.com"},
		{"https://app.example.com", "example.com", authkit.Passkeys{RPID: "example.com"}, "bound to example.com (AUTHKIT_PASSKEY_RPID)"},
		{"http://app.example.com", "", authkit.Passkeys{}, "passkeys off: -public-url http://app.example.com is not https"},
		{"https://192.0.2.7", "", authkit.Passkeys{}, "passkeys off: browsers bind none to an IP address"},
	} {
		got, line, err := passkeysFor(tc.publicURL, tc.rpID)
		if err != nil {
			t.Fatalf("%s: %v", tc.publicURL, err)
		}
		if !reflect.DeepEqual(got, tc.want) || !strings.Contains(line, tc.line) {
			t.Errorf("passkeysFor(%q, %q) = %+v, %q; want %+v, %q", tc.publicURL, tc.rpID, got, line, tc.want, tc.line)
		}
	}

	// A domain the public URL is not within: the start says why.
	o := devOptions()
	o.publicURL = "https://app.example.com"
	o.getenv = func(k string) string { return map[string]string{"AUTHKIT_PASSKEY_RPID": "example.org"}[k] }
	if _, _, err := newApp(o, io.Discard); err == nil || !strings.Contains(err.Error(), "AUTHKIT_PASSKEY_RPID") {
		t.Errorf("passkeys bound to a domain the app is not in: %v", err)
	}
}
