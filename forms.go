package authkit

// HTML forms: the flows of the REST API for server-rendered pages. A
// browser posts a form to /_auth/forms/<route> and is sent on, 303, to a
// page of the app's: the next step on success, an error page with the
// error's code on failure. Each route decodes its form and calls the same
// method of the Go API as its JSON twin (goapi.go), so that the limits,
// hooks and logs are the same whichever way a flow is asked for.
//
// The forms have routes of their own rather than the JSON routes taking a
// second kind of body, so that what a route answers is decided by the
// route, never by a header of the request: the Altogic client's routes
// answer JSON whatever comes to them (a form body is still 415), so
// nothing of the client's contract moves, and a form's route answers with
// a redirect even when it refuses (a foreign origin, a body too large),
// so a person at a form never lands on JSON. /_auth/ is where browsers go
// already (email links, OAuth), and every host mounts it.

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// formsPrefix is where the form routes are.
const formsPrefix = "/_auth/forms/"

// Forms turns on the kit's HTML form routes (/_auth/forms/...) and
// [Kit.RequireSignIn], and names the app's pages they send browsers to.
// Each page is a path of the app ("/login"), or an absolute URL on the
// origin of Config.PublicURL or Config.RedirectURL; New checks them.
// Forms are on when SignIn is set. They need cookie sessions
// ([Config.SessionCookie] or a [Config.SessionCarrier]): a form's sign-in
// lives in the browser.
//
// To a page's own query the kit adds form=<route> (the form that sent
// the browser there) and, on failure, error=<code> (with retry_after=<seconds>
// for too_many_requests), and return=<path> when the form carried a safe
// return path; never what the user typed. A sign-in ends at its return
// path, or at AfterSignIn, with nothing added.
type Forms struct {
	// SignIn is the app's sign-in page. RequireSignIn sends browsers
	// there with return=<the path they asked for>, and the errors of the
	// forms that sign in (signin-email, signin-phone, signin-code, grant)
	// come back there. Required to turn forms on.
	SignIn string
	// AfterSignIn is where a form that signs in ends when it carries no
	// return path. Default "/".
	AfterSignIn string
	// AfterSignUp is where a sign-up ends whose address must be confirmed
	// first: the link or code is on its way. Default AfterSend.
	AfterSignUp string
	// AfterSend is where the forms that send a link or a code end
	// (send-magic, send-reset, resend, send-code, send-reset-code,
	// resend-code). Default SignIn.
	AfterSend string
	// AfterReset is where a password reset ends (reset-pwd,
	// reset-pwd-code); every session of the account has ended, and the
	// user signs in with the new password. Default SignIn.
	AfterReset string
	// AfterSignOut is where the sign-out forms end (signout, signout-all).
	// Default SignIn.
	AfterSignOut string
	// Account is the app's page of the signed-in user, where the forms
	// that change the account (change-pwd, change-email, change-phone) or
	// end other sessions (signout-all-except, and signout naming another
	// session) end, and where their errors go. Default AfterSignIn.
	Account string
	// Error is where the errors of the forms that do not sign in go:
	// sign-up, verify-phone, the sends, the resets and sign-out. Default
	// SignIn.
	Error string
	// MFA is the app's page of a sign-in's second step (Config.MFA): a
	// form sign-in of a user with an authenticator ends there, with
	// error=mfa_required and the first form's name and return path, and
	// the page posts the code (TOTP or recovery) to /_auth/forms/mfa with
	// the return field. The sign-in's ticket rides in a short-lived
	// HttpOnly cookie of the kit's, never in the page's URL. A wrong code
	// comes back here; a ticket spent, expired or missing goes to SignIn.
	// Default SignIn, which then shows the code field on mfa_required.
	MFA string
}

// formSettings are Config.Forms, checked.
type formSettings struct {
	on                                        bool
	signIn, afterSignIn, afterSignUp          *url.URL
	afterSend, afterReset, afterSignOut, fail *url.URL
	account, mfa                              *url.URL
	// origin is SignIn's, when SignIn is an absolute URL: return paths
	// are paths of the origin of the sign-in page. "" for a path.
	origin string
}

