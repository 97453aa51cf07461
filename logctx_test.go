package authkit_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// record is one captured log record, its attributes flattened to strings
// ("group.key" inside groups).
type record struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// captureHandler is a slog.Handler that keeps every record.
type captureHandler struct {
	mu      *sync.Mutex
	records *[]record
	attrs   []slog.Attr
	group   string
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := record{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	var add func(prefix string, a slog.Attr)
	add = func(prefix string, a slog.Attr) {
		v := a.Value.Resolve()
		if v.Kind() == slog.KindGroup {
			for _, g := range v.Group() {
				add(prefix+a.Key+".", g)
			}
			return
		}
		rec.attrs[prefix+a.Key] = v.String()
	}
	for _, a := range h.attrs {
		add("", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		add(h.group, a)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, rec)
	return nil
}

func (h *captureHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *captureHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.group = h.group + name + "."
	return &c
}

func (h *captureHandler) all() []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]record(nil), *h.records...)
}

func newCaptureHandler() *captureHandler {
	return &captureHandler{mu: &sync.Mutex{}, records: &[]record{}}
}

// secretList collects the secrets a run handles.
type secretList []string

func (s *secretList) add(vs ...string) {
	for _, v := range vs {
		if v != "" {
			*s = append(*s, v)
		}
	}
}

