package main

// The example page driven in headless Chromium: every flow a person can
// complete with the page and the dev outbox, read in a second tab as they
// would read their inbox.

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/outbox"
)

var screenshotDir = flag.String("screenshots", "", "write a PNG of each step of the browser tests to this `directory`, at desktop width and at 390 px")

// The widths of the screenshots: a laptop's, and a phone's.
const desktopWidth, phoneWidth = 1280, 390

// iPhoneUA is the user agent of the second device in the session test.
const iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

// TestBrowser runs every flow of the example page in headless Chromium
// (Debian's chromium package), each flow in its own app and its own
// browser context, in parallel. Without Chromium it skips, unless
// AUTHKIT_TEST_BROWSER=1 (as in CI) makes that a failure.
//
// go test ./example -run TestBrowser -screenshots="$PWD/shots" writes a
// screenshot of each step, at desktop width and at 390 px.
func TestBrowser(t *testing.T) {
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AUTHKIT_TEST_BROWSER") == "1" {
			t.Fatalf("chromium is not on PATH (%v); AUTHKIT_TEST_BROWSER=1 requires the browser tests (apt-get install chromium)", err)
		}
		t.Skipf("chromium is not on PATH (%v): skipping the browser tests (apt-get install chromium; AUTHKIT_TEST_BROWSER=1 makes this a failure)", err)
	}
	if *screenshotDir != "" {
		if err := os.MkdirAll(*screenshotDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	browser := startBrowser(t, exe)

	for _, flow := range []struct {
		name string
		run  func(t *testing.T, browser context.Context)
	}{
		{"EmailSignUpConfirmAndSignIn", browseEmailSignUp},
		{"MagicLink", browseMagicLink},
		{"ResetByLink", browseResetByLink},
		{"PhoneSignUpCodeAndReset", browsePhone},
		{"ChangePasswordEmailPhone", browseAccountChanges},
		{"SessionsAndSignOut", browseSessions},
		{"OAuthButton", browseOAuth},
		{"AuthenticatorApp", browseAuthenticator},
		{"AuthenticatorAfterTextedCode", browseAuthenticatorPhone},
		{"Passkey", browsePasskey},
	} {
		t.Run(flow.name, func(t *testing.T) {
			t.Parallel()
			flow.run(t, browser)
		})
	}
}

// startBrowser starts headless Chromium for the test and its subtests.
func startBrowser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	return ctx
}

// demo is one flow's app, and a person at it: a browser of their own with
// the page in one tab and their inbox (the dev outbox) in another.
type demo struct {
	t    *testing.T
	app  *running
	base string
	tab  *tab           // the page
	mail *tab           // the inbox
	read map[string]int // per kind and address, the messages read
	shot int
}

// tab is a browser tab, at the width it is used at.
type tab struct {
	ctx   context.Context
	width int64
}

// newDemo starts the app with o (a dev app on memory when nil) and opens
// a new browser context on it.
func newDemo(t *testing.T, browser context.Context, o *options) *demo {
	t.Helper()
	if o == nil {
		o = &options{db: "memory", dev: true}
	}
	o.getenv = noEnv(o.getenv)
	app := startApp(t, *o)
	t.Cleanup(func() {
		// t.Context is done by now: the app gets a little while of its own.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.srv.Close()
		if err := app.kit.Close(ctx); err != nil {
			t.Error(err)
		}
		app.app.Close()
	})
	d := &demo{t: t, app: app, base: app.srv.URL, read: map[string]int{}}
	d.tab = d.newTab(browser, desktopWidth, "")
	mail, cancel := chromedp.NewContext(d.tab.ctx) // a second tab of the same browser
	t.Cleanup(cancel)
	d.mail = &tab{ctx: mail, width: desktopWidth}
	if err := chromedp.Do(mail); err != nil {
		t.Fatal(err)
	}
	return d
}

// noEnv is getenv, or an environment with nothing set: the test runs the
// same whatever the developer's shell exports.
func noEnv(getenv func(string) string) func(string) string {
	if getenv != nil {
		return getenv
	}
	return func(string) string { return "" }
}

// newTab opens a tab in a browser context of its own (its own storage and
// cookies: another device), width wide, with userAgent if not "".
func (d *demo) newTab(browser context.Context, width int64, userAgent string) *tab {
	d.t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	d.t.Cleanup(cancel)
	tb := &tab{ctx: ctx, width: width}
	steps := []chromedp.Action[chromedp.Void]{viewport(width)}
	if userAgent != "" {
		steps = append(steps, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: userAgent})
			return err
		}))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		d.t.Fatal(err)
	}
	return tb
}

// viewport emulates a screen width wide: a phone's (mobile, as an iPhone
// lays out) at 390 px or less, a laptop's above.
func viewport(width int64) chromedp.Action[chromedp.Void] {
	if width <= phoneWidth {
		return chromedp.EmulateViewport(width, 844, chromedp.EmulateScale(1), chromedp.EmulateMobile)
	}
	return chromedp.EmulateViewport(width, 860)
}

// do runs steps in tb, failing the test on an error.
func (d *demo) do(tb *tab, what string, steps ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		d.t.Fatalf("%s: %v; the page says: %s", what, err, d.messages(tb))
	}
}

