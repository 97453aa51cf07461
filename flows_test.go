package authkit_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit"
)

func TestSignUpConfirmAndSignIn(t *testing.T) {
	h := newHarness(t)
	a := h.signUp("Ann@Example.com", "correct horse battery", "Ann")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Nil(t, a.body["session"], "no session while the email is unconfirmed")
	u := a.user()
	require.Equal(t, "ann@example.com", u["email"])
	require.Equal(t, false, u["emailVerified"])
	require.Equal(t, "altogic", u["provider"])
	require.Equal(t, u["_id"], u["providerUserId"])
	require.NotContains(t, u, "password")

	// Wrong password first: the unconfirmed state is told only to the owner.
	require.Equal(t, "invalid_credentials", h.signIn("ann@example.com", "wrong password!").code())
	early := h.signIn("ann@example.com", "correct horse battery")
	require.Equal(t, http.StatusForbidden, early.status)
	require.Equal(t, "email_not_verified", early.code())

	q := h.follow(h.link("ann@example.com"))
	require.Equal(t, "email-confirm", q.Get("action"))
	require.Equal(t, "200", q.Get("status"))
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, true, g.user()["emailVerified"])
	requireSessionShape(t, g.session())
	require.Equal(t, "invalid_token", h.grant(q.Get("access_token")).code(), "a grant key works once")

	in := h.signIn("ANN@example.com", "correct horse battery")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.NotEqual(t, g.token(), in.token(), "every sign-in gets a fresh token")
	me := h.get(api+"user", in.token())
	require.Equal(t, http.StatusOK, me.status)
	require.Equal(t, u["_id"], me.body["_id"])
}

