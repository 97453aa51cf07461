package authkit

// The handlers of the HTML forms (forms.go): each reads its fields and
// calls the Go API's method (goapi.go) that its JSON twin calls
// (handlers.go, phone_handlers.go), and says how the flow ended.

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"
)

// The fields of the forms: those of the JSON bodies and queries.
const (
	fieldEmail       = "email"
	fieldPhone       = "phone"
	fieldPassword    = "password"
	fieldNewPassword = "newPassword"
	fieldKey         = "key"
	fieldCode        = "code"
	fieldReturn      = "return"
	fieldSession     = "session"
)

// formFields reads the named fields of r's form (its body, then its
// query, as the JSON routes read keys and codes from the query), each
// given at most once, in UTF-8. A password is read from the body alone:
// a URL ends up in logs and histories.
func formFields(r *http.Request, names ...string) ([]string, error) {
	return readFields(r, false, names...)
}

// bodyFields reads the named fields of r's form as formFields does, from
// its body alone, for what must never ride in a URL (a second factor).
func bodyFields(r *http.Request, names ...string) ([]string, error) {
	return readFields(r, true, names...)
}

func readFields(r *http.Request, bodyOnly bool, names ...string) ([]string, error) {
	out := make([]string, len(names))
	for i, name := range names {
		from := r.Form
		if bodyOnly || name == fieldPassword || name == fieldNewPassword {
			from = r.PostForm
		}
		switch vs := from[name]; {
		case len(vs) > 1:
			e := newError(CodeBadRequest, "The field "+name+" is given more than once.")
			e.Details = map[string]any{"field": name}
			return nil, e
		case len(vs) == 1 && !utf8.ValidString(vs[0]):
			e := newError(CodeBadRequest, "The field "+name+" is not valid UTF-8.")
			e.Details = map[string]any{"field": name}
			return nil, e
		case len(vs) == 1:
			out[i] = vs[0]
		}
	}
	return out, nil
}

// formProfile is what a sign-up form writes of the profile: the fields
// Config.ProfileFields allows ("name", "profilePicture"...), those filled
// in. The kit's own fields are never among them.
func (k *Kit) formProfile(r *http.Request) (map[string]any, error) {
	var data map[string]any
	for f := range k.profile.fields {
		if f == fieldReturn || f == CSRFField {
			continue
		}
		v, err := formFields(r, f)
		if err != nil {
			return nil, err
		}
		if v[0] != "" {
			if data == nil {
				data = map[string]any{}
			}
			data[f] = v[0]
		}
	}
	return data, nil
}

// formSignedIn ends a form whose flow signed in: the session, if one
// started, is kept in the browser's carrier (the session cookie, or the
// host's session) and the browser remembered as a device of the account,
// as writeGrant does for a JSON sign-in from the app's pages; runForm
// checked already that this is one.
//
// A sign-in that waits for a second factor (mfa_required) keeps its
// ticket in the browser's MFA cookie and goes to Forms.MFA, whose form
// finishes it (formMFA).
func (k *Kit) formSignedIn(w http.ResponseWriter, r *http.Request, in SignIn, err error) (formEnd, error) {
	if err != nil {
		return 0, k.formAskSecondFactor(w, err)
	}
	if in.Session != nil {
		if err := k.carry(w, r, in); err != nil {
			return 0, err
		}
	}
	return endSignedIn, nil
}

func (k *Kit) formSignInEmail(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldEmail, fieldPassword)
	if err != nil {
		return 0, err
	}
	in, err := k.SignInWithEmail(r.Context(), v[0], v[1])
	return k.formSignedIn(w, r, in, err)
}

func (k *Kit) formSignInPhone(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPhone, fieldPassword)
	if err != nil {
		return 0, err
	}
	in, err := k.SignInWithPhone(r.Context(), v[0], v[1])
	return k.formSignedIn(w, r, in, err)
}

func (k *Kit) formSignInCode(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPhone, fieldCode)
	if err != nil {
		return 0, err
	}
	in, err := k.SignInWithCode(r.Context(), v[0], v[1])
	return k.formSignedIn(w, r, in, err)
}

// formGrant exchanges the access_token of a redirect to the Redirect URL
// (a confirmation, magic link, email change or OAuth sign-in), as the
// key field: the page there posts it, since following a link must change
// nothing (a mail scanner follows it too).
func (k *Kit) formGrant(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldKey)
	if err != nil {
		return 0, err
	}
	in, err := k.ExchangeGrant(r.Context(), v[0])
	return k.formSignedIn(w, r, in, err)
}

func (k *Kit) formSignUpEmail(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldEmail, fieldPassword)
	if err != nil {
		return 0, err
	}
	data, err := k.formProfile(r)
	if err != nil {
		return 0, err
	}
	in, err := k.SignUpWithEmail(r.Context(), v[0], v[1], data)
	if err == nil && in.Session == nil {
		return endSignedUp, nil
	}
	return k.formSignedIn(w, r, in, err)
}

