package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is a cookie-keeping client that sends Origin on a POST, as a
// browser does: the app's own, or origin when it is set.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string // "" is the app's
}

type originTransport struct{ b *browser }

func (o originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", o.b.base)
		if o.b.origin != "" {
			r.Header.Set("Origin", o.b.origin)
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// startApp serves the app in -dev mode on a test server.
func startApp(t *testing.T) (*app, string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	a, err := newApp(options{dev: true, db: "memory", baseURL: base}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = a.handler
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		a.kit.Close(context.Background())
		a.close()
	})
	return a, base
}

func newBrowser(t *testing.T, base string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, base: base}
	b.c = &http.Client{Jar: jar, Transport: originTransport{b}, Timeout: 30 * time.Second}
	return b
}

// page is where the browser ended and the HTML it shows.
type page struct {
	url  *url.URL
	body string
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = b.base + rawURL
	}
	resp, err := b.c.Get(rawURL)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) page {
	b.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: %d %s", resp.Request.URL, resp.StatusCode, body)
	}
	return page{url: resp.Request.URL, body: string(body)}
}

var formPattern = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)">(.*?)</form>`)
var hiddenPattern = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submit fills in the form of p that posts to action, as a person does,
// keeping its hidden fields, and follows where it sends the browser.
func (b *browser) submit(p page, action string, fields url.Values) page {
	b.t.Helper()
	for _, m := range formPattern.FindAllStringSubmatch(p.body, -1) {
		if m[1] != action {
			continue
		}
		v := url.Values{}
		for _, h := range hiddenPattern.FindAllStringSubmatch(m[2], -1) {
			v.Set(h[1], unescape(h[2]))
		}
		for k, vs := range fields {
			v[k] = vs
		}
		resp, err := b.c.PostForm(b.base+action, v)
		if err != nil {
			b.t.Fatal(err)
		}
		return b.read(resp)
	}
	b.t.Fatalf("%s has no form posting to %s:\n%s", p.url, action, p.body)
	return page{}
}

func unescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// linkTo reads the newest mail to addr from the outbox page and returns
// its link.
func (b *browser) linkTo(a *app, addr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.box.Next(ctx, addr); err != nil {
		b.t.Fatal(err)
	}
	p := b.get("/dev/outbox")
	m := regexp.MustCompile(`<a href="(http[^"]+)">`).FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no link in the outbox:\n%s", p.body)
	}
	return unescape(m[1])
}

func (p page) must(t *testing.T, path string, texts ...string) {
	t.Helper()
	if p.url.Path != path {
		t.Fatalf("at %s, want %s:\n%s", p.url, path, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s does not say %q:\n%s", p.url, s, p.body)
		}
	}
}

const (
	password    = "a tolerable passphrase 17"
	newPassword = "another tolerable passphrase 17"
)

// signUp makes a confirmed, signed-in account in b.
func signUp(t *testing.T, a *app, b *browser, email string) {
	t.Helper()
	p := b.submit(b.get("/signup"), "/_auth/forms/signup-email", url.Values{"email": {email}, "password": {password}})
	p.must(t, "/check-mail", "Follow the link we emailed you")
	p = b.get(b.linkTo(a, email))
	p.must(t, "/link", "Your address is confirmed.")
	p = b.submit(p, "/_auth/forms/grant", nil)
	p.must(t, "/account", `<strong id="who">`+email+`</strong>`, "(this browser)")
}

func TestFlows(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newBrowser(t, base)
	const email = "ann@example.com"
	signUp(t, a, b, email)

	// Sign out: the private page asks for a sign-in again, with the way back.
	p := b.submit(b.get("/account"), "/_auth/forms/signout", nil)
	p.must(t, "/login", "You are signed out.")
	p = b.get("/account?tab=sessions")
	p.must(t, "/login", "Sign in to see that page.")
	if got := p.url.Query().Get("return"); got != "/account?tab=sessions" {
		t.Fatalf("return = %q", got)
	}

	// A wrong password says so in words, and keeps the way back.
	p = b.submit(p, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {"not the password"}})
	p.must(t, "/login", "That email and password do not match an account.")
	if got := p.url.Query().Get("return"); got != "/account?tab=sessions" {
		t.Fatalf("return after a failed sign-in = %q", got)
	}
	p = b.submit(p, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {password}})
	p.must(t, "/account", email)
	if p.url.RawQuery != "tab=sessions" {
		t.Fatalf("signed in at %s, want the return path", p.url)
	}

	// Reset by link from a signed-out browser: every session ends, the
	// new password signs in, the old one no longer does.
	other := newBrowser(t, base)
	p = other.submit(other.get("/reset"), "/_auth/forms/send-reset", url.Values{"email": {email}})
	p.must(t, "/check-mail", "a link to choose a new password")
	p = other.get(other.linkTo(a, email))
	p.must(t, "/link", "Choose a new password")
	p = other.submit(p, "/_auth/forms/reset-pwd", url.Values{"newPassword": {newPassword}})
	p.must(t, "/login", "Your password is changed")
	b.get("/account").must(t, "/login") // the first browser's session ended
	p = other.submit(p, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {password}})
	p.must(t, "/login", "do not match an account")
	p = other.submit(p, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {newPassword}})
	p.must(t, "/account", email)

	// A spent link is told in words.
	p = b.submit(b.get("/magic"), "/_auth/forms/send-magic", url.Values{"email": {email}})
	p.must(t, "/check-mail", "a sign-in link is on its way")
	p = b.get(b.linkTo(a, email))
	key := p.url.Query().Get("access_token")
	b.submit(p, "/_auth/forms/grant", nil).must(t, "/account", email)
	p = b.submit(b.get("/link?action=magic-link&access_token="+url.QueryEscape(key)), "/_auth/forms/grant", nil)
	p.must(t, "/login", "That link has expired or was used already.")
}

func TestCrossSiteFormsRefused(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	victim := newBrowser(t, base)
	const email = "bob@example.com"
	signUp(t, a, victim, email)

	// A foreign page's sign-out form leaves the browser signed in.
	signOut := victim.get("/account")
	victim.origin = "https://evil.example"
	p := victim.submit(signOut, "/_auth/forms/signout", nil)
	p.must(t, "/problem", "That form came from another site")
	victim.origin = ""
	victim.get("/account").must(t, "/account", email)

	// A foreign page's sign-in form (login CSRF) leaves a browser signed out,
	// even with the right password and the browser's own CSRF token.
	fresh := newBrowser(t, base)
	login := fresh.get("/login")
	fresh.origin = "https://evil.example"
	p = fresh.submit(login, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {password}})
	p.must(t, "/login", "That form came from another site")
	fresh.origin = ""
	fresh.get("/account").must(t, "/login", "Sign in to see that page.")
}
