package authkit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// The HTML forms (forms.go), end to end: a host app that mounts the kit,
// renders a CSRF token on its sign-in page and guards a page with
// RequireSignIn, visited by browsers with cookie jars that send the
// Origin and Sec-Fetch-Site a browser sends from where its page is.

const formsPrefix = "/_auth/forms/"

// The pages of formsOn, one per end, so that a test sees which it got.
const (
	pageSignIn    = "/login"
	pageHome      = "/home"
	pageCheckMail = "/check"
	pageSent      = "/sent"
	pageResetDone = "/reset-done"
	pageBye       = "/bye"
	pageOops      = "/oops"
	pageAccount   = "/account"
)

// formsOn turns on the kit's session cookie and the forms.
func formsOn(c *authkit.Config) {
	c.SessionCookie = authkit.On
	c.Forms = authkit.Forms{
		SignIn: pageSignIn, AfterSignIn: pageHome, AfterSignUp: pageCheckMail, AfterSend: pageSent,
		AfterReset: pageResetDone, AfterSignOut: pageBye, Error: pageOops, Account: pageAccount,
	}
}

// formsApp is a host app: the kit's routes; a sign-in page that renders
// the browser's CSRF token, as a form would in its csrf_token field; and
// a page behind RequireSignIn.
func formsApp(kit *authkit.Kit) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/_api/", kit.Handler())
	mux.Handle("/_auth/", kit.Handler())
	mux.HandleFunc("GET "+pageSignIn, func(w http.ResponseWriter, r *http.Request) {
		token := kit.CSRFToken(w, r)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, token)
	})
	mux.Handle("/orders", kit.RequireSignIn(http.HandlerFunc(hostHandler)))
	return mux
}

// newFormsHarness serves formsApp with the forms on and cheap hashing.
func newFormsHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	return newAppHarness(t, formsApp, append([]func(*authkit.Config){formsOn, authkit.CheapHashing}, edit...)...)
}

// pageBrowser is a browser on the app's pages: a cookie jar, no redirect
// followed by itself, and with each form the headers its browser sends.
type pageBrowser struct {
	h      *harness
	jar    *cookiejar.Jar
	client *http.Client
	header map[string]string
}

