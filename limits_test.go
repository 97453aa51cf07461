package authkit_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/redislimit"
)

// The harness clock starts at 03:04:05: the 15-minute window of the
// default limits ends at 03:15:00, 655 seconds later.
const windowLeft = "655"

// requireLimited checks a 429 answer: its code, Retry-After and
// details.retryAfter.
func requireLimited(t *testing.T, a answer, retryAfter string) {
	t.Helper()
	requireStatusCode(t, a, http.StatusTooManyRequests, "too_many_requests")
	require.Equal(t, retryAfter, a.header.Get("Retry-After"), "%s", a.raw)
	n, err := strconv.Atoi(retryAfter)
	require.NoError(t, err)
	require.Equal(t, float64(n), answerDetails(t, a)["retryAfter"], "%s", a.raw)
}

// SECURITY 9, and the "done when": 40 wrong passwords from one
// client are answered 429 long before the 40th; while limited even the
// right password is, from that client; once the window ends it works
// again.
func TestFailedSignInsLimitTheAccount(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const email, pw = "ann@example.com", "correct horse battery"
	h.confirmedUser(email, pw)
	limitedAt := 0
	for i := 1; i <= 40; i++ {
		a := h.signIn(email, "wrong password "+strconv.Itoa(i))
		if a.status == http.StatusTooManyRequests {
			requireLimited(t, a, windowLeft)
			limitedAt = i
			break
		}
		requireStatusCode(t, a, http.StatusUnauthorized, "invalid_credentials")
	}
	require.Equal(t, 11, limitedAt, "10 failures per 15 minutes, then 429")
	requireLimited(t, h.signIn(email, pw), windowLeft)

	h.clock.Advance(655 * time.Second)
	require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "the window ended")
}

// SECURITY 9: a success clears the count.
func TestSuccessfulSignInClearsFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const email, pw = "ann@example.com", "correct horse battery"
	h.confirmedUser(email, pw)
	for range 9 {
		require.Equal(t, http.StatusUnauthorized, h.signIn(email, "a wrong password").status)
	}
	require.Equal(t, http.StatusOK, h.signIn(email, pw).status)
	for range 10 {
		require.Equal(t, http.StatusUnauthorized, h.signIn(email, "a wrong password").status, "the count started again")
	}
	requireLimited(t, h.signIn(email, pw), windowLeft)
}

// SECURITY 6 and 9: a limited sign-in answers the same bytes for an
// account and for an email or number that has none.
func TestLimitedSignInAnswersAlikeForUnknownAccounts(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Limits.PerIP = off })
	h.confirmedUser("ann@example.com", "correct horse battery")
	h.phoneUser("+15555555501", "correct horse battery")
	for _, c := range []struct {
		name           string
		known, unknown func() answer
	}{
		{"email",
			func() answer { return h.signIn("ann@example.com", "a wrong password") },
			func() answer { return h.signIn("nobody@example.com", "a wrong password") }},
		{"phone",
			func() answer { return h.signInPhone("+15555555501", "a wrong password") },
			func() answer { return h.signInPhone("+15555555599", "a wrong password") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 10 {
				k, u := c.known(), c.unknown()
				require.Equal(t, http.StatusUnauthorized, k.status)
				require.Equal(t, string(k.raw), string(u.raw))
			}
			k, u := c.known(), c.unknown()
			requireLimited(t, k, windowLeft)
			require.Equal(t, string(k.raw), string(u.raw), "the same 429 for both")
			require.Equal(t, k.header.Get("Retry-After"), u.header.Get("Retry-After"))
		})
	}
}

// SECURITY 9: a limited account still recovers by magic link or reset,
// and each clears the count.
func TestLimitedAccountRecoversByLinks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.Limits.PerIP = off })
	const email, pw = "ann@example.com", "correct horse battery"
	h.confirmedUser(email, pw)
	lock := func() {
		t.Helper()
		for range 10 {
			require.Equal(t, http.StatusUnauthorized, h.signIn(email, "a wrong password").status)
		}
		requireLimited(t, h.signIn(email, pw), windowLeft)
	}

	lock()
	require.Equal(t, http.StatusOK, h.post(api+"send-magic?email="+email, nil, "").status)
	q := h.follow(h.link(email))
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "a magic link signs in while limited: %s", g.raw)
	require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "the magic link cleared the count")

	lock()
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email="+email, nil, "").status)
	q = h.follow(h.link(email))
	a := h.post(api+"reset-pwd?key="+q.Get("access_token"), map[string]any{"newPassword": "a brand new password"}, "")
	require.Equal(t, http.StatusOK, a.status, "a reset works while limited: %s", a.raw)
	require.Equal(t, http.StatusOK, h.signIn(email, "a brand new password").status, "the reset cleared the count")
}

