package authkit_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The attacks of issue 13's findings 4 and 13, end to end: what an
// attacker who fails an owner's password, or asks for her recovery, ends
// up with; and the device cookie that lets her browser past a lockout of
// its IP. Each request names the IP it comes from in X-Forwarded-For,
// which the harness trusts from 127.0.0.1.

// behindProxy makes the kit trust the test client as a proxy, so that each
// request may come from the address it names.
func behindProxy(c *authkit.Config) {
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
}

// deviceCookie is the device cookie's name when PublicURL is http.
const deviceCookie = "authkit_device"

// visitor is a browser at one IP, with the device cookie it holds, if any.
type visitor struct {
	h      *harness
	ip     string
	device string // the device cookie's value; "" for none
}

func (v *visitor) do(method, path string, body any) answer {
	v.h.t.Helper()
	header := map[string]string{"X-Forwarded-For": v.ip}
	if v.device != "" {
		header["Cookie"] = deviceCookie + "=" + v.device
	}
	return v.h.do(req{method: method, path: path, body: body, header: header})
}

func (v *visitor) post(path string, body any) answer {
	v.h.t.Helper()
	return v.do(http.MethodPost, path, body)
}

func (v *visitor) signIn(email, pw string) answer {
	v.h.t.Helper()
	return v.post(api+"signin-email", map[string]any{"email": email, "password": pw})
}

func (v *visitor) signInPhone(phone, pw string) answer {
	v.h.t.Helper()
	return v.post(api+"signin-phone", map[string]any{"phone": phone, "password": pw})
}

// keep stores the device cookie a's answer set, as a browser does.
func (v *visitor) keep(a answer) {
	v.h.t.Helper()
	c := setCookie(v.h.t, a.header, deviceCookie)
	require.NotNil(v.h.t, c, "no device cookie in %v", a.header)
	v.device = c.Value
}

// failFrom sends n wrong passwords for email from ip, each answered 401.
func failFrom(t *testing.T, h *harness, ip, email string, n int) {
	t.Helper()
	v := &visitor{h: h, ip: ip}
	for i := range n {
		requireStatusCode(t, v.signIn(email, "wrong password "+strconv.Itoa(i)), http.StatusUnauthorized, "invalid_credentials")
	}
}

// SECURITY 54, finding 4: from one IP, with the per-IP limits at their
// defaults, 10 wrong passwords and 10 reset requests for the victim (20
// requests, under PerIP) used to make even her right password, her reset
// and her magic link answer 429 for a day. Now the attacker locks out only
// himself: from her IP the victim signs in, gets a reset link that resets
// her password, and a magic link that signs her in.
func TestAttackerCannotLockOwnerOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy)
	const email, pw = "victim@example.com", "correct horse battery"
	h.confirmedUser(email, pw)

	attacker := &visitor{h: h, ip: "198.51.100.7"}
	failFrom(t, h, attacker.ip, email, 10)
	for range 10 {
		require.Equal(t, http.StatusOK, attacker.post(api+"send-reset?email="+email, nil).status)
	}
	requireLimited(t, attacker.signIn(email, pw), windowLeft)
	h.mail(email) // the one link the attacker's requests mailed her; he cannot read it
	h.noMail(email)

	victim := &visitor{h: h, ip: "203.0.113.9"}
	require.Equal(t, http.StatusOK, victim.signIn(email, pw).status, "her right password works from her IP")

	h.clock.Advance(time.Minute) // past EmailRepeats, which holds back a second link within the minute
	require.Equal(t, http.StatusOK, victim.post(api+"send-reset?email="+email, nil).status)
	q := h.follow(h.link(email))
	require.Equal(t, "reset-pwd", q.Get("action"))
	a := victim.post(api+"reset-pwd?key="+q.Get("access_token"), map[string]any{"newPassword": "a brand new password"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)

	require.Equal(t, http.StatusOK, victim.post(api+"send-magic?email="+email, nil).status)
	q = h.follow(h.link(email))
	require.Equal(t, "magic-link", q.Get("action"))
	g := victim.do(http.MethodGet, api+"grant?key="+q.Get("access_token"), nil)
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.NotEmpty(t, g.token())
	require.Equal(t, http.StatusOK, victim.signIn(email, "a brand new password").status)
}