// pageBrowser is a browser whose forms send header (nil: a browser that
// says nothing of where a request comes from).
func (h *harness) pageBrowser(header map[string]string) *pageBrowser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &pageBrowser{h: h, jar: jar, header: header, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// ownPage is what a browser sends with a form of the app's own origin.
func (h *harness) ownPage() map[string]string {
	return map[string]string{"Origin": h.srv.URL, "Sec-Fetch-Site": "same-origin"}
}

// fromSite is what a browser sends with a form of another origin.
func fromSite(origin, site string) map[string]string {
	return map[string]string{"Origin": origin, "Sec-Fetch-Site": site}
}

// do sends one request as the visitor.
func (v *pageBrowser) do(method, path, contentType, body string, header map[string]string) *http.Response {
	v.h.t.Helper()
	r, err := http.NewRequest(method, v.h.srv.URL+path, strings.NewReader(body))
	require.NoError(v.h.t, err)
	r.Header.Set("User-Agent", chromeUA)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	for k, val := range header {
		r.Header.Set(k, val)
	}
	resp, err := v.client.Do(r)
	require.NoError(v.h.t, err)
	v.h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// submit posts a form to the kit's form route and returns where the kit
// sent the browser: every answer of a form route is a 303, kept out of
// caches and referers.
func (v *pageBrowser) submit(route string, form url.Values) *url.URL {
	v.h.t.Helper()
	return v.landed(v.do(http.MethodPost, formsPrefix+route, "application/x-www-form-urlencoded", form.Encode(), v.header))
}

// landed checks a 303 and returns its Location.
func (v *pageBrowser) landed(resp *http.Response) *url.URL {
	v.h.t.Helper()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(v.h.t, http.StatusSeeOther, resp.StatusCode, "%s", body)
	require.Equal(v.h.t, "no-store", resp.Header.Get("Cache-Control"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(v.h.t, err)
	return loc
}

// csrfToken opens the app's sign-in page, which gives the browser its
// CSRF cookie and renders its token.
func (v *pageBrowser) csrfToken() string {
	v.h.t.Helper()
	resp := v.do(http.MethodGet, pageSignIn, "", "", nil)
	require.Equal(v.h.t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(v.h.t, err)
	require.NotEmpty(v.h.t, b)
	return string(b)
}

// cookie is the value of the visitor's cookie name, or "".
func (v *pageBrowser) cookie(name string) string {
	u, _ := url.Parse(v.h.srv.URL)
	for _, c := range v.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// whoami opens the page behind RequireSignIn: the email of the
// visitor's user, or "" with where it was sent instead.
func (v *pageBrowser) whoami() (string, *url.URL) {
	v.h.t.Helper()
	resp := v.do(http.MethodGet, "/orders", "", "", nil)
	if resp.StatusCode == http.StatusSeeOther {
		return "", v.landed(resp)
	}
	require.Equal(v.h.t, http.StatusOK, resp.StatusCode)
	var body map[string]any
	require.NoError(v.h.t, json.NewDecoder(resp.Body).Decode(&body))
	return body["email"].(string), nil
}

// requirePage checks where a form sent the browser: path, with exactly
// the query want.
func requirePage(t *testing.T, loc *url.URL, path string, want url.Values) {
	t.Helper()
	require.Empty(t, loc.Scheme+loc.Host, "a page of the app's own: %s", loc)
	require.Equal(t, path, loc.Path, "%s", loc)
	if want == nil {
		want = url.Values{}
	}
	require.Equal(t, want, loc.Query(), "%s", loc)
}

// sent is the query of a success page.
func sent(form string) url.Values { return url.Values{"form": {form}} }

// failed is the query of an error page.
func failed(form, code string) url.Values { return url.Values{"form": {form}, "error": {code}} }

func TestFormsEmailFlows(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits)
	const ann = "ann@example.com"
	const newPassword = "a brand new passphrase"
	ann1 := h.pageBrowser(h.ownPage())

	t.Run("sign-up, confirmed by the link and the grant form", func(t *testing.T) {
		loc := ann1.submit("signup-email", url.Values{"email": {ann}, "password": {inputPassword}, "name": {"Ann"}, "role": {"admin"}})
		requirePage(t, loc, pageCheckMail, sent("signup-email"))
		require.Empty(t, ann1.cookie(authkit.SessionCookie), "no session before the address is proven")

		q := h.follow(h.link(ann))
		require.Equal(t, "email-confirm", q.Get("action"))
		loc = ann1.submit("grant", url.Values{"key": {q.Get("access_token")}})
		requirePage(t, loc, pageHome, nil)
		require.NotEmpty(t, ann1.cookie(authkit.SessionCookie))
		email, _ := ann1.whoami()
		require.Equal(t, ann, email)

		u, err := h.kit.FindUser(t.Context(), ann)
		require.NoError(t, err)
		require.True(t, u.EmailVerified)
		require.Equal(t, "Ann", u.Name, "the profile fields ProfileFields allows")
		require.Empty(t, u.AccessGroups)
		require.NotContains(t, u.Profile, "role", "and no other field")
	})

	t.Run("sign-out", func(t *testing.T) {
		token := ann1.cookie(authkit.SessionCookie)
		loc := ann1.submit("signout", url.Values{})
		requirePage(t, loc, pageBye, sent("signout"))
		require.Empty(t, ann1.cookie(authkit.SessionCookie), "the cookie is cleared")
		requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
		email, to := ann1.whoami()
		require.Empty(t, email)
		requirePage(t, to, pageSignIn, url.Values{"return": {"/orders"}})

		// A browser signed out already is signed out all the same.
		requirePage(t, ann1.submit("signout", url.Values{}), pageBye, sent("signout"))
	})

	t.Run("sign-in with a return path", func(t *testing.T) {
		loc := ann1.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "return": {"/orders?tab=2"}})
		require.Equal(t, "/orders?tab=2", loc.String())
		email, _ := ann1.whoami()
		require.Equal(t, ann, email)
	})

	t.Run("magic link", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		requirePage(t, v.submit("send-magic", url.Values{"email": {ann}}), pageSent, sent("send-magic"))
		q := h.follow(h.link(ann))
		require.Equal(t, "magic-link", q.Get("action"))
		requirePage(t, v.submit("grant", url.Values{"key": {q.Get("access_token")}}), pageHome, nil)
		email, _ := v.whoami()
		require.Equal(t, ann, email)
	})

	t.Run("reset by link", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		requirePage(t, v.submit("send-reset", url.Values{"email": {ann}}), pageSent, sent("send-reset"))
		q := h.follow(h.link(ann))
		require.Equal(t, "reset-pwd", q.Get("action"))
		// The key in the query, as the page at the Redirect URL may post it.
		loc := v.landed(v.do(http.MethodPost, formsPrefix+"reset-pwd?key="+url.QueryEscape(q.Get("access_token")),
			"application/x-www-form-urlencoded", url.Values{"newPassword": {newPassword}}.Encode(), v.header))
		requirePage(t, loc, pageResetDone, sent("reset-pwd"))
		require.Empty(t, v.cookie(authkit.SessionCookie), "a reset signs nobody in")

		email, _ := ann1.whoami()
		require.Empty(t, email, "the reset ended every session")
		loc = v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}})
		requirePage(t, loc, pageSignIn, failed("signin-email", "invalid_credentials"))
		requirePage(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {newPassword}}), pageHome, nil)
	})

	t.Run("resend the confirmation", func(t *testing.T) {
		const bob = "bob@example.com"
		v := h.pageBrowser(h.ownPage())
		requirePage(t, v.submit("signup-email", url.Values{"email": {bob}, "password": {inputPassword}}), pageCheckMail, sent("signup-email"))
		h.link(bob)
		requirePage(t, v.submit("resend", url.Values{"email": {bob}}), pageSent, sent("resend"))
		q := h.follow(h.link(bob))
		requirePage(t, v.submit("grant", url.Values{"key": {q.Get("access_token")}}), pageHome, nil)
		email, _ := v.whoami()
		require.Equal(t, bob, email)
	})

	t.Run("sign-up without confirmation signs in", func(t *testing.T) {
		h := newFormsHarness(t, noLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
		v := h.pageBrowser(h.ownPage())
		loc := v.submit("signup-email", url.Values{"email": {"cy@example.com"}, "password": {inputPassword}, "return": {"/orders"}})
		require.Equal(t, "/orders", loc.String())
		email, _ := v.whoami()
		require.Equal(t, "cy@example.com", email)
	})
}

