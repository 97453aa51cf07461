package authkit_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The second step of a form sign-in (forms_mfa.go): the ticket in a
// cookie of the kit's, the code posted by the app's MFA page; and the
// step-up form of a signed-in browser. SECURITY
// 110 to 113.

// pageMFA is the MFA page of formsMFAOn.
const pageMFA = "/second-factor"

// formsMFAOn turns MFA on, and the forms' MFA page.
func formsMFAOn(c *authkit.Config) {
	mfaOn(c)
	c.Forms.MFA = pageMFA
}

// newFormsMFAHarness is a forms harness with MFA on, and its MFA page.
func newFormsMFAHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return newFormsHarness(t, append([]func(*authkit.Config){noLimits, formsMFAOn}, edit...)...)
}

// mfaUser makes a password user with an authenticator, through the Go
// API, and returns its secret and recovery codes. The clock then moves
// to the next time step, so that the next code is a new one.
func (h *harness) mfaUser(email string) (secret string, codes []string) {
	h.t.Helper()
	h.passwordUser(email)
	in, err := h.kit.SignInWithEmail(clientCtx(h.t), email, inputPassword)
	require.NoError(h.t, err)
	ctx, err := h.kit.Authenticate(clientCtx(h.t), in.Token)
	require.NoError(h.t, err)
	e, err := h.kit.EnrolTOTP(ctx)
	require.NoError(h.t, err)
	codes, err = h.kit.ConfirmTOTP(ctx, totpCode(h.t, e.Secret, h.now()))
	require.NoError(h.t, err)
	h.clock.Advance(30 * time.Second)
	return e.Secret, codes
}

// mfaCookie is the browser's MFA ticket cookie, as the jar sends it to
// the MFA form, or "".
func (v *pageBrowser) mfaCookie() string {
	u, _ := url.Parse(v.h.srv.URL + formsPrefix + "mfa")
	for _, c := range v.jar.Cookies(u) {
		if c.Name == "authkit_mfa" {
			return c.Value
		}
	}
	return ""
}

// mfaQuery is the query of a page a form sent the browser to on
// failure, with a return path.
func mfaQuery(form, code, ret string) url.Values {
	q := failed(form, code)
	if ret != "" {
		q.Set("return", ret)
	}
	return q
}