// SECURITY 36: every flow of the kit, run once through the HTTP API with
// a capturing log handler. Every record says from where (ip, userAgent);
// every auth event says who, when that is known; and no record holds a
// password, session token, link key, grant key, SMS code, OAuth state,
// code, verifier or token, or the state cookie, anywhere in its message
// or attributes.
func TestLogsEveryFlow(t *testing.T) {
	t.Parallel()
	capture := newCaptureHandler()
	logTo := func(c *authkit.Config) { c.Logger = slog.New(capture) }
	var secrets secretList
	const (
		pw1, pw2, pw3, pw4 = "correct horse battery", "a new long password", "an even newer password", "the newest password"
		wrong              = "not the password at all"
	)
	secrets.add(pw1, pw2, pw3, pw4, wrong)

	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	h := newPhoneHarness(t, logTo, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh), "google": openIDProvider(op)}),
		func(c *authkit.Config) {
			generousLimits(c)
			c.Limits.FailedSignIns = authkit.Rate{Max: 3, Per: 15 * time.Minute}
		})
	op.SetNow(h.clock.Now)

	// Email: sign-up, the refusals, confirmation, sign-in.
	require.Equal(t, http.StatusOK, h.signUp("ann@example.com", pw1, "Ann").status)
	requireStatusCode(t, h.signIn("ann@example.com", pw1), http.StatusForbidden, "email_not_verified")
	requireStatusCode(t, h.signIn("ann@example.com", wrong), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signIn("ann@example.com", strings.Repeat("x", 2000)), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signIn("nobody@example.com", wrong), http.StatusUnauthorized, "invalid_credentials")
	confirm := h.link("ann@example.com")
	q := h.follow(confirm)
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	secrets.add(keyOf(confirm), q.Get("access_token"), g.token())
	in := h.signIn("ann@example.com", pw1)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	secrets.add(in.token())

	// Resend to an unconfirmed account; magic link.
	require.Equal(t, http.StatusOK, h.signUp("bob@example.com", pw1, nil).status)
	h.mail("bob@example.com")
	h.post(api+"resend?email=bob@example.com", nil, "")
	secrets.add(keyOf(h.link("bob@example.com")))
	h.post(api+"send-magic?email=ann@example.com", nil, "")
	magic := h.link("ann@example.com")
	q = h.follow(magic)
	g = h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	secrets.add(keyOf(magic), q.Get("access_token"), g.token())

	// Reset by link; sign in with the new password on two devices.
	h.post(api+"send-reset?email=ann@example.com", nil, "")
	reset := h.link("ann@example.com")
	key := h.follow(reset).Get("access_token")
	require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": pw2}, "").status)
	secrets.add(keyOf(reset), key)
	tok := h.signIn("ann@example.com", pw2).token()
	other := h.signIn("ann@example.com", pw2).token()
	secrets.add(tok, other)

	// Changes: a wrong current password, the password, the email.
	requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": wrong, "newPassword": pw3}, tok), http.StatusForbidden, "wrong_password")
	require.Equal(t, http.StatusOK, h.post(api+"change-pwd", map[string]any{"oldPassword": pw2, "newPassword": pw3}, tok).status)
	require.Equal(t, http.StatusOK, h.post(api+"change-email", map[string]any{"currentPassword": pw3, "newEmail": "ann.new@example.com"}, tok).status)
	change := h.link("ann.new@example.com")
	changeKey := h.follow(change).Get("access_token")
	changed := h.grant(changeKey) // applies the change, and signs in on this device
	require.Equal(t, http.StatusOK, h.post(api+"signout", nil, changed.token()).status)
	secrets.add(keyOf(change), changeKey, changed.token())

	// Sign-outs: another session, all others, this one, everywhere.
	other = h.signIn("ann.new@example.com", pw3).token()
	secrets.add(other)
	require.Len(t, h.get(api+"sessions", tok).list, 2)
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{"token": other}, tok).status)
	require.Equal(t, http.StatusOK, h.post(api+"signout-all-except", nil, tok).status)
	require.Equal(t, http.StatusOK, h.post(api+"signout", nil, tok).status)
	last := h.signIn("ann.new@example.com", pw3).token()
	secrets.add(last)
	require.Equal(t, http.StatusOK, h.post(api+"signout-all", nil, last).status)

	// A legacy hash upgraded; an account locked by failed sign-ins.
	legacy, err := bcrypt.GenerateFromPassword([]byte(pw4), bcrypt.MinCost)
	require.NoError(t, err)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Email: "uma@example.com", EmailVerified: true, PasswordHash: string(legacy), SignUpAt: now, LastLoginAt: now,
	}))
	up := h.signIn("uma@example.com", pw4)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	secrets.add(up.token(), string(legacy))
	for range 3 {
		requireStatusCode(t, h.signIn("uma@example.com", wrong), http.StatusUnauthorized, "invalid_credentials")
	}
	requireStatusCode(t, h.signIn("uma@example.com", pw4), http.StatusTooManyRequests, "too_many_requests")

	// Phone: sign-up, confirmation (a wrong code first), sign-ins.
	const phone, newPhone, pending = "+15555555501", "+15555555599", "+15555555502"
	require.Equal(t, http.StatusOK, h.signUpPhone(phone, pw1, nil).status)
	code := h.code(phone)
	requireStatusCode(t, h.post(phoneQuery("verify-phone", phone, wrongCode(code)), nil, ""), http.StatusBadRequest, "invalid_code")
	v := h.post(phoneQuery("verify-phone", phone, code), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	secrets.add(code, wrongCode(code), v.token())
	requireStatusCode(t, h.signInPhone(phone, wrong), http.StatusUnauthorized, "invalid_credentials")
	ptok := h.signInPhone(phone, pw1).token()
	secrets.add(ptok)
	require.Equal(t, http.StatusOK, h.signUpPhone(pending, pw1, nil).status)
	secrets.add(h.code(pending))
	requireStatusCode(t, h.signInPhone(pending, pw1), http.StatusForbidden, "phone_not_verified")
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555503", "123456"), nil, ""), http.StatusBadRequest, "invalid_code")

	// Codes: sign-in by code, a resend too soon, a resend, a reset.
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-code", phone, ""), nil, "")
	signInCode := h.code(phone)
	h.post(phoneQuery("send-code", phone, ""), nil, "") // within CodeResendGap: not texted
	byCode := h.post(phoneQuery("signin-code", phone, signInCode), nil, "")
	require.Equal(t, http.StatusOK, byCode.status, "%s", byCode.raw)
	secrets.add(signInCode, byCode.token())
	h.post(phoneQuery("resend-code", pending, ""), nil, "")
	secrets.add(h.code(pending))
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", phone, ""), nil, "")
	resetCode := h.code(phone)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("reset-pwd-code", phone, resetCode), map[string]any{"newPassword": pw2}, "").status)
	secrets.add(resetCode)

	// A change of number.
	ptok = h.signInPhone(phone, pw2).token()
	secrets.add(ptok)
	require.Equal(t, http.StatusOK, h.post(api+"change-phone", map[string]any{"currentPassword": pw2, "newPhone": newPhone}, ptok).status)
	changeCode := h.code(newPhone)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("verify-phone", newPhone, changeCode), nil, "").status)
	secrets.add(changeCode)

	// OAuth: a sign-up and a sign-in with GitHub; with Google, an email
	// of another account refused, a tampered id_token, a replayed state.
	kitURL, err := url.Parse(h.srv.URL)
	require.NoError(t, err)
	for range 2 {
		b := h.browser()
		authURL := b.start("github")
		for _, c := range b.client.Jar.Cookies(kitURL) {
			secrets.add(c.Value)
		}
		cb := b.consent(authURL)
		q := b.finish(cb)
		require.Equal(t, "200", q.Get("status"), q.Get("error"))
		g := h.grant(q.Get("access_token"))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		secrets.add(authURL.Query().Get("state"), authURL.Query().Get("code_challenge"), cb.param("code"), q.Get("access_token"), g.token())
	}
	op.SetClaims(map[string]any{"sub": "1098", "email": "rooby@example.com", "email_verified": true})
	b := h.browser()
	authURL := b.start("google")
	cb := b.consent(authURL)
	refused(t, b.finish(cb), "409", "account_exists")
	secrets.add(authURL.Query().Get("state"), authURL.Query().Get("nonce"), cb.param("code"))
	op.Tamper(func(c map[string]any) { c["aud"] = "another-client" })
	b = h.browser()
	authURL = b.start("google")
	cb = b.consent(authURL)
	refused(t, b.finish(cb), "502", "oauth_failed")
	refused(t, h.browser().finish(cb), "400", "invalid_state")
	secrets.add(authURL.Query().Get("state"), authURL.Query().Get("nonce"), cb.param("code"))
	secrets.add(gh.Secrets()...)
	secrets.add(op.Secrets()...)
	secrets.add(oauthtest.ClientSecret)

	// With email confirmation off, an email change applies on the request.
	off := newHarness(t, logTo, generousLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	su := off.signUp("cy@example.com", pw1, nil)
	require.Equal(t, http.StatusOK, su.status, "%s", su.raw)
	secrets.add(su.token())
	require.Equal(t, http.StatusOK, off.post(api+"change-email", map[string]any{"currentPassword": pw1, "newEmail": "cy.new@example.com"}, su.token()).status)
	h.settle()
	off.settle()

	records := capture.all()
	seen := map[string]bool{}
	for _, r := range records {
		seen[r.msg] = true
		// Where from, on every record.
		require.NotEmpty(t, r.attrs["ip"], "%q has no ip: %v", r.msg, r.attrs)
		require.NotEmpty(t, r.attrs["userAgent"], "%q has no userAgent: %v", r.msg, r.attrs)
		// Who, on every record that names an account's doing.
		if _, ok := r.attrs["user"]; !ok && r.level >= slog.LevelInfo && !userUnknowable[r.msg] {
			t.Errorf("%q has no user attribute: %v", r.msg, r.attrs)
		}
		if r.attrs["user"] == "" && !userMayBeUnknown[r.msg] && !userUnknowable[r.msg] {
			t.Errorf("%q names no user: %v", r.msg, r.attrs)
		}
		// No secret anywhere.
		for _, s := range secrets {
			require.NotContains(t, r.msg, s)
			for k, v := range r.attrs {
				require.False(t, strings.Contains(v, s), "%q: %s holds a secret %q: %q", r.msg, k, s, v)
			}
		}
	}
	var missing []string
	for _, event := range expectedEvents {
		if !seen["authkit: "+event] {
			missing = append(missing, event)
		}
	}
	if len(missing) > 0 {
		var got []string
		for m := range seen {
			got = append(got, m)
		}
		sort.Strings(got)
		t.Fatalf("no record of %q; the records: %q", missing, got)
	}
}