// SECURITY 55: an attacker who sprays wrong passwords from many addresses,
// the victim's own among them (a shared NAT), locks each address, but not
// the browser she signed in with before: its device cookie makes it a
// source of its own. The ceiling per account still holds for every
// source, device cookies included; her magic link works past it.
func TestDeviceCookiePassesSourceLockout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy, authkit.CheapHashing)
	const email, pw = "victim@example.com", "correct horse battery"
	h.confirmedUser(email, pw)
	browser := &visitor{h: h, ip: "203.0.113.9"}
	browser.keep(browser.signIn(email, pw))

	// 99 failures from ten addresses, hers the first: one short of the
	// ceiling of 100 an hour, every address locked but the last.
	for i := range 10 {
		ip := "198.51.100." + strconv.Itoa(i)
		if i == 0 {
			ip = browser.ip
		}
		failFrom(t, h, ip, email, min(10, 99-10*i))
	}
	stranger := &visitor{h: h, ip: browser.ip} // her IP, without the cookie
	requireLimited(t, stranger.signIn(email, pw), windowLeft)
	a := browser.signIn(email, pw)
	require.Equal(t, http.StatusOK, a.status, "her device passes the lockout of her IP: %s", a.raw)
	browser.keep(a)

	// Her device has an allowance of its own, which her success cleared.
	for range 10 {
		requireStatusCode(t, browser.signIn(email, "a typo of hers"), http.StatusUnauthorized, "invalid_credentials")
	}
	requireLimited(t, browser.signIn(email, pw), windowLeft)
	h.clock.Advance(655 * time.Second) // a new 15-minute window: 03:15:00
	require.Equal(t, http.StatusOK, browser.signIn(email, pw).status)

	// Past the ceiling nobody signs in with a password until the hour
	// ends, her device included; a magic link still does.
	for i := range 10 {
		failFrom(t, h, "198.51.100."+strconv.Itoa(100+i), email, 10)
	}
	requireLimited(t, browser.signIn(email, pw), "2700") // 03:15:00 to 04:00:00
	require.Equal(t, http.StatusOK, browser.post(api+"send-magic?email="+email, nil).status)
	g := browser.do(http.MethodGet, api+"grant?key="+h.follow(h.link(email)).Get("access_token"), nil)
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, http.StatusOK, browser.signIn(email, pw).status, "the magic link cleared the ceiling")
}

// SECURITY 56: a device cookie that the kit did not sign for this account
// (forged, altered, expired, or another account's) passes no lockout, and
// no device cookie authenticates anything.
func TestDeviceCookieForgedOrForeignGrantsNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy)
	const ann, mallory, pw = "ann@example.com", "mallory@example.com", "correct horse battery"
	h.confirmedUser(ann, pw)
	h.confirmedUser(mallory, pw)
	annDevice := &visitor{h: h, ip: "203.0.113.9"}
	annDevice.keep(annDevice.signIn(ann, pw))
	malloryDevice := &visitor{h: h, ip: "198.51.100.7"}
	malloryDevice.keep(malloryDevice.signIn(mallory, pw))

	const ip = "198.51.100.7"
	failFrom(t, h, ip, ann, 10)
	parts := strings.Split(annDevice.device, ".")
	require.Len(t, parts, 4, "device id, account, expiry, signature")
	malloryParts := strings.Split(malloryDevice.device, ".")
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	for name, value := range map[string]string{
		"another account's":          malloryDevice.device,
		"rebound to her account":     strings.Join([]string{malloryParts[0], parts[1], malloryParts[2], malloryParts[3]}, "."),
		"another device id":          strings.Join([]string{flip(parts[0]), parts[1], parts[2], parts[3]}, "."),
		"a later expiry":             strings.Join([]string{parts[0], parts[1], "9999999999", parts[3]}, "."),
		"an altered signature":       strings.Join([]string{parts[0], parts[1], parts[2], flip(parts[3])}, "."),
		"unsigned":                   strings.Join(parts[:3], "."),
		"not a device cookie at all": "x",
	} {
		forged := &visitor{h: h, ip: ip, device: value}
		requireLimited(t, forged.signIn(ann, pw), windowLeft)
		require.Equal(t, http.StatusUnauthorized, forged.do(http.MethodGet, api+"user", nil).status, "%s: no session", name)
	}
	// Hers, from the attacker's IP, passes: it is the browser that counts.
	require.Equal(t, http.StatusOK, (&visitor{h: h, ip: ip, device: annDevice.device}).signIn(ann, pw).status)
	requireStatusCode(t, annDevice.do(http.MethodGet, api+"user", nil), http.StatusUnauthorized, "missing_session_token")

	// A year after her last sign-in, the cookie has expired.
	h.clock.Advance(366 * 24 * time.Hour)
	failFrom(t, h, ip, ann, 10)
	requireLimited(t, (&visitor{h: h, ip: ip, device: annDevice.device}).signIn(ann, pw), "655")
}