func (k *Kit) formSignUpPhone(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPhone, fieldPassword)
	if err != nil {
		return 0, err
	}
	data, err := k.formProfile(r)
	if err != nil {
		return 0, err
	}
	in, err := k.SignUpWithPhone(r.Context(), v[0], v[1], data)
	if err == nil && in.Session == nil {
		return endSignedUp, nil
	}
	return k.formSignedIn(w, r, in, err)
}

// formVerifyPhone confirms a number: a sign-up's, which signs in, or a
// change of number, which ends at the return path or AfterSignIn too.
func (k *Kit) formVerifyPhone(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPhone, fieldCode)
	if err != nil {
		return 0, err
	}
	in, err := k.VerifyPhone(r.Context(), v[0], v[1])
	return k.formSignedIn(w, r, in, err)
}

// formSend is the form of a send route: send (a method of the Go API)
// with the address or number in field.
func (k *Kit) formSend(send func(ctx context.Context, to string) error, field string) formHandler {
	return func(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
		v, err := formFields(r, field)
		if err != nil {
			return 0, err
		}
		if err := send(r.Context(), v[0]); err != nil {
			return 0, err
		}
		return endSent, nil
	}
}

// formResetPassword sets a new password with the access_token of a
// followed reset link, as the key field.
func (k *Kit) formResetPassword(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldKey, fieldNewPassword)
	if err != nil {
		return 0, err
	}
	if err := k.ResetPassword(r.Context(), v[0], v[1]); err != nil {
		return 0, err
	}
	return endReset, nil
}

func (k *Kit) formResetPasswordCode(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPhone, fieldCode, fieldNewPassword)
	if err != nil {
		return 0, err
	}
	if err := k.ResetPasswordWithCode(r.Context(), v[0], v[1], v[2]); err != nil {
		return 0, err
	}
	return endReset, nil
}

// formCaller is r's context with its caller, for the forms of a
// signed-in user.
func (k *Kit) formCaller(r *http.Request) (context.Context, error) {
	c, err := k.authenticate(r)
	if err != nil {
		return nil, err
	}
	return k.signedIn(r, c).Context(), nil
}

// formSignOut ends the browser's session and clears its carrier, or,
// with the session field naming another session of the user's (its ID,
// as Kit.Sessions lists it), ends that one and goes back to the account
// page. A browser whose session is gone already (missing, ended
// elsewhere) is signed out all the same: what it asked for holds, and a
// dead token it still carries is cleared.
func (k *Kit) formSignOut(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldSession)
	if err != nil {
		return 0, err
	}
	c, err := k.authenticate(r)
	var e *Error
	switch {
	case err == nil:
		if other := v[0]; other != "" && other != c.session.ID {
			if err := k.SignOut(k.signedIn(r, c).Context(), other); err != nil {
				return 0, err
			}
			return endAccount, nil
		}
		if err := k.SignOut(k.signedIn(r, c).Context(), ""); err != nil {
			return 0, err
		}
	case errors.As(err, &e) && (e.Code == CodeMissingSessionToken || e.Code == CodeInvalidSessionToken) && v[0] == "":
	default:
		return 0, err
	}
	if err := k.ClearSession(w, r); err != nil {
		return 0, err
	}
	return endSignedOut, nil
}

// formSignOutAll ends every session of the user, the browser's included.
func (k *Kit) formSignOutAll(w http.ResponseWriter, r *http.Request) (formEnd, error) {
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	if err := k.SignOutAll(ctx); err != nil {
		return 0, err
	}
	if err := k.ClearSession(w, r); err != nil {
		return 0, err
	}
	return endSignedOut, nil
}

// formSignOutOthers ends every session of the user but the browser's.
func (k *Kit) formSignOutOthers(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	if err := k.SignOutOthers(ctx); err != nil {
		return 0, err
	}
	return endAccount, nil
}

// formChangePassword changes the password with the current one; the
// browser's session stays, every other ends.
func (k *Kit) formChangePassword(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPassword, fieldNewPassword)
	if err != nil {
		return 0, err
	}
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	if err := k.ChangePassword(ctx, v[0], v[1]); err != nil {
		return 0, err
	}
	return endAccount, nil
}

// formChangeEmail changes the email with the password: with confirmation
// on, once the link mailed to the new address is followed.
func (k *Kit) formChangeEmail(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPassword, fieldEmail)
	if err != nil {
		return 0, err
	}
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	if _, err := k.ChangeEmail(ctx, v[0], v[1]); err != nil {
		return 0, err
	}
	return endAccount, nil
}

// formChangePhone changes the phone number with the password: with
// confirmation on, once the code texted to the new number is given to
// the verify-phone form.
func (k *Kit) formChangePhone(_ http.ResponseWriter, r *http.Request) (formEnd, error) {
	v, err := formFields(r, fieldPassword, fieldPhone)
	if err != nil {
		return 0, err
	}
	ctx, err := k.formCaller(r)
	if err != nil {
		return 0, err
	}
	if _, err := k.ChangePhone(ctx, v[0], v[1]); err != nil {
		return 0, err
	}
	return endAccount, nil
}