// expectedEvents are the auth events TestLogsEveryFlow must see: every
// success, failure, lockout, reset and revocation.
var expectedEvents = []string{
	"sign-up", "sign-in", "sign-in failed", "sign-in refused: email not verified", "sign-in refused: phone not verified",
	"sign-in by email-confirm", "sign-in by magic-link", "sign-in by oauth-signin", "sign-in by code",
	"password reset", "password changed", "current password refused", "password hash upgraded", "email changed",
	"signed out", "signed out everywhere", "too many requests",
	"phone confirmed", "code texted", "code refused", "phone changed",
	"oauth sign-up", "oauth sign-in", "oauth sign-in failed", "oauth sign-in refused: email of another account",
}

// userMayBeUnknown are the events logged, with an empty user, for an
// identifier that names no account.
var userMayBeUnknown = map[string]bool{
	"authkit: sign-in failed": true, "authkit: code refused": true, "authkit: too many requests": true,
}

// userUnknowable are the records of what happens before anyone is known.
var userUnknowable = map[string]bool{
	"authkit: oauth sign-in failed": true,
}

// SECURITY 36: the email flows log who did what from where, and never a
// password, token, link key or grant key.
func TestLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := newHarness(t, func(c *authkit.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	secrets := []string{"correct horse battery", "a new long password", "an even newer password"}
	tok := h.confirmedUser("wes@example.com", secrets[0])
	secrets = append(secrets, tok)
	require.Equal(t, "invalid_credentials", h.signIn("wes@example.com", "wrong password here").code())
	h.post(api+"send-magic?email=wes@example.com", nil, "")
	magic := h.link("wes@example.com")
	q := h.follow(magic)
	g := h.grant(q.Get("access_token"))
	secrets = append(secrets, keyOf(magic), q.Get("access_token"), g.token())
	h.post(api+"send-reset?email=wes@example.com", nil, "")
	reset := h.link("wes@example.com")
	resetKey := h.follow(reset).Get("access_token")
	secrets = append(secrets, keyOf(reset), resetKey)
	h.post(api+"reset-pwd?key="+resetKey, map[string]any{"newPassword": secrets[1]}, "")
	in := h.signIn("wes@example.com", secrets[1]).token()
	secrets = append(secrets, in)
	h.post(api+"change-pwd", map[string]any{"oldPassword": secrets[1], "newPassword": secrets[2]}, in)
	h.post(api+"signout", nil, in)
	h.settle()

	requireLogged(t, logs.String(), secrets, "sign-up", "sign-in", "sign-in failed", "password reset", "password changed", "signed out")
}

// SECURITY 36: the phone flows log who did what from where, and never a
// password, session token or SMS code.
func TestLogsHoldNoCodes(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Logger = timelessLogger(&logs) })
	const phone = "+15555555555"
	secrets := []string{"correct horse battery", "a new long password", "an even newer password"}
	require.Equal(t, http.StatusOK, h.signUpPhone(phone, secrets[0], nil).status)
	confirm := h.code(phone)
	requireStatusCode(t, h.post(phoneQuery("verify-phone", phone, wrongCode(confirm)), nil, ""), http.StatusBadRequest, "invalid_code")
	v := h.post(phoneQuery("verify-phone", phone, confirm), nil, "")
	secrets = append(secrets, confirm, v.token())
	require.Equal(t, "invalid_credentials", h.signInPhone(phone, "wrong password here").code())
	in := h.signInPhone(phone, secrets[0]).token()
	secrets = append(secrets, in)

	h.post(phoneQuery("send-code", phone, ""), nil, "")
	signIn := h.code(phone)
	byCode := h.post(phoneQuery("signin-code", phone, signIn), nil, "").token()
	secrets = append(secrets, signIn, byCode)

	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", phone, ""), nil, "")
	reset := h.code(phone)
	h.post(phoneQuery("reset-pwd-code", phone, reset), map[string]any{"newPassword": secrets[1]}, "")
	secrets = append(secrets, reset)

	tok := h.signInPhone(phone, secrets[1]).token()
	h.post(api+"change-phone", map[string]any{"currentPassword": secrets[1], "newPhone": "+15555555556"}, tok)
	change := h.code("+15555555556")
	h.post(phoneQuery("verify-phone", "+15555555556", change), nil, "")
	secrets = append(secrets, tok, change)
	h.settle()

	requireLogged(t, logs.String(), secrets, "sign-up", "phone confirmed", "sign-in", "sign-in failed", "sign-in by code", "code refused", "code texted", "password reset", "phone changed")
}