// SECURITY 9: a reset by texted code works while limited, and clears the
// count.
func TestLimitedPhoneAccountRecoversByCode(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	const phone, pw = "+15555555501", "correct horse battery"
	h.phoneUser(phone, pw)
	for range 10 {
		require.Equal(t, http.StatusUnauthorized, h.signInPhone(phone, "a wrong password").status)
	}
	requireLimited(t, h.signInPhone(phone, pw), windowLeft)

	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", phone, ""), nil, "").status)
	a := h.post(phoneQuery("reset-pwd-code", phone, h.code(phone)), map[string]any{"newPassword": "a brand new password"}, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, http.StatusOK, h.signInPhone(phone, "a brand new password").status)
}

// SECURITY 5: the current password given to change a password, an email
// or a number counts toward FailedSignIns, by the account (not its email
// or number): a stolen session becomes no password oracle, and cannot
// lock its owner's sign-ins either.
func TestCurrentPasswordFailuresCount(t *testing.T) {
	t.Parallel()
	// AccountChanges off: eleven changes in a row would pass it too, and
	// this test is about FailedSignIns.
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Limits.AccountChanges = authkit.Rate{Max: -1} })
	const email, pw = "ann@example.com", "correct horse battery"
	tok := h.confirmedUser(email, pw)
	for i := range 10 {
		var a answer
		switch i % 3 {
		case 0:
			a = h.post(api+"change-pwd", map[string]any{"oldPassword": "a wrong password", "newPassword": "a brand new password"}, tok)
		case 1:
			a = h.post(api+"change-email", map[string]any{"currentPassword": "a wrong password", "newEmail": "new@example.com"}, tok)
		case 2:
			a = h.post(api+"change-phone", map[string]any{"currentPassword": "a wrong password", "newPhone": "+15555555502"}, tok)
		}
		requireStatusCode(t, a, http.StatusForbidden, "wrong_password")
	}
	requireLimited(t, h.post(api+"change-pwd", map[string]any{"oldPassword": pw, "newPassword": "a brand new password"}, tok), windowLeft)
	require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "the account's email is another identifier")
	h.clock.Advance(655 * time.Second)
	require.Equal(t, http.StatusOK, h.post(api+"change-pwd", map[string]any{"oldPassword": pw, "newPassword": "a brand new password"}, tok).status)
}

// SECURITY 9: wrong codes count toward the number's limit, and a number
// without an account is limited alike.
func TestCodeGuessesCount(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Limits.FailedSignIns = authkit.Rate{Max: 3, Per: time.Hour} })
	const known, unknown = "+15555555501", "+15555555599"
	h.phoneUser(known, "correct horse battery")
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", known, ""), nil, "").status)
	code := h.code(known)
	for range 3 {
		k := h.post(phoneQuery("signin-code", known, wrongCode(code)), nil, "")
		u := h.post(phoneQuery("signin-code", unknown, wrongCode(code)), nil, "")
		requireStatusCode(t, k, http.StatusBadRequest, "invalid_code")
		require.Equal(t, string(k.raw), string(u.raw))
	}
	// 03:04:05 in a window of an hour: 3355 seconds left.
	k := h.post(phoneQuery("signin-code", known, code), nil, "")
	requireLimited(t, k, "3355")
	require.Equal(t, string(k.raw), string(h.post(phoneQuery("signin-code", unknown, code), nil, "").raw))
	requireLimited(t, h.post(phoneQuery("verify-phone", known, code), nil, ""), "3355")
}

