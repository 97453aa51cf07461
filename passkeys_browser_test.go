package authkit_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// passkeyPage is a page of the app at http://localhost:PORT (a secure
// context, as WebAuthn needs) that drives the passkey routes as an app's
// page would: the options' base64url fields to bytes for the browser,
// the browser's credential to JSON for the kit.
const passkeyPage = `<!doctype html>
<meta charset="utf-8"><title>Passkeys</title>
<h1 id="status">ready</h1>
<script>
const api = "/_api/rest/v1/auth/";
const enc = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const dec = s => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), c => c.charCodeAt(0));
async function call(path, body, token) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers.Session = token;
  const r = await fetch(api + path, {method: body === undefined ? "GET" : "POST", headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const j = await r.json();
  if (!r.ok) throw new Error(path + ": " + r.status + " " + JSON.stringify(j));
  return j;
}
function credentialJSON(c) {
  const r = c.response;
  const out = {id: c.id, rawId: enc(c.rawId), type: c.type, response: {clientDataJSON: enc(r.clientDataJSON)}, clientExtensionResults: c.getClientExtensionResults()};
  if (r.attestationObject) {
    out.response.attestationObject = enc(r.attestationObject);
    out.response.transports = r.getTransports();
  } else {
    out.response.authenticatorData = enc(r.authenticatorData);
    out.response.signature = enc(r.signature);
    if (r.userHandle) out.response.userHandle = enc(r.userHandle);
  }
  return out;
}
async function register(email, password) {
  const up = await call("signup-email", {email, password});
  const token = up.session.token;
  const begin = await call("passkeys/register/begin", {}, token);
  const pk = begin.options.publicKey;
  pk.challenge = dec(pk.challenge);
  pk.user.id = dec(pk.user.id);
  (pk.excludeCredentials || []).forEach(c => c.id = dec(c.id));
  const created = await navigator.credentials.create({publicKey: pk});
  const reg = await call("passkeys/register/finish", {handle: begin.handle, credential: credentialJSON(created), name: "Chromium"}, token);
  await call("signout", {}, token);
  document.getElementById("status").textContent = "registered";
  return reg.recoveryCodes.length;
}
async function signIn() {
  const begin = await call("passkeys/signin/begin", {});
  const pk = begin.options.publicKey;
  pk.challenge = dec(pk.challenge);
  const got = await navigator.credentials.get({publicKey: pk});
  const ans = await call("passkeys/signin/finish", {handle: begin.handle, credential: credentialJSON(got)});
  const me = await call("user", undefined, ans.session.token);
  const keys = await call("passkeys", undefined, ans.session.token);
  document.getElementById("status").textContent = "signed in as " + me.email;
  return me.email + " " + keys[0].name;
}
</script>`

// SECURITY 108: in headless Chromium with a virtual authenticator (CTAP2,
// internal, resident keys, user verification), a page registers a
// passkey for a signed-in user and then signs in with it alone.
// Without Chromium it skips, unless AUTHKIT_TEST_BROWSER=1 (as in CI).
// AUTHKIT_PASSKEY_SCREENSHOT=dir writes the page at the end to
// dir/passkeys.png.
func TestPasskeyBrowser(t *testing.T) {
	exe, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("AUTHKIT_TEST_BROWSER") == "1" {
			t.Fatalf("chromium is not on PATH (%v); AUTHKIT_TEST_BROWSER=1 requires the browser tests (apt-get install chromium)", err)
		}
		t.Skipf("chromium is not on PATH (%v): skipping the browser test (apt-get install chromium; AUTHKIT_TEST_BROWSER=1 makes this a failure)", err)
	}
	var origin string
	app := func(k *authkit.Kit) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", k.Handler())
		mux.HandleFunc("GET /passkeys-page", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(passkeyPage))
		})
		return mux
	}
	h := newAppHarness(t, app, passkeysOn, authkit.CheapHashing, func(c *authkit.Config) {
		c.EmailConfirmation = authkit.Off
		u, err := url.Parse(c.PublicURL)
		require.NoError(t, err)
		origin = "http://localhost:" + u.Port()
		c.Passkeys = authkit.Passkeys{RPID: "localhost", Origins: []string{origin}}
		c.AllowedOrigins = append(c.AllowedOrigins, origin)
	})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancelRun := context.WithTimeout(browser, 60*time.Second)
	defer cancelRun()

	authenticator := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
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
	})
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(origin+"/passkeys-page"), authenticator))

	codes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`register("web@example.com", `+strconv.Quote(inputPassword)+`)`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, 10, codes, "the first passkey brings the recovery codes")

	// The password now asks for the second factor.
	mfaTicket(t, h.signIn("web@example.com", inputPassword))

	who, err := chromedp.Run(ctx, chromedp.Evaluate[string](`signIn()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err)
	require.Equal(t, "web@example.com Chromium", who)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status").textContent`))
	require.NoError(t, err)
	require.Equal(t, "signed in as web@example.com", status)
	if dir := os.Getenv("AUTHKIT_PASSKEY_SCREENSHOT"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(dir+"/passkeys.png", shot, 0o644))
	}
}