// SECURITY 56: the device cookie is HttpOnly, SameSite=Strict, Path=/,
// a year long, Secure with the __Host- prefix over https; it is set on
// every answer that starts a session, and on no other; signing in again
// keeps the device id and moves the expiry.
func TestDeviceCookieAttributes(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, behindProxy)
	const email, phone, pw = "ann@example.com", "+15555555501", "correct horse battery"
	up := h.signUp(email, pw, nil)
	require.Nil(t, setCookie(t, up.header, deviceCookie), "no session, no cookie")
	g := h.grant(h.follow(h.link(email)).Get("access_token"))
	c := setCookie(t, g.header, deviceCookie)
	require.NotNil(t, c, "a confirmation's grant starts a session")
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteStrictMode, c.SameSite)
	require.Equal(t, "/", c.Path)
	require.Empty(t, c.Domain)
	require.Equal(t, 365*24*60*60, c.MaxAge)
	require.False(t, c.Secure, "PublicURL is http")

	require.Nil(t, setCookie(t, h.signIn(email, "a wrong password").header, deviceCookie), "a failure sets none")
	v := &visitor{h: h, ip: "203.0.113.9", device: c.Value}
	h.clock.Advance(time.Hour)
	again := v.signIn(email, pw)
	require.Equal(t, http.StatusOK, again.status)
	v.keep(again)
	before, after := strings.Split(c.Value, "."), strings.Split(v.device, ".")
	require.Equal(t, before[0], after[0], "the same device")
	require.NotEqual(t, before[2], after[2], "a year from this sign-in")

	// The phone routes that start a session set it too.
	su := h.signUpPhone(phone, pw, nil)
	require.Equal(t, http.StatusOK, su.status, "%s", su.raw)
	require.Nil(t, setCookie(t, su.header, deviceCookie))
	require.NotNil(t, setCookie(t, h.post(phoneQuery("verify-phone", phone, h.code(phone)), nil, "").header, deviceCookie))
	require.NotNil(t, setCookie(t, h.signInPhone(phone, pw).header, deviceCookie))
	h.clock.Advance(time.Minute) // past CodeResendGap
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phone, ""), nil, "").status)
	require.NotNil(t, setCookie(t, h.post(phoneQuery("signin-code", phone, h.code(phone)), nil, "").header, deviceCookie))

	t.Run("https", func(t *testing.T) {
		t.Parallel()
		cfg := validConfig()
		cfg.EmailConfirmation = authkit.Off
		kit, err := authkit.New(cfg)
		require.NoError(t, err)
		r := httptest.NewRequest(http.MethodPost, api+"signup-email", strings.NewReader(`{"email":"ann@example.com","password":"correct horse battery"}`))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c := setCookie(t, rec.Header(), "__Host-authkit_device")
		require.NotNil(t, c, "%v", rec.Header())
		require.True(t, c.Secure)
		require.True(t, c.HttpOnly)
		require.Equal(t, "/", c.Path)
		require.Empty(t, c.Domain)
		require.Equal(t, http.SameSiteStrictMode, c.SameSite)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, kit.Close(ctx))
	})
}