// SECURITY 10: one client IP is limited across identifiers; its send
// routes are counted apart, so that its failed sign-ins do not spend its
// recovery.
func TestPerIPLimitAcrossIdentifiers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for i := range 30 {
		a := h.signIn("user"+strconv.Itoa(i)+"@example.com", "a wrong password")
		requireStatusCode(t, a, http.StatusUnauthorized, "invalid_credentials")
	}
	requireLimited(t, h.signIn("user30@example.com", "a wrong password"), windowLeft)
	requireLimited(t, h.signUp("b@example.com", "correct horse battery", nil), windowLeft)
	// The send routes share a count of their own, across identifiers.
	sends := []string{"send-magic?email=a@example.com", "send-reset?email=b@example.com", "resend?email=c@example.com"}
	for i := range 30 {
		require.Equal(t, http.StatusOK, h.post(api+sends[i%3], nil, "").status, "send %d", i+1)
	}
	for _, path := range sends {
		requireLimited(t, h.post(api+path, nil, ""), windowLeft)
	}
	// Those of session holders and links are not limited by it.
	require.Equal(t, http.StatusBadRequest, h.get(api+"grant?key=nothing", "").status)
}

// SECURITY 10: X-Forwarded-For is believed only from a trusted proxy.
func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	from := func(h *harness, xff, email string) answer {
		h.t.Helper()
		return h.do(req{method: http.MethodPost, path: api + "signin-email",
			body:   map[string]any{"email": email, "password": "a wrong password"},
			header: map[string]string{"X-Forwarded-For": xff}})
	}

	t.Run("untrusted peer", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		for i := range 30 {
			a := from(h, "198.51.100."+strconv.Itoa(i), "user"+strconv.Itoa(i)+"@example.com")
			require.Equal(t, http.StatusUnauthorized, a.status)
		}
		requireLimited(t, from(h, "203.0.113.1", "other@example.com"), windowLeft)
	})

	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(c *authkit.Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		for i := range 30 {
			a := from(h, "198.51.100.1", "user"+strconv.Itoa(i)+"@example.com")
			require.Equal(t, http.StatusUnauthorized, a.status)
		}
		requireLimited(t, from(h, "198.51.100.1", "other@example.com"), windowLeft)
		requireLimited(t, from(h, "203.0.113.66, 198.51.100.1", "other@example.com"), windowLeft)
		require.Equal(t, http.StatusUnauthorized, from(h, "198.51.100.2", "other@example.com").status, "another client")

		// The session records the client, not the proxy.
		require.Equal(t, http.StatusOK, h.signUp("sue@example.com", "correct horse battery", nil).status)
		confirmed := h.grant(h.follow(h.link("sue@example.com")).Get("access_token"))
		require.Equal(t, http.StatusOK, h.post(api+"signout", nil, confirmed.token()).status)
		tok := h.do(req{method: http.MethodPost, path: api + "signin-email",
			body:   map[string]any{"email": "sue@example.com", "password": "correct horse battery"},
			header: map[string]string{"X-Forwarded-For": "192.0.2.44"}}).token()
		require.NotEmpty(t, tok)
		u, err := h.store.UserByEmail(context.Background(), "sue@example.com")
		require.NoError(t, err)
		list, err := h.store.ListSessions(context.Background(), u.ID)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.Equal(t, "192.0.2.44", list[0].IP)
	})
}

// SECURITY 8 and 57: per address a message of a kind at most once a
// minute, and 10 requests that mail it a day from one network; past either
// the answer is the same 200 and nothing is sent, for an address with an
// account as for one without.
func TestEmailSendLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.Limits.PerIP = off })
	const known, unknown = "ann@example.com", "nobody@example.com"
	h.confirmedUser(known, "correct horse battery")

	send := func(route, email string) answer {
		t.Helper()
		return h.post(api+route+"?email="+email, nil, "")
	}
	// Three requests for each address: the same answers, and the known
	// one gets a magic link and a reset link, but no second magic link.
	var under string
	for _, route := range []string{"send-magic", "send-magic", "send-reset"} {
		k, u := send(route, known), send(route, unknown)
		require.Equal(t, http.StatusOK, k.status)
		require.Equal(t, string(k.raw), string(u.raw))
		under = string(k.raw)
	}
	require.Contains(t, h.mail(known).Body, "/_auth/verify?key=")
	require.Contains(t, h.mail(known).Body, "/_auth/verify?key=")
	h.noMail(known)

	for i := 4; i <= 10; i++ {
		h.clock.Advance(time.Minute)
		k, u := send("send-magic", known), send("send-magic", unknown)
		require.Equal(t, http.StatusOK, k.status, "request %d", i)
		require.Equal(t, string(k.raw), string(u.raw))
		h.mail(known)
	}
	h.clock.Advance(time.Minute)
	for _, route := range []string{"send-reset", "send-magic"} {
		k, u := send(route, known), send(route, unknown)
		require.Equal(t, http.StatusOK, k.status, "past the cap, the same answer: %s", k.raw)
		require.Equal(t, under, string(k.raw), "byte for byte")
		require.Equal(t, under, string(u.raw))
	}
	h.noMail(known)
	h.noMail(unknown)

	h.clock.Advance(24 * time.Hour)
	require.Equal(t, http.StatusOK, send("send-magic", known).status)
	h.mail(known)
}

