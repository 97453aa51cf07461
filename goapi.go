package authkit

// The Go API: every flow of the REST API as a method, for apps that run
// auth from their own handlers or jobs. The REST handlers (handlers.go,
// phone_handlers.go) decode a request and call these same methods.
//
// Each method takes a context that says where the call comes from (see
// [Client]): its IP for the per-IP limits, the logs and the sessions,
// its user agent for the sessions. The methods that act for a signed-in
// user (ChangePassword, ChangeEmail, ChangePhone, Sessions, SignOut...)
// find that user's session in the context too: a request's context
// inside [Kit.RequireSession], or one from [Kit.Authenticate].

import (
	"context"
	"encoding/json"
)

// Client is where a call of the Go API comes from.
type Client struct {
	// IP is the client's address, for the per-IP limits, the logs and the
	// session list. "" skips the per-IP limits (Limits.PerIP): for calls
	// that come from no client, such as a job. The other limits (failed
	// guesses per account, mails per address, texts per number) apply
	// whatever the IP.
	IP string
	// UserAgent is the client's User-Agent header, kept with the sessions
	// it starts (at most 512 bytes).
	UserAgent string
}

// WithClient returns a copy of ctx in which the Go API's calls come from
// c.
func WithClient(ctx context.Context, c Client) context.Context {
	ua := c.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	cl := clientOf(ctx)
	cl.ip, cl.userAgent = c.IP, ua
	return context.WithValue(ctx, clientKey{}, cl)
}

// Authenticate returns a copy of ctx signed in with the session token:
// [SessionFromContext], [UserFromContext] and the Go API's methods for a
// signed-in user then see its session. An unknown, ended or expired
// session is invalid_session_token; a disabled user's too. The session
// and user are read once, here; a call in the context that changes the
// credentials and keeps its session (ChangePassword, SignOutOthers)
// brings them up to date, so use the context from one goroutine at a
// time, as a request's.
func (k *Kit) Authenticate(ctx context.Context, token string) (context.Context, error) {
	if token == "" {
		return ctx, errMissingSession
	}
	c, err := k.callerOf(ctx, token)
	if err != nil {
		return ctx, err
	}
	return c.attach(ctx), nil
}

// NormalizeEmail returns the form in which the kit stores and compares
// an email (lower case, Unicode domain and width folded; see the README's
// "What an email and a phone number must look like"), or invalid_email:
// what to compare SignUp.Email or User.Email with.
func (k *Kit) NormalizeEmail(email string) (string, error) {
	return k.normalizeEmail(email)
}

// signedIn is the caller of a call for a signed-in user.
func signedIn(ctx context.Context) (*caller, error) {
	if c := callerFrom(ctx); c != nil {
		return c, nil
	}
	return nil, errMissingSession
}

// askedIP counts a call of a route that hashes or checks a guess toward
// Limits.PerIP, when the call comes from an IP.
func (k *Kit) askedIP(ctx context.Context) error {
	if !k.limits.perIP.on() || clientOf(ctx).ip == "" {
		return nil
	}
	return k.ipAsked(ctx)
}

// askedIPSend counts a call of a send route toward Limits.PerIP, apart
// from the others, when the call comes from an IP.
func (k *Kit) askedIPSend(ctx context.Context) error {
	if !k.limits.perIP.on() || clientOf(ctx).ip == "" {
		return nil
	}
	return k.sendAsked(ctx)
}

// forHost is a flow's outcome as the Go API returns it: without the
// password hash.
func forHost(a SignIn, err error) (SignIn, error) {
	a.User.PasswordHash = ""
	return a, err
}

// userData is the Go API's profile data as the wire's nameOrUserData.
func userData(data map[string]any) (json.RawMessage, error) {
	if data == nil {
		return nil, nil
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, newError(CodeInvalidUserData, "The profile data cannot be written as JSON: "+err.Error())
	}
	return b, nil
}

// SignUpWithEmail signs up with an email and a password (signUpWithEmail).
// data holds the profile fields ("name", "profilePicture" and whatever
// Config.ProfileFields allows; the others are dropped, or refused with
// StrictProfile). With email confirmation on the answer has no session:
// the account is made when the mailed link is followed. An address an
// account owns is email_taken.
func (k *Kit) SignUpWithEmail(ctx context.Context, email, password string, data map[string]any) (SignIn, error) {
	raw, err := userData(data)
	if err != nil {
		return SignIn{}, err
	}
	return k.signUpWithEmailData(ctx, email, password, raw)
}

