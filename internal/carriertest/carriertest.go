// Package carriertest runs one suite of browser-session attacks and flows
// on an [authkit.SessionCarrier]: the kit's own cookie (the root package's
// tests), scsauth and gorillaauth. Each carrier's test runs it in a few
// lines:
//
//	func TestCarrier(t *testing.T) {
//		carriertest.Run(t, func(t *testing.T) carriertest.Setup {
//			sm := scs.New()
//			c := scsauth.New(sm)
//			return carriertest.Setup{Configure: ..., Wrap: sm.LoadAndSave, ...}
//		})
//	}
//
// # The host app
//
// Each case is a subtest on a fresh kit and carrier, served over https
// (httptest's TLS server) as a host would serve them: kit.Handler() at
// /_api/ and /_auth/, a page /private behind [authkit.Kit.RequireSession],
// a sign-in and a sign-out of the host's own through the Go API
// ([authkit.Kit.SaveSession], [authkit.Kit.ClearSession]), a page that
// hands out [authkit.Kit.CSRFToken], and the whole wrapped as the carrier
// needs (scs's LoadAndSave). Two accounts exist: the victim's,
// ann@example.com, and the attacker's own, mallory@example.com.
//
// # The browsers
//
// A browser keeps cookies (net/http/cookiejar) and sends Origin, the
// app's own, on its POSTs, as a browser does on a same-origin POST. The
// jar sends every cookie it holds whatever the cookie's SameSite: so a
// cross-site request here carries the cookies as one from a sibling
// subdomain, or from a browser that ignores SameSite, would, and only the
// kit's checks refuse it. A device is a native client: no cookies, no
// Origin, the token in the Session header.
package carriertest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// Setup is one carrier as a host uses it, made fresh for each case.
type Setup struct {
	// Configure puts the carrier in the kit's Config: SessionCarrier, or
	// SessionCookie On.
	Configure func(*authkit.Config)
	// Wrap wraps the host's whole handler, as scs's LoadAndSave does; nil
	// for none.
	Wrap func(http.Handler) http.Handler
	// Carried returns the token r's browser carries, read where the
	// carrier keeps it.
	Carried func(r *http.Request) string
	// Visit keeps something in the session of r's browser before any
	// sign-in, as a page of the host that keeps a cart or a flash message
	// would, so that the browser has an identifier an attacker can plant.
	// Nil when the carrier keeps nothing but the token (the kit's cookie).
	Visit func(w http.ResponseWriter, r *http.Request)
	// Cookie is the name of the cookie that identifies the browser's
	// session to the carrier.
	Cookie string
}

// Run runs every case of the suite, each as a subtest of t on a fresh
// Setup from newSetup, in parallel.
func Run(t *testing.T, newSetup func(t *testing.T) Setup) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, NewApp(t, newSetup(t)))
		})
	}
}

var cases = []struct {
	name string
	run  func(*testing.T, *App)
}{
	{"a sign-in is carried", testSignInCarried},
	{"fixation", testFixation},
	{"revoked by a sign-out elsewhere", testRevokedElsewhere},
	{"revoked by the Go API", testRevokedByGoAPI},
	{"sign-out clears", testSignOutClears},
	{"a sign-out of another session leaves it", testSignOutOther},
	{"CSRF: cross-site posts", testCrossSitePosts},
	{"CSRF: posts that say nothing of their origin", testSilentPosts},
	{"login CSRF", testLoginCSRF},
	{"a sign-in that says nothing is not carried", testSilentSignIn},
	{"the Go API", testGoAPI},
}

// The accounts, the sites.
const (
	Email    = "ann@example.com"     // the victim
	Attacker = "mallory@example.com" // the attacker's own account
	Password = "correct horse battery staple"
	// Evil is the attacker's site; AllowedOrigin is a site of the app's
	// own, in Config.AllowedOrigins.
	Evil          = "https://evil.example"
	AllowedOrigin = "https://app.example"
	// API is where the kit's REST routes are.
	API = "/_api/rest/v1/auth/"
)

// App is a host app served over https, with its kit.
type App struct {
	t     *testing.T
	Kit   *authkit.Kit
	URL   string // the app's origin, as a browser writes it in Origin
	srv   *httptest.Server
	box   *outbox.Outbox
	setup Setup
}