// changeEmail counts its new address, so one account cannot fill another
// mailbox with links; past the cap it answers as before and sends nothing.
func TestChangeEmailCountsTheNewAddress(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) {
		c.Limits.PerIP = off
		c.Limits.EmailsPerAddress = authkit.Rate{Max: 2, Per: 24 * time.Hour}
	})
	const pw = "correct horse battery"
	ann, bob := h.confirmedUser("ann@example.com", pw), h.confirmedUser("bob@example.com", pw)
	change := func(tok string) answer {
		return h.post(api+"change-email", map[string]any{"currentPassword": pw, "newEmail": "victim@example.com"}, tok)
	}
	first := change(ann)
	require.Equal(t, http.StatusOK, first.status)
	h.mail("victim@example.com")
	require.Equal(t, http.StatusOK, change(ann).status)
	h.mail("victim@example.com")
	third := change(ann)
	require.Equal(t, http.StatusOK, third.status)
	require.Equal(t, string(first.raw), string(third.raw), "the same answer past the cap")
	require.Equal(t, http.StatusOK, change(bob).status, "one count per address, whoever asks")
	h.noMail("victim@example.com")
}

// knownNumbers makes confirmed phone accounts directly in the store, so no
// text was asked for them yet.
func knownNumbers(t *testing.T, h *harness, phones ...string) {
	t.Helper()
	now := h.clock.Now()
	for i, p := range phones {
		id := "0123456789abcdef0123456" + strconv.Itoa(i)
		require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
			ID: id, Provider: "altogic", ProviderUserID: id, Phone: p, PhoneVerified: true, SignUpAt: now, LastLoginAt: now,
		}))
	}
}

// texts counts the texts each number got.
func texts(h *harness) map[string]int {
	h.settle()
	got := map[string]int{}
	for _, m := range h.box.Messages() {
		if m.Kind == outbox.KindSMS {
			got[m.To]++
		}
	}
	return got
}

// SECURITY 11 and 57: per number at most SMSPerNumber texts a day from one
// network, counting only texts that go out; past it the answer is the same
// 200 and nothing is texted, for a number with an account as for one
// without.
func TestSMSPerNumber(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Limits.PerIP, c.Limits.SMSPerIP = off, off })
	const known, unknown = "+15555555501", "+15555555599"
	knownNumbers(t, h, known)
	send := func(route string) (answer, answer) {
		return h.post(phoneQuery(route, known, ""), nil, ""), h.post(phoneQuery(route, unknown, ""), nil, "")
	}
	// Asked again within CodeResendGap, and resend-code for a confirmed
	// number, text nothing and count nothing: 5 texts in all.
	routes := []string{"send-code", "send-code", "send-reset-code", "resend-code", "send-code", "send-reset-code", "send-code"}
	var under string
	for i, route := range routes {
		k, u := send(route)
		require.Equal(t, http.StatusOK, k.status, "%s", k.raw)
		require.Equal(t, string(k.raw), string(u.raw))
		under = string(k.raw)
		h.settle() // the code is made at the time of the request
		if i > 0 {
			h.clock.Advance(time.Minute) // past CodeResendGap
		}
	}
	require.Equal(t, map[string]int{known: 5}, texts(h))
	for _, route := range []string{"send-code", "send-reset-code"} {
		k, u := send(route)
		require.Equal(t, under, string(k.raw), "past the cap, the same answer")
		require.Equal(t, under, string(u.raw))
		h.settle()
		h.clock.Advance(time.Minute)
	}
	require.Equal(t, map[string]int{known: 5}, texts(h), "nothing more")
	h.clock.Advance(24 * time.Hour)
	k, _ := send("send-code")
	require.Equal(t, http.StatusOK, k.status)
	require.Equal(t, 6, texts(h)[known], "a new day")
}