// signUpWithEmailData is SignUpWithEmail with the profile data as the
// wire's nameOrUserData.
func (k *Kit) signUpWithEmailData(ctx context.Context, email, password string, raw json.RawMessage) (_ SignIn, err error) {
	defer func() { k.metrics.signedUp(ctx, "email", err) }()
	ctx = limiterPolicy(ctx, k.limits.down.SignUp, routeSignUp)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.signUpWithEmail(ctx, email, password, raw))
}

// SignInWithEmail signs in with an email and its password
// (signInWithEmail): invalid_credentials for an unknown email or a wrong
// password alike, email_not_verified or user_disabled only after the right
// password.
func (k *Kit) SignInWithEmail(ctx context.Context, email, password string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodPassword, "", &err)
	ctx = limiterPolicy(ctx, k.limits.down.SignIn, routeSignIn)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.signInWithEmail(ctx, email, password))
}

// ExchangeGrant exchanges the access_token of a redirect to
// Config.RedirectURL for a session (getAuthGrant): it confirms the email
// a confirmation link went to, applies an email change, or signs in by
// magic link or OAuth, and spends the link.
func (k *Kit) ExchangeGrant(ctx context.Context, key string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, methodGrant, "", &err)
	return forHost(k.exchangeGrant(ctx, key))
}

// StartSession signs in the user with that id, whom the app
// authenticated itself (its own single sign-on, an invitation link), on
// the context's client: a session as any sign-in makes, with
// Hooks.AfterSignIn run (MethodHost). user_not_found, or user_disabled.
// With Config.MFA on, a user with an active second factor gets
// mfa_required and a ticket for VerifyMFA, as every sign-in does.
func (k *Kit) StartSession(ctx context.Context, userID string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodHost, "", &err)
	u, err := k.userByID(ctx, userID)
	if err != nil {
		return SignIn{}, err
	}
	if u.Disabled {
		return SignIn{}, errUserDisabled
	}
	a, err := k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, errUserChanged, via{method: MethodHost})
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, "sign-in by the app", u.ID)
	k.noticeNewDevice(ctx, a, false)
	return forHost(a, nil)
}

// errUserChanged: the user's credentials changed while the app signed
// them in (a password reset, a sign-out everywhere); try again.
var errUserChanged = newError(CodeInvalidCredentials, "The account changed meanwhile: try again.")

// SendMagicLink mails a sign-in link to the address if an account owns
// it (sendMagicLink). It answers alike whether or not one does, and the
// mail goes out after it returns.
func (k *Kit) SendMagicLink(ctx context.Context, email string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.sendMagicLink(ctx, email)
}

// SendResetLink mails a password-reset link to the address if an
// account has it (sendResetPwdEmail), answering alike either way.
func (k *Kit) SendResetLink(ctx context.Context, email string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.sendResetLink(ctx, email)
}

// ResendConfirmation mails the confirmation link again to an address
// that waits for it (resendVerificationEmail), answering alike either way.
func (k *Kit) ResendConfirmation(ctx context.Context, email string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.resendConfirmation(ctx, email)
}

// ResetPassword sets a new password with the access_token of a followed
// reset link (resetPwdWithToken) and ends every session of the account.
func (k *Kit) ResetPassword(ctx context.Context, key, newPassword string) error {
	return k.resetPassword(ctx, key, newPassword)
}

// SignUpWithPhone signs up with a phone number and a password
// (signUpWithPhone); data as for SignUpWithEmail. With phone confirmation
// on, a code is texted and the answer has no session.
func (k *Kit) SignUpWithPhone(ctx context.Context, phone, password string, data map[string]any) (SignIn, error) {
	raw, err := userData(data)
	if err != nil {
		return SignIn{}, err
	}
	return k.signUpWithPhoneData(ctx, phone, password, raw)
}

// signUpWithPhoneData is SignUpWithPhone with the profile data as the
// wire's nameOrUserData.
func (k *Kit) signUpWithPhoneData(ctx context.Context, phone, password string, raw json.RawMessage) (_ SignIn, err error) {
	defer func() { k.metrics.signedUp(ctx, "phone", err) }()
	ctx = limiterPolicy(ctx, k.limits.down.SignUp, routeSignUp)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.signUpWithPhone(ctx, phone, password, raw))
}