func TestFormsPhoneFlows(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits, func(c *authkit.Config) { c.PhoneAuth = authkit.On })
	const phone = "+15555555555"
	const newPassword = "a brand new passphrase"
	v := h.pageBrowser(h.ownPage())

	t.Run("sign-up, confirmed by the texted code", func(t *testing.T) {
		loc := v.submit("signup-phone", url.Values{"phone": {phone}, "password": {inputPassword}, "name": {"Pat"}})
		requirePage(t, loc, pageCheckMail, sent("signup-phone"))
		require.Empty(t, v.cookie(authkit.SessionCookie))
		requirePage(t, v.submit("verify-phone", url.Values{"phone": {phone}, "code": {h.code(phone)}}), pageHome, nil)
		require.NotEmpty(t, v.cookie(authkit.SessionCookie))
		u, err := h.kit.FindUser(t.Context(), phone)
		require.NoError(t, err)
		require.True(t, u.PhoneVerified)
		require.Equal(t, "Pat", u.Name)
	})

	t.Run("sign-in with a code", func(t *testing.T) {
		requirePage(t, v.submit("signout", url.Values{}), pageBye, sent("signout"))
		requirePage(t, v.submit("send-code", url.Values{"phone": {phone}}), pageSent, sent("send-code"))
		loc := v.submit("signin-code", url.Values{"phone": {phone}, "code": {h.code(phone)}, "return": {"/orders"}})
		require.Equal(t, "/orders", loc.String())
		require.NotEmpty(t, v.cookie(authkit.SessionCookie))
	})

	t.Run("reset with a code, then sign in with the password", func(t *testing.T) {
		requirePage(t, v.submit("send-reset-code", url.Values{"phone": {phone}}), pageSent, sent("send-reset-code"))
		loc := v.submit("reset-pwd-code", url.Values{"phone": {phone}, "code": {h.code(phone)}, "newPassword": {newPassword}})
		requirePage(t, loc, pageResetDone, sent("reset-pwd-code"))
		loc = v.submit("signin-phone", url.Values{"phone": {phone}, "password": {inputPassword}})
		requirePage(t, loc, pageSignIn, failed("signin-phone", "invalid_credentials"))
		requirePage(t, v.submit("signin-phone", url.Values{"phone": {phone}, "password": {newPassword}}), pageHome, nil)
	})

	t.Run("resend the confirmation code", func(t *testing.T) {
		const other = "+15555550123"
		w := h.pageBrowser(h.ownPage())
		requirePage(t, w.submit("signup-phone", url.Values{"phone": {other}, "password": {inputPassword}}), pageCheckMail, sent("signup-phone"))
		h.code(other)
		h.clock.Advance(61 * time.Second) // past CodeResendGap
		requirePage(t, w.submit("resend-code", url.Values{"phone": {other}}), pageSent, sent("resend-code"))
		requirePage(t, w.submit("verify-phone", url.Values{"phone": {other}, "code": {h.code(other)}}), pageHome, nil)
	})
}