// SECURITY 11: per client IP at most SMSPerIP texts asked a day.
func TestSMSPerIP(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.Limits.PerIP = off
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	from := func(ip, phone string) answer {
		return h.do(req{method: http.MethodPost, path: phoneQuery("send-code", phone, ""), header: map[string]string{"X-Forwarded-For": ip}})
	}
	for i := range 10 {
		require.Equal(t, http.StatusOK, from("198.51.100.1", "+155555555"+strconv.Itoa(10+i)).status)
	}
	require.Equal(t, http.StatusTooManyRequests, from("198.51.100.1", "+15555555520").status)
	require.Equal(t, http.StatusTooManyRequests, h.do(req{method: http.MethodPost, path: api + "signup-phone",
		body:   map[string]any{"phone": "+15555555521", "password": "correct horse battery"},
		header: map[string]string{"X-Forwarded-For": "198.51.100.1"}}).status, "sign-up texts too")
	_, err := h.store.UserByPhone(context.Background(), "+15555555521")
	require.ErrorIs(t, err, authkit.ErrNotFound, "a refused sign-up makes no account")
	require.Equal(t, http.StatusOK, from("198.51.100.2", "+15555555520").status, "another client")
}

// SECURITY 11: an optional budget of texts in all; past it nothing is
// texted, the answer does not change, and the first drop is an error in
// the log.
func TestSMSBudget(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.Limits.SMSBudget = authkit.Rate{Max: 2, Per: time.Hour}
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	phones := []string{"+15555555501", "+15555555502", "+15555555503"}
	knownNumbers(t, h, phones...)
	var raws []string
	for _, p := range phones {
		a := h.post(phoneQuery("send-code", p, ""), nil, "")
		require.Equal(t, http.StatusOK, a.status)
		raws = append(raws, string(a.raw))
		h.settle() // one after the other, so that the third is the one dropped
	}
	require.Equal(t, raws[0], raws[2])
	require.Equal(t, map[string]int{phones[0]: 1, phones[1]: 1}, texts(h))
	require.Contains(t, logs.String(), `"level":"ERROR","msg":"authkit: text not sent: Limits.SMSBudget is spent"`)

	h.clock.Advance(time.Hour)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phones[2], ""), nil, "").status)
	require.Equal(t, 1, texts(h)[phones[2]], "a new hour, a new budget")
}

// SECURITY 11: texts go only to the allowed countries, and a refused
// destination answers like an allowed one.
func TestSMSCountries(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.Limits.SMSCountries = []string{"gb"} })
	const us, gb = "+15555555501", "+447700900123"
	knownNumbers(t, h, us, gb)
	for _, route := range []string{"send-code", "send-reset-code"} {
		a, b := h.post(phoneQuery(route, us, ""), nil, ""), h.post(phoneQuery(route, gb, ""), nil, "")
		require.Equal(t, http.StatusOK, a.status)
		require.Equal(t, string(a.raw), string(b.raw))
		h.settle()
		h.clock.Advance(time.Minute)
	}
	// Sign-up answers alike too, and texts nothing.
	up := h.signUpPhone("+15555555502", "correct horse battery", "Ann")
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	require.Nil(t, up.body["session"])
	require.Equal(t, map[string]int{gb: 2}, texts(h))
}

// Retry-After is the window's end minus now, rounded up to whole seconds,
// and the app can read it across origins.
func TestRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.Limits.FailedSignIns = authkit.Rate{Max: 1, Per: time.Minute} })
	h.clock.Advance(400 * time.Millisecond) // 03:04:05.4
	require.Equal(t, http.StatusUnauthorized, h.signIn("ann@example.com", "a wrong password").status)
	a := h.do(req{method: http.MethodPost, path: api + "signin-email",
		body:   map[string]any{"email": "ann@example.com", "password": "a wrong password"},
		header: map[string]string{"Origin": "https://app.example.com"}})
	requireLimited(t, a, "55") // 54.6 s to 03:05:00, rounded up
	require.Equal(t, "Retry-After", a.header.Get("Access-Control-Expose-Headers"))
	h.clock.Advance(54*time.Second + 599*time.Millisecond)
	requireLimited(t, h.signIn("ann@example.com", "a wrong password"), "1")
	h.clock.Advance(time.Millisecond)
	require.Equal(t, http.StatusUnauthorized, h.signIn("ann@example.com", "a wrong password").status)
}