// SECURITY 110: a form sign-in of a user with an authenticator lands on
// the MFA page with no session, its ticket in an HttpOnly, SameSite=Lax
// cookie scoped to the MFA form and living as long as the ticket, never
// in a URL; the code finishes the sign-in at the return path with a
// session of two factors, in the browser's carrier; a wrong code comes
// back to the MFA page with the ticket still good; a code counts once.
func TestFormsMFASignIn(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	secret, codes := h.mfaUser(mo)
	v := h.pageBrowser(h.ownPage())

	resp := v.do(http.MethodPost, formsPrefix+"signin-email", "application/x-www-form-urlencoded",
		url.Values{"email": {mo}, "password": {inputPassword}, "return": {"/orders?tab=2"}}.Encode(), v.header)
	loc := v.landed(resp)
	requirePage(t, loc, pageMFA, mfaQuery("signin-email", "mfa_required", "/orders?tab=2"))
	require.Empty(t, v.cookie(authkit.SessionCookie), "no session before the second factor")
	ticket := v.mfaCookie()
	require.Len(t, ticket, 43, "the ticket, in the cookie")
	require.NotContains(t, loc.String(), ticket)
	var set string
	for _, c := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "authkit_mfa=") {
			set = c
		}
	}
	for _, attr := range []string{"Path=/_auth/forms/mfa", "Max-Age=300", "HttpOnly", "SameSite=Lax"} {
		require.Contains(t, set, attr)
	}
	email, _ := v.whoami()
	require.Empty(t, email)

	// A wrong code: back to the MFA page, the return path kept.
	loc = v.submit("mfa", url.Values{"code": {"000000"}, "return": {"/orders?tab=2"}})
	requirePage(t, loc, pageMFA, mfaQuery("mfa", "invalid_code", "/orders?tab=2"))
	require.Equal(t, ticket, v.mfaCookie(), "the ticket stays good")
	require.Empty(t, v.cookie(authkit.SessionCookie))

	code := totpCode(t, secret, h.now())
	loc = v.submit("mfa", url.Values{"code": {code}, "return": {"/orders?tab=2"}})
	requirePage(t, loc, "/orders", url.Values{"tab": {"2"}})
	require.Empty(t, v.mfaCookie(), "the ticket's cookie is cleared")
	email, _ = v.whoami()
	require.Equal(t, mo, email)
	require.Equal(t, 2, h.factorsOf(v.cookie(authkit.SessionCookie)))

	// The same code again, in another browser: refused, the step spent.
	w := h.pageBrowser(h.ownPage())
	requirePage(t, w.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}}), pageMFA, failed("signin-email", "mfa_required"))
	requirePage(t, w.submit("mfa", url.Values{"code": {code}}), pageMFA, failed("mfa", "invalid_code"))
	require.Empty(t, w.cookie(authkit.SessionCookie))

	// A recovery code, once, and without a return path: AfterSignIn.
	requirePage(t, w.submit("mfa", url.Values{"code": {codes[0]}}), pageHome, nil)
	email, _ = w.whoami()
	require.Equal(t, mo, email)
	x := h.pageBrowser(h.ownPage())
	x.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}})
	requirePage(t, x.submit("mfa", url.Values{"code": {codes[0]}}), pageMFA, failed("mfa", "invalid_code"))

	// A user without a factor signs in in one step, as before.
	h.passwordUser("ann@example.com")
	requirePage(t, h.pageBrowser(h.ownPage()).submit("signin-email", url.Values{"email": {"ann@example.com"}, "password": {inputPassword}}), pageHome, nil)
}

// Without Forms.MFA, the second step is the sign-in page's: it gets
// error=mfa_required, and its code field posts to the same form.
func TestFormsMFAOnTheSignInPage(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits, mfaOn)
	const mo = "mo@example.com"
	secret, _ := h.mfaUser(mo)
	v := h.pageBrowser(h.ownPage())
	loc := v.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}, "return": {"/orders"}})
	requirePage(t, loc, pageSignIn, mfaQuery("signin-email", "mfa_required", "/orders"))
	require.Empty(t, v.cookie(authkit.SessionCookie))
	requirePage(t, v.submit("mfa", url.Values{"code": {"123"}, "return": {"/orders"}}), pageSignIn, mfaQuery("mfa", "invalid_code", "/orders"))
	requirePage(t, v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}, "return": {"/orders"}}), "/orders", nil)
	email, _ := v.whoami()
	require.Equal(t, mo, email)
}

