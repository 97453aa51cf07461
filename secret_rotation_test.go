package authkit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// Rotating Config.Secret with Config.Secrets: SECURITY 71.

// newDeployment serves one app at one URL, with one store, outbox and
// clock, and returns deploy, which puts a kit made with those secrets in
// place of the one serving (as a new release on every instance would):
// what one release made, a browser brings to the next.
func newDeployment(t *testing.T, edit ...func(*authkit.Config)) (h *harness, deploy func(secrets ...[]byte)) {
	t.Helper()
	h = &harness{t: t, store: memstore.New(), box: outbox.New(),
		clock:       &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		redirectURL: "https://app.example.com/after?from=kit"}
	var serving atomic.Pointer[authkit.Kit]
	h.srv = httptest.NewServer(theContract().wrap(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serving.Load().Handler().ServeHTTP(w, r)
	})))
	t.Cleanup(h.srv.Close)
	deploy = func(secrets ...[]byte) {
		t.Helper()
		cfg := authkit.Config{
			Store: h.store, Mailer: h.box, SMSSender: h.box,
			PublicURL: h.srv.URL, RedirectURL: h.redirectURL,
			AllowedOrigins: []string{"https://app.example.com"}, AppName: "Test App",
			Now: h.clock.Now, Logger: discardLogger(),
			PhoneAuth: authkit.On, Secrets: secrets,
		}
		for _, e := range edit {
			e(&cfg)
		}
		kit, err := authkit.New(cfg)
		require.NoError(t, err)
		if old := serving.Swap(kit); old != nil {
			h.settle() // the release before finishes what it sends
		}
		h.kit = kit
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			require.NoError(t, kit.Close(ctx))
		})
	}
	return h, deploy
}

// randomSecret is 32 random bytes.
func randomSecret(t *testing.T) []byte {
	t.Helper()
	s := make([]byte, 32)
	_, err := rand.Read(s)
	require.NoError(t, err)
	return s
}