// open loads path in tb and waits until the page shows a view.
func (d *demo) open(tb *tab, path string) {
	d.t.Helper()
	d.do(tb, "opening "+path, chromedp.Navigate(d.base+path))
	d.settled(tb)
}

// settled waits until the page has shown the signed-in or the signed-out view.
func (d *demo) settled(tb *tab) {
	d.t.Helper()
	d.waitFor(tb, "the page to show a view", `() => document.getElementById("view-loading").hidden ? "ok" : ""`)
}

// fill types value into the field sel, as a person does, after clearing it.
func (d *demo) fill(tb *tab, sel, value string) {
	d.t.Helper()
	// Not chromedp.Clear, which empties the attribute and leaves what was
	// typed, nor SetValue, which refuses "".
	empty, _ := json.Marshal(sel)
	d.do(tb, "typing into "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(`+string(empty)+`).value = ""`),
		chromedp.SendKeys(chromedp.CSS(sel), value))
}

func (d *demo) click(tb *tab, sel string) {
	d.t.Helper()
	d.do(tb, "clicking "+sel, chromedp.Click(chromedp.CSS(sel)))
}

// submit fills a form's fields (id: value, in order) and clicks its submit button.
func (d *demo) submit(tb *tab, form string, fields ...string) {
	d.t.Helper()
	for i := 0; i+1 < len(fields); i += 2 {
		d.fill(tb, "#"+fields[i], fields[i+1])
	}
	d.click(tb, "#"+form+" button[type=submit]")
}

// waitText waits until the element sel is shown and holds text. A visible
// error message on the page fails the wait at once.
func (d *demo) waitText(tb *tab, sel, text string) {
	d.t.Helper()
	d.waitFor(tb, fmt.Sprintf("%q in %s", text, sel), waitTextJS, sel, text, false)
}

// waitError waits until the element sel is shown and holds text, an error
// message being what is expected.
func (d *demo) waitError(tb *tab, sel, text string) {
	d.t.Helper()
	d.waitFor(tb, fmt.Sprintf("%q in %s", text, sel), waitTextJS, sel, text, true)
}

const waitTextJS = `(sel, text, errorExpected) => {
	const shown = (e) => e && e.getClientRects().length > 0;
	const e = document.querySelector(sel);
	if (shown(e) && e.textContent.includes(text)) return "ok";
	if (!errorExpected) {
		for (const m of document.querySelectorAll(".msg.err")) {
			if (shown(m) && m.textContent) return "error: " + m.textContent;
		}
	}
	return "";
}`

// waitFor waits until the JavaScript function fn, given args, returns
// "ok" in tb. Any other truthy answer is a failure it reports.
func (d *demo) waitFor(tb *tab, what, fn string, args ...any) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	for {
		got, err := chromedp.Run(ctx, chromedp.PollFunction[string](fn,
			chromedp.WithPollingInterval(40*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second), chromedp.WithPollingArgs(args...)))
		switch {
		case err == nil && got == "ok":
			return
		case err == nil:
			d.t.Fatalf("waiting for %s: %s", what, got)
		case ctx.Err() != nil:
			d.t.Fatalf("waiting for %s: %v; the page says: %s", what, err, d.messages(tb))
		}
		// A navigation ended the poll, or its own timeout did: again.
	}
}

// messages is what the page says: its notice and every message shown.
func (d *demo) messages(tb *tab) string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#notice, .msg")]
		.filter((e) => e.getClientRects().length > 0 && e.textContent)
		.map((e) => JSON.stringify(e.textContent)).join(", ") || "nothing"`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

// focused is the id of the element that has the focus in tb.
func (d *demo) focused(tb *tab) string {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
	if err != nil {
		d.t.Fatal(err)
	}
	return id
}

// usable checks what a person needs of the view tb shows, whatever the
// screen or the reader: every field shown has a label, every button and
// link a name, and the page is no wider than the screen.
func (d *demo) usable(tb *tab) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const shown = (e) => e.getClientRects().length > 0;
		const bad = [];
		for (const i of document.querySelectorAll("input")) {
			if (shown(i) && !(i.labels && i.labels.length && i.labels[0].textContent.trim())) bad.push("the field #" + i.id + " has no label");
		}
		for (const b of document.querySelectorAll("button, a")) {
			if (shown(b) && !(b.getAttribute("aria-label") || b.textContent.trim())) bad.push("a control has no name: " + b.outerHTML);
		}
		// clientWidth: the layout viewport, which a phone does not widen to fit.
		const w = document.documentElement.scrollWidth, screen = document.documentElement.clientWidth;
		if (w > screen) bad.push("the page is " + w + " px wide on a screen of " + screen);
		return bad;
	})()`))
	if err != nil {
		d.t.Fatal(err)
	}
	for _, p := range problems {
		d.t.Errorf("at %d px: %s", tb.width, p)
	}
}

// signedIn waits for the signed-in view, its heading naming who.
func (d *demo) signedIn(tb *tab, who string) {
	d.t.Helper()
	d.waitText(tb, "#who-title", who)
}

// signedOut waits for the signed-out view.
func (d *demo) signedOut(tb *tab) {
	d.t.Helper()
	d.waitText(tb, "#view-out", "Sign in")
}

// screenshot saves the page of tb as step name, at desktop width and at
// 390 px, when -screenshots asks for it.
func (d *demo) screenshot(tb *tab, name string) {
	d.t.Helper()
	if *screenshotDir == "" {
		return
	}
	d.shot++
	flow := strings.TrimPrefix(d.t.Name(), "TestBrowser/")
	for _, w := range []int64{desktopWidth, phoneWidth} {
		ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
		// The new width lays the page out again before the capture.
		png, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
			if _, err := viewport(w)(ctx, t); err != nil {
				return nil, err
			}
			if _, err := chromedp.Evaluate[chromedp.Void](`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise)(ctx, t); err != nil {
				return nil, err
			}
			return chromedp.FullScreenshot(100)(ctx, t)
		})
		cancel()
		if err != nil {
			d.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(*screenshotDir, fmt.Sprintf("%s-%02d-%s-%d.png", flow, d.shot, name, w))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			d.t.Fatal(err)
		}
	}
	d.do(tb, "restoring the viewport", viewport(tb.width))
}