// SECURITY 36: a lockout is logged with who and from where, once per
// window, and never with the email or a password.
func TestLimitEventsAreLogged(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := newHarness(t, func(c *authkit.Config) { c.Logger = timelessLogger(&logs) })
	const email, pw = "wes@example.com", "correct horse battery"
	h.confirmedUser(email, pw)
	for range 12 {
		h.signIn(email, "a wrong password")
	}
	u, err := h.store.UserByEmail(context.Background(), email)
	require.NoError(t, err)
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"authkit: too many requests"`) {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2)
	require.Contains(t, lines[0], `"level":"WARN"`)
	require.Contains(t, lines[0], `"limit":"FailedSignIns"`)
	require.Contains(t, lines[0], `"user":"`+u.ID+`"`)
	require.Contains(t, lines[0], `"ip":"127.0.0.1"`)
	require.Contains(t, lines[0], `"userAgent":"`+chromeUA+`"`)
	require.Contains(t, lines[1], `"level":"DEBUG"`, "later refusals in the window are quieter")
	for _, secret := range []string{email, pw, "a wrong password"} {
		require.NotContains(t, logs.String(), secret)
	}
}

func TestConfigLimits(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*authkit.Config){
		"Max 0 with a Per":        func(c *authkit.Config) { c.Limits.PerIP = authkit.Rate{Per: time.Minute} },
		"Per 0 with a Max":        func(c *authkit.Config) { c.Limits.PerIP = authkit.Rate{Max: 3} },
		"Per under a second":      func(c *authkit.Config) { c.Limits.FailedSignIns = authkit.Rate{Max: 3, Per: 500 * time.Millisecond} },
		"Per not in milliseconds": func(c *authkit.Config) { c.Limits.SMSBudget = authkit.Rate{Max: 3, Per: time.Second + 1} },
		"unknown country":         func(c *authkit.Config) { c.Limits.SMSCountries = []string{"XX"} },
		"invalid proxy prefix":    func(c *authkit.Config) { c.TrustedProxies = []netip.Prefix{{}} },
		"negative MaxPendingSends": func(c *authkit.Config) {
			c.MaxPendingSends = -1
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			edit(&cfg)
			_, err := authkit.New(cfg)
			require.Error(t, err)
		})
	}

	t.Run("a Store that is no Limiter", func(t *testing.T) {
		t.Parallel()
		cfg := validConfig()
		cfg.Store = storeOnly{cfg.Store}
		_, err := authkit.New(cfg)
		require.Error(t, err)
		for _, name := range []string{"Config.Limiter", "memstore", "sqlstore", "redislimit"} {
			require.Contains(t, err.Error(), name)
		}
		cfg.Limiter = memstore.New()
		_, err = authkit.New(cfg)
		require.NoError(t, err, "with a Limiter of its own")
		cfg.Limiter = nil
		noLimits(&cfg)
		_, err = authkit.New(cfg)
		require.NoError(t, err, "with every limit off, nothing to count")
	})
}

// errLimiter fails every count, as a Redis that is down.
type errLimiter struct{}

func (errLimiter) Hit(context.Context, string, time.Duration, time.Time) (int64, time.Time, error) {
	return 0, time.Time{}, errors.New("connection refused")
}

func (errLimiter) Reset(context.Context, string) error { return errors.New("connection refused") }

// A limiter that fails fails closed: the request is refused with a 503
// and Retry-After, never let through uncounted.
func TestLimiterFailureFailsClosed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.Limiter = errLimiter{} })
	status, retry, body, _ := timedCall(t, http.MethodPost, h.srv.URL+api+"signin-email", "",
		`{"email":"ann@example.com","password":"correct horse battery"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.Contains(t, body, `"service_unavailable"`)
	require.Equal(t, "5", retry)
}

// downLimiter counts in memory until it is down; then it fails every
// count, as a Redis that is down.
type downLimiter struct {
	*memstore.Store
	down atomic.Bool
}

func (l *downLimiter) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	if l.down.Load() {
		return errLimiter{}.Hit(ctx, key, window, now)
	}
	return l.Store.Hit(ctx, key, window, now)
}

func (l *downLimiter) Reset(ctx context.Context, key string) error {
	if l.down.Load() {
		return errLimiter{}.Reset(ctx, key)
	}
	return l.Store.Reset(ctx, key)
}

