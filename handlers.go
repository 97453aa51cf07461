package authkit

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// apiPrefix is where the Altogic client sends its auth calls.
const apiPrefix = "/_api/rest/v1/auth/"

// handlerFunc is a handler whose failure the router answers.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

type route struct {
	method  string
	handle  handlerFunc
	session bool // needs a live session; the caller is in the context
	starts  bool // may start a session, which the browser's carrier keeps
}

// routes is the router. Each route's handler decodes the request and calls
// the Go API's method (goapi.go), which counts the request toward
// Limits.PerIP: those that sign up, sign in, check a code or change a
// credential; the send routes count toward it apart, so that failed
// sign-ins do not spend recovery. The grant and reset-pwd routes are not
// counted: their keys are 256-bit secrets, nothing to guess, and reset-pwd
// must work for an account that is being attacked.
func (k *Kit) routes() http.Handler {
	table := k.routeTable()
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		rt, ok := table[r.URL.Path]
		if !ok {
			rt, ok = k.oauthRoute(r) // /_auth/{provider} and its callback
		}
		if !ok {
			writeError(w, r, k.log, newError(CodeNotFound, "There is no such route."))
			return
		}
		if r.Method != rt.method {
			h.Set("Allow", rt.method)
			writeError(w, r, k.log, newError(CodeMethodNotAllowed, "This route takes "+rt.method+"."))
			return
		}
		if rt.starts && k.carrier.saves && k.foreign(r) {
			// Login CSRF: another site's page must not sign this browser
			// in to an account of its choosing.
			writeError(w, r, k.log, errForeignSignIn)
			return
		}
		if rt.session {
			c, err := k.authenticate(r)
			if err != nil {
				writeError(w, r, k.log, err)
				return
			}
			r = r.WithContext(c.attach(r.Context()))
		}
		if err := rt.handle(w, r); err != nil {
			writeError(w, r, k.log, err)
		}
	})
	withCORS := k.cors(kitMethods, router)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		privateHeaders(w.Header())
		withCORS.ServeHTTP(w, k.withClient(r))
	})
}

// routeTable is the routes of fixed paths, by path: the REST API, the
// email link, and the routes Config.Forms and Config.ServeOpenAPI turn
// on. The OAuth routes, whose paths name a provider, are oauthRoute's.
func (k *Kit) routeTable() map[string]route {
	table := map[string]route{
		apiPrefix + "signup-email":            {http.MethodPost, k.handleSignUpEmail, false, true},
		apiPrefix + "signin-email":            {http.MethodPost, k.handleSignInEmail, false, true},
		apiPrefix + "grant":                   {http.MethodGet, k.handleGrant, false, true},
		apiPrefix + "send-magic":              {http.MethodPost, k.handleSendMagicLink, false, false},
		apiPrefix + "send-reset":              {http.MethodPost, k.handleSendReset, false, false},
		apiPrefix + "reset-pwd":               {http.MethodPost, k.handleResetPassword, false, false},
		apiPrefix + "resend":                  {http.MethodPost, k.handleResendConfirmation, false, false},
		apiPrefix + "user":                    {http.MethodGet, k.handleUser, true, false},
		apiPrefix + "sessions":                {http.MethodGet, k.handleSessions, true, false},
		apiPrefix + "signout":                 {http.MethodPost, k.handleSignOut, true, false},
		apiPrefix + "signout-all":             {http.MethodPost, k.handleSignOutAll, true, false},
		apiPrefix + "signout-all-except":      {http.MethodPost, k.handleSignOutOthers, true, false},
		apiPrefix + "change-pwd":              {http.MethodPost, k.handleChangePassword, true, false},
		apiPrefix + "change-email":            {http.MethodPost, k.handleChangeEmail, true, false},
		apiPrefix + "signup-phone":            {http.MethodPost, k.handleSignUpPhone, false, true},
		apiPrefix + "signin-phone":            {http.MethodPost, k.handleSignInPhone, false, true},
		apiPrefix + "verify-phone":            {http.MethodPost, k.handleVerifyPhone, false, true},
		apiPrefix + "resend-code":             {http.MethodPost, k.handleResendCode, false, false},
		apiPrefix + "send-code":               {http.MethodPost, k.handleSendSignInCode, false, false},
		apiPrefix + "signin-code":             {http.MethodPost, k.handleSignInCode, false, true},
		apiPrefix + "send-reset-code":         {http.MethodPost, k.handleSendResetCode, false, false},
		apiPrefix + "reset-pwd-code":          {http.MethodPost, k.handleResetPasswordCode, false, false},
		apiPrefix + "change-phone":            {http.MethodPost, k.handleChangePhone, true, false},
		apiPrefix + "mfa/totp/enrol":          {http.MethodPost, k.handleEnrolTOTP, true, false},
		apiPrefix + "mfa/totp/confirm":        {http.MethodPost, k.handleConfirmTOTP, true, false},
		apiPrefix + "mfa/totp/remove":         {http.MethodPost, k.handleRemoveTOTP, true, false},
		apiPrefix + "mfa/recovery/regenerate": {http.MethodPost, k.handleRegenerateRecoveryCodes, true, false},
		apiPrefix + "mfa/verify":              {http.MethodPost, k.handleVerifyMFA, false, true},
		apiPrefix + "mfa/step-up":             {http.MethodPost, k.handleStepUp, true, true},
		linkPath:                              {http.MethodGet, k.handleLink, false, false},
	}
	if k.forms.on {
		maps.Copy(table, k.formRoutes()) // /_auth/forms/... (forms.go)
	}
	maps.Copy(table, k.passkeyRoutes()) // passkeys/... (passkeys_handlers.go)
	if k.serveOpenAPI {
		table[openAPIPath] = route{http.MethodGet, k.handleOpenAPI, false, false}
	}
	return table
}