// configureForms checks and applies Forms. It runs after
// configureCarrier: forms need a carrier that keeps sessions.
func (k *Kit) configureForms(cfg Config) error {
	f := cfg.Forms
	if f == (Forms{}) {
		return nil
	}
	if f.SignIn == "" {
		return errors.New("authkit: Config.Forms.SignIn is required to turn forms on: the page RequireSignIn sends browsers to, where sign-in errors go")
	}
	if !k.carrier.saves {
		return errors.New("authkit: Config.Forms needs Config.SessionCookie or a Config.SessionCarrier: a form's sign-in lives in the browser")
	}
	afterSend := cmp.Or(f.AfterSend, f.SignIn)
	for _, p := range []struct {
		field, raw string
		out        **url.URL
	}{
		{"SignIn", f.SignIn, &k.forms.signIn},
		{"AfterSignIn", cmp.Or(f.AfterSignIn, "/"), &k.forms.afterSignIn},
		{"AfterSend", afterSend, &k.forms.afterSend},
		{"AfterSignUp", cmp.Or(f.AfterSignUp, afterSend), &k.forms.afterSignUp},
		{"AfterReset", cmp.Or(f.AfterReset, f.SignIn), &k.forms.afterReset},
		{"AfterSignOut", cmp.Or(f.AfterSignOut, f.SignIn), &k.forms.afterSignOut},
		{"Error", cmp.Or(f.Error, f.SignIn), &k.forms.fail},
		{"Account", cmp.Or(f.Account, f.AfterSignIn, "/"), &k.forms.account},
		{"MFA", cmp.Or(f.MFA, f.SignIn), &k.forms.mfa},
	} {
		u, err := k.formPage(p.field, p.raw)
		if err != nil {
			return err
		}
		*p.out = u
	}
	if k.forms.signIn.Host != "" {
		k.forms.origin = canonicalOrigin(f.SignIn)
	}
	k.forms.on = true
	return nil
}

// formPage checks one page of Config.Forms: a local path, or an absolute
// URL on the origin of PublicURL or RedirectURL.
func (k *Kit) formPage(field, raw string) (*url.URL, error) {
	bad := fmt.Errorf("authkit: Config.Forms.%s must be a path of the app (\"/login\") or an absolute URL on the origin of PublicURL or RedirectURL, not %q", field, raw)
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, bad
	case strings.HasPrefix(raw, "/"):
		if !localPath(raw) {
			return nil, bad
		}
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.User != nil:
		return nil, bad
	default:
		o := canonicalOrigin(raw)
		if o != canonicalOrigin(k.publicURL) && o != canonicalOrigin(k.redirectURL.String()) {
			return nil, bad
		}
	}
	return u, nil
}

// maxReturn bounds a return path.
const maxReturn = 2048

// localPath reports whether p is a path that every browser, and every
// server that decodes a path before it redirects, reads as a path of the
// origin it is on: it starts with one "/" ("//evil.com" and "/\evil.com"
// are other hosts to a browser), holds no backslash, no space and no
// control character (browsers drop tabs and newlines, so "/\t/evil.com"
// is "//evil.com"), nothing but ASCII, and none of its percent-decoded
// forms starts with "//" or holds a backslash or a control character
// ("/%2F%2Fevil.com" is "//evil.com" once decoded). A scheme
// ("javascript:", "https://") cannot start with "/".
func localPath(p string) bool {
	if p == "" || len(p) > maxReturn || p[0] != '/' {
		return false
	}
	for i := range len(p) {
		if c := p[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return false
		}
	}
	for range 4 { // the path, then each decoding of it, until none changes it
		if strings.HasPrefix(p, "//") {
			return false
		}
		d, err := url.PathUnescape(p)
		if err != nil {
			return false
		}
		if d == p {
			return true
		}
		if strings.ContainsFunc(d, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }) {
			return false
		}
		p = d
	}
	return false // encoded four times over: no page of the app's is
}

// pageURL is page with q set in its query.
func pageURL(page *url.URL, q url.Values) string {
	u := *page
	merged := u.Query()
	for key, vs := range q {
		merged[key] = vs
	}
	u.RawQuery = merged.Encode()
	return u.String()
}