// limiterDownHarness is a phone harness whose limiter goes down when the
// test says, under policy down; its logs go to logs. It has an account
// with ann@example.com and one with +15555555501, both with the password
// "correct horse battery", made while the limiter was up.
func limiterDownHarness(t *testing.T, down authkit.LimiterDown, logs *syncBuffer) (*harness, *downLimiter) {
	t.Helper()
	lim := &downLimiter{Store: memstore.New()}
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.Limiter = lim
		c.LimiterDown = down
		c.Logger = timelessLogger(logs)
	})
	h.confirmedUser("ann@example.com", "correct horse battery")
	h.phoneUser("+15555555501", "correct horse battery")
	lim.down.Store(true)
	return h, lim
}

// requireUnavailable checks a 503 service_unavailable with Retry-After.
func requireUnavailable(t *testing.T, h *harness, path, body string) {
	t.Helper()
	status, retry, raw, _ := timedCall(t, http.MethodPost, h.srv.URL+path, "", body)
	require.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", path, raw)
	require.Contains(t, raw, `"service_unavailable"`, path)
	require.Equal(t, "5", retry, path)
}

const (
	annDownSignIn  = `{"email":"ann@example.com","password":"correct horse battery"}`
	annPhoneSignIn = `{"phone":"+15555555501","password":"correct horse battery"}`
	uncounted      = "the limiter failed: a sign-in goes through uncounted"
)

// While the limiter is down, the routes that send fail closed whatever
// the policy of sign-ins and sign-ups: 503 with Retry-After, and nothing
// is sent.
func TestLimiterDownSendsFailClosed(t *testing.T) {
	t.Parallel()
	for name, down := range map[string]authkit.LimiterDown{
		"default":   {},
		"fail open": {SignIn: authkit.FailOpen, SignUp: authkit.FailOpen},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h, _ := limiterDownHarness(t, down, &syncBuffer{})
			for _, path := range []string{
				api + "send-reset?email=ann@example.com",
				api + "send-magic?email=ann@example.com",
				api + "resend?email=bob@example.com",
				phoneQuery("send-code", "+15555555501", ""),
				phoneQuery("send-reset-code", "+15555555501", ""),
			} {
				requireUnavailable(t, h, path, "")
			}
			h.noMail("ann@example.com")
			h.noMail("+15555555501")
		})
	}
}

// While the limiter is down, a sign-in answers 503 by default, the right
// password too.
func TestLimiterDownSignInFailsClosed(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h, _ := limiterDownHarness(t, authkit.LimiterDown{SignUp: authkit.FailOpen}, logs)
	requireUnavailable(t, h, api+"signin-email", annDownSignIn)
	requireUnavailable(t, h, api+"signin-phone", annPhoneSignIn)
	require.NotContains(t, logs.String(), uncounted)
}

// With LimiterDown.SignIn FailOpen, a sign-in goes through while the
// limiter is down, logged as an error each time: the right password signs
// in, and a wrong one is still wrong.
func TestLimiterDownSignInFailOpen(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	h, _ := limiterDownHarness(t, authkit.LimiterDown{SignIn: authkit.FailOpen}, logs)
	a := h.signIn("ann@example.com", "correct horse battery")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.NotEmpty(t, a.token())
	require.Contains(t, logs.String(), `"level":"ERROR","msg":"authkit: `+uncounted)
	p := h.post(api+"signin-phone", map[string]any{"phone": "+15555555501", "password": "correct horse battery"}, "")
	require.Equal(t, http.StatusOK, p.status, "%s", p.raw)
	for range 3 {
		w := h.signIn("ann@example.com", "wrong horse battery")
		requireStatusCode(t, w, http.StatusUnauthorized, "invalid_credentials")
		w = h.signIn("nobody@example.com", "correct horse battery")
		requireStatusCode(t, w, http.StatusUnauthorized, "invalid_credentials")
	}
	require.GreaterOrEqual(t, strings.Count(logs.String(), `"level":"ERROR","msg":"authkit: `+uncounted), 2+3*2,
		"each sign-in let through is logged")
	// Sign-ups keep their own policy.
	requireUnavailable(t, h, api+"signup-email", `{"email":"cy@example.com","password":"correct horse battery"}`)
}