// The forms of the account page: a signed-in browser changes its password,
// email and phone number with the current password, ends another of its
// sessions, the others, or all of them; each ends at the account page
// (the sign-outs of its own session at AfterSignOut), its errors too.
func TestFormsAccount(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits, func(c *authkit.Config) { c.PhoneAuth = authkit.On })
	const ann, newEmail, newPhone = "ann@example.com", "ann@example.org", "+15555550123"
	const newPassword = "a brand new passphrase"
	signIn := func(email, password string) *pageBrowser {
		t.Helper()
		v := h.pageBrowser(h.ownPage())
		requirePage(t, v.submit("signin-email", url.Values{"email": {email}, "password": {password}}), pageHome, nil)
		return v
	}
	who := func(v *pageBrowser) string {
		t.Helper()
		email, _ := v.whoami()
		return email
	}
	h.passwordUser(ann)
	home, laptop := signIn(ann, inputPassword), signIn(ann, inputPassword)

	t.Run("change the password", func(t *testing.T) {
		loc := home.submit("change-pwd", url.Values{"password": {"not the password"}, "newPassword": {newPassword}})
		requirePage(t, loc, pageAccount, failed("change-pwd", "wrong_password"))
		loc = home.submit("change-pwd", url.Values{"password": {inputPassword}, "newPassword": {"short"}})
		requirePage(t, loc, pageAccount, failed("change-pwd", "password_too_short"))
		require.Equal(t, ann, who(laptop), "a failed change ends nothing")

		loc = home.submit("change-pwd", url.Values{"password": {inputPassword}, "newPassword": {newPassword}})
		requirePage(t, loc, pageAccount, sent("change-pwd"))
		require.Equal(t, ann, who(home), "the browser that changed it stays signed in")
		require.Empty(t, who(laptop), "every other session ended")
		v := h.pageBrowser(h.ownPage())
		requirePage(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}}), pageSignIn, failed("signin-email", "invalid_credentials"))
		laptop = signIn(ann, newPassword)
	})

	t.Run("change the email, confirmed by the link to the new address", func(t *testing.T) {
		loc := home.submit("change-email", url.Values{"password": {inputPassword}, "email": {newEmail}})
		requirePage(t, loc, pageAccount, failed("change-email", "wrong_password"))
		loc = home.submit("change-email", url.Values{"password": {newPassword}, "email": {newEmail}})
		requirePage(t, loc, pageAccount, sent("change-email"))
		require.Equal(t, ann, who(home), "the address changes once the new one is proven")

		q := h.follow(h.link(newEmail))
		require.Equal(t, "change-email", q.Get("action"))
		before := home.cookie(authkit.SessionCookie)
		requirePage(t, home.submit("grant", url.Values{"key": {q.Get("access_token")}}), pageHome, nil)
		require.Equal(t, newEmail, who(home))
		requireStatusCode(t, h.get(api+"user", before), http.StatusUnauthorized, "invalid_session_token")
	})

	t.Run("a second sign-in in one browser ends the session it replaces", func(t *testing.T) {
		v := signIn(newEmail, newPassword)
		first := v.cookie(authkit.SessionCookie)
		requirePage(t, v.submit("signin-email", url.Values{"email": {newEmail}, "password": {newPassword}}), pageHome, nil)
		require.NotEqual(t, first, v.cookie(authkit.SessionCookie))
		requireStatusCode(t, h.get(api+"user", first), http.StatusUnauthorized, "invalid_session_token")
		require.Equal(t, newEmail, who(v))
		requirePage(t, v.submit("signout", url.Values{}), pageBye, sent("signout"))
	})

	t.Run("change the phone number, confirmed by the texted code", func(t *testing.T) {
		loc := home.submit("change-phone", url.Values{"password": {newPassword}, "phone": {"12"}})
		requirePage(t, loc, pageAccount, failed("change-phone", "invalid_phone"))
		loc = home.submit("change-phone", url.Values{"password": {newPassword}, "phone": {newPhone}})
		requirePage(t, loc, pageAccount, sent("change-phone"))
		loc = home.submit("verify-phone", url.Values{"phone": {newPhone}, "code": {h.code(newPhone)}, "return": {pageAccount}})
		require.Equal(t, pageAccount, loc.String())
		u, err := h.kit.FindUser(t.Context(), newPhone)
		require.NoError(t, err)
		require.Equal(t, newEmail, u.Email)
		require.True(t, u.PhoneVerified)
	})

	t.Run("end another session by its ID", func(t *testing.T) {
		ctx, err := h.kit.Authenticate(t.Context(), laptop.cookie(authkit.SessionCookie))
		require.NoError(t, err)
		s, _ := authkit.SessionFromContext(ctx)
		other := s.ID
		requirePage(t, home.submit("signout", url.Values{"session": {other}}), pageAccount, sent("signout"))
		require.Empty(t, who(laptop))
		require.Equal(t, newEmail, who(home))
		requirePage(t, home.submit("signout", url.Values{"session": {other}}), pageOops, failed("signout", "session_not_found"))
		require.Equal(t, newEmail, who(home))
	})

	t.Run("sign out the others, then everywhere", func(t *testing.T) {
		laptop, phoneBrowser := signIn(newEmail, newPassword), signIn(newEmail, newPassword)
		requirePage(t, home.submit("signout-all-except", url.Values{}), pageAccount, sent("signout-all-except"))
		require.Empty(t, who(laptop))
		require.Empty(t, who(phoneBrowser))
		require.Equal(t, newEmail, who(home))

		laptop = signIn(newEmail, newPassword)
		requirePage(t, home.submit("signout-all", url.Values{}), pageBye, sent("signout-all"))
		require.Empty(t, home.cookie(authkit.SessionCookie), "the cookie is cleared")
		require.Empty(t, who(home))
		require.Empty(t, who(laptop))
	})

	t.Run("without a session", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		for _, form := range []string{"change-pwd", "change-email", "change-phone", "signout-all-except"} {
			requirePage(t, v.submit(form, url.Values{"password": {newPassword}}), pageAccount, failed(form, "missing_session_token"))
		}
		requirePage(t, v.submit("signout-all", url.Values{}), pageOops, failed("signout-all", "missing_session_token"))
		requirePage(t, v.submit("signout", url.Values{"session": {"an-id"}}), pageOops, failed("signout", "missing_session_token"))
	})

	t.Run("from another site", func(t *testing.T) {
		victim := signIn(newEmail, newPassword)
		victim.header = fromSite(evilOrigin, "cross-site")
		for _, form := range []string{"change-pwd", "change-email", "change-phone", "signout-all-except"} {
			requirePage(t, victim.submit(form, url.Values{"password": {newPassword}, "newPassword": {"an attacker's password"}, "email": {"eve@example.com"}, "phone": {"+15555550199"}}),
				pageAccount, failed(form, "origin_not_allowed"))
		}
		requirePage(t, victim.submit("signout-all", url.Values{}), pageOops, failed("signout-all", "origin_not_allowed"))
		victim.header = h.ownPage()
		require.Equal(t, newEmail, who(victim), "still signed in, nothing changed")
		u, err := h.kit.FindUser(t.Context(), newEmail)
		require.NoError(t, err)
		require.Equal(t, newPhone, u.Phone)
		h.noMail("eve@example.com")
	})
}