// requireSessionShape checks a session as the seeds show it.
func requireSessionShape(t *testing.T, s map[string]any) {
	t.Helper()
	require.NotNil(t, s)
	for _, k := range []string{"userId", "token", "creationDtm"} {
		require.IsType(t, "", s[k], k)
		require.NotEmpty(t, s[k], k)
	}
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`, s["creationDtm"])
	require.Equal(t, []any{}, s["accessGroupKeys"])
	ua := s["userAgent"].(map[string]any)
	require.Equal(t, "Chrome", ua["family"])
	require.Equal(t, "99", ua["major"])
	require.Equal(t, "0", ua["minor"])
	require.Equal(t, "4844", ua["patch"])
	require.Equal(t, map[string]any{"family": "Mac OS X", "major": "10", "minor": "15", "patch": "7"}, ua["os"])
	dev := ua["device"].(map[string]any)
	for _, k := range []string{"family", "major", "minor", "patch"} {
		require.IsType(t, "", dev[k], k)
		require.NotEmpty(t, dev[k], k)
	}
}

func TestConfirmationOffSignsInAtOnce(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	a := h.signUp("bo@example.com", "correct horse battery", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	requireSessionShape(t, a.session())
	require.Equal(t, http.StatusOK, h.get(api+"user", a.token()).status)
	require.Equal(t, http.StatusOK, h.signIn("bo@example.com", "correct horse battery").status)
	h.noMail("bo@example.com")
}

func TestSignUpTwiceIsRefused(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, http.StatusOK, h.signUp("cy@example.com", "correct horse battery", nil).status)
	again := h.signUp("CY@example.com", "another good password", nil)
	require.Equal(t, http.StatusConflict, again.status)
	require.Equal(t, "email_taken", again.code())
}

func TestResendConfirmation(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, http.StatusOK, h.signUp("di@example.com", "correct horse battery", nil).status)
	first := h.link("di@example.com")
	require.Equal(t, http.StatusOK, h.post(api+"resend?email=di@example.com", nil, "").status)
	second := h.link("di@example.com")
	require.NotEqual(t, first, second)
	// The new link voids the old one.
	require.Equal(t, "invalid_token", h.follow(first).Get("error"))
	q := h.follow(second)
	require.Equal(t, http.StatusOK, h.grant(q.Get("access_token")).status)
	// Confirmed accounts get no more confirmations.
	require.Equal(t, http.StatusOK, h.post(api+"resend?email=di@example.com", nil, "").status)
	h.noMail("di@example.com")
}

func TestConfirmationLinkExpires(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, http.StatusOK, h.signUp("ed@example.com", "correct horse battery", nil).status)
	link := h.link("ed@example.com")
	h.clock.Advance(24*time.Hour + time.Second)
	q := h.follow(link)
	require.Equal(t, "400", q.Get("status"))
	require.Equal(t, "invalid_token", q.Get("error"))
	require.Empty(t, q.Get("access_token"))
}

func TestMagicLink(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("fay@example.com", "correct horse battery")
	require.Equal(t, http.StatusOK, h.post(api+"send-magic?email=fay@example.com", nil, "").status)
	link := h.link("fay@example.com")

	// A mail scanner opens the link first: that spends nothing.
	scanner := h.follow(link)
	require.Equal(t, "magic-link", scanner.Get("action"))
	q := h.follow(link)
	require.Equal(t, "magic-link", q.Get("action"))
	require.Equal(t, "200", q.Get("status"))
	require.Equal(t, "invalid_token", h.grant(scanner.Get("access_token")).code(), "a newer grant voids the older")

	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, "fay@example.com", g.user()["email"])
	requireSessionShape(t, g.session())

	// The link worked once.
	require.Equal(t, "invalid_token", h.follow(link).Get("error"))
}

func TestMagicLinkExpiresAndGrantExpires(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("gus@example.com", "correct horse battery")
	h.post(api+"send-magic?email=gus@example.com", nil, "")
	link := h.link("gus@example.com")
	q := h.follow(link)
	h.clock.Advance(2*time.Minute + time.Second)
	require.Equal(t, "invalid_token", h.grant(q.Get("access_token")).code(), "grant keys last 2 minutes")
	h.clock.Advance(13 * time.Minute)
	require.Equal(t, "invalid_token", h.follow(link).Get("error"), "magic links last 15 minutes")
}

func TestMagicLinkOnlyForConfirmedAccounts(t *testing.T) {
	h := newHarness(t)
	require.Equal(t, http.StatusOK, h.signUp("hal@example.com", "correct horse battery", nil).status)
	h.link("hal@example.com") // the confirmation
	unconfirmed := h.post(api+"send-magic?email=hal@example.com", nil, "")
	unknown := h.post(api+"send-magic?email=nobody@example.com", nil, "")
	require.Equal(t, http.StatusOK, unknown.status)
	require.Equal(t, unknown.raw, unconfirmed.raw)
	h.noMail("hal@example.com")
	h.noMail("nobody@example.com")
}

func TestResetPassword(t *testing.T) {
	h := newHarness(t)
	first := h.confirmedUser("ivy@example.com", "correct horse battery")
	second := h.signIn("ivy@example.com", "correct horse battery").token()

	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=ivy@example.com", nil, "").status)
	link := h.link("ivy@example.com")
	h.follow(link) // a scanner's visit spends nothing
	q := h.follow(link)
	require.Equal(t, "reset-pwd", q.Get("action"))
	key := q.Get("access_token")
	require.NotEmpty(t, key)

	// Asking for a reset changes nothing else: the old password still works.
	require.Equal(t, http.StatusOK, h.get(api+"user", first).status)

	weak := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "short"}, "")
	require.Equal(t, "password_too_short", weak.code())
	done := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	require.Nil(t, done.body["session"], "a reset signs nobody in")

	for _, tok := range []string{first, second} {
		require.Equal(t, "invalid_session_token", h.get(api+"user", tok).code(), "a reset ends every session")
	}
	require.Equal(t, "invalid_credentials", h.signIn("ivy@example.com", "correct horse battery").code())
	require.Equal(t, http.StatusOK, h.signIn("ivy@example.com", "a new long password").status)
	again := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "yet another password"}, "")
	require.Equal(t, "invalid_token", again.code())
	require.Equal(t, "invalid_token", h.follow(link).Get("error"))
}

func TestResetLinkExpires(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("jo@example.com", "correct horse battery")
	h.post(api+"send-reset?email=jo@example.com", nil, "")
	key := h.follow(h.link("jo@example.com")).Get("access_token")
	h.clock.Advance(time.Hour)
	a := h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, "invalid_token", a.code())
}

func TestChangePassword(t *testing.T) {
	h := newHarness(t)
	current := h.confirmedUser("kay@example.com", "correct horse battery")
	other := h.signIn("kay@example.com", "correct horse battery").token()

	wrong := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "nope nope nope"}, current)
	require.Equal(t, http.StatusForbidden, wrong.status)
	require.Equal(t, "wrong_password", wrong.code())
	weak := h.post(api+"change-pwd", map[string]any{"newPassword": "password123", "oldPassword": "correct horse battery"}, current)
	require.Equal(t, "password_too_common", weak.code())

	ok := h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "correct horse battery"}, current)
	require.Equal(t, http.StatusOK, ok.status, "%s", ok.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", current).status, "the current session lives on")
	require.Equal(t, "invalid_session_token", h.get(api+"user", other).code(), "every other session ends")
	require.Equal(t, "invalid_credentials", h.signIn("kay@example.com", "correct horse battery").code())
	require.Equal(t, http.StatusOK, h.signIn("kay@example.com", "a new long password").status)
}

func TestChangePasswordVoidsLinks(t *testing.T) {
	h := newHarness(t)
	tok := h.confirmedUser("lou@example.com", "correct horse battery")
	h.post(api+"send-reset?email=lou@example.com", nil, "")
	link := h.link("lou@example.com")
	h.post(api+"change-pwd", map[string]any{"newPassword": "a new long password", "oldPassword": "correct horse battery"}, tok)
	require.Equal(t, "invalid_token", h.follow(link).Get("error"))
}

func TestChangeEmail(t *testing.T) {
	h := newHarness(t)
	tok := h.confirmedUser("max@example.com", "correct horse battery")
	h.confirmedUser("taken@example.com", "correct horse battery")

	change := func(pw, email string) answer {
		return h.post(api+"change-email", map[string]any{"currentPassword": pw, "newEmail": email}, tok)
	}
	require.Equal(t, "wrong_password", change("nope nope nope", "new@example.com").code())
	require.Equal(t, "email_unchanged", change("correct horse battery", "MAX@example.com").code())
	require.Equal(t, "email_taken", change("correct horse battery", "taken@example.com").code())
	require.Equal(t, "invalid_email", change("correct horse battery", "not-an-email").code())

	a := change("correct horse battery", "New@Example.com")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "max@example.com", a.body["email"], "nothing changes before the new address confirms")
	require.Equal(t, http.StatusOK, h.signIn("max@example.com", "correct horse battery").status)

	q := h.follow(h.link("new@example.com"))
	require.Equal(t, "change-email", q.Get("action"))
	require.Equal(t, "200", q.Get("status"))
	require.Empty(t, q.Get("access_token"), "an email change signs nobody in")

	notice := h.mail("max@example.com")
	require.Contains(t, notice.Body, "new@example.com")
	me := h.get(api+"user", tok)
	require.Equal(t, "new@example.com", me.body["email"])
	require.Equal(t, true, me.body["emailVerified"])
	require.Equal(t, http.StatusOK, h.signIn("new@example.com", "correct horse battery").status)
	require.Equal(t, "invalid_credentials", h.signIn("max@example.com", "correct horse battery").code())
}

func TestChangeEmailWithoutConfirmation(t *testing.T) {
	h := newHarness(t, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	tok := h.signUp("ned@example.com", "correct horse battery", nil).token()
	a := h.post(api+"change-email", map[string]any{"currentPassword": "correct horse battery", "newEmail": "ned2@example.com"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "ned2@example.com", a.body["email"])
	require.Contains(t, h.mail("ned@example.com").Body, "ned2@example.com", "the old address is told")
}

func TestSessions(t *testing.T) {
	h := newHarness(t)
	a := h.confirmedUser("ola@example.com", "correct horse battery")
	h.clock.Advance(time.Second) // sessions are listed oldest first
	b := h.signIn("ola@example.com", "correct horse battery").token()
	h.clock.Advance(time.Second)
	c := h.signIn("ola@example.com", "correct horse battery").token()
	stranger := h.confirmedUser("pam@example.com", "correct horse battery")

	list := h.get(api+"sessions", a)
	require.Equal(t, http.StatusOK, list.status)
	require.Len(t, list.list, 3)
	var handles []string
	for _, s := range list.list {
		sm := s.(map[string]any)
		requireSessionShape(t, sm)
		handle := sm["token"].(string)
		require.NotContains(t, []string{a, b, c}, handle, "a listed session carries no usable token")
		require.Equal(t, "invalid_session_token", h.get(api+"user", handle).code())
		handles = append(handles, handle)
	}

	// A stranger cannot sign out Ola's sessions, by handle or by token.
	for _, target := range []string{handles[1], b} {
		r := h.post(api+"signout", map[string]any{"token": target}, stranger)
		require.Equal(t, http.StatusNotFound, r.status)
		require.Equal(t, "session_not_found", r.code())
	}
	require.Equal(t, http.StatusOK, h.get(api+"user", b).status)

	// By handle, then by token.
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{"token": handles[1]}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", b).code())
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{"token": c}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", c).code())
	require.Len(t, h.get(api+"sessions", a).list, 1)

	// Its own session, with no body at all, as signOut() sends it.
	require.Equal(t, http.StatusOK, h.post(api+"signout", map[string]any{}, a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", a).code())
}

func TestSignOutAll(t *testing.T) {
	h := newHarness(t)
	a := h.confirmedUser("quin@example.com", "correct horse battery")
	b := h.signIn("quin@example.com", "correct horse battery").token()
	c := h.signIn("quin@example.com", "correct horse battery").token()

	require.Equal(t, http.StatusOK, h.post(api+"signout-all-except", nil, a).status)
	require.Equal(t, http.StatusOK, h.get(api+"user", a).status)
	require.Equal(t, "invalid_session_token", h.get(api+"user", b).code())

	d := h.signIn("quin@example.com", "correct horse battery").token()
	require.Equal(t, http.StatusOK, h.post(api+"signout-all", nil, d).status)
	for _, tok := range []string{a, c, d} {
		require.Equal(t, "invalid_session_token", h.get(api+"user", tok).code())
	}
}

// Ending every session also ends what would make a new one: a grant key,
// a reset key and a sign-in code issued before carry the old credential
// stamp, and sign nobody in afterwards. A thief who got one out of the
// owner's mailbox or phone is out with the owner's other devices; the
// session that asked to keep itself keeps working.
func TestSignOutAllEndsPendingSignIns(t *testing.T) {
	for _, route := range []string{"signout-all", "signout-all-except"} {
		t.Run(route, func(t *testing.T) {
			h := newPhoneHarness(t)
			const email, phone, pw = "vic@example.com", "+15555555555", "correct horse battery"
			owner := h.phoneUser(phone, pw)
			addr, verified := email, true
			u, err := h.store.UserByPhone(t.Context(), phone)
			require.NoError(t, err)
			_, err = h.store.UpdateUser(t.Context(), u.ID, authkit.UserUpdate{Set: authkit.UserFields{Email: &addr, EmailVerified: &verified}})
			require.NoError(t, err)

			stolenGrant := h.magicGrant(email)
			stolenReset := h.resetKey(email)
			h.clock.Advance(time.Minute) // past CodeResendGap
			require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phone, ""), nil, "").status)
			stolenCode := h.code(phone)

			require.Equal(t, http.StatusOK, h.post(api+route, nil, owner).status)

			require.Equal(t, "invalid_token", h.grant(stolenGrant).code(), "the grant key")
			reset := h.post(api+"reset-pwd?key="+stolenReset, map[string]any{"newPassword": "the thief's password"}, "")
			require.Equal(t, "invalid_token", reset.code(), "the reset key")
			require.Equal(t, "invalid_code", h.post(phoneQuery("signin-code", phone, stolenCode), nil, "").code(), "the sign-in code")
			want := http.StatusUnauthorized
			if route == "signout-all-except" {
				want = http.StatusOK
			}
			require.Equal(t, want, h.get(api+"user", owner).status, "the owner's own session")
			require.Equal(t, http.StatusOK, h.signIn(email, pw).status, "the password still works")
		})
	}
}

// SECURITY 15: a grant key and a reset key, used by 50 at once, work once.
func TestOneTimeKeysUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("rex@example.com", "correct horse battery")
	h.post(api+"send-magic?email=rex@example.com", nil, "")
	grantKey := h.follow(h.link("rex@example.com")).Get("access_token")
	h.post(api+"send-reset?email=rex@example.com", nil, "")
	resetKey := h.follow(h.link("rex@example.com")).Get("access_token")

	race := func(call func() int) int {
		var wg sync.WaitGroup
		var wins atomic.Int32
		start := make(chan struct{})
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if call() == http.StatusOK {
					wins.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		return int(wins.Load())
	}
	require.Equal(t, 1, race(func() int { return rawStatus(t, http.MethodGet, h.srv.URL+api+"grant?key="+grantKey, "") }))
	require.Equal(t, 1, race(func() int {
		return rawStatus(t, http.MethodPost, h.srv.URL+api+"reset-pwd?key="+resetKey, `{"newPassword":"a new long password"}`)
	}))
}

// rawStatus makes a call from any goroutine and returns its status.
func rawStatus(t *testing.T, method, url, body string) int {
	r, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Error(err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// SECURITY 1, 14: what is stored is a salted argon2id hash, and tokens only
// as their SHA-256.
func TestSecretsAtRest(t *testing.T) {
	h := newHarness(t)
	tok := h.confirmedUser("sue@example.com", "correct horse battery")
	h.confirmedUser("tim@example.com", "correct horse battery")
	ctx := context.Background()
	sue, err := h.store.UserByEmail(ctx, "sue@example.com")
	require.NoError(t, err)
	tim, err := h.store.UserByEmail(ctx, "tim@example.com")
	require.NoError(t, err)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$[A-Za-z0-9+/]{43}$`)
	require.Regexp(t, phc, sue.PasswordHash)
	require.NotEqual(t, phc.FindStringSubmatch(sue.PasswordHash)[1], phc.FindStringSubmatch(tim.PasswordHash)[1], "each password has its own salt")

	_, err = h.store.SessionByTokenHash(ctx, tok)
	require.ErrorIs(t, err, authkit.ErrNotFound, "the token itself is not stored")
	_, err = h.store.SessionByTokenHash(ctx, sha256Hex(tok))
	require.NoError(t, err)
	require.Len(t, tok, 43, "256 bits, URL-safe")
	require.Regexp(t, `^[A-Za-z0-9_-]+$`, tok)

	h.post(api+"send-magic?email=sue@example.com", nil, "")
	key := strings.SplitN(h.link("sue@example.com"), "key=", 2)[1]
	_, err = h.store.TokenByHash(ctx, key, h.clock.Now())
	require.ErrorIs(t, err, authkit.ErrNotFound)
	stored, err := h.store.TokenByHash(ctx, sha256Hex(key), h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, authkit.PurposeMagicLink, stored.Purpose)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// SECURITY 2: a legacy bcrypt hash signs in and is replaced by argon2id.
func TestBcryptHashIsUpgraded(t *testing.T) {
	h := newHarness(t)
	legacy, err := bcrypt.GenerateFromPassword([]byte("an old password"), bcrypt.MinCost)
	require.NoError(t, err)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Email: "uma@example.com", EmailVerified: true, PasswordHash: string(legacy), SignUpAt: now, LastLoginAt: now,
	}))
	require.Equal(t, http.StatusOK, h.signIn("uma@example.com", "an old password").status)
	u, err := h.store.UserByEmail(context.Background(), "uma@example.com")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), u.PasswordHash)
	require.Equal(t, http.StatusOK, h.signIn("uma@example.com", "an old password").status)
}

// SECURITY 19: a token sent along with a sign-in is never adopted.
func TestSignInIgnoresSentToken(t *testing.T) {
	h := newHarness(t)
	old := h.confirmedUser("val@example.com", "correct horse battery")
	a := h.do(req{method: http.MethodPost, path: api + "signin-email", token: old,
		body: map[string]any{"email": "val@example.com", "password": "correct horse battery"}})
	require.Equal(t, http.StatusOK, a.status)
	require.NotEqual(t, old, a.token())
}
