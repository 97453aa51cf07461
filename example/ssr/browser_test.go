package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

var screenshotDir = flag.String("screenshots", "", "write a PNG of each step of the browser test to this `directory`")

// The server-rendered example in headless Chromium, as a person uses it,
// every flow with an app of its own and a browser profile of its own:
// reading mail and codes from the dev outbox as from an inbox and a
// phone. It skips when chromium is not on PATH; AUTHKIT_TEST_BROWSER=1
// (as in CI) makes that a failure.
//
// go test ./example/ssr -run TestBrowser -screenshots="$PWD/shots" writes
// a screenshot of each step.
func TestBrowser(t *testing.T) {
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AUTHKIT_TEST_BROWSER") == "1" {
			t.Fatalf("chromium is not on PATH (%v); AUTHKIT_TEST_BROWSER=1 requires the browser tests", err)
		}
		t.Skipf("chromium is not on PATH (%v): skipping the browser test (AUTHKIT_TEST_BROWSER=1 makes this a failure)", err)
	}
	if *screenshotDir != "" {
		if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first call starts the browser, which lives as long as the
	// context it is given: browser's, not one with a timeout.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	for _, flow := range []struct {
		name string
		run  func(t *testing.T, person func(name string) *chrome)
	}{
		{"email", browseEmail},
		{"magic-link", browseMagicLink},
		{"reset-link", browseResetLink},
		{"phone", browsePhone},
		{"account", browseAccount},
		{"oauth", browseOAuth},
		{"authenticator", browseAuthenticator},
	} {
		t.Run(flow.name, func(t *testing.T) {
			flow.run(t, func(name string) *chrome { return newPerson(t, browser, flow.name+"-"+name) })
		})
	}
}

// newPerson opens a tab in a browser profile of its own (its own
// cookies), at a phone's width or a desktop's.
func newPerson(t *testing.T, browser context.Context, name string) *chrome {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1024, 800)); err != nil {
		t.Fatal(err)
	}
	return &chrome{t: t, ctx: tab, name: name}
}

const (
	bpw    = "correct horse battery"
	bnewpw = "a horse of another colour"
)

// browseEmail: sign-up, the link read from the dev outbox, the grant
// form, the account page, a page of another origin whose form posts to
// the app's sign-out (refused), sign-out and sign-in.
func browseEmail(t *testing.T, person func(string) *chrome) {
	_, base := startApp(t)
	b := person("ann")
	const email = "ann@example.com"
	b.open(base + "/signup")
	b.shot("sign-up")
	b.fill("#email", email)
	b.fill("#password", bpw)
	b.do("submitting sign-up", chromedp.Submit(chromedp.CSS("#email")))
	b.waitPath("/check-mail")
	b.shot("check-mail")

	b.open(base + "/dev/outbox")
	b.shot("outbox")
	b.open(b.newestLink())
	b.waitPath("/link")
	b.shot("link")
	b.press(`form[action="/_auth/forms/grant"] button`)
	b.waitPath("/account")
	b.waitText("#who", email)
	b.shot("account")

	// Another origin's page posts a form to the app's sign-out, with
	// everything but the app's origin: the app refuses it, and the
	// browser is still signed in.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/_auth/forms/signout"></form><script>document.forms[0].submit()</script>`, base)
	}))
	defer evil.Close()
	b.open(evil.URL)
	b.waitPath("/problem")
	b.waitText("body", "another site")
	b.shot("cross-site-refused")
	b.open(base + "/account")
	b.waitText("#who", email)

	b.press(`form[action="/_auth/forms/signout"]:not(.inline) button`)
	b.waitPath("/login")
	b.open(base + "/account")
	b.waitPath("/login")
	b.fill("#email", email)
	b.fill("#password", bpw)
	b.shot("sign-in")
	b.do("signing in", chromedp.Submit(chromedp.CSS("#email")))
	b.waitPath("/account")
	b.waitText("#who", email)
}

// confirmedUser makes an account with a confirmed address, as the app's
// admin would.
func confirmedUser(t *testing.T, a *app, email, phone string) {
	t.Helper()
	if _, err := a.kit.CreateUser(t.Context(), authkit.NewUser{
		Email: email, EmailVerified: email != "", Phone: phone, PhoneVerified: phone != "", Password: bpw,
	}); err != nil {
		t.Fatal(err)
	}
}

func browseMagicLink(t *testing.T, person func(string) *chrome) {
	a, base := startApp(t)
	const email = "bea@example.com"
	confirmedUser(t, a, email, "")
	b := person("bea")
	b.open(base + "/login")
	b.press(`a[href="/magic"]`)
	b.waitPath("/magic")
	b.fill("#email", email)
	b.shot("ask")
	b.do("asking for a link", chromedp.Submit(chromedp.CSS("#email")))
	b.waitText("body", "a sign-in link is on its way")
	b.open(base + "/dev/outbox")
	b.open(b.newestLink())
	b.waitPath("/link")
	b.press(`form[action="/_auth/forms/grant"] button`)
	b.waitPath("/account")
	b.waitText("#who", email)
	b.shot("signed-in")
}