var smsCode = regexp.MustCompile(`^(\d+) is your`)

// inbox waits for the next message of kind to an address, reading the dev
// outbox in the mail tab as a person reloads their inbox, and returns its
// body.
func (d *demo) inbox(kind, to string) string {
	d.t.Helper()
	key := kind + " " + to
	for deadline := time.Now().Add(20 * time.Second); ; {
		d.do(d.mail, "opening the outbox", chromedp.Navigate(d.base+"/dev/outbox"))
		ctx, cancel := context.WithTimeout(d.mail.ctx, 5*time.Second)
		raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("pre") || document.body).textContent`))
		cancel()
		if err != nil {
			d.t.Fatalf("reading the outbox: %v", err)
		}
		var msgs []outbox.Message
		if err := json.Unmarshal([]byte(raw), &msgs); err != nil {
			d.t.Fatalf("the outbox page: %v: %q", err, raw)
		}
		n := 0
		for _, m := range msgs {
			if m.Kind != kind || m.To != to {
				continue
			}
			if n++; n > d.read[key] {
				d.read[key]++
				return m.Body
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no new %s to %s in the outbox", kind, to)
		}
		time.Sleep(50 * time.Millisecond) // the courier sends in the background
	}
}

// link is the link of the next mail to an address.
func (d *demo) link(to string) string {
	d.t.Helper()
	body := d.inbox(outbox.KindEmail, to)
	link := linkPattern.FindString(body)
	if link == "" {
		d.t.Fatalf("no link in the mail to %s: %q", to, body)
	}
	return link
}

// code is the code of the next text to a number.
func (d *demo) code(to string) string {
	d.t.Helper()
	body := d.inbox(outbox.KindSMS, to)
	m := smsCode.FindStringSubmatch(body)
	if m == nil {
		d.t.Fatalf("no code in the text to %s: %q", to, body)
	}
	return m[1]
}

// follow opens a mailed link in the page's tab, as clicking it in the mail
// does, and waits for the page it lands on.
func (d *demo) follow(link string) {
	d.t.Helper()
	if !strings.HasPrefix(link, d.base+"/") {
		d.t.Fatalf("the link %s is not the app's (%s)", link, d.base)
	}
	d.do(d.tab, "following "+link, chromedp.Navigate(link))
	d.settled(d.tab)
}

// account makes a confirmed email account over the REST API, its link read
// from the inbox: the setup of a flow that starts with an account.
func (d *demo) account(name, email, password string) {
	d.t.Helper()
	body, _ := json.Marshal(map[string]string{"email": email, "password": password, "nameOrUserData": name})
	if status, raw := d.app.call(d.t, http.MethodPost, "/_api/rest/v1/auth/signup-email", string(body), ""); status != http.StatusOK {
		d.t.Fatalf("signup-email: %d %s", status, raw)
	}
	q := d.app.follow(d.t, d.link(email))
	status, raw := d.app.call(d.t, http.MethodGet, "/_api/rest/v1/auth/grant?key="+q.Get("access_token"), "", "")
	if status != http.StatusOK {
		d.t.Fatalf("grant: %d %s", status, raw)
	}
	// The flow's own sign-ins are the account's only sessions.
	if status, raw := d.app.call(d.t, http.MethodPost, "/_api/rest/v1/auth/signout", "", sessionToken(d.t, raw)); status != http.StatusOK {
		d.t.Fatalf("signout: %d %s", status, raw)
	}
}

// signIn signs in with the page's sign-in form.
func (d *demo) signIn(tb *tab, ident, password, who string) {
	d.t.Helper()
	d.submit(tb, "signin", "signin-ident", ident, "signin-password", password)
	d.signedIn(tb, who)
}

// signOut signs out with the page's button.
func (d *demo) signOut(tb *tab) {
	d.t.Helper()
	d.click(tb, "#signout")
	d.waitText(tb, "#notice", "You are signed out.")
	d.signedOut(tb)
}

func browseEmailSignUp(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email, password = "ann@example.com", "correct horse battery"
	d.open(d.tab, "/")
	d.signedOut(d.tab)
	d.usable(d.tab)
	d.screenshot(d.tab, "signed-out")

	// A password the policy refuses is explained, not coded.
	d.submit(d.tab, "signup", "signup-name", "Ann", "signup-ident", email, "signup-password", "short")
	d.waitError(d.tab, "#signup ~ .msg", "Choose a password of at least 8 characters.")
	d.screenshot(d.tab, "sign-up-refused")

	d.submit(d.tab, "signup", "signup-password", password)
	d.waitText(d.tab, "#signup ~ .msg", "we sent a link to "+email)
	d.screenshot(d.tab, "sign-up-sent")

	// Signing in before confirming says what to do, and sends the link again.
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.waitError(d.tab, "#signin ~ .msg", "Confirm your email address first")
	d.click(d.tab, "#signin ~ .msg button")
	d.waitText(d.tab, "#signin ~ .msg", "A new confirmation link is on its way to "+email)
	d.link(email) // the first link, which works too
	d.do(d.tab, "clearing the form", chromedp.Evaluate[chromedp.Void](`document.getElementById("signin").reset()`))

	d.follow(d.link(email))
	d.waitText(d.tab, "#notice", "Your email address is confirmed. Welcome, Ann!")
	d.signedIn(d.tab, "Ann")
	d.waitText(d.tab, "#facts", email+"confirmed")
	d.waitText(d.tab, "#sessions", "This browser")
	if got := d.focused(d.tab); got != "who-title" {
		t.Errorf("after signing in the focus is on %q, want the heading who-title", got)
	}
	d.screenshot(d.tab, "confirmed")

	// The session lives in localStorage: a reload shows the same view.
	d.do(d.tab, "reloading", chromedp.Reload())
	d.settled(d.tab)
	d.signedIn(d.tab, "Ann")
	d.waitText(d.tab, "#sessions", "This browser")

	d.signOut(d.tab)
	d.do(d.tab, "reloading", chromedp.Reload())
	d.settled(d.tab)
	d.signedOut(d.tab)

	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", "wrong password!")
	d.waitError(d.tab, "#signin ~ .msg", "Those sign-in details do not match an account.")
	d.screenshot(d.tab, "sign-in-refused")
	d.submit(d.tab, "signin", "signin-password", password)
	d.signedIn(d.tab, "Ann")
	d.waitText(d.tab, "#notice", "Welcome back, Ann.")
}

func browseMagicLink(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email = "bob@example.com"
	d.account("Bob", email, "correct horse battery")
	d.open(d.tab, "/")
	d.click(d.tab, "#passwordless-details summary")
	d.submit(d.tab, "passwordless", "passwordless-ident", email)
	d.waitText(d.tab, "#passwordless ~ .msg", "a sign-in link is on its way")
	d.screenshot(d.tab, "magic-link-sent")
	d.follow(d.link(email))
	d.waitText(d.tab, "#notice", "You are signed in with the link from your email.")
	d.signedIn(d.tab, "Bob")

	// A spent link is explained on the page.
	link := d.app.srv.URL + "/_auth/verify?key=spent"
	d.follow(link)
	d.waitError(d.tab, "#notice", "This link has expired or was used already.")
	d.signedIn(d.tab, "Bob")
}

func browseResetByLink(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email, newPassword = "cat@example.com", "a brand new passphrase"
	d.account("Cat", email, "correct horse battery")
	d.open(d.tab, "/")
	d.click(d.tab, "#forgot-details summary")
	d.submit(d.tab, "forgot", "forgot-ident", email)
	d.waitText(d.tab, "#forgot ~ .msg", "a reset link is on its way")
	d.follow(d.link(email))
	d.waitText(d.tab, "#reset-link-card", "Choose a new password")
	if got := d.focused(d.tab); got != "reset-link-password" {
		t.Errorf("the reset form opened with the focus on %q, want reset-link-password", got)
	}
	d.screenshot(d.tab, "reset-form")
	d.submit(d.tab, "reset-link", "reset-link-password", newPassword)
	d.waitText(d.tab, "#signin ~ .msg", "Your password is changed.")
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", "correct horse battery")
	d.waitError(d.tab, "#signin ~ .msg", "do not match an account")
	d.signIn(d.tab, email, newPassword, "Cat")
}

func browsePhone(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const phone, password, newPassword = "+14155550101", "correct horse battery", "a brand new passphrase"
	d.open(d.tab, "/")
	d.waitText(d.tab, "label[for=signup-ident]", "Email or phone number")

	// Sign-up by phone, confirmed by the texted code.
	d.submit(d.tab, "signup", "signup-name", "Dee", "signup-ident", phone, "signup-password", password)
	d.waitText(d.tab, "#verify-hint", "We texted a code to "+phone)
	if got := d.focused(d.tab); got != "verify-code" {
		t.Errorf("the code form opened with the focus on %q, want verify-code", got)
	}
	d.screenshot(d.tab, "verify-code")
	d.submit(d.tab, "verify", "verify-code", "000000")
	d.waitError(d.tab, "#verify ~ .msg", "That code is wrong")
	d.submit(d.tab, "verify", "verify-code", d.code(phone))
	d.waitText(d.tab, "#notice", "Your number is confirmed. Welcome, Dee!")
	d.signedIn(d.tab, "Dee")
	d.waitText(d.tab, "#facts", phone+"confirmed")
	d.screenshot(d.tab, "phone-signed-in")
	d.signOut(d.tab)

	// Sign-in with a texted code.
	d.click(d.tab, "#passwordless-details summary")
	d.submit(d.tab, "passwordless", "passwordless-ident", phone)
	d.waitText(d.tab, "#code-signin-hint", "we texted it a code")
	d.screenshot(d.tab, "sign-in-code")
	d.submit(d.tab, "code-signin", "code-signin-code", d.code(phone))
	d.signedIn(d.tab, "Dee")
	d.signOut(d.tab)

	// Reset by code, then sign-in with the number and the new password.
	d.click(d.tab, "#forgot-details summary")
	d.submit(d.tab, "forgot", "forgot-ident", phone)
	d.waitText(d.tab, "#code-reset-hint", "we texted it a code")
	d.submit(d.tab, "code-reset", "code-reset-code", d.code(phone), "code-reset-password", newPassword)
	d.waitText(d.tab, "#signin ~ .msg", "Your password is changed.")
	if got := d.focused(d.tab); got != "signin-password" {
		t.Errorf("after the reset the focus is on %q, want signin-password", got)
	}
	d.submit(d.tab, "signin", "signin-password", newPassword) // the number is filled in
	d.signedIn(d.tab, "Dee")
}

func browseAccountChanges(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email, newEmail, password, newPassword = "eve@example.com", "eve.new@example.com", "correct horse battery", "a brand new passphrase"
	const phone = "+14155550102"
	d.account("Eve", email, password)
	d.open(d.tab, "/")
	d.signIn(d.tab, email, password, "Eve")

	d.submit(d.tab, "change-password", "change-password-old", "not my password", "change-password-new", newPassword)
	d.waitError(d.tab, "#change-password ~ .msg", "Your current password is not right.")
	d.submit(d.tab, "change-password", "change-password-old", password, "change-password-new", newPassword)
	d.waitText(d.tab, "#change-password ~ .msg", "Your password is changed.")

	d.submit(d.tab, "change-email", "change-email-new", newEmail, "change-email-password", newPassword)
	d.waitText(d.tab, "#change-email ~ .msg", "We sent a link to "+newEmail)
	d.screenshot(d.tab, "change-email-sent")
	d.follow(d.link(newEmail))
	d.waitText(d.tab, "#notice", "Your email address is now "+newEmail+".")
	d.waitText(d.tab, "#facts", newEmail+"confirmed")
	// The link signed this browser in anew; its old session is gone.
	d.waitFor(d.tab, "one session listed", oneSession)

	d.submit(d.tab, "change-phone", "change-phone-new", phone, "change-phone-password", newPassword)
	d.waitText(d.tab, "#verify-phone-hint", "We texted a code to "+phone)
	d.submit(d.tab, "verify-phone", "verify-phone-code", d.code(phone))
	d.waitText(d.tab, "#change-phone ~ .msg", "Your phone number is now "+phone+".")
	d.waitText(d.tab, "#facts", phone+"confirmed")
	d.screenshot(d.tab, "changed")

	d.signOut(d.tab)
	d.signIn(d.tab, newEmail, newPassword, "Eve")
	d.signOut(d.tab)
	d.signIn(d.tab, phone, newPassword, "Eve")
}

func browseSessions(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email, password = "fay@example.com", "correct horse battery"
	d.account("Fay", email, password)
	phone := d.newTab(browser, phoneWidth, iPhoneUA) // another device: its own browser

	d.open(d.tab, "/")
	d.signIn(d.tab, email, password, "Fay")
	d.open(phone, "/")
	d.usable(phone)
	d.signIn(phone, email, password, "Fay")

	d.open(d.tab, "/")
	d.waitText(d.tab, "#sessions", "Mobile Safari 17 on iOS 17.5 (iPhone)")
	d.waitText(d.tab, "#sessions li:first-child", "This browser")
	d.screenshot(d.tab, "two-devices")
	d.screenshot(phone, "on-the-phone")
	d.usable(phone)
	d.usable(d.tab)

	// Signing the phone out from here: the phone's next load is signed out.
	d.click(d.tab, "#sessions li:nth-child(2) button")
	d.waitText(d.tab, "#sessions ~ .msg", "Mobile Safari 17 on iOS 17.5 (iPhone) is signed out.")
	d.waitFor(d.tab, "one session listed", oneSession)
	d.open(phone, "/")
	d.signedOut(phone)
	d.waitText(phone, "#notice", "Your session has ended. Sign in again.")

	// Everywhere else.
	d.signIn(phone, email, password, "Fay")
	d.open(d.tab, "/")
	d.waitText(d.tab, "#sessions", "iPhone")
	d.click(d.tab, "#signout-others")
	d.waitText(d.tab, "#sessions ~ .msg", "Every other device is signed out.")
	d.waitFor(d.tab, "one session listed", oneSession)
	d.open(phone, "/")
	d.signedOut(phone)

	// Everywhere.
	d.signIn(phone, email, password, "Fay")
	d.click(d.tab, "#signout-all")
	d.waitText(d.tab, "#notice", "You are signed out on every device.")
	d.signedOut(d.tab)
	d.open(phone, "/")
	d.signedOut(phone)
	d.open(d.tab, "/")
	d.signedOut(d.tab)
}

const oneSession = `() => document.querySelectorAll("#sessions li").length === 1 ? "ok" : ""`

func browseOAuth(t *testing.T, browser context.Context) {
	gh := oauthtest.NewGitHub(t)
	env := map[string]string{
		"AUTHKIT_GITHUB_CLIENT_ID": oauthtest.ClientID, "AUTHKIT_GITHUB_CLIENT_SECRET": oauthtest.ClientSecret,
		"AUTHKIT_GITHUB_AUTH_URL": gh.AuthURL(), "AUTHKIT_GITHUB_TOKEN_URL": gh.TokenURL(), "AUTHKIT_GITHUB_API_URL": gh.APIURL(),
	}
	d := newDemo(t, browser, &options{db: "memory", dev: true, getenv: func(k string) string { return env[k] }})
	d.open(d.tab, "/")
	d.waitText(d.tab, "#providers", "Sign in with GitHub")
	d.screenshot(d.tab, "provider-button")
	// Through the fake GitHub, which consents at once, and back.
	d.click(d.tab, `#providers a[href="/_auth/github"]`)
	d.waitText(d.tab, "#notice", "You are signed in with GitHub.")
	d.signedIn(d.tab, "Rooby")
	d.waitText(d.tab, "#facts", "Signs in withGitHub")
	// Every change needs the password such an account does not have.
	d.waitText(d.tab, "#provider-note", "Your account signs in with GitHub")
	d.waitFor(d.tab, "no password forms", `() => document.getElementById("change-password").getClientRects().length === 0 ? "ok" : ""`)
	d.screenshot(d.tab, "signed-in-with-github")
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

// text is the text of the element sel in tb, as it is rendered (a line
// per item of a list).
func (d *demo) text(tb *tab, sel string) string {
	d.t.Helper()
	q, _ := json.Marshal(sel)
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+string(q)+`).innerText`))
	if err != nil {
		d.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// browseAuthenticator sets up an authenticator app as a person does: the
// key read off the page into an app (here, the codes computed in Go with
// the browser's clock, the machine's), its first code to turn it on, the
// recovery codes shown once; then signs in with a code and with a
// recovery code, and removes it.
func browseAuthenticator(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const email, password = "gil@example.com", "correct horse battery"
	d.account("Gil", email, password)
	d.open(d.tab, "/")
	d.signIn(d.tab, email, password, "Gil")
	d.waitText(d.tab, "#mfa-off", "Ask for a code from an authenticator app")
	d.screenshot(d.tab, "mfa-off")

	d.click(d.tab, "#mfa-enrol")
	d.waitText(d.tab, "#mfa-setup", "Scan the code")
	d.waitFor(d.tab, "the QR code", `() => { const i = document.getElementById("mfa-qr"); return i.complete && i.naturalWidth >= 200 ? "ok" : ""; }`)
	secret := strings.ReplaceAll(d.text(d.tab, "#mfa-secret"), " ", "")
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(secret) {
		t.Fatalf("the key on the page is %q", secret)
	}
	if got := d.focused(d.tab); got != "mfa-confirm-code" {
		t.Errorf("the setup opened with the focus on %q, want mfa-confirm-code", got)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "mfa-setup")
	d.submit(d.tab, "mfa-confirm", "mfa-confirm-code", "000000")
	d.waitError(d.tab, "#mfa-title ~ .msg", "That code is wrong")
	d.submit(d.tab, "mfa-confirm", "mfa-confirm-code", totpAt(t, secret, time.Now()))
	d.waitText(d.tab, "#mfa-codes", "Your recovery codes.")
	d.waitText(d.tab, "#mfa-title ~ .msg", "Your authenticator app is on")
	codes := strings.Fields(d.text(d.tab, "#mfa-recovery")) // each code a line of the list
	if len(codes) != 10 || !regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}$`).MatchString(codes[0]) {
		t.Fatalf("the recovery codes on the page: %q", codes)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "mfa-recovery-codes")
	d.click(d.tab, "#mfa-codes-done")
	d.waitText(d.tab, "#mfa-on", "An authenticator app is set up")
	d.waitFor(d.tab, "the codes gone from the page", `() => document.getElementById("mfa-recovery").textContent === "" ? "ok" : ""`)
	d.signOut(d.tab)

	// The password, then the code. The step of the first code is spent:
	// the next step's code, which the kit takes as drift of one step.
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.waitText(d.tab, "#mfa-signin-hint", "One more step")
	if got := d.focused(d.tab); got != "mfa-signin-code" {
		t.Errorf("the code field opened with the focus on %q, want mfa-signin-code", got)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "mfa-sign-in")
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", "000000")
	d.waitError(d.tab, "#mfa-signin ~ .msg", "That code is wrong")
	d.screenshot(d.tab, "mfa-sign-in-wrong-code")
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", totpAt(t, secret, time.Now().Add(30*time.Second)))
	d.signedIn(d.tab, "Gil")
	d.waitText(d.tab, "#mfa-on", "An authenticator app is set up")
	d.screenshot(d.tab, "mfa-signed-in")

	// A reload keeps the session; the card still knows.
	d.do(d.tab, "reloading", chromedp.Reload())
	d.settled(d.tab)
	d.waitText(d.tab, "#mfa-on", "An authenticator app is set up")
	d.signOut(d.tab)

	// A recovery code instead, once; cancelling goes back to the password.
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.waitText(d.tab, "#mfa-signin-hint", "One more step")
	d.click(d.tab, "#mfa-signin-back")
	d.waitFor(d.tab, "the sign-in form back", `() => document.getElementById("signin").getClientRects().length > 0 ? "ok" : ""`)
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", strings.ToLower(codes[0]))
	d.signedIn(d.tab, "Gil")
	d.signOut(d.tab)
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", codes[0])
	d.waitError(d.tab, "#mfa-signin ~ .msg", "That code is wrong")

	// Removing it, with another recovery code: one step again.
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", codes[1])
	d.signedIn(d.tab, "Gil")
	d.submit(d.tab, "mfa-remove", "mfa-remove-code", codes[2])
	d.waitText(d.tab, "#mfa-off", "Ask for a code")
	d.waitText(d.tab, "#mfa-title ~ .msg", "The authenticator app is removed")
	d.screenshot(d.tab, "mfa-removed")
	d.signOut(d.tab)
	d.signIn(d.tab, email, password, "Gil")
}

// enrolOnPage sets up an authenticator app on the account page and
// returns its key and recovery codes.
func (d *demo) enrolOnPage(tb *tab) (string, []string) {
	d.t.Helper()
	d.click(tb, "#mfa-enrol")
	d.waitText(tb, "#mfa-setup", "Scan the code")
	secret := strings.ReplaceAll(d.text(tb, "#mfa-secret"), " ", "")
	d.submit(tb, "mfa-confirm", "mfa-confirm-code", totpAt(d.t, secret, time.Now()))
	d.waitText(tb, "#mfa-codes", "Your recovery codes.")
	codes := strings.Fields(d.text(tb, "#mfa-recovery"))
	d.click(tb, "#mfa-codes-done")
	d.waitText(tb, "#mfa-on", "An authenticator app is set up")
	return secret, codes
}

// browseAuthenticatorPhone: a session from before the setup asks for a
// code before it changes the password (step-up), and a sign-in with a
// texted code asks for the authenticator's code too.
func browseAuthenticatorPhone(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	const phone, password, newPassword = "+14155550103", "correct horse battery", "a brand new passphrase"
	d.open(d.tab, "/")
	d.submit(d.tab, "signup", "signup-name", "Hal", "signup-ident", phone, "signup-password", password)
	d.submit(d.tab, "verify", "verify-code", d.code(phone))
	d.signedIn(d.tab, "Hal")
	secret, codes := d.enrolOnPage(d.tab)

	d.submit(d.tab, "change-password", "change-password-old", password, "change-password-new", newPassword)
	d.waitText(d.tab, "#step-up-card", "Confirm it is you")
	if got := d.focused(d.tab); got != "step-up-code" {
		t.Errorf("the step-up opened with the focus on %q, want step-up-code", got)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "step-up")
	d.submit(d.tab, "step-up", "step-up-code", "000000")
	d.waitError(d.tab, "#step-up ~ .msg", "That code is wrong")
	d.submit(d.tab, "step-up", "step-up-code", codes[0])
	d.waitText(d.tab, "#change-password ~ .msg", "Your password is changed.")
	d.waitFor(d.tab, "the step-up card gone", `() => document.getElementById("step-up-card").hidden ? "ok" : ""`)
	d.waitText(d.tab, "#sessions", "This browser")
	d.screenshot(d.tab, "stepped-up")
	d.signOut(d.tab)

	d.click(d.tab, "#passwordless-details summary")
	d.submit(d.tab, "passwordless", "passwordless-ident", phone)
	d.waitText(d.tab, "#code-signin-hint", "we texted it a code")
	d.submit(d.tab, "code-signin", "code-signin-code", d.code(phone))
	d.waitText(d.tab, "#mfa-signin-hint", "One more step")
	d.submit(d.tab, "mfa-signin", "mfa-signin-code", totpAt(t, secret, time.Now().Add(30*time.Second)))
	d.signedIn(d.tab, "Hal")
}

// authenticator gives tb a platform authenticator, as a laptop with a
// fingerprint reader has: Chromium's virtual one (CTAP2, resident keys,
// user verification), which answers at once.
func (d *demo) authenticator(tb *tab) {
	d.t.Helper()
	d.do(tb, "adding a virtual authenticator", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		})
		return err
	}))
}

// browsePasskey adds a passkey on the account page (its recovery codes
// shown once, as the account's first second factor), signs in with it
// alone, then with the password and the passkey as the second step; a
// second passkey from the same session asks for a step-up, which the
// passkey answers, and the authenticator refuses to hold two; the
// passkey is renamed and removed. The page is at localhost: browsers
// bind no passkey to 127.0.0.1, where the app listens.
func browsePasskey(t *testing.T, browser context.Context) {
	d := newDemo(t, browser, nil)
	d.base = strings.Replace(d.base, "://127.0.0.1:", "://localhost:", 1)
	d.authenticator(d.tab)
	const email, password = "pia@example.com", "correct horse battery"
	d.account("Pia", email, password)
	d.open(d.tab, "/")
	d.waitText(d.tab, "#passkey-signin", "Sign in with a passkey")
	d.usable(d.tab)
	d.screenshot(d.tab, "passkey-sign-in")
	d.signIn(d.tab, email, password, "Pia")
	d.waitText(d.tab, "#passkeys-none", "You have no passkey yet.")

	d.submit(d.tab, "passkey-add", "passkey-add-name", "Work laptop")
	d.waitText(d.tab, "#passkey-codes", "Your recovery codes.")
	d.waitText(d.tab, "#passkeys-title ~ .msg", "Your passkey Work laptop is added")
	d.waitText(d.tab, "#passkeys", "Work laptop")
	d.waitText(d.tab, "#passkeys", "never used")
	codes := strings.Fields(d.text(d.tab, "#passkey-recovery"))
	if len(codes) != 10 || !regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}$`).MatchString(codes[0]) {
		t.Fatalf("the recovery codes on the page: %q", codes)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "passkey-added")
	d.click(d.tab, "#passkey-codes-done")
	d.waitFor(d.tab, "the codes gone from the page", `() => document.getElementById("passkey-recovery").textContent === "" && !document.getElementById("passkey-add").hidden ? "ok" : ""`)

	// This session proved no second factor: another passkey asks for
	// one first, and the passkey gives it. The authenticator then refuses
	// to make a second passkey for the account.
	d.submit(d.tab, "passkey-add", "passkey-add-name", "Again")
	d.waitText(d.tab, "#step-up-card", "Confirm it is you")
	d.waitText(d.tab, "#step-up-passkey", "Use a passkey")
	if got := d.focused(d.tab); got != "step-up-passkey" {
		t.Errorf("the step-up opened with the focus on %q, want step-up-passkey", got)
	}
	d.usable(d.tab)
	d.screenshot(d.tab, "passkey-step-up")
	d.click(d.tab, "#step-up-passkey")
	d.waitError(d.tab, "#passkeys-title ~ .msg", "holds a passkey for your account already")
	d.waitFor(d.tab, "the step-up card gone", `() => document.getElementById("step-up-card").hidden ? "ok" : ""`)
	d.waitText(d.tab, "#sessions", "This browser")
	d.signOut(d.tab)

	// The passkey alone.
	d.click(d.tab, "#passkey-signin")
	d.waitText(d.tab, "#notice", "You are signed in with your passkey.")
	d.signedIn(d.tab, "Pia")
	d.waitText(d.tab, "#passkeys", "last used just now")
	d.usable(d.tab)
	d.screenshot(d.tab, "passkey-signed-in")
	d.signOut(d.tab)

	// The password, then the passkey as the second step.
	d.submit(d.tab, "signin", "signin-ident", email, "signin-password", password)
	d.waitText(d.tab, "#mfa-signin-passkey-block", "One more step: use your passkey")
	if got := d.focused(d.tab); got != "mfa-signin-passkey" {
		t.Errorf("the second step opened with the focus on %q, want mfa-signin-passkey", got)
	}
	d.waitFor(d.tab, "no passwordless passkey button on the second step", `() => document.getElementById("passkey-signin").getClientRects().length === 0 ? "ok" : ""`)
	d.usable(d.tab)
	d.screenshot(d.tab, "passkey-second-step")
	d.click(d.tab, "#mfa-signin-passkey")
	d.signedIn(d.tab, "Pia")

	// Renamed, then removed: the session proved its passkey just now.
	d.click(d.tab, `#passkeys button[aria-label="Rename the passkey Work laptop"]`)
	d.submit(d.tab, "passkeys form.rename", "passkeys input[name=name]", "Old laptop")
	d.waitText(d.tab, "#passkeys-title ~ .msg", "The passkey is now called Old laptop.")
	d.waitText(d.tab, "#passkeys", "Old laptop")
	d.click(d.tab, `#passkeys button[aria-label="Remove the passkey Old laptop"]`)
	d.waitText(d.tab, "#passkeys-title ~ .msg", "The passkey Old laptop is removed.")
	d.waitText(d.tab, "#passkeys-none", "You have no passkey yet.")
	d.screenshot(d.tab, "passkey-removed")

	// Gone from the account, the passkey the authenticator still holds
	// signs in no more; the password alone does again.
	d.signOut(d.tab)
	d.click(d.tab, "#passkey-signin")
	d.waitError(d.tab, "#signin-title ~ .msg", "That passkey was not accepted")
	d.signIn(d.tab, email, password, "Pia")
}