// SECURITY 71, issue 14: a code, an OAuth sign-in in flight and a device
// cookie made under the old secret still work once a new secret is put
// first; once the old one is removed, they fail, while what the new one
// made works.
func TestSecretRotation(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h, deploy := newDeployment(t, behindProxy, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	oldSecret, newSecret := randomSecret(t), randomSecret(t)
	const one, two, ip = "+15555555501", "+15555555502", "203.0.113.9"

	// Under the old secret: two numbers with a sign-in code each, two
	// OAuth sign-ins at the provider, and a device cookie.
	deploy(oldSecret)
	h.phoneUser(one, phonePassword)
	h.phoneUser(two, phonePassword)
	var codes []string
	for _, p := range []string{one, two} {
		require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", p, ""), nil, "").status)
		codes = append(codes, h.code(p))
	}
	first, second := h.browser(), h.browser()
	firstCallback, secondCallback := first.consent(first.start("github")), second.consent(second.start("github"))
	device := &visitor{h: h, ip: ip}
	device.keep(device.signInPhone(one, phonePassword))
	oldDevice := device.device

	// The new secret first, the old one after.
	deploy(newSecret, oldSecret)
	in := h.post(phoneQuery("signin-code", one, codes[0]), nil, "")
	require.Equal(t, http.StatusOK, in.status, "a code texted under the old secret: %s", in.raw)
	q := first.finish(firstCallback)
	require.Equal(t, "200", q.Get("status"), "an OAuth sign-in started under the old secret: %s", q.Get("error"))
	require.Equal(t, http.StatusOK, h.grant(q.Get("access_token")).status)
	stranger := &visitor{h: h, ip: ip} // a shared NAT, without the cookie
	for i := range 10 {
		requireStatusCode(t, stranger.signInPhone(one, "wrong password "+strconv.Itoa(i)), http.StatusUnauthorized, "invalid_credentials")
	}
	requireLimited(t, stranger.signInPhone(one, phonePassword), windowLeft)
	a := device.signInPhone(one, phonePassword)
	require.Equal(t, http.StatusOK, a.status, "a device cookie signed under the old secret passes the lockout of its IP: %s", a.raw)
	device.keep(a) // signed again, under the new secret
	require.NotEqual(t, oldDevice, device.device)

	// The old secret removed.
	deploy(newSecret)
	requireStatusCode(t, h.post(phoneQuery("signin-code", two, codes[1]), nil, ""), http.StatusBadRequest, "invalid_code")
	refused(t, second.finish(secondCallback), "400", "invalid_state")
	requireLimited(t, (&visitor{h: h, ip: ip, device: oldDevice}).signInPhone(one, phonePassword), windowLeft)
	require.Equal(t, http.StatusOK, device.signInPhone(one, phonePassword).status, "the cookie signed under the new secret")
	h.clock.Advance(time.Minute) // past the resend gap of the refused code
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", two, ""), nil, "").status)
	in = h.post(phoneQuery("signin-code", two, h.code(two)), nil, "")
	require.Equal(t, http.StatusOK, in.status, "a code texted under the new secret: %s", in.raw)
	require.Equal(t, "200", h.browser().signIn("github").Get("status"))
}

// SECURITY 71: Config.Secret is Secrets{Secret}: a code texted by a kit
// with Secret works on one with Secrets listing it, and the other way
// round; a code of another secret does not.
func TestSecretIsTheOnlySecrets(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	secret := randomSecret(t)
	withSecret := newPhoneHarness(t, onStore(s, s), func(c *authkit.Config) { c.Secret = secret })
	withSecrets := newPhoneHarness(t, onStore(s, s), func(c *authkit.Config) { c.Secrets = [][]byte{secret} })
	withAnother := newPhoneHarness(t, onStore(s, s), func(c *authkit.Config) { c.Secret = randomSecret(t) })
	const phone = "+15555555555"
	require.Equal(t, http.StatusOK, withSecret.signUpPhone(phone, phonePassword, nil).status)
	code := withSecret.code(phone)
	requireStatusCode(t, withAnother.post(phoneQuery("verify-phone", phone, code), nil, ""), http.StatusBadRequest, "invalid_code")
	require.Equal(t, http.StatusOK, withSecrets.post(phoneQuery("verify-phone", phone, code), nil, "").status)

	require.Equal(t, http.StatusOK, withSecrets.post(phoneQuery("send-code", phone, ""), nil, "").status)
	in := withSecret.post(phoneQuery("signin-code", phone, withSecrets.code(phone)), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
}

// A waiting sign-up's code is found by its hash, not as the newest code:
// it works under an old secret too, while another sign-up's code is the
// newest.
func TestSecretRotationKeepsWaitingSignUps(t *testing.T) {
	t.Parallel()
	h, deploy := newDeployment(t, noLimits)
	oldSecret, newSecret := randomSecret(t), randomSecret(t)
	const phone = "+15555555555"
	deploy(oldSecret)
	require.Equal(t, http.StatusOK, h.signUpPhone(phone, phonePassword, "Owner").status)
	owners := h.code(phone)
	deploy(newSecret, oldSecret)
	h.clock.Advance(time.Minute) // past the gap: the later sign-up's code is texted
	require.Equal(t, http.StatusOK, h.signUpPhone(phone, "an attacker's password", "Mallory").status)
	h.code(phone)
	v := h.post(phoneQuery("verify-phone", phone, owners), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Equal(t, "Owner", v.user()["name"])
}

func TestConfigSecrets(t *testing.T) {
	t.Parallel()
	a, b := bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)
	for name, tc := range map[string]struct {
		edit func(*authkit.Config)
		err  string // "" for none
	}{
		"one":                {func(c *authkit.Config) { c.Secrets = [][]byte{a} }, ""},
		"two":                {func(c *authkit.Config) { c.Secrets = [][]byte{a, b} }, ""},
		"Secret and Secrets": {func(c *authkit.Config) { c.Secret, c.Secrets = a, [][]byte{b} }, "set Config.Secret or Config.Secrets, not both"},
		"a short one":        {func(c *authkit.Config) { c.Secrets = [][]byte{a, b[:31]} }, "Config.Secrets[1] has 31 bytes"},
		"an empty one":       {func(c *authkit.Config) { c.Secrets = [][]byte{nil, a} }, "Config.Secrets[0] has 0 bytes"},
		"a repeated one":     {func(c *authkit.Config) { c.Secrets = [][]byte{a, b, a} }, "Config.Secrets[2] repeats Config.Secrets[0]"},
	} {
		cfg := validConfig()
		tc.edit(&cfg)
		_, err := authkit.New(cfg)
		if tc.err == "" {
			require.NoError(t, err, name)
		} else {
			require.ErrorContains(t, err, tc.err, name)
		}
	}
}