func browseResetLink(t *testing.T, person func(string) *chrome) {
	a, base := startApp(t)
	const email = "cy@example.com"
	confirmedUser(t, a, email, "")
	b := person("cy")
	b.open(base + "/login")
	b.press(`a[href="/reset"]`)
	b.waitPath("/reset")
	b.fill("#email", email)
	b.do("asking for a reset link", chromedp.Submit(chromedp.CSS("#email")))
	b.waitText("body", "a link to choose a new password is on its way")
	b.open(base + "/dev/outbox")
	b.open(b.newestLink())
	b.waitText("h1", "Choose a new password")
	b.fill("#newPassword", bnewpw)
	b.shot("new-password")
	b.do("setting the password", chromedp.Submit(chromedp.CSS("#newPassword")))
	b.waitPath("/login")
	b.waitText("body", "Your password is changed")
	b.fill("#email", email)
	b.fill("#password", bpw)
	b.do("signing in with the old password", chromedp.Submit(chromedp.CSS("#email")))
	b.waitText(".error", "do not match an account")
	b.shot("old-password-refused")
	b.fill("#email", email)
	b.fill("#password", bnewpw)
	b.do("signing in with the new password", chromedp.Submit(chromedp.CSS("#email")))
	b.waitPath("/account")
	b.waitText("#who", email)
}

// browsePhone: sign-up with a phone number confirmed by the texted code,
// sign-in with a code, reset by code and sign-in with the new password.
func browsePhone(t *testing.T, person func(string) *chrome) {
	_, base := startApp(t)
	const phone = "+15555550100"
	b := person("dee")
	b.open(base + "/")
	b.press(`a[href="/signup-phone"]`)
	b.waitPath("/signup-phone")
	b.fill("#phone", phone)
	b.fill("#password", bpw)
	b.shot("sign-up")
	b.do("signing up", chromedp.Submit(chromedp.CSS("#phone")))
	b.waitText("h1", "Check your phone")
	code := b.codeFromOutbox(base, "outbox")
	b.fill("#verify-phone", phone)
	b.fill("#verify-code", code)
	b.shot("verify")
	b.do("confirming", chromedp.Submit(chromedp.CSS("#verify-code")))
	b.waitPath("/account")
	b.waitText("#phone-number", phone+" (confirmed)")
	b.shot("account")

	b.press(`form[action="/_auth/forms/signout"]:not(.inline) button`)
	b.waitPath("/login")
	b.press(`a[href="/phone"]`)
	b.waitPath("/phone")
	b.fill("#code-phone", phone)
	b.do("asking for a code", chromedp.Submit(chromedp.CSS("#code-phone")))
	b.waitText("body", "a code is on its way")
	code = b.codeFromOutbox(base, "")
	b.fill("#phone", phone)
	b.fill("#code", code)
	b.do("signing in with the code", chromedp.Submit(chromedp.CSS("#code")))
	b.waitPath("/account")
	b.waitText("#who", phone)

	// Reset by code, in another browser.
	c := person("dee-laptop")
	c.open(base + "/reset")
	c.fill("#phone", phone)
	c.do("asking for a reset code", chromedp.Submit(chromedp.CSS("#phone")))
	c.waitText("body", "a code is on its way")
	code = c.codeFromOutbox(base, "")
	c.fill("#phone", phone)
	c.fill("#code", code)
	c.fill("#newPassword", bnewpw)
	c.shot("reset-by-code")
	c.do("setting the password", chromedp.Submit(chromedp.CSS("#code")))
	c.waitText("body", "Your password is changed")
	c.open(base + "/phone")
	c.fill("#phone", phone)
	c.fill("#password", bnewpw)
	c.do("signing in with the new password", chromedp.Submit(chromedp.CSS("#phone")))
	c.waitPath("/account")
	b.open(base + "/account")
	b.waitPath("/login") // the reset ended the first browser's session
}