// Each error a form route can end with sends the browser to the form's
// error page with the code (the sign-in forms' to the sign-in page),
// the form's name and its return path; never the message, nor anything
// the user typed.
func TestFormsErrors(t *testing.T) {
	t.Parallel()
	hooks := authkit.Hooks{BeforeSignUp: func(_ context.Context, s *authkit.SignUp) error {
		switch {
		case strings.HasPrefix(s.Email, "uninvited"):
			return &authkit.Error{Code: "not_invited", Message: "Sign-up is by invitation.", Status: http.StatusForbidden}
		case strings.HasPrefix(s.Email, "broken"):
			return errors.New("the app's database is down")
		}
		return nil
	}}
	h := newFormsHarness(t, noLimits, func(c *authkit.Config) { c.Hooks = hooks })
	const ann, secret = "ann@example.com", "my very secret passphrase"
	h.passwordUser(ann)
	h.passwordUser("gone@example.com")
	require.NoError(t, h.kit.DisableUser(t.Context(), h.userID("gone@example.com")))

	for _, c := range []struct {
		name, route string
		form        url.Values
		page, code  string
	}{
		{"wrong password", "signin-email", url.Values{"email": {ann}, "password": {secret}}, pageSignIn, "invalid_credentials"},
		{"unknown account", "signin-email", url.Values{"email": {"nobody@example.com"}, "password": {secret}}, pageSignIn, "invalid_credentials"},
		{"disabled account", "signin-email", url.Values{"email": {"gone@example.com"}, "password": {inputPassword}}, pageSignIn, "user_disabled"},
		{"phone off", "signin-phone", url.Values{"phone": {"+15555555555"}, "password": {secret}}, pageSignIn, "feature_disabled"},
		{"code sign-in, phone off", "signin-code", url.Values{"phone": {"+15555555555"}, "code": {"123456"}}, pageSignIn, "feature_disabled"},
		{"spent grant", "grant", url.Values{"key": {"not-a-key-at-all"}}, pageSignIn, "invalid_token"},
		{"no grant", "grant", url.Values{}, pageSignIn, "invalid_token"},
		{"short password", "signup-email", url.Values{"email": {"new@example.com"}, "password": {"short"}}, pageOops, "password_too_short"},
		{"common password", "signup-email", url.Values{"email": {"new@example.com"}, "password": {"password123"}}, pageOops, "password_too_common"},
		{"bad email", "signup-email", url.Values{"email": {"secret stuff"}, "password": {secret}}, pageOops, "invalid_email"},
		{"bad name", "signup-email", url.Values{"email": {"new@example.com"}, "password": {secret}, "name": {"two\nlines"}}, pageOops, "invalid_name"},
		{"taken email", "signup-email", url.Values{"email": {ann}, "password": {secret}}, pageOops, "email_taken"},
		{"a hook's own code", "signup-email", url.Values{"email": {"uninvited@example.com"}, "password": {secret}}, pageOops, "not_invited"},
		{"a hook that fails", "signup-email", url.Values{"email": {"broken@example.com"}, "password": {secret}}, pageOops, "internal_error"},
		{"phone sign-up, phone off", "signup-phone", url.Values{"phone": {"+15555555555"}, "password": {secret}}, pageOops, "feature_disabled"},
		{"verify-phone, phone off", "verify-phone", url.Values{"phone": {"+15555555555"}, "code": {"123456"}}, pageOops, "feature_disabled"},
		{"magic link to a bad address", "send-magic", url.Values{"email": {"secret stuff"}}, pageOops, "invalid_email"},
		{"reset link to a bad address", "send-reset", url.Values{"email": {"secret stuff"}}, pageOops, "invalid_email"},
		{"resend to a bad address", "resend", url.Values{"email": {"secret stuff"}}, pageOops, "invalid_email"},
		{"send-code, phone off", "send-code", url.Values{"phone": {"+15555555555"}}, pageOops, "feature_disabled"},
		{"send-reset-code, phone off", "send-reset-code", url.Values{"phone": {"+15555555555"}}, pageOops, "feature_disabled"},
		{"resend-code, phone off", "resend-code", url.Values{"phone": {"+15555555555"}}, pageOops, "feature_disabled"},
		{"reset with a bad key", "reset-pwd", url.Values{"key": {"not-a-key-at-all"}, "newPassword": {secret}}, pageOops, "invalid_token"},
		{"reset-pwd-code, phone off", "reset-pwd-code", url.Values{"phone": {"+15555555555"}, "code": {"123456"}, "newPassword": {secret}}, pageOops, "feature_disabled"},
		{"a field twice", "signin-email", url.Values{"email": {ann, "bob@example.com"}, "password": {secret}}, pageSignIn, "bad_request"},
		{"a password twice", "signup-email", url.Values{"email": {"new@example.com"}, "password": {secret, secret}}, pageOops, "bad_request"},
		{"bad UTF-8", "signin-email", url.Values{"email": {ann}, "password": {"\xff\xfe" + secret}}, pageSignIn, "bad_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := h.pageBrowser(h.ownPage())
			form := url.Values{}
			for k, vs := range c.form {
				form[k] = vs
			}
			form.Set("return", "/orders?tab=2")
			loc := v.submit(c.route, form)
			want := failed(c.route, c.code)
			want.Set("return", "/orders?tab=2")
			requirePage(t, loc, c.page, want)
			for _, typed := range []string{secret, "secret", "stuff", "lines", ann, url.QueryEscape(ann)} {
				require.NotContains(t, loc.String(), typed, "nothing the user typed is echoed")
			}
			require.Empty(t, v.cookie(authkit.SessionCookie))
		})
	}

	t.Run("a password in the URL is not read", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		loc := v.landed(v.do(http.MethodPost, formsPrefix+"signin-email?password="+url.QueryEscape(inputPassword),
			"application/x-www-form-urlencoded", url.Values{"email": {ann}}.Encode(), v.header))
		requirePage(t, loc, pageSignIn, failed("signin-email", "invalid_credentials"))
	})

	t.Run("a JSON body", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		loc := v.landed(v.do(http.MethodPost, formsPrefix+"signin-email", "application/json",
			`{"email":"`+ann+`","password":"`+inputPassword+`"}`, v.header))
		requirePage(t, loc, pageSignIn, failed("signin-email", "unsupported_media_type"))
		require.Empty(t, v.cookie(authkit.SessionCookie))
	})

	t.Run("a body too large", func(t *testing.T) {
		v := h.pageBrowser(h.ownPage())
		body := url.Values{"email": {ann}, "password": {inputPassword}, "name": {strings.Repeat("x", 70<<10)}}.Encode()
		loc := v.landed(v.do(http.MethodPost, formsPrefix+"signup-email", "application/x-www-form-urlencoded", body, v.header))
		requirePage(t, loc, pageOops, failed("signup-email", "request_too_large"))
	})

	t.Run("a limit passed", func(t *testing.T) {
		h := newFormsHarness(t, func(c *authkit.Config) {
			noLimits(c)
			c.Limits.PerIP = authkit.Rate{Max: 2, Per: time.Hour}
		})
		h.passwordUser(ann)
		v := h.pageBrowser(h.ownPage())
		for range 2 {
			requirePage(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {secret}}), pageSignIn, failed("signin-email", "invalid_credentials"))
		}
		loc := v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}})
		require.Equal(t, "too_many_requests", loc.Query().Get("error"), "the Go API's limits hold for forms: %s", loc)
		require.Regexp(t, `^[1-9]\d*$`, loc.Query().Get("retry_after"))
		require.Empty(t, v.cookie(authkit.SessionCookie))
	})

	t.Run("a route of no form", func(t *testing.T) {
		a := h.post(formsPrefix+"verify-email", "a=b", "")
		requireStatusCode(t, a, http.StatusNotFound, "not_found")
		a = h.get(formsPrefix+"signin-email", "")
		requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Equal(t, "POST", a.header.Get("Allow"))
	})
}