// SECURITY 111: a ticket spent, expired, missing, forged or outlived by
// its factor finishes no sign-in: the browser goes back to the sign-in
// page, its cookie cleared, and signs in again.
func TestFormsMFATicketGone(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	secret, codes := h.mfaUser(mo)
	signIn := url.Values{"email": {mo}, "password": {inputPassword}}

	gone := func(t *testing.T, v *pageBrowser, code, want string) {
		t.Helper()
		requirePage(t, v.submit("mfa", url.Values{"code": {code}}), pageSignIn, failed("mfa", want))
		require.Empty(t, v.cookie(authkit.SessionCookie))
		require.Empty(t, v.mfaCookie())
	}

	t.Run("missing", func(t *testing.T) {
		gone(t, h.pageBrowser(h.ownPage()), codes[1], "invalid_token")
	})
	t.Run("forged", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		u, _ := url.Parse(h.srv.URL + formsPrefix + "mfa")
		for _, ticket := range []string{"forged", strings.Repeat("a", 43), strings.Repeat("a", 5000)} {
			v.jar.SetCookies(u, []*http.Cookie{{Name: "authkit_mfa", Value: ticket, Path: formsPrefix + "mfa"}})
			gone(t, v, codes[1], "invalid_token")
		}
	})
	t.Run("expired", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		v.submit("signin-email", signIn)
		h.clock.Advance(5*time.Minute + time.Second)
		gone(t, v, totpCode(t, secret, h.now()), "invalid_token")
	})
	t.Run("spent", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		v.submit("signin-email", signIn)
		ticket := v.mfaCookie()
		h.clock.Advance(30 * time.Second)
		requirePage(t, v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}}), pageHome, nil)
		// The ticket, copied before it was spent, into another browser.
		w := h.pageBrowser(h.ownPage())
		u, _ := url.Parse(h.srv.URL + formsPrefix + "mfa")
		w.jar.SetCookies(u, []*http.Cookie{{Name: "authkit_mfa", Value: ticket, Path: formsPrefix + "mfa"}})
		gone(t, w, codes[2], "invalid_token")
	})
	t.Run("the factor removed meanwhile", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		v.submit("signin-email", signIn)
		require.NotEmpty(t, v.mfaCookie())
		require.NoError(t, h.kit.ResetFactors(clientCtx(t), h.userID(mo)))
		gone(t, v, codes[3], "mfa_not_enrolled")
		// The next sign-in needs one factor.
		requirePage(t, v.submit("signin-email", signIn), pageHome, nil)
	})
}

// SECURITY 112: the MFA form is a form like the others: another site's
// page cannot post it, not even with the browser's ticket cookie and the
// right code (a cross-site post carries no SameSite=Lax cookie; one that
// did is refused by its origin all the same), and what it says is not
// echoed; the ticket stays good for the app's own page.
func TestFormsMFACrossSite(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	secret, _ := h.mfaUser(mo)
	v := h.pageBrowser(h.ownPage())
	v.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}})
	require.NotEmpty(t, v.mfaCookie())

	for name, header := range map[string]map[string]string{
		"another site":        fromSite(evilOrigin, "cross-site"),
		"a sibling subdomain": fromSite("http://evil.127.0.0.1.nip.io", "same-site"),
		"an opaque origin":    {"Origin": "null"},
		"a browser that says nothing, without a CSRF token": nil,
	} {
		v.header = header
		loc := v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}, "return": {"/orders"}})
		requirePage(t, loc, pageMFA, failed("mfa", "origin_not_allowed"))
		require.Empty(t, v.cookie(authkit.SessionCookie), name)
	}

	// The app's own page, then: with the CSRF token, a browser that says
	// nothing is one.
	v.header = nil
	token := v.csrfToken()
	requirePage(t, v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}, "csrf_token": {token}}), pageHome, nil)
	email, _ := v.whoami()
	require.Equal(t, mo, email)
}

// The return path of the second step is checked as the first's: an
// unsafe one is neither carried to the MFA page nor followed.
func TestFormsMFAReturnPath(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	secret, _ := h.mfaUser(mo)
	for _, p := range []string{"//evil.com", "https://evil.com", "/\\evil.com", "/%2F%2Fevil.com", "javascript:alert(1)", "/\t/evil.com"} {
		t.Run(p, func(t *testing.T) {
			v := h.pageBrowser(h.ownPage())
			loc := v.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}, "return": {p}})
			requirePage(t, loc, pageMFA, failed("signin-email", "mfa_required"))
			requirePage(t, v.submit("mfa", url.Values{"code": {"999999"}, "return": {p}}), pageMFA, failed("mfa", "invalid_code"))
			h.clock.Advance(30 * time.Second) // each case a code of its own step
			requirePage(t, v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}, "return": {p}}), pageHome, nil)
		})
	}
}