// browseAccount: change the password (a wrong current one first), end
// the other browser's session from the list, and sign out everywhere.
func browseAccount(t *testing.T, person func(string) *chrome) {
	a, base := startApp(t)
	const email = "eve@example.com"
	confirmedUser(t, a, email, "")
	b, other := person("eve"), person("eve-laptop")
	for _, p := range []*chrome{other, b} {
		p.open(base + "/login")
		p.fill("#email", email)
		p.fill("#password", bpw)
		p.do("signing in", chromedp.Submit(chromedp.CSS("#email")))
		p.waitPath("/account")
	}
	b.waitCount("#sessions li", 2)
	b.shot("sessions")

	b.fill("#pwd-current", "not my password")
	b.fill("#pwd-new", bnewpw)
	b.do("changing the password", chromedp.Submit(chromedp.CSS("#pwd-new")))
	b.waitText(".error", "Your current password is not right.")
	b.shot("wrong-password")
	b.fill("#pwd-current", bpw)
	b.fill("#pwd-new", bnewpw)
	b.do("changing the password", chromedp.Submit(chromedp.CSS("#pwd-new")))
	b.waitText(".note", "Your password is changed.")
	b.waitCount("#sessions li", 1)
	other.open(base + "/account")
	other.waitPath("/login")

	other.fill("#email", email)
	other.fill("#password", bnewpw)
	other.do("signing in again", chromedp.Submit(chromedp.CSS("#email")))
	other.waitPath("/account")
	b.open(base + "/account")
	b.waitCount("#sessions li", 2)
	b.press(`#sessions form.inline button`)
	b.waitText(".note", "That session has ended.")
	b.waitCount("#sessions li", 1)
	b.shot("session-ended")
	other.open(base + "/account")
	other.waitPath("/login")

	b.press(`form[action="/_auth/forms/signout-all"] button`)
	b.waitPath("/login")
	b.waitText(".note", "You are signed out everywhere.")
	b.open(base + "/account")
	b.waitPath("/login")
}

func browseOAuth(t *testing.T, person func(string) *chrome) {
	gh := oauthtest.NewGitHub(t)
	_, base := startApp(t, map[string]string{
		"AUTHKIT_GITHUB_CLIENT_ID": oauthtest.ClientID, "AUTHKIT_GITHUB_CLIENT_SECRET": oauthtest.ClientSecret,
		"AUTHKIT_GITHUB_AUTH_URL": gh.AuthURL(), "AUTHKIT_GITHUB_TOKEN_URL": gh.TokenURL(), "AUTHKIT_GITHUB_API_URL": gh.APIURL(),
	})
	b := person("rooby")
	b.open(base + "/login")
	b.shot("button")
	// Through the fake GitHub, which consents at once, and back.
	b.press(`.providers a[href="/_auth/github"]`)
	b.waitPath("/link")
	b.press(`form[action="/_auth/forms/grant"] button`)
	b.waitPath("/account")
	b.waitText("#via", "Your account signs in with GitHub.")
	b.waitCount("#pwd-current", 0) // no password to give
	b.shot("signed-in")
}

// chrome is one tab of the browser, failing the test on an error.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	name  string // in the screenshots' names
	shots int
}