// While the limiter is down, a sign-up answers 503 by default; with
// LimiterDown.SignUp FailOpen it goes through, logged as an error.
func TestLimiterDownSignUp(t *testing.T) {
	t.Parallel()
	body := `{"email":"cy@example.com","password":"correct horse battery"}`
	h, _ := limiterDownHarness(t, authkit.LimiterDown{SignIn: authkit.FailOpen}, &syncBuffer{})
	requireUnavailable(t, h, api+"signup-email", body)

	logs := &syncBuffer{}
	h, _ = limiterDownHarness(t, authkit.LimiterDown{SignUp: authkit.FailOpen}, logs)
	a := h.post(api+"signup-email", body, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Contains(t, logs.String(), `"level":"ERROR","msg":"authkit: the limiter failed: a sign-up goes through uncounted`)
	requireUnavailable(t, h, api+"signin-email", annDownSignIn)
}

// Config.LimiterDown takes only the policies there are.
func TestLimiterDownConfig(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.LimiterDown.SignIn = authkit.LimiterPolicy(7)
	_, err := authkit.New(cfg)
	require.ErrorContains(t, err, "LimiterDown.SignIn")
}

// A signed-in account cannot use change-email as a mail relay, an
// existence oracle or a hashing pump: its change requests, right password
// or wrong, stop at AccountChanges, before any hash or lookup. (Found by
// an adversarial review: 200 calls mailed 200 strangers, answered 409 for
// every registered address, and each cost an argon2id verify.)
func TestAccountChangesAreLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.Limits.PerIP = authkit.Rate{Max: -1} })
	const pw = "correct horse battery"
	tok := h.confirmedUser("mallory@example.com", pw)
	h.confirmedUser("known@example.com", pw)
	for i := range 10 {
		target := "stranger" + strconv.Itoa(i) + "@example.com"
		if i%2 == 1 {
			target = "known@example.com"
		}
		a := h.post(api+"change-email", map[string]any{"currentPassword": pw, "newEmail": target}, tok)
		require.Contains(t, []int{http.StatusOK, http.StatusConflict}, a.status, "%s", a.raw)
	}
	for _, target := range []string{"stranger10@example.com", "known@example.com"} {
		requireStatusCode(t, h.post(api+"change-email", map[string]any{"currentPassword": pw, "newEmail": target}, tok),
			http.StatusTooManyRequests, "too_many_requests")
	}
	requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": pw, "newPassword": "a brand new password"}, tok),
		http.StatusTooManyRequests, "too_many_requests")
	h.settle()
	mailed := 0
	for _, m := range h.box.Messages() {
		if strings.HasPrefix(m.To, "stranger") {
			mailed++
		}
	}
	require.Equal(t, 5, mailed, "the strangers asked for before the limit, and no more")
	require.Equal(t, http.StatusOK, h.signIn("mallory@example.com", pw).status, "signing in is not a change")
}

// The routes that change a credential count toward PerIP, like the other
// routes that hash.
func TestAccountChangesCountPerIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) {
		c.Limits.PerIP, c.Limits.AccountChanges = authkit.Rate{Max: 4, Per: time.Hour}, authkit.Rate{Max: -1}
	})
	tok := h.confirmedUser("ip@example.com", "correct horse battery") // its sign-up is the first of 4
	for range 3 {
		requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": "wrong password here", "newPassword": "a brand new password"}, tok),
			http.StatusForbidden, "wrong_password")
	}
	requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": "correct horse battery", "newPassword": "a brand new password"}, tok),
		http.StatusTooManyRequests, "too_many_requests")
}

// A Redis that is stopped (its port refuses connections) under
// redislimit gives each route the documented answer: the sends and, by
// default, the sign-ins 503 with Retry-After; with LimiterDown.SignIn
// FailOpen the right password signs in.
func TestStoppedRedis(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: a stopped Redis
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	for name, down := range map[string]authkit.LimiterDown{"default": {}, "sign-in fails open": {SignIn: authkit.FailOpen}} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) {
				c.Limiter, c.LimiterDown, c.Logger = redislimit.New(rdb, ""), down, discardLogger()
			})
			h.passwordUser("ann@example.com")
			requireUnavailable(t, h, api+"send-reset?email=ann@example.com", "")
			requireUnavailable(t, h, api+"signup-email", `{"email":"cy@example.com","password":"correct horse battery"}`)
			if down.SignIn == authkit.FailOpen {
				a := h.signIn("ann@example.com", inputPassword)
				require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
				requireStatusCode(t, h.signIn("ann@example.com", "wrong horse battery"), http.StatusUnauthorized, "invalid_credentials")
			} else {
				requireUnavailable(t, h, api+"signin-email", `{"email":"ann@example.com","password":"`+inputPassword+`"}`)
			}
			h.noMail("ann@example.com")
		})
	}
}
