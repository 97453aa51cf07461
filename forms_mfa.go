package authkit

// The second step of a form sign-in (Config.MFA with Config.Forms): a
// form that signs in a user with an authenticator keeps the sign-in's
// ticket in a cookie of the kit's and sends the browser to Forms.MFA,
// whose form posts the code to /_auth/forms/mfa. And a signed-in
// browser's session proves a second factor with /_auth/forms/step-up,
// which the account forms ask for (mfa_step_up_required).
//
// The ticket rides in a cookie rather than in the page's URL, where it
// would reach the browser's history, the app's access logs and, through
// Referer, whatever the page loads: with the ticket, a code shoulder-
// surfed or phished later finishes the sign-in in another browser. The
// cookie is HttpOnly (no script of the page reads it), SameSite=Lax (no
// other site's form carries it), scoped to the one route that reads it,
// and lives as long as the ticket.

import (
	"errors"
	"net/http"
	"time"
)

const (
	// mfaCookieName is the cookie that holds a form sign-in's MFA ticket
	// (with the __Secure- prefix when PublicURL is https).
	mfaCookieName = "authkit_mfa"
	// mfaCookiePath is the one route that reads it.
	mfaCookiePath = formsPrefix + "mfa"
)

// errFormMFARequired sends a form sign-in to Forms.MFA: the ticket of the
// flow's mfa_required is in the cookie, and no copy of it is kept here.
var errFormMFARequired = newError(CodeMFARequired, "This account has a second factor: enter a code from the authenticator app, or a recovery code.")

// mfaCookie is the name of the MFA ticket's cookie. It cannot take the
// __Host- prefix, which asks for Path=/.
func (k *Kit) mfaCookie() string {
	if k.limits.secureCookies {
		return "__Secure-" + mfaCookieName
	}
	return mfaCookieName
}

// setMFACookie sets (maxAge > 0) or clears (< 0) the MFA ticket's cookie.
func (k *Kit) setMFACookie(w http.ResponseWriter, ticket string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: k.mfaCookie(), Value: ticket, Path: mfaCookiePath, MaxAge: maxAge,
		HttpOnly: true, Secure: k.limits.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// formAskSecondFactor is err, a form sign-in's failure, as the form
// answers it: a sign-in that waits for a second factor keeps its ticket
// in the browser's MFA cookie and goes on to Forms.MFA; any other error
// is the form's own.
func (k *Kit) formAskSecondFactor(w http.ResponseWriter, err error) error {
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeMFARequired {
		return err
	}
	ticket, _ := e.Details["ticket"].(string)
	if ticket == "" {
		return internalError(errors.New("authkit: mfa_required without a ticket"))
	}
	k.setMFACookie(w, ticket, int(mfaTicketLifetime/time.Second))
	return &pagedError{err: errFormMFARequired, page: k.forms.mfa}
}

// formMFA is the second step of a form sign-in: the code field (a TOTP
// code or a recovery code, from the body alone) with the ticket of the
// browser's MFA cookie, given to VerifyMFA. It signs in as the first
// form would have, at the return path or AfterSignIn. A wrong code goes
// back to Forms.MFA, the ticket still good; a ticket spent, expired or
// missing, or a factor or user gone meanwhile, goes to Forms.SignIn, the
// cookie cleared: the user signs in again.
func (k *Kit) formMFA(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := bodyFields(r, fieldCode)
	if err != nil {
		return 0, err
	}
	ticket := ""
	if c, err := r.Cookie(k.mfaCookie()); err == nil {
		ticket = c.Value
	}
	in, err := k.VerifyMFA(r.Context(), ticket, v[0])
	if err != nil {
		var e *Error
		if errors.As(err, &e) && ticketGone(e.Code) {
			k.setMFACookie(w, "", -1)
			return 0, &pagedError{err: err, page: k.forms.signIn}
		}
		return 0, err
	}
	k.setMFACookie(w, "", -1)
	return k.formSignedIn(w, r, in, nil)
}

// formStepUp raises the browser's session to two factors with a code
// (TOTP or recovery, from the body alone), as mfa/step-up does: the new
// session replaces the old in the browser's carrier, and the browser goes
// back to the Account page, where a change that answered
// mfa_step_up_required can be made again.
func (k *Kit) formStepUp(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := bodyFields(r, fieldCode)
	if err != nil {
		return 0, err
	}
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	in, err := k.StepUp(ctx, v[0])
	if err != nil {
		return 0, err
	}
	if err := k.carry(w, r, in); err != nil {
		return 0, err
	}
	return endAccount, nil
}

// ticketGone reports whether a failure of VerifyMFA leaves nothing to
// retry with another code.
func ticketGone(c Code) bool {
	switch c {
	case CodeInvalidToken, CodeMFANotEnrolled, CodeFeatureDisabled, CodeUserDisabled:
		return true
	}
	return false
}
