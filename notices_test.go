package authkit_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/outbox"
)

// The notices of Config.Notices, read from the outbox as their owner reads
// them: a password changed or reset, a sign-in from a browser the account
// had not seen. Browsers keep their cookies in a jar, so the device cookie
// an answer sets goes with their next call, as a real browser's does.

// firefoxUA is a second browser, on another system.
const firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0"

func passwordNotices(c *authkit.Config) { c.Notices.PasswordChanged = authkit.On }

func deviceNotices(c *authkit.Config) { c.Notices.NewDevice = authkit.On }

// call makes a JSON call to the kit as the browser, cookies and all.
func (b *browser) call(method, path string, body any) answer {
	b.h.t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.h.t, err)
		r = bytes.NewReader(raw)
	}
	hr, err := http.NewRequest(method, b.h.srv.URL+path, r)
	require.NoError(b.h.t, err)
	hr.Header.Set("User-Agent", cmp.Or(b.userAgent, chromeUA))
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(hr)
	require.NoError(b.h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.h.t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	require.Less(b.h.t, a.status, 500, "%s", raw)
	if len(raw) > 0 {
		require.NoError(b.h.t, json.Unmarshal(raw, &a.body), "%s", raw)
	}
	return a
}

// passwordSignIn signs in with an email and password as the browser.
func (b *browser) passwordSignIn(email, pw string) answer {
	b.h.t.Helper()
	a := b.call(http.MethodPost, api+"signin-email", map[string]any{"email": email, "password": pw})
	require.Equal(b.h.t, http.StatusOK, a.status, "%s", a.raw)
	return a
}

// grant exchanges the access token of a redirect as the browser: the
// app's getAuthGrant, which carries the browser's cookies.
func (b *browser) grant(q url.Values) answer {
	b.h.t.Helper()
	require.Equal(b.h.t, "200", q.Get("status"), "error %s", q.Get("error"))
	a := b.call(http.MethodGet, api+"grant?key="+q.Get("access_token"), nil)
	require.Equal(b.h.t, http.StatusOK, a.status, "%s", a.raw)
	return a
}

// requireNotice checks that m tells what happened and holds neither a link
// nor a code: nothing to follow, nothing to type.
func requireNotice(t *testing.T, m outbox.Message, says ...string) {
	t.Helper()
	for _, part := range []string{m.Subject, m.Body} {
		require.NotRegexp(t, linkPattern, part)
		require.NotContains(t, part, "/_auth/")
		require.NotRegexp(t, codePattern, part)
	}
	for _, s := range says {
		require.Contains(t, m.Body, s)
	}
}

// By default no notice goes out but the ones of a changed email or number.
func TestNoticesOffByDefault(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	const email, phone = "nia@example.com", "+15555550101"
	tok := h.confirmedUser(email, inputPassword)
	h.browser().passwordSignIn(email, inputPassword)
	a := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": inputPassword}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	key := h.resetKey(email)
	require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "an even newer password"}, "").status)
	h.noMail(email)

	h.phoneUser(phone, inputPassword)
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", phone, ""), nil, "").status)
	done := h.post(phoneQuery("reset-pwd-code", phone, h.code(phone)), map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	require.Equal(t, http.StatusOK, h.signInPhone(phone, "a new long password").status)
	h.noMail(phone)
}

