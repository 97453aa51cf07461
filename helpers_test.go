package authkit_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/sqlstore"
)

// The helpers that the external tests (package authkit_test) share: the
// harness (a kit served over HTTP with its store, outbox and clock), the
// OAuth browser, the fuzz kit, fixtures and checks. A helper used by one
// test file only stays in that file.

// A browser-like user agent, so sessions parse as the seeds show them.
const chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36"

// clock is a settable time source: tests move it instead of sleeping.
// A harness's clock delivers what is due before it moves (settle), as a
// real courier does in the moments a test's minutes stand for: a message
// asked for at 12:00 goes at 12:00, not at whatever time the test moved to
// before the courier's worker came round.
type clock struct {
	mu     sync.Mutex
	now    time.Time
	settle func()
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	if c.settle != nil {
		c.settle()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// harness is a kit served over HTTP, with its store, outbox and clock.
type harness struct {
	t     *testing.T
	srv   *httptest.Server
	kit   *authkit.Kit
	store *memstore.Store
	box   *outbox.Outbox
	clock *clock
	// redirectURL is where the kit sends browsers.
	redirectURL string
}

// newHarness starts a kit mounted at the root of a test server. edit, if
// given, adjusts the Config before New.
func newHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return newAppHarness(t, (*authkit.Kit).Handler, edit...)
}

// newAppHarness is newHarness serving app(kit): a host's routes around
// the kit's, on the kit's origin (PublicURL).
func newAppHarness(t *testing.T, app func(*authkit.Kit) http.Handler, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return startHarness(t, app, true, edit...)
}

// newUncheckedHarness is newHarness without the OpenAPI document's check
// of every exchange (contract.wrap), for a test that measures the kit
// alone, such as its memory under a flood.
func newUncheckedHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return startHarness(t, (*authkit.Kit).Handler, false, edit...)
}

func startHarness(t *testing.T, app func(*authkit.Kit) http.Handler, checked bool, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	h := &harness{t: t, store: memstore.New(), box: outbox.New(),
		clock: &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}}
	h.srv = httptest.NewUnstartedServer(nil)
	base := "http://" + h.srv.Listener.Addr().String()
	h.redirectURL = "https://app.example.com/after?from=kit"
	cfg := authkit.Config{
		Store:          h.store,
		Mailer:         h.box,
		SMSSender:      h.box, // used once a test turns PhoneAuth on
		PublicURL:      base,
		RedirectURL:    h.redirectURL,
		AllowedOrigins: []string{"https://app.example.com"},
		AppName:        "Test App",
		Now:            h.clock.Now,
		Logger:         discardLogger(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	h.kit = kit
	h.clock.settle = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kit.Flush(ctx)
	}
	h.srv.Config.Handler = app(kit)
	if checked {
		h.srv.Config.Handler = theContract().wrap(t, h.srv.Config.Handler)
	}
	h.srv.Start()
	t.Cleanup(func() {
		h.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, kit.Close(ctx))
	})
	return h
}

// answer is an HTTP answer, its body kept raw and decoded.
type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
	list   []any
}

// code is the error code of an error answer.
func (a answer) code() string {
	errs, _ := a.body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (a answer) user() map[string]any {
	u, _ := a.body["user"].(map[string]any)
	return u
}

func (a answer) session() map[string]any {
	s, _ := a.body["session"].(map[string]any)
	return s
}

// token is the real token of a freshly issued session.
func (a answer) token() string {
	s := a.session()
	if s == nil {
		return ""
	}
	return s["token"].(string)
}

// req describes one call.
type req struct {
	method, path string
	body         any    // marshalled as JSON unless a string, sent raw
	token        string // sent in the Session header
	header       map[string]string
}

// do makes a call and checks the invariants of every answer: JSON, no 5xx,
// no-store.
func (h *harness) do(r req) answer {
	h.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		body = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(r.method, h.srv.URL+r.path, body)
	require.NoError(h.t, err)
	hr.Header.Set("User-Agent", chromeUA)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Session", r.token)
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
		} else {
			hr.Header.Set(k, v)
		}
	}
	resp, err := noRedirects.Do(hr)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	require.Less(h.t, a.status, 500, "no answer is a 5xx: %s", raw)
	if resp.StatusCode/100 != 3 && resp.StatusCode != http.StatusNoContent {
		require.Contains(h.t, resp.Header.Get("Content-Type"), "application/json", "%s %s", r.method, r.path)
		if len(raw) > 0 && raw[0] == '[' {
			require.NoError(h.t, json.Unmarshal(raw, &a.list), "%s", raw)
		} else {
			require.NoError(h.t, json.Unmarshal(raw, &a.body), "%s", raw)
		}
	}
	require.Equal(h.t, "no-store", resp.Header.Get("Cache-Control"))
	return a
}

