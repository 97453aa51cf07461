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

	"github.com/authkit/authkit/internal/oauthtest"
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

// startApp serves the app in -dev mode on a test server, with env as its
// environment.
func startApp(t *testing.T, env ...map[string]string) (*app, string) {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	getenv := func(key string) string {
		for _, e := range env {
			if v, ok := e[key]; ok {
				return v
			}
		}
		return ""
	}
	a, err := newApp(options{dev: true, db: "memory", baseURL: base, getenv: getenv}, io.Discard)
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

var formPattern = regexp.MustCompile(`(?s)<form(?: class="[^"]*")? method="post" action="([^"]+)">(.*?)</form>`)
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

// inHTML is s as html/template writes it.
func inHTML(s string) string { return strings.ReplaceAll(s, "+", "&#43;") }

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

// codeTo reads the newest text to phone from the outbox page and returns
// its code.
func (b *browser) codeTo(a *app, phone string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.box.Next(ctx, phone); err != nil {
		b.t.Fatal(err)
	}
	p := b.get("/dev/outbox")
	m := regexp.MustCompile(`<span class="code">(\d+)</span>`).FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no code in the outbox:\n%s", p.body)
	}
	return m[1]
}

// submitHolding submits the form of p that posts to action and holds the
// text holding (one of several forms to one action: a session's sign-out).
func (b *browser) submitHolding(p page, action, holding string) page {
	b.t.Helper()
	for _, m := range formPattern.FindAllStringSubmatch(p.body, -1) {
		if m[1] == action && strings.Contains(m[2], holding) {
			return b.submit(page{url: p.url, body: m[0]}, action, nil)
		}
	}
	b.t.Fatalf("%s has no form posting to %s with %q:\n%s", p.url, action, holding, p.body)
	return page{}
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

// signIn signs b in with email and pw from the sign-in page.
func signIn(t *testing.T, b *browser, email, pw string) {
	t.Helper()
	p := b.submit(b.get("/login"), "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {pw}})
	p.must(t, "/account", email)
}

func TestPhoneFlows(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newBrowser(t, base)
	const phone = "+15555550100"

	// Sign-up, confirmed by the texted code.
	p := b.submit(b.get("/signup-phone"), "/_auth/forms/signup-phone", url.Values{"phone": {phone}, "password": {password}})
	p.must(t, "/check-mail", "Check your phone", "Enter the code we texted you")
	p = b.submit(p, "/_auth/forms/verify-phone", url.Values{"phone": {phone}, "code": {"000000"}})
	p.must(t, "/problem", "That code is not right")
	p = b.submit(b.get("/check-mail?form=signup-phone"), "/_auth/forms/verify-phone", url.Values{"phone": {phone}, "code": {b.codeTo(a, phone)}})
	p.must(t, "/account", `<strong id="who">`+inHTML(phone)+`</strong>`, inHTML(phone)+" (confirmed)")

	// Sign-in with a texted code.
	b.submit(p, "/_auth/forms/signout", nil).must(t, "/login", "You are signed out.")
	p = b.submit(b.get("/phone"), "/_auth/forms/send-code", url.Values{"phone": {phone}})
	p.must(t, "/check-mail", "a code is on its way")
	p = b.submit(p, "/_auth/forms/signin-code", url.Values{"phone": {phone}, "code": {b.codeTo(a, phone)}})
	p.must(t, "/account", inHTML(phone))

	// Reset by code, then sign in with the new password, not the old.
	other := newBrowser(t, base)
	p = other.submit(other.get("/reset"), "/_auth/forms/send-reset-code", url.Values{"phone": {phone}})
	p.must(t, "/check-mail", "a code is on its way")
	p = other.submit(p, "/_auth/forms/reset-pwd-code", url.Values{"phone": {phone}, "code": {other.codeTo(a, phone)}, "newPassword": {newPassword}})
	p.must(t, "/login", "Your password is changed")
	b.get("/account").must(t, "/login")
	p = other.submit(other.get("/phone"), "/_auth/forms/signin-phone", url.Values{"phone": {phone}, "password": {password}})
	p.must(t, "/login", "That phone number and password do not match an account.")
	p = other.submit(other.get("/phone"), "/_auth/forms/signin-phone", url.Values{"phone": {phone}, "password": {newPassword}})
	p.must(t, "/account", inHTML(phone))
}

func TestAccountForms(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b, laptop := newBrowser(t, base), newBrowser(t, base)
	const email, newEmail, phone = "cy@example.com", "cy@example.org", "+15555550111"
	signUp(t, a, b, email)
	signIn(t, laptop, email, password)

	// The password: the wrong current one changes nothing; the right one
	// ends every other session.
	p := b.submit(b.get("/account"), "/_auth/forms/change-pwd", url.Values{"password": {"not it"}, "newPassword": {newPassword}})
	p.must(t, "/account", "Your current password is not right.")
	laptop.get("/account").must(t, "/account", email)
	p = b.submit(p, "/_auth/forms/change-pwd", url.Values{"password": {password}, "newPassword": {newPassword}})
	p.must(t, "/account", "Your password is changed.")
	laptop.get("/account").must(t, "/login", "Sign in to see that page.")

	// The email, once the link mailed to the new address is followed.
	p = b.submit(p, "/_auth/forms/change-email", url.Values{"email": {newEmail}, "password": {newPassword}})
	p.must(t, "/account", "We emailed a link to your new address.", `<dd id="email">`+email+`</dd>`)
	p = b.get(b.linkTo(a, newEmail))
	p.must(t, "/link", "Your new address is confirmed.")
	p = b.submit(p, "/_auth/forms/grant", nil)
	p.must(t, "/account", `<dd id="email">`+newEmail+`</dd>`)

	// The phone number, once its texted code is entered.
	p = b.submit(p, "/_auth/forms/change-phone", url.Values{"phone": {phone}, "password": {newPassword}})
	p.must(t, "/account", "We texted a code to your new number.")
	p = b.submit(p, "/_auth/forms/verify-phone", url.Values{"phone": {phone}, "code": {b.codeTo(a, phone)}})
	p.must(t, "/account", "Your phone number is confirmed.", inHTML(phone)+" (confirmed)")

	// The sessions: end the laptop's from the list, then the others, then all.
	signIn(t, laptop, newEmail, newPassword)
	p = b.get("/account")
	laptopSession := regexp.MustCompile(`name="session" value="([^"]+)"`).FindAllStringSubmatch(p.body, -1)
	if len(laptopSession) == 0 {
		t.Fatalf("no session to end in the list:\n%s", p.body)
	}
	for _, m := range laptopSession {
		p = b.submitHolding(b.get("/account"), "/_auth/forms/signout", `value="`+m[1]+`"`)
		p.must(t, "/account", "That session has ended.")
	}
	laptop.get("/account").must(t, "/login")
	if strings.Contains(p.body, `name="session"`) {
		t.Fatalf("sessions left to end:\n%s", p.body)
	}

	signIn(t, laptop, newEmail, newPassword)
	b.submit(b.get("/account"), "/_auth/forms/signout-all-except", nil).must(t, "/account", "Every other session has ended.")
	laptop.get("/account").must(t, "/login")
	b.get("/account").must(t, "/account", newEmail)

	signIn(t, laptop, newEmail, newPassword)
	b.submit(b.get("/account"), "/_auth/forms/signout-all", nil).must(t, "/login", "You are signed out everywhere.")
	laptop.get("/account").must(t, "/login")
	b.get("/account").must(t, "/login")
}

func TestOAuthButton(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	a, base := startApp(t, map[string]string{
		"AUTHKIT_GITHUB_CLIENT_ID": oauthtest.ClientID, "AUTHKIT_GITHUB_CLIENT_SECRET": oauthtest.ClientSecret,
		"AUTHKIT_GITHUB_AUTH_URL": gh.AuthURL(), "AUTHKIT_GITHUB_TOKEN_URL": gh.TokenURL(), "AUTHKIT_GITHUB_API_URL": gh.APIURL(),
	})
	_ = a
	b := newBrowser(t, base)
	b.get("/login").must(t, "/login", `<a href="/_auth/github">Sign in with GitHub</a>`)
	// Through the fake GitHub, which consents at once, to the app's link
	// page, whose Continue signs this browser in.
	p := b.get("/_auth/github")
	p.must(t, "/link", "Continue")
	p = b.submit(p, "/_auth/forms/grant", nil)
	p.must(t, "/account", "rooby@example.com", "Your account signs in with GitHub.")
}

// An authenticator app set up on the account page and asked for by the
// next sign-in on /second-factor (Forms.MFA): a wrong code stays there,
// the right one goes on to the account; a foreign page can neither start
// a setup nor remove one.
func TestAuthenticator(t *testing.T) {
	t.Parallel()
	a, base := startApp(t)
	b := newBrowser(t, base)
	const email = "gil@example.com"
	signUp(t, a, b, email)
	p := b.get("/account")
	p.must(t, "/account", "Set up an authenticator app")

	b.origin = "https://evil.example"
	b.submit(p, "/account/authenticator", nil).must(t, "/problem", "That form came from another site")
	b.origin = ""

	p = b.submit(p, "/account/authenticator", nil)
	p.must(t, "/account/authenticator", "Scan the QR code", `src="data:image/png;base64,`)
	m := regexp.MustCompile(`<code class="key" id="secret">([A-Z2-7 ]+)</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no key on the setup page:\n%s", p.body)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	p = b.submit(p, "/account/authenticator/confirm", url.Values{"code": {"000000"}})
	p.must(t, "/account/authenticator", "That code is not right", m[1])
	p = b.submit(p, "/account/authenticator/confirm", url.Values{"code": {totpAt(t, secret, time.Now())}})
	p.must(t, "/account/authenticator/confirm", "Your authenticator app is on")
	codes := regexp.MustCompile(`<li>([A-Z2-7]{5}-[A-Z2-7]{5})</li>`).FindAllStringSubmatch(p.body, -1)
	if len(codes) != 10 {
		t.Fatalf("the recovery codes: %q", codes)
	}
	p = b.get("/account")
	p.must(t, "/account", "An authenticator app is set up")

	// This session proved one factor, before the setup: the account's
	// changes ask it for a second, which the step-up form gives.
	change := url.Values{"email": {"gil@example.org"}, "password": {password}}
	p = b.submit(p, "/_auth/forms/change-email", change)
	p.must(t, "/account", "That change needs a code", `action="/_auth/forms/step-up"`)
	p = b.submit(p, "/_auth/forms/step-up", url.Values{"code": {"000000"}})
	p.must(t, "/account", "That code is not right", `action="/_auth/forms/step-up"`)
	p = b.submit(p, "/_auth/forms/step-up", url.Values{"code": {codes[9][1]}})
	p.must(t, "/account", "Confirmed: for the next few minutes")
	p = b.submit(p, "/_auth/forms/change-email", change)
	p.must(t, "/account", "We emailed a link to your new address.")
	b.get("/account/authenticator").must(t, "/account") // the setup is over

	b.origin = "https://evil.example"
	b.submit(p, "/account/authenticator/remove", url.Values{"code": {codes[0][1]}}).must(t, "/problem", "That form came from another site")
	b.origin = ""
	b.submit(b.get("/account"), "/_auth/forms/signout", nil).must(t, "/login")

	// The sign-in's second step, with the return path of the page asked for.
	p = b.get("/account?tab=security")
	p.must(t, "/login", "Sign in to see that page.")
	p = b.submit(p, "/_auth/forms/signin-email", url.Values{"email": {email}, "password": {password}})
	p.must(t, "/second-factor", "One more step", `action="/_auth/forms/mfa"`, `name="return" value="/account?tab=security"`)
	p = b.submit(p, "/_auth/forms/mfa", url.Values{"code": {"000000"}})
	p.must(t, "/second-factor", "That code is not right")
	p = b.submit(p, "/_auth/forms/mfa", url.Values{"code": {totpAt(t, secret, time.Now().Add(30*time.Second))}})
	p.must(t, "/account", email)
	if p.url.RawQuery != "tab=security" {
		t.Errorf("signed in at %s, want the page asked for", p.url)
	}

	// Without a ticket (the page opened on its own): back to the sign-in.
	newBrowser(t, base).submit(b.get("/second-factor"), "/_auth/forms/mfa", url.Values{"code": {"123456"}}).
		must(t, "/login", "The sign-in took too long")

	// Removed with a recovery code: one step again.
	p = b.submit(b.get("/account"), "/account/authenticator/remove", url.Values{"code": {codes[0][1]}})
	p.must(t, "/account", "The authenticator app is removed", "Set up an authenticator app")
	b.submit(p, "/_auth/forms/signout", nil).must(t, "/login")
	signIn(t, b, email, password)
}