// SECURITY 72: with Notices.PasswordChanged on, the owner's confirmed
// email is told when the password is changed, and when it is reset, once
// the reset is done; never when a reset is only asked for or fails.
func TestPasswordChangedNotice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, passwordNotices)
	const email = "ola@example.com"
	tok := h.confirmedUser(email, inputPassword)
	h.noMail(email)

	a := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": inputPassword}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	m := h.mail(email)
	require.Equal(t, "Your Test App password was changed", m.Subject)
	requireNotice(t, m, "Hello Rooby,", "on 2 January 2030 at 03:04 UTC", "from Chrome 99 on Mac OS X 10.15 at IP address 127.0.0.1")
	h.noMail(email)

	// A reset: its link, then nothing until the new password is set.
	h.clock.Advance(time.Hour)
	key := h.resetKey(email)
	h.noMail(email)
	done := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "an even newer password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	m = h.mail(email)
	require.Equal(t, "Your Test App password was changed", m.Subject)
	requireNotice(t, m, "on 2 January 2030 at 04:04 UTC")
	require.Equal(t, http.StatusOK, h.signIn(email, "an even newer password").status, "the reset was done when it was told")

	// A reset that fails tells nobody.
	requireStatusCode(t, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "yet another password"}, ""), http.StatusBadRequest, "invalid_token")
	h.noMail(email)
}

// SECURITY 72: an account that owns no email but a number is texted, for
// a change and for a reset by code; an account that owns both is mailed,
// whichever of them the reset went to.
func TestPasswordChangedNoticeByText(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, passwordNotices, noLimits)
	const phone = "+15555550123"
	tok := h.phoneUser(phone, inputPassword)
	h.noMail(phone)

	a := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": inputPassword}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	m := h.mail(phone)
	require.Equal(t, outbox.KindSMS, m.Kind)
	requireNotice(t, m, "The password of your Test App account was changed.")

	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", phone, ""), nil, "").status)
	code := h.code(phone)
	h.noMail(phone)
	done := h.post(phoneQuery("reset-pwd-code", phone, code), map[string]any{"newPassword": "an even newer password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	m = h.mail(phone)
	require.Equal(t, outbox.KindSMS, m.Kind)
	requireNotice(t, m, "The password of your Test App account was changed.")
	h.noMail(phone)

	// An account with a confirmed email and number: the email is told.
	const email, second = "pia@example.com", "+447911123456"
	both := h.confirmedUser(email, inputPassword)
	a = h.post(api+"change-phone", map[string]any{"currentPassword": inputPassword, "newPhone": second}, both)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("verify-phone", second, h.code(second)), nil, "").status)
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", second, ""), nil, "").status)
	done = h.post(phoneQuery("reset-pwd-code", second, h.code(second)), map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	requireNotice(t, h.mail(email), "Hello Rooby,")
	h.noMail(second)
}

// A reset that makes an account, for an address that only a sign-up
// waited for, has no owner to tell but the one who reset it.
func TestResetThatMakesAnAccountTellsNobody(t *testing.T) {
	t.Parallel()
	h := newHarness(t, passwordNotices, deviceNotices, noLimits)
	const email = "qiu@example.com"
	require.Equal(t, http.StatusOK, h.signUp(email, inputPassword, "Qiu").status)
	h.link(email) // the confirmation, never followed
	key := h.resetKey(email)
	done := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	h.noMail(email)
}