// press clicks the element sel once it is visible.
func (b *chrome) press(sel string) {
	b.t.Helper()
	b.do("pressing "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

func (b *chrome) url() string {
	b.t.Helper()
	return b.eval(`location.href`)
}

// newestLink is the first link of the newest mail on the outbox page.
func (b *chrome) newestLink() string {
	b.t.Helper()
	b.waitPath("/dev/outbox")
	link := b.eval(`(document.querySelector("article a") || {}).href || ""`)
	if link == "" {
		b.t.Fatal("no link in the outbox")
	}
	return link
}

// codeFromOutbox reads the newest code on base's outbox page, with a
// screenshot named shot there unless it is "", and comes back to the page
// it was on, as a person switches to their messages and back.
func (b *chrome) codeFromOutbox(base, shot string) string {
	b.t.Helper()
	here := b.url()
	b.open(base + "/dev/outbox")
	if shot != "" {
		b.shot(shot)
	}
	code := b.newestCode()
	b.open(here)
	return code
}

// newestCode is the code of the newest text on the outbox page.
func (b *chrome) newestCode() string {
	b.t.Helper()
	b.waitPath("/dev/outbox")
	code := b.eval(`(document.querySelector("article .code") || {}).textContent || ""`)
	if code == "" {
		b.t.Fatal("no code in the outbox")
	}
	return code
}

// waitCount waits until sel matches n elements.
func (b *chrome) waitCount(sel string, n int) {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	b.until(fmt.Sprintf("%d of %s", n, sel), fmt.Sprintf(`document.querySelectorAll(%s).length === %d`, s, n))
}

func (b *chrome) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *chrome) open(url string) {
	b.t.Helper()
	b.do("opening "+url, chromedp.Navigate(url))
}

func (b *chrome) eval(expr string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// fill types value into the field sel after emptying it.
func (b *chrome) fill(sel, value string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	b.do("typing into "+sel, chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(q)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

// until waits until the JavaScript expression cond is true once the page
// has loaded.
func (b *chrome) until(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+cond+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.t.Fatalf("waiting for %s: the page is %s", what, b.eval(`location.href + " " + document.body.innerText.slice(0, 300)`))
}

func (b *chrome) waitPath(path string) {
	b.t.Helper()
	p, _ := json.Marshal(path)
	b.until("the page "+path, `location.pathname === `+string(p))
}

func (b *chrome) waitText(sel, text string) {
	b.t.Helper()
	s, _ := json.Marshal(sel)
	x, _ := json.Marshal(text)
	b.until(fmt.Sprintf("%q in %s", text, sel), `(document.querySelector(`+string(s)+`) || {textContent: ""}).textContent.includes(`+string(x)+`)`)
}

// shot saves a screenshot of the page when -screenshots is set.
func (b *chrome) shot(name string) {
	b.t.Helper()
	if *screenshotDir == "" {
		return
	}
	b.shots++
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	file := filepath.Join(*screenshotDir, fmt.Sprintf("ssr-%s-%02d-%s.png", b.name, b.shots, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// totpAt is the code an authenticator app with secret shows at t.
func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// signInWith signs in on the sign-in page with email and bpw.
func (b *chrome) signInWith(email string) {
	b.t.Helper()
	b.fill("#email", email)
	b.fill("#password", bpw)
	b.do("signing in", chromedp.Submit(chromedp.CSS("#email")))
}

// browseAuthenticator: an authenticator app set up on the account page
// (the key read off the page, its codes computed in Go with the
// browser's clock, the machine's), then the sign-in's second step on the
// app's MFA page, with a code and with a recovery code; then removed.
func browseAuthenticator(t *testing.T, person func(string) *chrome) {
	a, base := startApp(t)
	const email = "gil@example.com"
	confirmedUser(t, a, email, "")
	b := person("gil")
	b.open(base + "/login")
	b.signInWith(email)
	b.waitPath("/account")
	b.waitText("#authenticator", "Ask for a code from an authenticator app")
	b.press(`form[action="/account/authenticator"] button`)
	b.waitPath("/account/authenticator")
	b.until("the QR code", `document.getElementById("qr").complete && document.getElementById("qr").naturalWidth >= 200`)
	secret := strings.ReplaceAll(b.eval(`document.getElementById("secret").textContent`), " ", "")
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("the key on the page is %q", secret)
	}
	b.shot("setup")
	b.fill("#code", "000000")
	b.do("confirming", chromedp.Submit(chromedp.CSS("#code")))
	b.waitText(".error", "That code is not right")
	b.fill("#code", totpAt(t, secret, time.Now()))
	b.do("confirming", chromedp.Submit(chromedp.CSS("#code")))
	b.waitText(".note", "Your authenticator app is on")
	codes := strings.Fields(b.eval(`[...document.querySelectorAll("#recovery-codes li")].map((l) => l.textContent).join(" ")`))
	if len(codes) != 10 {
		t.Fatalf("the recovery codes on the page: %q", codes)
	}
	b.shot("recovery-codes")
	b.open(base + "/account")
	b.waitText("#authenticator", "An authenticator app is set up")
	b.press(`form[action="/_auth/forms/signout"]:not(.inline) button`)
	b.waitPath("/login")

	// The password, then the MFA page. The step of the first code is
	// spent: the next step's, which the kit takes as drift of one step.
	b.signInWith(email)
	b.waitPath("/second-factor")
	b.waitText(".note", "One more step")
	b.shot("second-factor")
	b.fill("#code", "000000")
	b.do("sending a wrong code", chromedp.Submit(chromedp.CSS("#code")))
	b.waitPath("/second-factor")
	b.waitText(".error", "That code is not right")
	b.shot("second-factor-wrong")
	b.fill("#code", totpAt(t, secret, time.Now().Add(30*time.Second)))
	b.do("sending the code", chromedp.Submit(chromedp.CSS("#code")))
	b.waitPath("/account")
	b.waitText("#who", email)
	b.shot("signed-in")
	b.press(`form[action="/_auth/forms/signout"]:not(.inline) button`)
	b.waitPath("/login")

	// A page that needs a session, a recovery code, and back to the page.
	b.open(base + "/account?tab=security")
	b.waitPath("/login")
	b.signInWith(email)
	b.waitPath("/second-factor")
	b.fill("#code", codes[0])
	b.do("sending a recovery code", chromedp.Submit(chromedp.CSS("#code")))
	b.until("the page asked for", `location.pathname + location.search === "/account?tab=security"`)
	b.waitText("#who", email)

	// Removed with another recovery code: one step again.
	b.fill("#totp-remove", codes[1])
	b.do("removing", chromedp.Submit(chromedp.CSS("#totp-remove")))
	b.waitText(".note", "The authenticator app is removed")
	b.shot("removed")
	b.press(`form[action="/_auth/forms/signout"]:not(.inline) button`)
	b.waitPath("/login")
	b.signInWith(email)
	b.waitPath("/account")
}