// A form is refused unless its browser says it comes from the app's own
// origin or an allowed one, or it carries the browser's CSRF token: a
// foreign page can neither sign a browser in (login CSRF), nor out, nor
// send mail in its name, whether or not the browser has a session.
func TestFormsCSRF(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits)
	const ann = "ann@example.com"
	h.passwordUser(ann)
	signIn := url.Values{"email": {ann}, "password": {inputPassword}, "return": {"/orders"}}

	refused := func(t *testing.T, loc *url.URL, route string) {
		t.Helper()
		page := pageOops
		if route == "signin-email" {
			page = pageSignIn
		}
		requirePage(t, loc, page, failed(route, "origin_not_allowed"))
	}

	for name, header := range map[string]map[string]string{
		"another site":                    fromSite(evilOrigin, "cross-site"),
		"a sibling subdomain":             fromSite("http://evil.127.0.0.1.nip.io", "same-site"),
		"a look-alike of the allowed one": fromSite("https://app.example.com.evil.example", "cross-site"),
		"Sec-Fetch-Site alone":            {"Sec-Fetch-Site": "cross-site"},
		"a same-site Sec-Fetch-Site":      {"Sec-Fetch-Site": "same-site"},
		"an opaque origin":                {"Origin": "null"},
		"a browser that says nothing":     nil,
	} {
		t.Run(name, func(t *testing.T) {
			// Login CSRF: the right password, from the wrong page.
			attacker := h.pageBrowser(header)
			refused(t, attacker.submit("signin-email", signIn), "signin-email")
			require.Empty(t, attacker.cookie(authkit.SessionCookie))

			// Sign-out of a browser with a session.
			victim := h.pageBrowser(h.ownPage())
			requirePage(t, victim.submit("signin-email", signIn), "/orders", nil)
			victim.header = header
			refused(t, victim.submit("signout", url.Values{}), "signout")
			email, _ := victim.whoami()
			require.Equal(t, ann, email, "still signed in")

			// Mail sent in a browser's name, without a session.
			refused(t, h.pageBrowser(header).submit("send-magic", url.Values{"email": {ann}}), "send-magic")
			h.noMail(ann)

			// Another browser's CSRF token is no token of this one's.
			otherToken := h.pageBrowser(nil).csrfToken()
			v := h.pageBrowser(header)
			own := v.csrfToken()
			refused(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "csrf_token": {otherToken}}), "signin-email")

			// The browser's own token, leaked, helps no request that says
			// it comes from another site.
			if header != nil && header["Origin"] != "null" {
				refused(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "csrf_token": {own}}), "signin-email")
				refused(t, v.submit("send-magic", url.Values{"email": {ann}, "csrf_token": {own}}), "send-magic")
				require.Empty(t, v.cookie(authkit.SessionCookie))
			}
		})
	}

	t.Run("a browser that says nothing, with its token", func(t *testing.T) {
		v := h.pageBrowser(nil)
		token := v.csrfToken()
		requirePage(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "csrf_token": {token}}), pageHome, nil)
		require.NotEmpty(t, v.cookie(authkit.SessionCookie))
		email, _ := v.whoami()
		require.Equal(t, ann, email)
		requirePage(t, v.submit("signout", url.Values{"csrf_token": {token}}), pageBye, sent("signout"))
		email, _ = v.whoami()
		require.Empty(t, email)
	})

	for name, header := range map[string]map[string]string{
		"the app's own origin": h.ownPage(),
		"an allowed origin":    fromSite(appOrigin, "same-site"),
		"Sec-Fetch-Site alone": {"Sec-Fetch-Site": "same-origin"},
		"Origin alone":         {"Origin": h.srv.URL},
	} {
		t.Run("from "+name, func(t *testing.T) {
			v := h.pageBrowser(header)
			requirePage(t, v.submit("signin-email", signIn), "/orders", nil)
			require.NotEmpty(t, v.cookie(authkit.SessionCookie))
		})
	}
}