// SECURITY 73: with Notices.NewDevice on, a session started in a browser
// without the account's device cookie tells the owner; the same browser
// again does not, and a cookie of another account silences nothing. The
// first session of a new account tells nobody.
func TestNewDeviceNotice(t *testing.T) {
	t.Parallel()
	h := newHarness(t, deviceNotices, noLimits)
	const email = "rae@example.com"
	h.confirmedUser(email, inputPassword)
	h.noMail(email) // the confirmation's session is the account's first

	// The first sign-in in a browser tells, and sets the cookie...
	chrome := h.browser()
	chrome.passwordSignIn(email, inputPassword)
	m := h.mail(email)
	require.Equal(t, "New sign-in to your Test App account", m.Subject)
	requireNotice(t, m, "Hello Rooby,", "on 2 January 2030 at 03:04 UTC", "from a browser it had not seen before: Chrome 99 on Mac OS X 10.15, at IP address 127.0.0.1.")
	// ...so the next one in that browser does not.
	h.clock.Advance(time.Hour)
	chrome.passwordSignIn(email, inputPassword)
	h.noMail(email)

	// Another browser tells, with its own name.
	firefox := h.browser()
	firefox.userAgent = firefoxUA
	firefox.passwordSignIn(email, inputPassword)
	requireNotice(t, h.mail(email), "Firefox 115 on Windows 10", "at 04:04 UTC")

	// A magic link: exchanged in a known browser, nothing; in a new one,
	// a notice.
	chrome.grant(h.follow(h.link(sendMagic(h, email))))
	h.noMail(email)
	h.clock.Advance(time.Minute)
	fresh := h.browser()
	fresh.grant(h.follow(h.link(sendMagic(h, email))))
	requireNotice(t, h.mail(email), "Chrome 99 on Mac OS X 10.15")

	// A browser whose cookie is another account's is new to this one: an
	// attacker's own account's cookie silences nothing.
	const other = "sam@example.com"
	h.confirmedUser(other, inputPassword)
	attacker := h.browser()
	attacker.passwordSignIn(other, inputPassword)
	requireNotice(t, h.mail(other))
	attacker.passwordSignIn(email, inputPassword)
	requireNotice(t, h.mail(email))
	h.noMail(other)

	// Nor does a copy of the owner's cookie that he altered.
	kit, err := url.Parse(h.srv.URL)
	require.NoError(t, err)
	var owners string
	for _, c := range chrome.client.Jar.Cookies(kit) {
		if c.Name == deviceCookie {
			owners = c.Value
		}
	}
	require.NotEmpty(t, owners)
	altered := owners[:len(owners)-1] + "A"
	if altered == owners {
		altered = owners[:len(owners)-1] + "B"
	}
	forger := h.browser()
	forger.client.Jar.SetCookies(kit, []*http.Cookie{{Name: deviceCookie, Value: altered}})
	forger.passwordSignIn(email, inputPassword)
	requireNotice(t, h.mail(email))
	h.noMail(email)
}

func sendMagic(h *harness, email string) string {
	h.t.Helper()
	require.Equal(h.t, http.StatusOK, h.post(api+"send-magic?email="+email, nil, "").status)
	return email
}

// SECURITY 73: sign-ins by code and OAuth tell too; a phone account is
// texted; a sign-up that signs in at once, a confirmed phone sign-up and
// an OAuth sign-up are the accounts' first sessions and tell nobody.
func TestNewDeviceNoticeEverySignIn(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	h := newPhoneHarness(t, deviceNotices, noLimits, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))

	t.Run("sign-up without confirmation", func(t *testing.T) {
		h := newHarness(t, deviceNotices, noLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
		const email = "tia@example.com"
		b := h.browser()
		up := b.call(http.MethodPost, api+"signup-email", map[string]any{"email": email, "password": inputPassword})
		require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
		require.NotNil(t, up.body["session"])
		b.passwordSignIn(email, inputPassword)
		h.noMail(email)
		h.browser().passwordSignIn(email, inputPassword)
		requireNotice(t, h.mail(email))
	})

	// A phone account: confirmed in one browser, a code in another.
	const phone = "+15555550177"
	b := h.browser()
	up := b.call(http.MethodPost, api+"signup-phone", map[string]any{"phone": phone, "password": inputPassword})
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	v := b.call(http.MethodPost, phoneQuery("verify-phone", phone, h.code(phone)), nil)
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.NotNil(t, v.body["session"])
	h.noMail(phone)
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, b.call(http.MethodPost, phoneQuery("send-code", phone, ""), nil).status)
	in := b.call(http.MethodPost, phoneQuery("signin-code", phone, h.code(phone)), nil)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	h.noMail(phone)
	h.clock.Advance(time.Minute)
	other := h.browser()
	other.userAgent = firefoxUA
	require.Equal(t, http.StatusOK, other.call(http.MethodPost, phoneQuery("send-code", phone, ""), nil).status)
	in = other.call(http.MethodPost, phoneQuery("signin-code", phone, h.code(phone)), nil)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	m := h.mail(phone)
	require.Equal(t, outbox.KindSMS, m.Kind)
	requireNotice(t, m, "New sign-in to your Test App account from Firefox 115 on Windows 10.")
	h.noMail(phone)

	// OAuth: the sign-in that makes the account tells nobody; the same
	// browser again, nothing; another browser, a notice to the address the
	// provider vouched for.
	const email = "rooby@example.com"
	first := h.browser()
	g := first.grant(first.signIn("github"))
	require.Equal(t, email, g.body["user"].(map[string]any)["email"])
	h.noMail(email)
	first.grant(first.signIn("github"))
	h.noMail(email)
	second := h.browser()
	second.grant(second.signIn("github"))
	requireNotice(t, h.mail(email), "Hello Rooby,", "Chrome 99 on Mac OS X 10.15")
	h.noMail(email)
}