// SECURITY 36: OAuth sign-ins log who, with which provider, from where,
// and never a state, code, verifier, token, id_token, grant key or secret.
func TestOAuthLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	h := newHarness(t, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh), "google": openIDProvider(op)}),
		func(c *authkit.Config) {
			c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
	op.SetNow(h.clock.Now)
	op.SetClaims(map[string]any{"sub": "1098", "email": "rooby.google@example.com", "email_verified": true})
	var secrets []string
	for _, p := range []string{"github", "google", "github"} {
		b := h.browser()
		authURL := b.start(p)
		cb := b.consent(authURL)
		q := b.finish(cb)
		require.Equal(t, "200", q.Get("status"), "%s: %s", p, q.Get("error"))
		g := h.grant(q.Get("access_token"))
		require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
		secrets = append(secrets, authURL.Query().Get("state"), authURL.Query().Get("code_challenge"),
			cb.param("code"), q.Get("access_token"), g.token())
	}
	// Failures log too, still without secrets.
	op.Tamper(func(c map[string]any) { c["aud"] = "another-client" })
	b := h.browser()
	authURL := b.start("google")
	cb := b.consent(authURL)
	refused(t, b.finish(cb), "502", "oauth_failed")
	secrets = append(secrets, authURL.Query().Get("state"), cb.param("code"))
	refused(t, h.browser().finish(cb), "400", "invalid_state")
	secrets = append(secrets, gh.Secrets()...)
	secrets = append(secrets, op.Secrets()...)
	secrets = append(secrets, oauthtest.ClientSecret)

	out := logs.String()
	for _, event := range []string{"oauth sign-up", "oauth sign-in", "oauth sign-in failed", "sign-in by oauth-signin"} {
		require.Contains(t, out, `"msg":"authkit: `+event+`"`)
	}
	require.Contains(t, out, `"provider":"github"`)
	require.Contains(t, out, `"code":"oauth_failed"`)
	require.Contains(t, out, `"code":"invalid_state"`)
	require.Contains(t, out, `"ip":"127.0.0.1"`)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.False(t, strings.Contains(out, s), "the logs hold a secret: %s", s)
	}
	require.NotContains(t, out, "code_verifier")
}

func keyOf(link string) string { return strings.SplitN(link, "key=", 2)[1] }

// requireLogged checks logs for a record of each event, with the client's
// ip, and for none of the secrets.
func requireLogged(t *testing.T, out string, secrets []string, events ...string) {
	t.Helper()
	for _, event := range events {
		require.Contains(t, out, `"msg":"authkit: `+event+`"`)
	}
	require.Contains(t, out, `"ip":"127.0.0.1"`)
	for _, s := range secrets {
		require.NotEmpty(t, s)
		require.False(t, strings.Contains(out, s), "the logs hold a secret: %s", s)
	}
}