// The return path of a sign-in: only a path of the app's own, that no
// browser, and no server that decodes it before it redirects, can read as
// another host. Any other ends the sign-in at AfterSignIn, and is not
// carried back to the sign-in page on failure.
func TestFormsReturnPath(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits)
	const ann = "ann@example.com"
	h.passwordUser(ann)
	v := h.pageBrowser(h.ownPage())

	for _, p := range []string{
		"/", "/orders", "/orders?tab=2&x=%2F", "/a/b#top", "/search?q=a%20b", "/orders?next=//evil.com",
		"/%7Euser", "/a:b", "/.well-known/x",
	} {
		t.Run("safe "+p, func(t *testing.T) {
			require.Equal(t, p, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "return": {p}}).String())
			loc := v.submit("signin-email", url.Values{"email": {ann}, "password": {"wrong password"}, "return": {p}})
			require.Equal(t, p, loc.Query().Get("return"))
		})
	}

	for _, p := range []string{
		"", "//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\/evil.com", "\\\\evil.com", "/\\/evil.com",
		"https://evil.com", "http://evil.com/orders", "https:evil.com", "//evil.com/%2e%2e", "evil.com", "orders",
		"javascript:alert(1)", "JavaScript:alert(1)", "/javascript:alert(1)\n", "data:text/html,<script>alert(1)</script>",
		"/%2F%2Fevil.com", "/%2f%2fevil.com", "/%2F/evil.com", "/%5Cevil.com", "/%5cevil.com", "/%252F%252Fevil.com",
		"/%25252F%25252Fevil.com", "/%2525252F%2525252Fevil.com", "/%09/evil.com", "/%0A/evil.com", "/%0d%0aSet-Cookie:x=1",
		"/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com", "\t//evil.com", " /evil.com", "/ /evil.com", "/\x00/evil.com",
		"/orders\x7f", "/%zz", "/\u3002evil.com", "/\uff0fevil.com", "/" + strings.Repeat("a", 3000),
	} {
		t.Run(fmt.Sprintf("unsafe %q", p), func(t *testing.T) {
			loc := v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "return": {p}})
			requirePage(t, loc, pageHome, nil)
			loc = v.submit("signin-email", url.Values{"email": {ann}, "password": {"wrong password"}, "return": {p}})
			requirePage(t, loc, pageSignIn, failed("signin-email", "invalid_credentials"))
		})
	}
}

// RequireSignIn sends a browser without a live session to the sign-in
// page, with the path it asked for to come back to.
func TestRequireSignIn(t *testing.T) {
	t.Parallel()
	h := newFormsHarness(t, noLimits)
	const ann = "ann@example.com"
	h.passwordUser(ann)
	v := h.pageBrowser(h.ownPage())

	loc := v.landed(v.do(http.MethodGet, "/orders?tab=1", "", "", nil))
	requirePage(t, loc, pageSignIn, url.Values{"return": {"/orders?tab=1"}})
	back := v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}, "return": {loc.Query().Get("return")}})
	require.Equal(t, "/orders?tab=1", back.String())
	resp := v.do(http.MethodGet, back.String(), "", "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)

	t.Run("an unsafe method comes back to no path", func(t *testing.T) {
		w := h.pageBrowser(h.ownPage())
		requirePage(t, w.landed(w.do(http.MethodPost, "/orders", "", "", w.header)), pageSignIn, nil)
	})

	t.Run("an ended session", func(t *testing.T) {
		w := h.pageBrowser(h.ownPage())
		requirePage(t, w.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}}), pageHome, nil)
		require.NoError(t, h.kit.EndSessions(t.Context(), h.userID(ann)))
		_, to := w.whoami()
		requirePage(t, to, pageSignIn, url.Values{"return": {"/orders"}})
	})

	t.Run("a session cookie posted from another site", func(t *testing.T) {
		loc := v.landed(v.do(http.MethodPost, "/orders", "", "", fromSite(evilOrigin, "cross-site")))
		requirePage(t, loc, pageOops, url.Values{"error": {"origin_not_allowed"}})
	})

	t.Run("a session in the header", func(t *testing.T) {
		a := h.signIn(ann, inputPassword)
		resp := h.pageBrowser(nil).do(http.MethodGet, "/orders", "", "", map[string]string{"Session": a.token()})
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})

	t.Run("a path no browser reads as this origin's", func(t *testing.T) {
		for _, target := range []string{"http://api.example.com//evil.com/x", "http://api.example.com/%2F%2Fevil.com"} {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			rec := httptest.NewRecorder()
			h.kit.RequireSignIn(http.HandlerFunc(hostHandler)).ServeHTTP(rec, r)
			require.Equal(t, http.StatusSeeOther, rec.Code)
			require.Equal(t, pageSignIn, rec.Header().Get("Location"), target)
		}
	})

	t.Run("needs Forms", func(t *testing.T) {
		kit, err := authkit.New(validConfig())
		require.NoError(t, err)
		require.PanicsWithValue(t, "authkit: RequireSignIn needs Config.Forms.SignIn, the sign-in page it sends browsers to", func() {
			kit.RequireSignIn(http.HandlerFunc(hostHandler))
		})
	})
}

// recordingCarrier keeps a browser's session as a host's session library
// would, in a cookie of its own, and counts what the kit asked of it.
type recordingCarrier struct{ saves, clears atomic.Int32 }

const carrierCookie = "host_session"

func (c *recordingCarrier) Token(r *http.Request) string {
	if ck, err := r.Cookie(carrierCookie); err == nil {
		return ck.Value
	}
	return ""
}

func (c *recordingCarrier) Save(w http.ResponseWriter, _ *http.Request, token string, expires time.Time) error {
	c.saves.Add(1)
	http.SetCookie(w, &http.Cookie{Name: carrierCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true})
	return nil
}

func (c *recordingCarrier) Clear(w http.ResponseWriter, _ *http.Request) error {
	c.clears.Add(1)
	http.SetCookie(w, &http.Cookie{Name: carrierCookie, Path: "/", MaxAge: -1})
	return nil
}

// A form's sign-in lives wherever the host keeps sessions: the kit's
// cookie or the host's carrier.
func TestFormsSignInThroughTheCarrier(t *testing.T) {
	t.Parallel()
	carrier := &recordingCarrier{}
	h := newFormsHarness(t, noLimits, func(c *authkit.Config) {
		c.SessionCookie = authkit.Default
		c.SessionCarrier = carrier
	})
	const ann = "ann@example.com"
	h.passwordUser(ann)
	v := h.pageBrowser(h.ownPage())
	requirePage(t, v.submit("signin-email", url.Values{"email": {ann}, "password": {inputPassword}}), pageHome, nil)
	require.EqualValues(t, 1, carrier.saves.Load())
	require.NotEmpty(t, v.cookie(carrierCookie))
	require.Empty(t, v.cookie(authkit.SessionCookie))
	email, _ := v.whoami()
	require.Equal(t, ann, email)
	requirePage(t, v.submit("signout", url.Values{}), pageBye, sent("signout"))
	require.EqualValues(t, 1, carrier.clears.Load())
	require.Empty(t, v.cookie(carrierCookie))
}