// NewApp serves a host app for s: Run's, or one for a test of the
// carrier's own.
func NewApp(t *testing.T, s Setup) *App {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	origin := "https://" + srv.Listener.Addr().String()
	box := outbox.New()
	cfg := authkit.Config{
		Store:          memstore.New(),
		Mailer:         box,
		PublicURL:      origin,
		RedirectURL:    origin + "/signed-in",
		AllowedOrigins: []string{AllowedOrigin},
		Logger:         slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	s.Configure(&cfg)
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, kit.Close(ctx))
	})
	a := &App{t: t, Kit: kit, URL: origin, srv: srv, box: box, setup: s}

	var h http.Handler = a.routes()
	if s.Wrap != nil {
		h = s.Wrap(h)
	}
	srv.Config.Handler = h
	srv.StartTLS()
	t.Cleanup(srv.Close) // before kit.Close: cleanups run last first

	for _, email := range []string{Email, Attacker} {
		_, err = kit.CreateUser(context.Background(), authkit.NewUser{Email: email, EmailVerified: true, Password: Password})
		require.NoError(t, err)
	}
	return a
}

// routes is the host's router.
func (a *App) routes() http.Handler {
	kit := a.Kit
	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())
	mux.Handle("/_auth/", kit.Handler())
	// A page for the signed-in, any method.
	mux.Handle("/private", kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := authkit.UserFromContext(r.Context())
		s, _ := authkit.SessionFromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"email": u.Email, "session": s.ID})
	})))
	// The CSRF token a form of the host's would hold.
	mux.HandleFunc("GET /csrf", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, kit.CSRFToken(w, r))
	})
	// What the browser carries: for the test's eyes only.
	mux.HandleFunc("GET /carried", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, a.setup.Carried(r))
	})
	mux.HandleFunc("GET /visit", func(w http.ResponseWriter, r *http.Request) {
		if a.setup.Visit != nil {
			a.setup.Visit(w, r)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	// The host's own sign-in, through the Go API.
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		in, err := kit.SignInWithEmail(kit.RequestContext(r), r.FormValue("email"), r.FormValue("password"))
		if err == nil {
			err = kit.SaveSession(w, r, in)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"email": in.User.Email})
	})
	mux.Handle("POST /logout", kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := kit.SignOut(r.Context(), "")
		if err == nil {
			err = kit.ClearSession(w, r)
		}
		if err != nil {
			writeError(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var e *authkit.Error
	if !errors.As(err, &e) {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, e.HTTPStatus(), map[string]any{"errors": []map[string]any{{"code": e.Code}}})
}

// Browser is a client of the app: a browser with its cookies, or a
// device.
type Browser struct {
	app    *App
	client *http.Client
	origin string // sent on POSTs; "" for a device
}

// Browser returns a new browser, without cookies.
func (a *App) Browser() *Browser {
	jar, err := cookiejar.New(nil)
	require.NoError(a.t, err)
	return &Browser{app: a, client: a.client(jar), origin: a.URL}
}

// Device returns a native client: no cookies, no Origin.
func (a *App) Device() *Browser {
	return &Browser{app: a, client: a.client(nil)}
}

func (a *App) client(jar http.CookieJar) *http.Client {
	return &http.Client{
		Transport: a.srv.Client().Transport, // trusts the server's certificate
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Answer is an answer to a browser.
type Answer struct {
	Status int
	Header http.Header
	Raw    string
	Body   map[string]any
}

// Code is the error code of an error answer.
func (a Answer) Code() string {
	errs, _ := a.Body["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Token is the session token in a sign-in's answer, or "".
func (a Answer) Token() string {
	s, _ := a.Body["session"].(map[string]any)
	t, _ := s["token"].(string)
	return t
}

// Headers of a request: a "" value leaves the header out.
type Headers map[string]string

// Do sends a request from b. A body of url.Values is sent as a form, any
// other as JSON. A POST says it comes from the app's own origin, unless
// hdr says otherwise.
func (b *Browser) Do(method, path string, body any, hdr Headers) Answer {
	t := b.app.t
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch v := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		rd, ctype = strings.NewReader(string(raw)), "application/json"
	}
	r, err := http.NewRequest(method, b.app.URL+path, rd)
	require.NoError(t, err)
	r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if method == http.MethodPost && b.origin != "" {
		r.Header.Set("Origin", b.origin)
	}
	for k, v := range hdr {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	res, err := b.client.Do(r)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	a := Answer{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(raw, &a.Body), "%s", raw)
	}
	require.Less(t, a.Status, 500, "%s %s: %s", method, path, raw)
	return a
}

// Post is Do for a POST.
func (b *Browser) Post(path string, body any, hdr Headers) Answer {
	b.app.t.Helper()
	return b.Do(http.MethodPost, path, body, hdr)
}

// SignIn signs in to the one account through the kit's REST route.
func (b *Browser) SignIn(hdr Headers) Answer {
	b.app.t.Helper()
	return b.Post(API+"signin-email", map[string]string{"email": Email, "password": Password}, hdr)
}

// SignedIn reports whether the browser gets the private page, as the one
// account.
func (b *Browser) SignedIn() bool {
	b.app.t.Helper()
	a := b.Do(http.MethodGet, "/private", nil, nil)
	switch a.Status {
	case http.StatusOK:
		require.Equal(b.app.t, Email, a.Body["email"])
		return true
	case http.StatusUnauthorized:
		return false
	}
	b.app.t.Fatalf("GET /private: %d %s", a.Status, a.Raw)
	return false
}

// Carried is the token the browser carries, read where the carrier keeps
// it: "" for none.
func (b *Browser) Carried() string {
	b.app.t.Helper()
	a := b.Do(http.MethodGet, "/carried", nil, nil)
	require.Equal(b.app.t, http.StatusOK, a.Status)
	return a.Raw
}

// CSRF is the browser's CSRF token, as a form of the host's holds it.
func (b *Browser) CSRF() string {
	b.app.t.Helper()
	a := b.Do(http.MethodGet, "/csrf", nil, nil)
	require.Equal(b.app.t, http.StatusOK, a.Status)
	require.NotEmpty(b.app.t, a.Raw)
	return a.Raw
}

// Cookie is the value of the browser's cookie name, or "".
func (b *Browser) Cookie(name string) string {
	u, err := url.Parse(b.app.URL + "/")
	require.NoError(b.app.t, err)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// Plant puts a cookie in the browser's jar, as an attacker who can write
// the browser's cookies (a sibling subdomain, a page over plain http, a
// shared computer) would.
func (b *Browser) Plant(name, value string) {
	u, err := url.Parse(b.app.URL + "/")
	require.NoError(b.app.t, err)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// GrantKey is the key of a grant to email's account, as a magic link
// hands it to the app's page: asked for by a device, read from the
// outbox, followed.
func (a *App) GrantKey(email string) string {
	a.t.Helper()
	ans := a.Device().Post(API+"send-magic?email="+url.QueryEscape(email), nil, nil)
	require.Equal(a.t, http.StatusOK, ans.Status, ans.Raw)
	return a.Follow(email)
}

// Follow reads the next mail to email, follows its link, and returns the
// grant key the kit sends the browser on with.
func (a *App) Follow(email string) string {
	a.t.Helper()
	d := a.Device()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := a.box.Next(ctx, email)
	require.NoError(a.t, err)
	link := linkPattern.FindString(m.Body)
	require.NotEmpty(a.t, link, m.Body)
	ans := d.Do(http.MethodGet, strings.TrimPrefix(link, a.URL), nil, nil)
	require.Equal(a.t, http.StatusSeeOther, ans.Status, ans.Raw)
	to, err := url.Parse(ans.Header.Get("Location"))
	require.NoError(a.t, err)
	key := to.Query().Get("access_token")
	require.NotEmpty(a.t, key, "%s", to)
	return key
}

var linkPattern = regexp.MustCompile(`https://\S+`)

// Alive reports whether token is a live session, asked by a device.
func (a *App) Alive(token string) bool {
	a.t.Helper()
	ans := a.Device().Do(http.MethodGet, API+"user", nil, Headers{"Session": token})
	require.Contains(a.t, []int{http.StatusOK, http.StatusUnauthorized}, ans.Status, ans.Raw)
	return ans.Status == http.StatusOK
}