var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
}

func (h *harness) post(path string, body any, token string) answer {
	h.t.Helper()
	return h.do(req{method: http.MethodPost, path: path, body: body, token: token})
}

func (h *harness) get(path, token string) answer {
	h.t.Helper()
	return h.do(req{method: http.MethodGet, path: path, token: token})
}

const api = "/_api/rest/v1/auth/"

func (h *harness) signUp(email, password string, nameOrUserData any) answer {
	h.t.Helper()
	body := map[string]any{"email": email, "password": password}
	if nameOrUserData != nil {
		body["nameOrUserData"] = nameOrUserData
	}
	return h.post(api+"signup-email", body, "")
}

func (h *harness) signIn(email, password string) answer {
	h.t.Helper()
	return h.post(api+"signin-email", map[string]any{"email": email, "password": password}, "")
}

// mail waits for the next message to an address.
func (h *harness) mail(to string) outbox.Message {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := h.box.Next(ctx, to)
	require.NoError(h.t, err, "no mail reached %s", to)
	return m
}

// noMail checks that no unread message reached an address, once the kit's
// background work is done.
func (h *harness) noMail(to string) {
	h.t.Helper()
	h.settle()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, err := h.box.Next(ctx, to)
	require.Error(h.t, err, "a message reached %s: %s", to, m.Subject)
}

// settle waits for the kit to deliver every message that is due.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, h.kit.Flush(ctx))
}

var linkPattern = regexp.MustCompile(`https?://\S+`)

// link is the first link in the next message to an address.
func (h *harness) link(to string) string {
	h.t.Helper()
	m := h.mail(to)
	l := linkPattern.FindString(m.Body)
	require.NotEmpty(h.t, l, "no link in %q", m.Body)
	require.True(h.t, strings.HasPrefix(l, h.srv.URL+"/_auth/verify?key="), "link %s is built from PublicURL", l)
	return l
}