// writeGrant answers a flow that signs in, or may. When it started a
// session, the browser is remembered as a device of the account: the
// device cookie (lockout.go) makes its later sign-ins to that account a
// source of their own, which failures sent from elsewhere cannot lock.
//
// The browser's carrier (the session cookie, or the host's session) keeps
// the session when the request says it comes from the app's own origin or
// an allowed one, or presents a CSRF token: a request that says nothing
// (a native client, curl) gets the token in the body only, so that no
// page of another site can plant a session in a browser that says nothing
// either. The body carries the token unless TokenInBody is off and the
// carrier kept it.
func (k *Kit) writeGrant(w http.ResponseWriter, r *http.Request, ans SignIn) error {
	if ans.Session != nil {
		if k.carrier.saves && (k.sameSite(r) || k.csrfOK(r)) {
			if err := k.carry(w, r, ans); err != nil {
				return err
			}
			if !k.carrier.tokenInBody {
				ans.Token = ""
			}
		} else {
			k.rememberDevice(w, r, ans.User.ID)
		}
	}
	ans.User = k.wire(ans.User)
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// rememberDevice sets the device cookie of the account userID on w.
func (k *Kit) rememberDevice(w http.ResponseWriter, r *http.Request, userID string) {
	v, err := k.deviceValue(r.Context(), userID)
	if err != nil {
		// The sign-in stands; the browser is not remembered this time.
		k.log.ErrorContext(r.Context(), "authkit: no device cookie", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: k.limits.deviceCookie, Value: v, Path: "/", MaxAge: int(deviceLifetime / time.Second),
		Secure: k.limits.secureCookies, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

func (k *Kit) handleSignUpEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email          string          `json:"email"`
		Password       string          `json:"password"`
		NameOrUserData json.RawMessage `json:"nameOrUserData"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.signUpWithEmailData(r.Context(), req.Email, req.Password, req.NameOrUserData)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleSignInEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	ans, err := k.SignInWithEmail(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleGrant(w http.ResponseWriter, r *http.Request) error {
	ans, err := k.ExchangeGrant(r.Context(), r.URL.Query().Get("key"))
	if err != nil {
		return err
	}
	return k.writeGrant(w, r, ans)
}

func (k *Kit) handleSendMagicLink(w http.ResponseWriter, r *http.Request) error {
	if err := k.SendMagicLink(r.Context(), r.URL.Query().Get("email")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleSendReset(w http.ResponseWriter, r *http.Request) error {
	if err := k.SendResetLink(r.Context(), r.URL.Query().Get("email")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleResendConfirmation(w http.ResponseWriter, r *http.Request) error {
	if err := k.ResendConfirmation(r.Context(), r.URL.Query().Get("email")); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleResetPassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		NewPassword string `json:"newPassword"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := k.ResetPassword(r.Context(), r.URL.Query().Get("key"), req.NewPassword); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleUser(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, k.wire(*callerFrom(r.Context()).user))
	return nil
}

func (k *Kit) handleSessions(w http.ResponseWriter, r *http.Request) error {
	sessions, err := k.Sessions(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sessions)
	return nil
}

func (k *Kit) handleSignOut(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Token string `json:"token"`
	}
	if err := decodeBody(w, r, &req, true); err != nil {
		return err
	}
	if err := k.SignOut(r.Context(), req.Token); err != nil {
		return err
	}
	if err := k.clearIfEnded(r.Context(), w, r); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleSignOutAll(w http.ResponseWriter, r *http.Request) error {
	if err := k.SignOutAll(r.Context()); err != nil {
		return err
	}
	if err := k.clearIfEnded(r.Context(), w, r); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleSignOutOthers(w http.ResponseWriter, r *http.Request) error {
	if err := k.SignOutOthers(r.Context()); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleChangePassword(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		NewPassword string `json:"newPassword"`
		OldPassword string `json:"oldPassword"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	if err := k.ChangePassword(r.Context(), req.OldPassword, req.NewPassword); err != nil {
		return err
	}
	return ok(w)
}

func (k *Kit) handleChangeEmail(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		CurrentPassword string `json:"currentPassword"`
		NewEmail        string `json:"newEmail"`
	}
	if err := decodeBody(w, r, &req, false); err != nil {
		return err
	}
	u, err := k.ChangeEmail(r.Context(), req.CurrentPassword, req.NewEmail)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, k.wire(u))
	return nil
}

// handleOpenAPI serves the document of the kit's routes (openapi.go).
func (k *Kit) handleOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPIDocument)
	return nil
}

// handleLink serves every email link. It never answers with JSON: the
// browser is sent on to the Redirect URL, with the outcome in the query.
func (k *Kit) handleLink(w http.ResponseWriter, r *http.Request) error {
	q, err := k.followLink(r.Context(), r.URL.Query().Get("key"))
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = internalError(err)
		}
		if e.HTTPStatus() >= 500 {
			k.log.ErrorContext(r.Context(), "authkit: following a link failed", "err", e.Err)
		}
		q = url.Values{"status": {strconv.Itoa(e.HTTPStatus())}, "error": {string(e.Code)}}
	}
	k.redirect(w, r, q)
	return nil
}

// redirect sends the browser to the configured Redirect URL, and nowhere
// else, with q added to its query.
func (k *Kit) redirect(w http.ResponseWriter, r *http.Request, q url.Values) {
	u := *k.redirectURL
	merged := u.Query()
	for key, vs := range q {
		merged[key] = vs
	}
	u.RawQuery = merged.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