// A notice is promised to the courier like every other message: a
// provider's temporary refusal delays it, and it arrives once.
func TestNoticesGoThroughTheCourier(t *testing.T) {
	t.Parallel()
	box := outbox.New()
	sender := &flakySender{Outbox: box}
	h := newHarness(t, authkit.ManualCourier, func(c *authkit.Config) {
		c.Mailer = sender
		c.Notices.PasswordChanged = authkit.On
	})
	h.box = box
	require.Equal(t, http.StatusOK, h.signUp("nia@example.com", "correct horse battery", nil).status)
	h.settle() // the courier runs when told
	tok := h.grant(h.follow(h.link("nia@example.com")).Get("access_token")).token()

	sender.fails.Store(1)
	a := h.post(api+"change-pwd", map[string]any{"oldPassword": "correct horse battery", "newPassword": "a brand new password"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	h.settle()
	h.noMail("nia@example.com")
	h.clock.Advance(30 * time.Second)
	h.settle()
	require.Contains(t, h.mail("nia@example.com").Subject, "password")
	h.clock.Advance(time.Hour)
	h.noMail("nia@example.com")
}

// SECURITY 114: with Notices.FactorChanged on, the owner is told when a
// second factor is added or removed. An attacker holding a session of an
// account without a factor adds an authenticator and a passkey, which
// would outlive a password reset: each addition is mailed to the owner,
// with the browser and IP it came from; the host's reset of every factor
// is one notice; and none is sent while the switch is off.
func TestFactorChangedNotice(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t, noLimits, func(c *authkit.Config) { c.Notices.FactorChanged = authkit.On })
	const email = "fay@example.com"
	stolen := h.signUp(email, inputPassword, "Fay").token()
	h.noMail(email)

	secret, _ := h.enrolTOTP(stolen)
	m := h.mail(email)
	require.Equal(t, "A second factor was added to your Test App account", m.Subject)
	requireNotice(t, m, "Hello,", "on 2 January 2030 at 03:04 UTC", "from Chrome 99 on Mac OS X 10.15 at IP address 127.0.0.1: an authenticator app was added.")
	h.noMail(email)

	// The session stepped up with the attacker's own authenticator adds a
	// passkey too: told as well.
	up := h.post(api+"mfa/step-up", map[string]any{"code": totpCode(t, secret, h.now())}, stolen)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	require.Equal(t, http.StatusOK, h.registerPasskey(up.token(), newSoftKey(t), "Mallory").status)
	requireNotice(t, h.mail(email), "a passkey was added.")

	require.NoError(t, h.kit.ResetFactors(t.Context(), h.userID(email)))
	m = h.mail(email)
	require.Equal(t, "A second factor was removed from your Test App account", m.Subject)
	requireNotice(t, m, "every second factor was removed.")
	h.noMail(email)

	off := newMFAHarness(t)
	tok := off.signUp("quiet@example.com", inputPassword, "Quiet").token()
	off.enrolTOTP(tok)
	off.noMail("quiet@example.com")
}