// formEnd is how a form's flow ended, which names the page it ends at.
type formEnd int

const (
	endSignedIn  formEnd = iota // the return path, or AfterSignIn
	endSignedUp                 // AfterSignUp: a confirmation is on its way
	endSent                     // AfterSend
	endReset                    // AfterReset
	endSignedOut                // AfterSignOut
	endAccount                  // Account: the account changed, or other sessions ended
)

// A formHandler reads its form (parsed already), calls the Go API and
// says how the flow ended.
type formHandler func(w http.ResponseWriter, r *http.Request) (formEnd, error)

// formRoutes are the form routes, by path. The forms that sign in send
// their errors back to the sign-in page; those of the account page back
// to it; the others to the error page.
func (k *Kit) formRoutes() map[string]route {
	routes := map[string]route{}
	add := func(name string, errorPage *url.URL, h formHandler) {
		routes[formsPrefix+name] = route{method: http.MethodPost, handle: k.form(name, errorPage, h)}
	}
	signIn, fail := k.forms.signIn, k.forms.fail
	add("signin-email", signIn, k.formSignInEmail)
	add("signin-phone", signIn, k.formSignInPhone)
	add("signin-code", signIn, k.formSignInCode)
	add("grant", signIn, k.formGrant)
	add("signup-email", fail, k.formSignUpEmail)
	add("signup-phone", fail, k.formSignUpPhone)
	add("verify-phone", fail, k.formVerifyPhone)
	add("send-magic", fail, k.formSend(k.SendMagicLink, fieldEmail))
	add("send-reset", fail, k.formSend(k.SendResetLink, fieldEmail))
	add("resend", fail, k.formSend(k.ResendConfirmation, fieldEmail))
	add("send-code", fail, k.formSend(k.SendSignInCode, fieldPhone))
	add("send-reset-code", fail, k.formSend(k.SendResetCode, fieldPhone))
	add("resend-code", fail, k.formSend(k.ResendVerificationCode, fieldPhone))
	add("reset-pwd", fail, k.formResetPassword)
	add("reset-pwd-code", fail, k.formResetPasswordCode)
	add("signout", fail, k.formSignOut)
	add("signout-all", fail, k.formSignOutAll)
	account := k.forms.account
	add("signout-all-except", account, k.formSignOutOthers)
	add("change-pwd", account, k.formChangePassword)
	add("change-email", account, k.formChangeEmail)
	add("change-phone", account, k.formChangePhone)
	add("mfa", k.forms.mfa, k.formMFA)
	add("step-up", account, k.formStepUp)
	return routes
}

// form is the route of the form name: it reads the form, refuses it
// unless it comes from the app's pages, runs h and sends the browser on.
// Every answer is a 303, failures included. A failure goes to errorPage,
// or to the page a pagedError names.
func (k *Kit) form(name string, errorPage *url.URL, h formHandler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var next string
		if end, err := k.runForm(w, r, h); err != nil {
			page := errorPage
			var pe *pagedError
			if errors.As(err, &pe) {
				page = pe.page
			}
			next = k.formFailed(r, name, page, err)
		} else {
			next = k.formEnded(r, name, end)
		}
		seeOther(w, next)
		return nil
	}
}

// pagedError is a form's failure that goes to a page other than its
// route's error page: a sign-in that waits for its second factor goes to
// Forms.MFA, a second step whose ticket is gone back to Forms.SignIn.
type pagedError struct {
	err  error
	page *url.URL
}

func (e *pagedError) Error() string { return e.err.Error() }
func (e *pagedError) Unwrap() error { return e.err }

// seeOther sends the browser to next, a page New checked or a local path.
func seeOther(w http.ResponseWriter, next string) {
	w.Header().Set("Location", next)
	w.WriteHeader(http.StatusSeeOther)
}

// errForeignForm refuses a form posted from a page of another site.
var errForeignForm = newError(CodeOriginNotAllowed, "A form from a page this app does not allow was refused.")