// Bad input to the MFA form gets a 4xx code on the MFA page, never a 500
// and never a session; a code is read from the body alone, never a URL.
func TestFormsMFABadInput(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	secret, _ := h.mfaUser(mo)
	v := h.pageBrowser(h.ownPage())
	v.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}})

	for name, c := range map[string]struct {
		query, contentType, body, want string
	}{
		"no code":             {"", "application/x-www-form-urlencoded", "", "invalid_code"},
		"a code in the URL":   {"?code=" + totpCode(t, secret, h.now()), "application/x-www-form-urlencoded", "", "invalid_code"},
		"the code twice":      {"", "application/x-www-form-urlencoded", "code=123456&code=654321", "bad_request"},
		"a code not in UTF-8": {"", "application/x-www-form-urlencoded", "code=%ff%fe", "bad_request"},
		"not a code":          {"", "application/x-www-form-urlencoded", "code=" + url.QueryEscape("<script>"), "invalid_code"},
		"a long code":         {"", "application/x-www-form-urlencoded", "code=" + strings.Repeat("1", 4000), "invalid_code"},
		"JSON":                {"", "application/json", `{"code":"123456"}`, "unsupported_media_type"},
		"a body too large":    {"", "application/x-www-form-urlencoded", "code=" + strings.Repeat("1", 2<<20), "request_too_large"},
		"a broken form":       {"", "application/x-www-form-urlencoded", "code=%zz", "bad_request"},
	} {
		t.Run(name, func(t *testing.T) {
			loc := v.landed(v.do(http.MethodPost, formsPrefix+"mfa"+c.query, c.contentType, c.body, v.header))
			requirePage(t, loc, pageMFA, failed("mfa", c.want))
			status := (&authkit.Error{Code: authkit.Code(c.want)}).HTTPStatus()
			require.True(t, status >= 400 && status < 500, "%s is %d", c.want, status)
			require.Empty(t, v.cookie(authkit.SessionCookie))
			require.NotEmpty(t, v.mfaCookie(), "the ticket stays good")
		})
	}
	// After all that, the right code still signs in.
	requirePage(t, v.submit("mfa", url.Values{"code": {totpCode(t, secret, h.now())}}), pageHome, nil)
}

// New checks Forms.MFA as it checks the other pages.
func TestFormsMFAPageChecked(t *testing.T) {
	t.Parallel()
	for _, page := range []string{"https://evil.example/mfa", "//evil.example/mfa", "mfa", "javascript:alert(1)"} {
		c := validConfig()
		c.SessionCookie = authkit.On
		c.Forms = authkit.Forms{SignIn: "/login", MFA: page}
		_, err := authkit.New(c)
		require.ErrorContains(t, err, "Config.Forms.MFA", page)
	}
}