// The Altogic client's routes are what they were: JSON in, JSON out, a
// form body refused with 415, with the forms on or off.
func TestFormsLeaveTheJSONRoutesAlone(t *testing.T) {
	t.Parallel()
	for name, h := range map[string]*harness{
		"forms off": newHarness(t, authkit.CheapHashing, noLimits),
		"forms on":  newFormsHarness(t, noLimits),
	} {
		t.Run(name, func(t *testing.T) {
			h.passwordUser("ann@example.com")
			form := url.Values{"email": {"ann@example.com"}, "password": {inputPassword}}.Encode()
			a := h.do(req{method: http.MethodPost, path: api + "signin-email", body: form,
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": h.srv.URL}})
			requireStatusCode(t, a, http.StatusUnsupportedMediaType, "unsupported_media_type")

			a = h.signIn("ann@example.com", inputPassword)
			require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
			requireSessionShape(t, a.session())
			require.Equal(t, "ann@example.com", a.user()["email"])
		})
	}

	h := newHarness(t)
	a := h.do(req{method: http.MethodPost, path: formsPrefix + "signin-email", body: "email=a%40example.com&password=x",
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": h.srv.URL}})
	requireStatusCode(t, a, http.StatusNotFound, "not_found")
}

// New checks Config.Forms: its pages, and that sessions live in the
// browser.
func TestFormsConfig(t *testing.T) {
	t.Parallel()
	withForms := func(f authkit.Forms) authkit.Config {
		c := validConfig()
		c.SessionCookie = authkit.On
		c.Forms = f
		return c
	}
	for _, page := range []string{
		"/login", "https://api.example.com/login", "https://API.example.com:443/login?x=1", "https://app.example.com/after/login",
	} {
		_, err := authkit.New(withForms(authkit.Forms{SignIn: page, Error: page}))
		require.NoError(t, err, page)
	}
	for _, page := range []string{
		"login", "//evil.com", "/\\evil.com", "/%2F%2Fevil.com", "https://evil.com/login", "http://api.example.com/login",
		"https://app.example.com:8443/login", "https://user@api.example.com/login", "javascript:alert(1)", "/\tlogin",
	} {
		for _, f := range []authkit.Forms{
			{SignIn: page}, {SignIn: "/login", AfterSignIn: page}, {SignIn: "/login", AfterSignUp: page},
			{SignIn: "/login", AfterSend: page}, {SignIn: "/login", AfterReset: page},
			{SignIn: "/login", AfterSignOut: page}, {SignIn: "/login", Error: page},
			{SignIn: "/login", Account: page},
		} {
			_, err := authkit.New(withForms(f))
			require.ErrorContains(t, err, "Config.Forms.", "%+v", f)
		}
	}

	_, err := authkit.New(withForms(authkit.Forms{AfterSignIn: "/home"}))
	require.ErrorContains(t, err, "Config.Forms.SignIn is required")

	c := withForms(authkit.Forms{SignIn: "/login"})
	c.SessionCookie = authkit.Default
	_, err = authkit.New(c)
	require.ErrorContains(t, err, "Config.Forms needs Config.SessionCookie or a Config.SessionCarrier")
}

// FuzzFormReturnPath: whatever a sign-in form carries as its return
// path, the kit sends the browser to no other host: a path it carries
// back to the sign-in page starts with one "/", and no browser or
// decoding server reads it as another host.
func FuzzFormReturnPath(f *testing.F) {
	for _, s := range []string{"/orders", "//evil.com", "/\\evil.com", "/%2F%2Fevil.com", "/\t/evil.com", "https://evil.com", "/%252F%252Fx"} {
		f.Add(s)
	}
	store := memstore.New()
	cfg := authkit.Config{
		Store: store, Mailer: outbox.New(), PublicURL: fuzzPublic, RedirectURL: fuzzRedirect,
		Logger: discardLogger(), SessionCookie: authkit.On, Forms: authkit.Forms{SignIn: "/login"},
	}
	generousLimits(&cfg)
	authkit.CheapHashing(&cfg)
	kit, err := authkit.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { kit.Close(context.Background()) })
	base, _ := url.Parse(fuzzPublic + "/_auth/forms/signin-email")
	f.Fuzz(func(t *testing.T, ret string) {
		body := url.Values{"email": {"nobody@example.com"}, "password": {"wrong password"}, "return": {ret}}.Encode()
		r := httptest.NewRequest(http.MethodPost, base.String(), strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", fuzzPublic)
		rec := httptest.NewRecorder()
		kit.Handler().ServeHTTP(rec, r)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%d: %s", rec.Code, rec.Body)
		}
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || loc.Path != "/login" || loc.Host != "" {
			t.Fatalf("sent to %q", rec.Header().Get("Location"))
		}
		p := loc.Query().Get("return")
		if p == "" {
			return
		}
		if p != ret || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\t\r\n") {
			t.Fatalf("carried %q back", p)
		}
		for d := p; ; {
			if u, err := base.Parse(d); err != nil || u.Host != base.Host {
				t.Fatalf("%q leads to another host", p)
			}
			next, err := url.PathUnescape(d)
			if err != nil || next == d {
				break
			}
			if strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\t\r\n") {
				t.Fatalf("%q decodes to %q", p, next)
			}
			d = next
		}
	})
}