// SECURITY 57, finding 4 for phones: 4 send-code requests used to use up
// the number's texts for a day, because SMSPerNumber counted requests. Now
// it counts the texts that go out, per network: an attacker who asks for
// codes to the owner's number, at once or one a minute, spends his own
// network's allowance, and the owner still gets a code and signs in.
func TestAttackerCannotStopOwnersCode(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, behindProxy)
	const phone, pw = "+15555555501", "correct horse battery"
	h.phoneUser(phone, pw)
	h.clock.Advance(time.Minute) // past the gap after the sign-up's code

	attacker := &visitor{h: h, ip: "198.51.100.7"}
	for range 4 {
		require.Equal(t, http.StatusOK, attacker.post(phoneQuery("send-code", phone, ""), nil).status)
	}
	for range 6 { // SMSPerIP lets his address ask 10 a day
		h.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, attacker.post(phoneQuery("send-code", phone, ""), nil).status)
	}
	require.Equal(t, 1+5, texts(h)[phone], "the sign-up's code, then his network's 5: the 4 asked at once texted once")
	for range 5 {
		h.mail(phone) // the codes he asked for, which he cannot read
	}

	h.clock.Advance(time.Minute)
	owner := &visitor{h: h, ip: "203.0.113.9"}
	require.Equal(t, http.StatusOK, owner.post(phoneQuery("send-code", phone, ""), nil).status)
	a := owner.post(phoneQuery("signin-code", phone, h.code(phone)), nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.NotEmpty(t, a.token())
}

// SECURITY 57: the sends to one address from every network together stop
// at five times EmailsPerAddress, silently: many networks cannot mail
// anyone without bound.
func TestSendCapsCeiling(t *testing.T) {
	t.Parallel()
	h := newHarness(t, behindProxy, func(c *authkit.Config) {
		c.Limits.EmailsPerAddress = authkit.Rate{Max: 1, Per: 24 * time.Hour}
	})
	const email = "ann@example.com"
	h.confirmedUser(email, "correct horse battery")
	var answers []string
	for i := range 7 {
		h.clock.Advance(time.Minute)
		v := &visitor{h: h, ip: "198.51." + strconv.Itoa(i) + ".7"}
		a := v.post(api+"send-reset?email="+email, nil)
		require.Equal(t, http.StatusOK, a.status)
		answers = append(answers, string(a.raw))
		h.settle()
	}
	for _, a := range answers {
		require.Equal(t, answers[0], a)
	}
	for range 5 {
		h.mail(email)
	}
	h.noMail(email)
}

// SECURITY 58, finding 13: failures counted per account told which email
// and which number share one (10 failures on the email, and the number
// got 429). Counted per identifier, the failures at one say nothing of the
// other: the account's number answers as another account's number does,
// from the same IP, under the per-source limit and under the ceiling.
func TestFailuresDoNotLinkEmailAndPhone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		limits func(*authkit.Config)
	}{
		{"per source", func(*authkit.Config) {}},
		{"ceiling", func(c *authkit.Config) {
			c.Limits.FailedSignIns = off
			c.Limits.FailedSignInsPerAccount = authkit.Rate{Max: 10, Per: 15 * time.Minute}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newPhoneHarness(t, c.limits, func(c *authkit.Config) { c.Limits.PerIP = off })
			const email, phone, other, pw = "ann@example.com", "+15555555501", "+15555555502", "correct horse battery"
			h.confirmedUser(email, pw)
			u, err := h.store.UserByEmail(context.Background(), email)
			require.NoError(t, err)
			verified, number := true, phone
			_, err = h.store.UpdateUser(context.Background(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{Phone: &number, PhoneVerified: &verified}})
			require.NoError(t, err)
			h.phoneUser(other, pw)

			// The email, locked: the account's number answers as the
			// other account's does, and the right password signs in.
			for range 10 {
				requireStatusCode(t, h.signIn(email, "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
			}
			requireLimited(t, h.signIn(email, pw), windowLeft)
			mine, theirs := h.signInPhone(phone, "a wrong password"), h.signInPhone(other, "a wrong password")
			requireStatusCode(t, mine, http.StatusUnauthorized, "invalid_credentials")
			require.Equal(t, string(theirs.raw), string(mine.raw))
			require.Equal(t, http.StatusOK, h.signInPhone(phone, pw).status)

			// And the other way round, with a fresh window.
			h.clock.Advance(655 * time.Second)
			for range 10 {
				requireStatusCode(t, h.signInPhone(phone, "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
			}
			requireLimited(t, h.signInPhone(phone, pw), "900")
			requireStatusCode(t, h.signIn(email, "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
			require.Equal(t, http.StatusOK, h.signIn(email, pw).status)
			// Codes at the number count with its passwords, not the email's.
			requireLimited(t, h.post(phoneQuery("signin-code", phone, "123456"), nil, ""), "900")
		})
	}
}