// Over https the ticket's cookie is Secure and takes the __Secure- prefix
// (a __Host- cookie must have Path=/, and this one is the MFA form's
// alone), so that no page of plain http can set it; the second step
// reads it, and clears it once the sign-in is done.
func TestFormsMFACookieOverHTTPS(t *testing.T) {
	t.Parallel()
	const origin = "https://api.example.com"
	kit := cookieKit(t, origin, mfaOn, func(c *authkit.Config) { c.Forms = authkit.Forms{SignIn: "/login", MFA: "/two-step"} })
	in, err := kit.SignInWithEmail(clientCtx(t), "ann@example.com", inputPassword)
	require.NoError(t, err)
	ctx, err := kit.Authenticate(clientCtx(t), in.Token)
	require.NoError(t, err)
	e, err := kit.EnrolTOTP(ctx)
	require.NoError(t, err)
	_, err = kit.ConfirmTOTP(ctx, totpCode(t, e.Secret, time.Now()))
	require.NoError(t, err)

	post := func(route, body string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodPost, origin+formsPrefix+route, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		for _, c := range cookies {
			r.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		require.Equal(t, http.StatusSeeOther, rec.Code)
		return rec
	}
	rec := post("signin-email", url.Values{"email": {"ann@example.com"}, "password": {inputPassword}}.Encode())
	require.Equal(t, "/two-step?error=mfa_required&form=signin-email", rec.Header().Get("Location"))
	c := setCookie(t, rec.Header(), "__Secure-authkit_mfa")
	require.NotNil(t, c, "%v", rec.Header())
	require.True(t, c.Secure)
	require.True(t, c.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.Equal(t, "/_auth/forms/mfa", c.Path)
	require.Empty(t, c.Domain)
	require.Equal(t, 300, c.MaxAge)
	require.Nil(t, setCookie(t, rec.Header(), "__Host-"+authkit.SessionCookie))
	require.Nil(t, setCookie(t, rec.Header(), authkit.SessionCookie))

	// Without its prefix, the cookie is not the kit's.
	rec = post("mfa", "code="+totpCode(t, e.Secret, time.Now().Add(30*time.Second)), &http.Cookie{Name: "authkit_mfa", Value: c.Value})
	require.Equal(t, "/login?error=invalid_token&form=mfa", rec.Header().Get("Location"))

	rec = post("mfa", "code="+totpCode(t, e.Secret, time.Now().Add(30*time.Second)), &http.Cookie{Name: c.Name, Value: c.Value})
	require.Equal(t, "/", rec.Header().Get("Location"))
	cleared := setCookie(t, rec.Header(), "__Secure-authkit_mfa")
	require.NotNil(t, cleared)
	require.Less(t, cleared.MaxAge, 0)
	require.NotNil(t, setCookie(t, rec.Header(), authkit.SessionCookie), "signed in: %v", rec.Header())
}

// SECURITY 113: the account forms of a user with an authenticator ask a
// session of one factor for a second (mfa_step_up_required), and the
// step-up form gives it: the browser's session is replaced by one of two
// factors, the old token dead; a wrong code, another site's page or a
// browser without a session gets nothing.
func TestFormsStepUp(t *testing.T) {
	t.Parallel()
	h := newFormsMFAHarness(t)
	const mo = "mo@example.com"
	h.passwordUser(mo)
	v := h.pageBrowser(h.ownPage())
	requirePage(t, v.submit("signin-email", url.Values{"email": {mo}, "password": {inputPassword}}), pageHome, nil)
	old := v.cookie(authkit.SessionCookie)
	require.NotEmpty(t, old)

	// The authenticator, set up from this one-factor session.
	ctx, err := h.kit.Authenticate(clientCtx(t), old)
	require.NoError(t, err)
	e, err := h.kit.EnrolTOTP(ctx)
	require.NoError(t, err)
	_, err = h.kit.ConfirmTOTP(ctx, totpCode(t, e.Secret, h.now()))
	require.NoError(t, err)
	h.clock.Advance(30 * time.Second)

	change := url.Values{"password": {inputPassword}, "newPassword": {"a brand new passphrase"}}
	requirePage(t, v.submit("change-pwd", change), pageAccount, failed("change-pwd", "mfa_step_up_required"))

	requirePage(t, v.submit("step-up", url.Values{"code": {"000000"}}), pageAccount, failed("step-up", "invalid_code"))
	requirePage(t, h.pageBrowser(h.ownPage()).submit("step-up", url.Values{"code": {totpCode(t, e.Secret, h.now())}}), pageAccount, failed("step-up", "missing_session_token"))
	v.header = fromSite(evilOrigin, "cross-site")
	requirePage(t, v.submit("step-up", url.Values{"code": {totpCode(t, e.Secret, h.now())}}), pageAccount, failed("step-up", "origin_not_allowed"))
	v.header = h.ownPage()
	require.Equal(t, old, v.cookie(authkit.SessionCookie))

	requirePage(t, v.submit("step-up", url.Values{"code": {totpCode(t, e.Secret, h.now())}}), pageAccount, sent("step-up"))
	raised := v.cookie(authkit.SessionCookie)
	require.NotEqual(t, old, raised, "a new session")
	require.Equal(t, 2, h.factorsOf(raised))
	_, err = h.kit.Authenticate(clientCtx(t), old)
	require.Error(t, err, "the one-factor session is gone")

	requirePage(t, v.submit("change-pwd", change), pageAccount, sent("change-pwd"))
	email, _ := v.whoami()
	require.Equal(t, mo, email)
}