// runForm reads r's form and runs h, if r comes from the app's own
// origin or an allowed one (Origin, or Sec-Fetch-Site: same-origin), or
// says nothing of where it comes from and presents its browser's CSRF
// token: the rules of a carried session's unsafe request (authenticate),
// for every form, those without a session too. A foreign page must not
// sign a browser in to an account of its choosing (login CSRF), sign it
// out, or send mail and texts in its name; and a request that says it
// comes from one is refused even with a token, which could only have
// leaked.
func (k *Kit) runForm(w http.ResponseWriter, r *http.Request, h formHandler) (formEnd, error) {
	if !isForm(r) {
		return 0, newError(CodeUnsupportedMediaType, "The request body must be an HTML form (application/x-www-form-urlencoded).")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return 0, newError(CodeRequestTooLarge, "The form is too large.")
		}
		return 0, newError(CodeBadRequest, "The form could not be read.")
	}
	if !k.sameSite(r) && (k.foreign(r) || !k.csrfOK(r)) {
		return 0, errForeignForm
	}
	return h(w, r)
}

// formEnded is where a form that succeeded sends the browser.
func (k *Kit) formEnded(r *http.Request, name string, end formEnd) string {
	var page *url.URL
	switch end {
	case endSignedUp:
		page = k.forms.afterSignUp
	case endSent:
		page = k.forms.afterSend
	case endReset:
		page = k.forms.afterReset
	case endSignedOut:
		page = k.forms.afterSignOut
	case endAccount:
		page = k.forms.account
	default:
		if p, ok := returnPath(r); ok {
			return k.forms.origin + p
		}
		return k.forms.afterSignIn.String()
	}
	return pageURL(page, url.Values{"form": {name}})
}

// formFailed is where a form that failed sends the browser: its error
// page, with the form's name and the error's code, and the form's return
// path, so that the page can offer the form again as it was asked for.
// A refused foreign form gets nothing of its own echoed.
func (k *Kit) formFailed(r *http.Request, name string, page *url.URL, err error) string {
	var e *Error
	if !errors.As(err, &e) {
		e = internalError(err)
	}
	status := e.HTTPStatus()
	if status >= 500 {
		logFailure(r, k.log, "authkit: form failed", e, "form", name)
	}
	q := url.Values{"form": {name}, "error": {string(e.Code)}}
	if status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && e.RetryAfter > 0) {
		q.Set("retry_after", strconv.FormatInt(retrySeconds(e.RetryAfter), 10))
	}
	if p, ok := returnPath(r); ok && e != errForeignForm {
		q.Set("return", p)
	}
	return pageURL(page, q)
}

// returnPath is the form's return field, when it holds a local path.
func returnPath(r *http.Request) (string, bool) {
	vs := r.Form[fieldReturn]
	if len(vs) != 1 || !localPath(vs[0]) {
		return "", false
	}
	return vs[0], true
}

// RequireSignIn is RequireSession for the app's HTML pages: a request
// without a live session is sent (303) to Config.Forms.SignIn rather than
// answered 401, with return=<the path and query it asked for> when it is
// a GET or HEAD whose path is a safe one, for the sign-in form to carry
// back. A session cookie sent from another site on an unsafe request goes
// to Forms.Error with error=origin_not_allowed. It panics when Config.Forms
// is not set, as a mux does for a bad pattern: at start, not at the first
// request.
func (k *Kit) RequireSignIn(next http.Handler) http.Handler {
	if !k.forms.on {
		panic("authkit: RequireSignIn needs Config.Forms.SignIn, the sign-in page it sends browsers to")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := k.authenticate(r)
		if err == nil {
			next.ServeHTTP(w, k.signedIn(r, c))
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.HTTPStatus() >= 500 {
			writeError(w, k.withClient(r), k.log, err)
			return
		}
		q := url.Values{}
		page := k.forms.signIn
		switch p := r.URL.RequestURI(); {
		case e.Code != CodeMissingSessionToken && e.Code != CodeInvalidSessionToken:
			page = k.forms.fail
			q.Set("error", string(e.Code))
		case safeMethod(r.Method) && localPath(p):
			q.Set(fieldReturn, p)
		}
		privateHeaders(w.Header()) // the answer depends on the cookie
		seeOther(w, pageURL(page, q))
	})
}
