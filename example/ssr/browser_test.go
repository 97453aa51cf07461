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
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var screenshotDir = flag.String("screenshots", "", "write a PNG of each step of the browser test to this `directory`")

// The server-rendered example in headless Chromium, as a person uses it:
// sign-up, the link read from the dev outbox, the grant form, the account
// page, sign-out, sign-in; and a page of another origin whose form posts
// to the app's sign-out, which the app refuses. It skips when chromium is
// not on PATH; AUTHKIT_TEST_BROWSER=1 (as in CI) makes that a failure.
func TestBrowser(t *testing.T) {
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AUTHKIT_TEST_BROWSER") == "1" {
			t.Fatalf("chromium is not on PATH (%v); AUTHKIT_TEST_BROWSER=1 requires the browser tests", err)
		}
		t.Skipf("chromium is not on PATH (%v): skipping the browser test (AUTHKIT_TEST_BROWSER=1 makes this a failure)", err)
	}
	_, base := startApp(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	tab, cancel := chromedp.NewContext(alloc)
	defer cancel()
	// The first call starts the browser, which lives as long as the
	// context it is given: tab's, not one with a timeout.
	if err := chromedp.Do(tab, chromedp.EmulateViewport(1024, 800)); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	b := &chrome{t: t, ctx: tab}

	const email, pw = "ann@example.com", "correct horse battery"
	b.open(base + "/signup")
	b.shot("sign-up")
	b.fill("#email", email)
	b.fill("#password", pw)
	b.do("submitting sign-up", chromedp.Submit(chromedp.CSS("#email")))
	b.waitPath("/check-mail")
	b.shot("check-mail")

	b.open(base + "/dev/outbox")
	link := b.eval(`(document.querySelector("article a") || {}).href || ""`)
	if link == "" {
		t.Fatal("no link in the outbox")
	}
	b.open(link)
	b.waitPath("/link")
	b.shot("link")
	b.do("pressing Continue", chromedp.Submit(chromedp.CSS(`form[action="/_auth/forms/grant"] button`)))
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

	b.do("signing out", chromedp.Submit(chromedp.CSS(`form[action="/_auth/forms/signout"] button`)))
	b.waitPath("/login")
	b.open(base + "/account")
	b.waitPath("/login")
	b.fill("#email", email)
	b.fill("#password", pw)
	b.shot("sign-in")
	b.do("signing in", chromedp.Submit(chromedp.CSS("#email")))
	b.waitPath("/account")
	b.waitText("#who", email)
}

// chrome is one tab of the browser, failing the test on an error.
type chrome struct {
	t     *testing.T
	ctx   context.Context
	shots int
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
	file := filepath.Join(*screenshotDir, fmt.Sprintf("ssr-%02d-%s.png", b.shots, name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}