// SignInWithPhone signs in with a phone number and its password
// (signInWithPhone).
func (k *Kit) SignInWithPhone(ctx context.Context, phone, password string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodPassword, "", &err)
	ctx = limiterPolicy(ctx, k.limits.down.SignIn, routeSignIn)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.signInWithPhone(ctx, phone, password))
}

// VerifyPhone confirms a number with the code texted to it (verifyPhone)
// and signs its account in.
func (k *Kit) VerifyPhone(ctx context.Context, phone, code string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodConfirmation, "", &err)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.verifyPhone(ctx, phone, code))
}

// ResendVerificationCode texts a confirmation code again to a number that
// waits for one (resendVerificationCode).
func (k *Kit) ResendVerificationCode(ctx context.Context, phone string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.resendVerificationCode(ctx, phone)
}

// SendSignInCode texts a sign-in code to the number if an account owns it
// (sendSignInCode), answering alike either way.
func (k *Kit) SendSignInCode(ctx context.Context, phone string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.sendSignInCode(ctx, phone)
}

// SignInWithCode signs in with a texted sign-in code (signInWithCode).
func (k *Kit) SignInWithCode(ctx context.Context, phone, code string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, MethodCode, "", &err)
	ctx = limiterPolicy(ctx, k.limits.down.SignIn, routeSignIn)
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	return forHost(k.signInWithCode(ctx, phone, code))
}

// SendResetCode texts a password-reset code to the number if an account
// has it (sendResetPwdCode), answering alike either way.
func (k *Kit) SendResetCode(ctx context.Context, phone string) error {
	if err := k.askedIPSend(ctx); err != nil {
		return err
	}
	return k.sendResetPwdCode(ctx, phone)
}

// ResetPasswordWithCode sets a new password with a texted reset code
// (resetPwdWithCode) and ends every session of the account.
func (k *Kit) ResetPasswordWithCode(ctx context.Context, phone, code, newPassword string) error {
	if err := k.askedIP(ctx); err != nil {
		return err
	}
	return k.resetPwdWithCode(ctx, phone, code, newPassword)
}

// ChangePassword changes the signed-in user's password (changePassword):
// the current one must be right. Every other session of the user ends;
// the context's stays.
func (k *Kit) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	if err := k.askedIP(ctx); err != nil {
		return err
	}
	return k.changePassword(ctx, c, oldPassword, newPassword)
}

// ChangeEmail changes the signed-in user's email (changeEmail), with the
// current password: with confirmation on, once the link mailed to the new
// address is followed. It returns the user as it is now.
func (k *Kit) ChangeEmail(ctx context.Context, password, newEmail string) (User, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return User{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return User{}, err
	}
	u, err := k.changeEmail(ctx, c, password, newEmail)
	u.PasswordHash = ""
	return u, err
}

// ChangePhone changes the signed-in user's phone number (changePhone),
// with the current password: with confirmation on, once the code texted
// to the new number is given to VerifyPhone.
func (k *Kit) ChangePhone(ctx context.Context, password, newPhone string) (User, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return User{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return User{}, err
	}
	u, err := k.changePhone(ctx, c, password, newPhone)
	u.PasswordHash = ""
	return u, err
}

// Sessions lists the signed-in user's live sessions (getAllSessions),
// oldest first. A listed session's ID names it to SignOut; it
// authenticates nothing.
func (k *Kit) Sessions(ctx context.Context) ([]Session, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	return k.listSessions(ctx, c)
}

// SignOut ends the context's session, or, named by its ID (as Sessions
// lists it) or its token, another session of the same user: signOut.
func (k *Kit) SignOut(ctx context.Context, session string) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	return k.signOut(ctx, c, session)
}

// SignOutAll ends every session of the signed-in user, the context's
// included (signOutAll), and voids the links and codes sent before.
func (k *Kit) SignOutAll(ctx context.Context) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	return k.signOutAll(ctx, c, false)
}

// SignOutOthers ends every session of the signed-in user but the
// context's (signOutAllExceptCurrent).
func (k *Kit) SignOutOthers(ctx context.Context) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	return k.signOutAll(ctx, c, true)
}