// follow opens a link as a browser would and returns where it was sent:
// the query added to the Redirect URL.
func (h *harness) follow(link string) url.Values {
	h.t.Helper()
	hr, err := http.NewRequest(http.MethodGet, link, nil)
	require.NoError(h.t, err)
	resp, err := noRedirects.Do(hr)
	require.NoError(h.t, err)
	resp.Body.Close()
	require.Equal(h.t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(h.t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	require.Equal(h.t, "no-store", resp.Header.Get("Cache-Control"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(h.t, err)
	require.Equal(h.t, "https://app.example.com/after", loc.Scheme+"://"+loc.Host+loc.Path, "redirects only to the Redirect URL")
	q := loc.Query()
	require.Equal(h.t, "kit", q.Get("from"), "the Redirect URL's own query is kept")
	return q
}

// grant exchanges an access token for a session.
func (h *harness) grant(key string) answer {
	h.t.Helper()
	return h.get(api+"grant?key="+key, "")
}

// confirmedUser signs up, confirms by link and returns a session token.
func (h *harness) confirmedUser(email, password string) string {
	h.t.Helper()
	a := h.signUp(email, password, "Rooby")
	require.Equal(h.t, http.StatusOK, a.status, "%s", a.raw)
	q := h.follow(h.link(email))
	require.Equal(h.t, "email-confirm", q.Get("action"))
	g := h.grant(q.Get("access_token"))
	require.Equal(h.t, http.StatusOK, g.status, "%s", g.raw)
	return g.token()
}

// newPhoneHarness is newHarness with phone accounts on; texts go to h.box.
func newPhoneHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	phoneOn := func(c *authkit.Config) { c.PhoneAuth = authkit.On }
	return newHarness(t, append([]func(*authkit.Config){phoneOn}, edit...)...)
}

// phoneQuery is the path of a route that takes the phone (and a code) in
// its query, encoded as the client encodes it.
func phoneQuery(route, phone, code string) string {
	p := api + route + "?phone=" + url.QueryEscape(phone)
	if code != "" {
		p += "&code=" + code
	}
	return p
}

func (h *harness) signUpPhone(phone, password string, nameOrUserData any) answer {
	h.t.Helper()
	body := map[string]any{"phone": phone, "password": password}
	if nameOrUserData != nil {
		body["nameOrUserData"] = nameOrUserData
	}
	return h.post(api+"signup-phone", body, "")
}

func (h *harness) signInPhone(phone, password string) answer {
	h.t.Helper()
	return h.post(api+"signin-phone", map[string]any{"phone": phone, "password": password}, "")
}

var codePattern = regexp.MustCompile(`\b\d{6,10}\b`)

// code is the code in the next text to a phone number, read as a user
// reads it.
func (h *harness) code(phone string) string {
	h.t.Helper()
	m := h.mail(phone)
	require.Equal(h.t, outbox.KindSMS, m.Kind)
	c := codePattern.FindString(m.Body)
	require.NotEmpty(h.t, c, "no code in %q", m.Body)
	return c
}

// phoneUser signs up with a phone number, confirms it with the texted
// code and returns a session token.
func (h *harness) phoneUser(phone, password string) string {
	h.t.Helper()
	a := h.signUpPhone(phone, password, "Rooby")
	require.Equal(h.t, http.StatusOK, a.status, "%s", a.raw)
	v := h.post(phoneQuery("verify-phone", phone, h.code(phone)), nil, "")
	require.Equal(h.t, http.StatusOK, v.status, "%s", v.raw)
	return v.token()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// inputPassword is a good password for the accounts these tests make.
const inputPassword = "correct horse battery"

// requireCode checks an error answer's status and code.
func requireStatusCode(t *testing.T, a answer, status int, code string) {
	t.Helper()
	require.Equal(t, status, a.status, "%s", a.raw)
	require.Equal(t, code, a.code(), "%s", a.raw)
}

// errorDetails is the details object of an error answer.
func answerDetails(t *testing.T, a answer) map[string]any {
	t.Helper()
	errs, _ := a.body["errors"].([]any)
	require.NotEmpty(t, errs, "%s", a.raw)
	e, _ := errs[0].(map[string]any)
	d, _ := e["details"].(map[string]any)
	require.NotNil(t, d, "the error has details: %s", a.raw)
	return d
}

// resetKey asks for a reset link as the owner does, follows it, and
// returns the key resetPwdWithToken takes.
func (h *harness) resetKey(email string) string {
	h.t.Helper()
	a := h.post(api+"send-reset?email="+email, nil, "")
	require.Equal(h.t, http.StatusOK, a.status, "%s", a.raw)
	q := h.follow(h.link(email))
	require.Equal(h.t, "reset-pwd", q.Get("action"))
	require.NotEmpty(h.t, q.Get("access_token"))
	return q.Get("access_token")
}

// magicGrant asks for a magic link, follows it, and returns the grant key
// getAuthGrant takes.
func (h *harness) magicGrant(email string) string {
	h.t.Helper()
	require.Equal(h.t, http.StatusOK, h.post(api+"send-magic?email="+email, nil, "").status)
	q := h.follow(h.link(email))
	require.Equal(h.t, "magic-link", q.Get("action"))
	return q.Get("access_token")
}

// requireSessionShape checks a session as the seeds show it.
func requireSessionShape(t *testing.T, s map[string]any) {
	t.Helper()
	require.NotNil(t, s)
	for _, k := range []string{"userId", "token", "creationDtm"} {
		require.IsType(t, "", s[k], k)
		require.NotEmpty(t, s[k], k)
	}
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, s["creationDtm"])
	require.Equal(t, []any{}, s["accessGroupKeys"])
	ua := s["userAgent"].(map[string]any)
	require.Equal(t, "Chrome", ua["family"])
	require.Equal(t, "99", ua["major"])
	require.Equal(t, "0", ua["minor"])
	require.Equal(t, "4844", ua["patch"])
	require.Equal(t, map[string]any{"family": "Mac OS X", "major": "10", "minor": "15", "patch": "7"}, ua["os"])
	dev := ua["device"].(map[string]any)
	for _, k := range []string{"family", "major", "minor", "patch"} {
		require.IsType(t, "", dev[k], k)
		require.NotEmpty(t, dev[k], k)
	}
}

// rawStatus makes a call from any goroutine and returns its status.
func rawStatus(t *testing.T, method, url, body string) int {
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

const phonePassword = "correct horse battery"

// wrongCode is a well-formed code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// validConfig is the least Config that New accepts.
func validConfig() authkit.Config {
	return authkit.Config{
		Store:       memstore.New(),
		Mailer:      outbox.New(),
		PublicURL:   "https://api.example.com",
		RedirectURL: "https://app.example.com/after",
		Logger:      discardLogger(),
	}
}

// storeOnly hides every method of a Store but the interface's.
type storeOnly struct{ authkit.Store }

// off turns a limit off.
var off = authkit.Rate{Max: -1}

// noLimits turns every abuse limit off, for a test that is not about them
// and makes many requests from its one IP, for one account, address or
// number. The limits' own tests are in this file.
func noLimits(c *authkit.Config) {
	c.Limits = authkit.Limits{
		FailedSignIns: off, FailedSignInsPerAccount: off, PerIP: off, EmailsPerAddress: off, EmailRepeats: off,
		SMSPerNumber: off, SMSPerIP: off, SMSBudget: off, AccountChanges: off,
	}
}

// generousLimits keeps every abuse limit on, so that its code runs, but out
// of reach.
func generousLimits(c *authkit.Config) {
	r := authkit.Rate{Max: 1 << 30, Per: time.Hour}
	c.Limits = authkit.Limits{FailedSignIns: r, FailedSignInsPerAccount: r, PerIP: r, EmailsPerAddress: r, EmailRepeats: r, SMSPerNumber: r, SMSPerIP: r, AccountChanges: r}
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// timelessLogger logs everything as JSON to w, without the time: its
// nanoseconds could hold a 6-digit code by chance.
func timelessLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

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

// The harness's side of OAuth: configs pointing the kit at the fakes of
// internal/oauthtest, and a browser that walks the redirects between them.

// oauth2Provider configures the kit for a fake OAuth 2.0 provider.
func oauth2Provider(p *oauthtest.OAuth2) authkit.OAuthProvider {
	return authkit.OAuthProvider{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), APIURL: p.APIURL(),
	}
}

// openIDProvider configures the kit for a fake OpenID provider.
func openIDProvider(p *oauthtest.OpenID) authkit.OAuthProvider {
	return authkit.OAuthProvider{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), Issuer: p.Issuer(), JWKSURL: p.JWKSURL(),
	}
}

// withProviders sets Config.Providers.
func withProviders(providers map[string]authkit.OAuthProvider) func(*authkit.Config) {
	return func(c *authkit.Config) { c.Providers = providers }
}

// browser is a user agent with its own cookie jar. It follows no redirect
// by itself, so that a test can stop, or tamper, at every step.
type browser struct {
	h         *harness
	client    *http.Client
	userAgent string // chromeUA when empty
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &browser{h: h, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// send makes a request as the browser and returns the answer, body read.
func (b *browser) send(method, rawURL string, form url.Values) (*http.Response, string) {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(b.h.t, err)
	req.Header.Set("User-Agent", cmp.Or(b.userAgent, chromeUA))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	require.NoError(b.h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.h.t, err)
	return resp, string(raw)
}

// start is signInWithProvider: it opens /_auth/{name} and returns where
// the kit sent the browser.
func (b *browser) start(name string) *url.URL {
	b.h.t.Helper()
	resp, raw := b.send(http.MethodGet, b.h.srv.URL+"/_auth/"+name, nil)
	require.Equal(b.h.t, http.StatusSeeOther, resp.StatusCode, raw)
	require.Equal(b.h.t, "no-store", resp.Header.Get("Cache-Control"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(b.h.t, err)
	return loc
}

// callback is how a provider sends the browser back: a GET of url, or,
// with form_post, a POST of form to url.
type callback struct {
	url  string
	form url.Values
}

// with returns the callback with one parameter changed ("" removes it).
func (c callback) with(key, value string) callback {
	if c.form != nil {
		f := url.Values{}
		for k, v := range c.form {
			f[k] = append([]string(nil), v...)
		}
		if value == "" {
			f.Del(key)
		} else {
			f.Set(key, value)
		}
		return callback{url: c.url, form: f}
	}
	u, _ := url.Parse(c.url)
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return callback{url: u.String()}
}

func (c callback) param(key string) string {
	if c.form != nil {
		return c.form.Get(key)
	}
	u, _ := url.Parse(c.url)
	return u.Query().Get(key)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// consent opens the provider's page, which consents at once, and returns
// the callback it sends the browser to.
func (b *browser) consent(authURL *url.URL) callback {
	b.h.t.Helper()
	resp, raw := b.send(http.MethodGet, authURL.String(), nil)
	if resp.StatusCode == http.StatusOK { // form_post: a page that posts itself
		m := formAction.FindStringSubmatch(raw)
		require.NotNil(b.h.t, m, "no form in %s", raw)
		form := url.Values{}
		for _, in := range formInput.FindAllStringSubmatch(raw, -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return callback{url: html.UnescapeString(m[1]), form: form}
	}
	require.Equal(b.h.t, http.StatusFound, resp.StatusCode, raw)
	return callback{url: resp.Header.Get("Location")}
}

// finish delivers a callback to the kit and returns the query the kit
// added to the Redirect URL, the only place it may send the browser.
func (b *browser) finish(c callback) url.Values {
	b.h.t.Helper()
	method := http.MethodGet
	if c.form != nil {
		method = http.MethodPost
	}
	resp, raw := b.send(method, c.url, c.form)
	return b.h.landed(resp, raw)
}

// landed checks an answer that ends a sign-in and returns its query.
func (h *harness) landed(resp *http.Response, raw string) url.Values {
	h.t.Helper()
	require.Equal(h.t, http.StatusSeeOther, resp.StatusCode, raw)
	require.Equal(h.t, "no-store", resp.Header.Get("Cache-Control"))
	require.Equal(h.t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(h.t, err)
	require.Equal(h.t, "https://app.example.com/after", loc.Scheme+"://"+loc.Host+loc.Path, "redirects only to the Redirect URL")
	q := loc.Query()
	require.Equal(h.t, "kit", q.Get("from"), "the Redirect URL's own query is kept")
	require.Equal(h.t, "oauth-signin", q.Get("action"))
	cleared := false
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "authkit_oauth") {
			cleared = c.MaxAge < 0 && c.Value == ""
		}
	}
	require.True(h.t, cleared, "the callback clears the state cookie")
	return q
}

// signIn runs a whole sign-in with a provider and returns the query the
// kit redirected with.
func (b *browser) signIn(name string) url.Values {
	b.h.t.Helper()
	return b.finish(b.consent(b.start(name)))
}

// oauthSignIn signs in with a provider in a fresh browser and exchanges
// the access token with getAuthGrant.
func (h *harness) oauthSignIn(name string) answer {
	h.t.Helper()
	q := h.browser().signIn(name)
	require.Equal(h.t, "200", q.Get("status"), "error %s", q.Get("error"))
	require.Empty(h.t, q.Get("error"))
	g := h.grant(q.Get("access_token"))
	require.Equal(h.t, http.StatusOK, g.status, "%s", g.raw)
	return g
}

// refused checks that a sign-in ended with status and error, and no token.
func refused(t *testing.T, q url.Values, status, code string) {
	t.Helper()
	require.Equal(t, code, q.Get("error"))
	require.Equal(t, status, q.Get("status"))
	require.Empty(t, q.Get("access_token"))
}

// noUser checks that no account has this identity, nor this email.
func (h *harness) noUser(provider, providerUserID, email string) {
	h.t.Helper()
	ctx := h.t.Context()
	_, err := h.store.UserByProvider(ctx, provider, providerUserID)
	require.True(h.t, errors.Is(err, authkit.ErrNotFound), "a %s user %s exists: %v", provider, providerUserID, err)
	if email != "" {
		_, err = h.store.UserByEmail(ctx, email)
		require.True(h.t, errors.Is(err, authkit.ErrNotFound), "a user with %s exists: %v", email, err)
	}
}

// requireUserShape checks a user as the seeds show the one of a Google
// sign-in: every field the client casts, and the provider's identity.
func requireUserShape(t *testing.T, u map[string]any, provider, providerUserID string) {
	t.Helper()
	require.NotNil(t, u)
	require.Regexp(t, `^[0-9a-f]{24}$`, u["_id"])
	require.Equal(t, provider, u["provider"])
	require.Equal(t, providerUserID, u["providerUserId"])
	for _, k := range []string{"signUpAt", "lastLoginAt"} {
		require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, u[k], k)
	}
	require.NotContains(t, u, "password")
	require.NotContains(t, u, "passwordHash")
}

// appleKey makes a key like the .p8 file Apple hands out: a P-256 key in
// PKCS #8 PEM.
func appleKey(t *testing.T) ([]byte, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), k
}

// The fuzz kit. Fuzz targets cover every hostile input the handler decodes
// (SECURITY 12, 33; STYLE 8), each beside what it fuzzes: JSON bodies
// (FuzzHandlerBodies, respond_test.go), query values (FuzzQueryValues,
// validate_test.go), session tokens (FuzzSessionToken, middleware_test.go),
// the OAuth callback (FuzzOAuthCallback, oauth_handlers_test.go) and a
// form's return path (FuzzFormReturnPath, forms_test.go). Each runs its seeds (f.Add and testdata/fuzz/<name>) in every
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
		// The fuzzed account signs up and is there at once.
		EmailConfirmation: authkit.Off,
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

// race runs call 50 times at once and counts the 200s.
func race(call func() int) int {
	var wg sync.WaitGroup
	var wins atomic.Int32
	start := make(chan struct{})
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if call() == http.StatusOK {
				wins.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

// raceStores are the stores the proofs that hold on every store run on: memory, a SQLite file and,
// when their variables name servers, PostgreSQL and MariaDB.
var raceStores = []struct {
	name string
	env  string // the variable that must name a server, if any
	open func(t *testing.T) store
}{
	{"memstore", "", func(*testing.T) store { return memstore.New() }},
	{"sqlite", "", func(t *testing.T) store { return openSQL(t, filepath.Join(t.TempDir(), "authkit.db")) }},
	{"postgres", dbtest.PostgresEnv, func(t *testing.T) store { return openSQL(t, dbtest.Postgres(t)) }},
	{"mysql", dbtest.MySQLEnv, func(t *testing.T) store { return openSQL(t, dbtest.MySQL(t)) }},
}

// store is what the proofs need of a store: the kit's and the limits'.
type store interface {
	authkit.Store
	authkit.Limiter
}

func openSQL(t testing.TB, dsn string) store {
	t.Helper()
	s, err := sqlstore.Open(dsn)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Migrate(context.Background()))
	return s
}

// onStore makes a harness serve from s (the harness's own memstore is then
// unused) and count its limits there.
func onStore(s authkit.Store, limits authkit.Limiter) func(*authkit.Config) {
	return func(c *authkit.Config) { c.Store, c.Limiter = s, limits }
}

// The Go API's side of the harness.

// hostIP is the client IP of the Go API's calls in these tests.
const hostIP = "203.0.113.7"

// clientCtx is a context whose Go API calls come from hostIP, with a
// browser's user agent, as a host's handler would pass for its request.
func clientCtx(t *testing.T) context.Context {
	return authkit.WithClient(t.Context(), authkit.Client{IP: hostIP, UserAgent: chromeUA})
}

// requireErrorCode checks that err is an *authkit.Error with code, and
// returns it.
func requireErrorCode(t *testing.T, err error, code authkit.Code) *authkit.Error {
	t.Helper()
	var e *authkit.Error
	require.True(t, errors.As(err, &e), "want a %s *authkit.Error, got %v", code, err)
	require.Equal(t, code, e.Code, "%v", err)
	return e
}

// passwordUser makes a confirmed account with that email and
// inputPassword, from Go.
func (h *harness) passwordUser(email string) {
	h.t.Helper()
	_, err := h.kit.CreateUser(h.t.Context(), authkit.NewUser{Email: email, EmailVerified: true, Password: inputPassword})
	require.NoError(h.t, err)
}

// userID is the id of the account with that email or number.
func (h *harness) userID(emailOrPhone string) string {
	h.t.Helper()
	u, err := h.kit.FindUser(h.t.Context(), emailOrPhone)
	require.NoError(h.t, err)
	return u.ID
}

// setCookie is the Set-Cookie of that name in h, or nil.
func setCookie(t *testing.T, h http.Header, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, raw := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(raw)
		require.NoError(t, err, raw)
		if c.Name == name {
			found = c
		}
	}
	return found
}
