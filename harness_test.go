package authkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// A browser-like user agent, so sessions parse as the seeds show them.
const chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36"

// clock is a settable time source: tests move it instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
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
	h.srv.Config.Handler = kit.Handler()
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

// settle waits for the kit's background sends to finish.
func (h *harness) settle() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, h.kit.Close(ctx))
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
