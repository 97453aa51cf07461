package authkit

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"time"

	"github.com/authkit/authkit/internal/useragent"
)

// clock is the kit's time, at the millisecond precision every store keeps.
func (k *Kit) clock() time.Time {
	return k.now().UTC().Truncate(time.Millisecond)
}

var errInvalidToken = newError(CodeInvalidToken, "The link or key is not valid: it was used already, has expired or never existed.")

// signUpWithEmail creates a password account. With email confirmation on it
// mails a confirmation link and answers with no session; off, it signs the
// new user in.
func (k *Kit) signUpWithEmail(ctx context.Context, email, pw string, userData json.RawMessage) (grantAnswer, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return grantAnswer{}, err
	}
	if err := k.checkPassword(pw); err != nil {
		return grantAnswer{}, err
	}
	now := k.clock()
	u := User{Provider: ProviderAltogic, Email: email, SignUpAt: now, LastLoginAt: now}
	if err := applyUserData(&u, userData); err != nil {
		return grantAnswer{}, err
	}
	errTaken := newError(CodeEmailTaken, "An account with this email exists already.")
	if _, err := k.store.UserByEmail(ctx, email); err == nil {
		return grantAnswer{}, errTaken
	} else if !errors.Is(err, ErrNotFound) {
		return grantAnswer{}, internalError(err)
	}
	if err := k.createPasswordUser(ctx, &u, pw, errTaken); err != nil {
		return grantAnswer{}, err
	}
	if k.emailConfirmation {
		k.goBackground(ctx, "sending a confirmation email", func(ctx context.Context) error {
			return k.mailConfirmation(ctx, u)
		})
		return grantAnswer{User: u}, nil
	}
	return k.signUpSession(ctx, u)
}

// signUpSession signs a new account in, under the stamp it was made with.
func (k *Kit) signUpSession(ctx context.Context, u User) (grantAnswer, error) {
	return k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, internalError(errors.New("authkit: a new account changed while it signed in")))
}

// createPasswordUser gives u an id, a credential stamp and the hash of pw,
// and stores it. A duplicate (the email or number was taken meanwhile)
// answers taken.
func (k *Kit) createPasswordUser(ctx context.Context, u *User, pw string, taken *Error) error {
	var err error
	if u.ID, err = k.newID(); err != nil {
		return internalError(err)
	}
	if u.Stamp, err = k.newID(); err != nil {
		return internalError(err)
	}
	u.ProviderUserID = u.ID
	if u.PasswordHash, err = k.hash(ctx, pw); err != nil {
		return err
	}
	if err := k.store.CreateUser(ctx, *u); errors.Is(err, ErrDuplicate) {
		return taken
	} else if err != nil {
		return internalError(err)
	}
	k.event(ctx, "sign-up", u.ID)
	return nil
}

// signInWithEmail checks an email and password. Unknown accounts, accounts
// without a password and wrong passwords fail alike, after the same work.
func (k *Kit) signInWithEmail(ctx context.Context, email, pw string) (grantAnswer, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return grantAnswer{}, err
	}
	u, err := k.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return grantAnswer{}, internalError(err)
	}
	return k.signInWithPassword(ctx, passwordSignIn{
		user: u, kind: "email", identifier: email,
		wrong:       newError(CodeInvalidCredentials, "The email or password is wrong."),
		unconfirmed: k.emailConfirmation && !u.EmailVerified,
		refused:     newError(CodeEmailNotVerified, "Confirm your email first: follow the link we sent you."),
	}, pw)
}

// passwordSignIn is a sign-in by identifier (an email or a phone number)
// and password, once the account was looked up.
type passwordSignIn struct {
	user             User   // zero when no account has the identifier
	kind, identifier string // "email" or "phone", and its normalised form
	wrong            *Error // the one answer to every failure
	unconfirmed      bool   // the identifier still awaits its confirmation
	refused          *Error // the answer then, given only after the right password
}

// signInWithPassword finishes a password sign-in. The guess is counted
// before it is checked, for known and unknown identifiers alike: a limited
// account answers 429 whatever the password, and costs no hash. An unknown
// identifier's zero user checks the dummy hash, so every failure takes the
// same work and gets the same answer.
//
// The session is made under the credential stamp of the record whose hash
// was verified: if a reset lands while the hash is checked, the sign-in
// fails, and a session it made anyway would be dead on arrival.
func (k *Kit) signInWithPassword(ctx context.Context, a passwordSignIn, pw string) (grantAnswer, error) {
	u := a.user
	if err := k.guess(ctx, accountKey(u.ID, a.kind, a.identifier), u.ID); err != nil {
		return grantAnswer{}, err
	}
	if !fitsPassword(pw) {
		k.event(ctx, "sign-in failed", u.ID)
		return grantAnswer{}, a.wrong
	}
	ok, err := k.verify(ctx, &u, pw)
	if err != nil {
		return grantAnswer{}, err
	}
	if !ok {
		k.event(ctx, "sign-in failed", u.ID)
		return grantAnswer{}, a.wrong
	}
	if err := k.guessedRight(ctx, u.ID); err != nil {
		return grantAnswer{}, err
	}
	if a.unconfirmed {
		k.event(ctx, "sign-in refused: "+a.kind+" not verified", u.ID)
		return grantAnswer{}, a.refused
	}
	answer, err := k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, a.wrong)
	if err != nil {
		return grantAnswer{}, err
	}
	k.event(ctx, "sign-in", u.ID)
	return answer, nil
}

// startSession signs a user in on the device of the request: lastLoginAt
// moves to now, up is written with it, and a new session with a fresh token
// is made under stamp, the credential stamp that the checked credential
// (a password hash, a grant, a code) was issued under. The write holds only
// while the user's stamp is still that one; when it moved on (a password
// reset, a sign-out everywhere) nobody is signed in and the answer is stale.
func (k *Kit) startSession(ctx context.Context, userID, stamp string, up UserUpdate, stale error) (grantAnswer, error) {
	now := k.clock()
	up.Set.LastLoginAt, up.If.Stamp = &now, &stamp
	u, err := k.updateUser(ctx, userID, up, nil, stale)
	if err != nil {
		return grantAnswer{}, err
	}
	token, err := k.newToken()
	if err != nil {
		return grantAnswer{}, internalError(err)
	}
	id, err := k.newID()
	if err != nil {
		return grantAnswer{}, internalError(err)
	}
	c := clientOf(ctx)
	s := Session{
		ID:         id,
		TokenHash:  hashToken(token),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(k.sessionLifetime),
		UserAgent:  parseUserAgent(c.userAgent),
		IP:         c.ip,
		Stamp:      stamp,
	}
	if err := k.store.CreateSession(ctx, s); err != nil {
		return grantAnswer{}, internalError(err)
	}
	return grantAnswer{User: u, Session: &issuedSession{Session: s, Token: token}}, nil
}

func parseUserAgent(header string) UserAgent {
	p := useragent.Parse(header)
	return UserAgent{
		Family: p.Browser.Family, Major: p.Browser.Major, Minor: p.Browser.Minor, Patch: p.Browser.Patch,
		Device: Device{Family: p.Device.Family, Major: p.Device.Major, Minor: p.Device.Minor, Patch: p.Device.Patch},
		OS:     OS{Family: p.OS.Family, Major: p.OS.Major, Minor: p.OS.Minor, Patch: p.OS.Patch},
	}
}

// issueToken stores a new one-time token of the given purpose for u (which
// voids the older ones of that purpose) and returns the secret.
func (k *Kit) issueToken(ctx context.Context, t Token, lifetime time.Duration) (string, error) {
	secret, err := k.newToken()
	if err != nil {
		return "", err
	}
	now := k.clock()
	t.Hash, t.CreatedAt, t.ExpiresAt = hashToken(secret), now, now.Add(lifetime)
	if err := k.store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// linkURL is the address of an email link: always under PublicURL.
func (k *Kit) linkURL(secret string) string {
	return k.publicURL + linkPath + "?key=" + secret
}

// mail renders a template for u and delivers it to the address to.
func (k *Kit) mail(ctx context.Context, t emailTemplate, to string, d MessageData) error {
	d.AppName = k.appName
	if d.Email == "" {
		d.Email = to
	}
	m, err := t.render(to, d)
	if err != nil {
		return err
	}
	return k.mailer.SendEmail(ctx, m)
}

// mailConfirmation sends u a link that confirms u.Email.
func (k *Kit) mailConfirmation(ctx context.Context, u User) error {
	secret, err := k.issueToken(ctx, Token{Purpose: PurposeConfirmEmail, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.confirmLifetime)
	if err != nil {
		return err
	}
	return k.mail(ctx, k.templates.confirm, u.Email, MessageData{Link: k.linkURL(secret), Name: u.Name, ExpiresIn: k.confirmLifetime})
}

// sendByEmail answers a send route: it checks the address and counts it
// (EmailsPerAddress, whatever the account), then does the rest off the
// request path, so that the answer is the same, in content and in time,
// whether or not an account has the address. send runs only for an
// existing account, and only if the address did not get a message of this
// kind a moment ago (EmailRepeats).
func (k *Kit) sendByEmail(ctx context.Context, rawEmail, kind, what string, send func(ctx context.Context, u User) error) error {
	email, err := queryEmail(rawEmail)
	if err != nil {
		return err
	}
	if err := k.mailAsked(ctx, email); err != nil {
		return err
	}
	k.goBackground(ctx, what, func(ctx context.Context) error {
		u, err := k.store.UserByEmail(ctx, email)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ok, err := k.mailRepeat(ctx, kind, email, u.ID); !ok {
			return err
		}
		return send(ctx, u)
	})
	return nil
}

// resendConfirmation mails a fresh confirmation link to an account whose
// email is not confirmed yet.
func (k *Kit) resendConfirmation(ctx context.Context, email string) error {
	if !k.emailConfirmation {
		return newError(CodeFeatureDisabled, "Email confirmation is turned off for this app.")
	}
	return k.sendByEmail(ctx, email, "confirm", "resending a confirmation email", func(ctx context.Context, u User) error {
		if u.EmailVerified {
			return nil
		}
		return k.mailConfirmation(ctx, u)
	})
}

// sendMagicLink mails a sign-in link to a confirmed account.
func (k *Kit) sendMagicLink(ctx context.Context, email string) error {
	if !k.emailConfirmation {
		return newError(CodeFeatureDisabled, "Magic links need email confirmation, which is turned off for this app.")
	}
	return k.sendByEmail(ctx, email, "magic", "sending a magic link", func(ctx context.Context, u User) error {
		if !u.EmailVerified {
			return nil
		}
		secret, err := k.issueToken(ctx, Token{Purpose: PurposeMagicLink, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.magicLifetime)
		if err != nil {
			return err
		}
		return k.mail(ctx, k.templates.magic, u.Email, MessageData{Link: k.linkURL(secret), Name: u.Name, ExpiresIn: k.magicLifetime})
	})
}

// sendResetLink mails a password-reset link to a password account: one
// whose email is confirmed, while confirmation is on.
func (k *Kit) sendResetLink(ctx context.Context, email string) error {
	return k.sendByEmail(ctx, email, "reset", "sending a reset link", func(ctx context.Context, u User) error {
		if u.Provider != ProviderAltogic || (k.emailConfirmation && !u.EmailVerified) {
			return nil
		}
		secret, err := k.issueToken(ctx, Token{Purpose: PurposeResetPassword, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.resetLifetime)
		if err != nil {
			return err
		}
		return k.mail(ctx, k.templates.reset, u.Email, MessageData{Link: k.linkURL(secret), Name: u.Name, ExpiresIn: k.resetLifetime})
	})
}

// followLink handles the GET of an email link and returns the query to
// redirect with. It spends no sign-in or reset credential: mail scanners
// fetch links too. A confirmation takes effect here, harmlessly; a sign-in
// happens only when the app exchanges the grant key, which spends the link.
func (k *Kit) followLink(ctx context.Context, key string) (url.Values, error) {
	if key == "" || len(key) > 256 {
		return nil, errInvalidToken
	}
	now := k.clock()
	t, err := k.store.TokenByHash(ctx, hashToken(key), now)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, internalError(err)
	}
	action := string(t.Purpose)
	switch t.Purpose {
	case PurposeResetPassword:
		// The app shows a form and calls resetPwdWithToken with this key.
		return url.Values{"access_token": {key}, "action": {action}, "status": {"200"}}, nil
	case PurposeChangeEmail:
		if err := k.applyEmailChange(ctx, t); err != nil {
			return nil, err
		}
		return url.Values{"action": {action}, "status": {"200"}}, nil
	case PurposeConfirmEmail, PurposeMagicLink:
	default:
		return nil, errInvalidToken
	}
	u, err := k.store.UserByID(ctx, t.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, internalError(err)
	}
	if err != nil || u.Email != t.Subject || !issuedUnder(t, u) {
		return nil, errInvalidToken // the account, its email or its credentials changed since
	}
	if t.Purpose == PurposeConfirmEmail && !u.EmailVerified {
		verified := true
		up := UserUpdate{Set: UserFields{EmailVerified: &verified}, If: UserFields{Email: &t.Subject}}
		if _, err := k.updateUser(ctx, u.ID, up, nil, errInvalidToken); err != nil {
			return nil, err
		}
	}
	// The grant carries the user's stamp now: the link's, for a magic link.
	grant, err := k.issueToken(ctx, Token{Purpose: PurposeGrant, UserID: u.ID, Action: action, Link: t.Hash, Stamp: u.Stamp}, k.grantLifetime)
	if err != nil {
		return nil, internalError(err)
	}
	return url.Values{"access_token": {grant}, "action": {action}, "status": {"200"}}, nil
}

// exchangeGrant is getAuthGrant: it spends a grant key (and the link it came
// from) and signs the user in.
func (k *Kit) exchangeGrant(ctx context.Context, key string) (grantAnswer, error) {
	if key == "" || len(key) > 256 {
		return grantAnswer{}, errInvalidToken
	}
	now := k.clock()
	g, err := k.store.ConsumeToken(ctx, PurposeGrant, hashToken(key), now)
	if errors.Is(err, ErrNotFound) {
		return grantAnswer{}, errInvalidToken
	}
	if err != nil {
		return grantAnswer{}, internalError(err)
	}
	var link Token
	if g.Link != "" {
		link, err = k.store.ConsumeToken(ctx, TokenPurpose(g.Action), g.Link, now)
		if errors.Is(err, ErrNotFound) {
			return grantAnswer{}, errInvalidToken // the link was used by another grant
		}
		if err != nil {
			return grantAnswer{}, internalError(err)
		}
	}
	// The session is made under the grant's stamp: a grant minted before a
	// reset or a sign-out everywhere signs nobody in.
	var up UserUpdate
	if link.Purpose == PurposeConfirmEmail {
		verified := true
		up = UserUpdate{Set: UserFields{EmailVerified: &verified}, If: UserFields{Email: &link.Subject}}
	}
	answer, err := k.startSession(ctx, g.UserID, g.Stamp, up, errInvalidToken)
	if err != nil {
		return grantAnswer{}, err
	}
	// A magic link, a confirmation or an OAuth sign-in proves the account
	// as well as its password: it clears the failed guesses.
	if err := k.guessedRight(ctx, g.UserID); err != nil {
		return grantAnswer{}, err
	}
	k.event(ctx, "sign-in by "+g.Action, g.UserID)
	return answer, nil
}

// resetPassword is resetPwdWithToken: it spends a reset token, sets the new
// password and ends every session. Nobody is signed in.
func (k *Kit) resetPassword(ctx context.Context, key, pw string) error {
	if err := k.checkPassword(pw); err != nil {
		return err
	}
	if key == "" || len(key) > 256 {
		return errInvalidToken
	}
	hash := hashToken(key)
	// Look before hashing, so a bad key costs no hash; spend after, so a
	// failed hash costs no token.
	if _, err := k.store.TokenByHash(ctx, hash, k.clock()); errors.Is(err, ErrNotFound) {
		return errInvalidToken
	} else if err != nil {
		return internalError(err)
	}
	newHash, err := k.hash(ctx, pw)
	if err != nil {
		return err
	}
	t, err := k.store.ConsumeToken(ctx, PurposeResetPassword, hash, k.clock())
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return internalError(err)
	}
	// The link reached the mailbox, so the address is confirmed too; both
	// only if the account still has that address and the stamp the link
	// was issued under.
	verified := true
	return k.finishReset(ctx, t, newHash, UserUpdate{
		Set: UserFields{EmailVerified: &verified},
		If:  UserFields{Email: &t.Subject},
	}, errInvalidToken)
}

// finishReset sets the new password hash of the user that the spent reset
// token t was issued for, with a new credential stamp, in one write with up
// that holds only while the user's stamp is t's. Every session and every
// outstanding link and code dies with the old stamp; they are deleted too,
// and the account's failed guesses cleared. A reset by link or by code ends
// alike, signing nobody in. No sign-in that checked the old password can
// undo it: the sign-in writes only lastLoginAt, and only under the old stamp.
func (k *Kit) finishReset(ctx context.Context, t Token, newHash string, up UserUpdate, stale error) error {
	stamp, err := k.newID()
	if err != nil {
		return internalError(err)
	}
	up.Set.PasswordHash, up.Set.Stamp, up.If.Stamp = &newHash, &stamp, &t.Stamp
	// Stale when the account, its address or its credentials changed since.
	if _, err := k.updateUser(ctx, t.UserID, up, nil, stale); err != nil {
		return err
	}
	if err := k.endSessionsAndTokens(ctx, t.UserID, ""); err != nil {
		return err
	}
	if err := k.guessedRight(ctx, t.UserID); err != nil {
		return err
	}
	k.event(ctx, "password reset", t.UserID)
	return nil
}

// issuedUnder reports whether token t still holds for u: it was issued
// under u's credential stamp, or it is a confirmation, which proves an
// address and survives a change of password.
func issuedUnder(t Token, u User) bool {
	return t.Stamp == u.Stamp || t.Purpose == PurposeConfirmEmail || t.Purpose == PurposeConfirmPhone
}

// newStamp changes the user's credential stamp on behalf of the caller, if
// the caller's session is still alive (its stamp is the user's), with
// set written in the same step; keep names a session that takes the new
// stamp too. Every other session dies with the old stamp.
func (k *Kit) newStamp(ctx context.Context, c *caller, set UserFields, keep string) error {
	stamp, err := k.newID()
	if err != nil {
		return internalError(err)
	}
	set.Stamp = &stamp
	_, err = k.updateUser(ctx, c.user.ID, UserUpdate{Set: set, If: UserFields{Stamp: &c.session.Stamp}, KeepSession: keep}, nil, errInvalidSession)
	return err
}

// updateUser writes up to the user with that id. A duplicate email or
// phone answers taken; a condition of up.If that no longer holds (or a user
// that is gone) answers stale: what the flow decided on changed meanwhile.
func (k *Kit) updateUser(ctx context.Context, id string, up UserUpdate, taken, stale error) (User, error) {
	u, err := k.store.UpdateUser(ctx, id, up)
	switch {
	case err == nil:
		return u, nil
	case taken != nil && errors.Is(err, ErrDuplicate):
		return User{}, taken
	case errors.Is(err, ErrConflict), errors.Is(err, ErrNotFound):
		return User{}, stale
	default:
		return User{}, internalError(err)
	}
}

// endSessionsAndTokens ends the user's sessions but exceptSession, and voids
// every outstanding link, grant and code but confirmations: what a password change does.
func (k *Kit) endSessionsAndTokens(ctx context.Context, userID, exceptSession string) error {
	if err := k.store.DeleteUserSessions(ctx, userID, exceptSession); err != nil {
		return internalError(err)
	}
	if err := k.store.DeleteUserTokens(ctx, userID, PurposeResetPassword, PurposeMagicLink, PurposeGrant, PurposeChangeEmail, PurposeSignInCode, PurposeResetCode, PurposeChangePhone); err != nil {
		return internalError(err)
	}
	return nil
}

// changePassword needs the current password; it ends every other session.
func (k *Kit) changePassword(ctx context.Context, c *caller, oldPw, newPw string) error {
	if err := k.checkPassword(newPw); err != nil {
		return err
	}
	u := c.user
	if err := k.checkCurrentPassword(ctx, &u, oldPw); err != nil {
		return err
	}
	h, err := k.hash(ctx, newPw)
	if err != nil {
		return err
	}
	// The caller's session keeps working: it takes the new stamp in the
	// same write.
	if err := k.newStamp(ctx, c, UserFields{PasswordHash: &h}, c.session.ID); err != nil {
		return err
	}
	if err := k.endSessionsAndTokens(ctx, u.ID, c.session.ID); err != nil {
		return err
	}
	k.event(ctx, "password changed", u.ID)
	return nil
}

// checkCurrentPassword checks the password a signed-in user gives to
// change a credential. It counts toward FailedSignIns like a sign-in
// (SECURITY 5): a stolen session must not become a password oracle.
func (k *Kit) checkCurrentPassword(ctx context.Context, u *User, pw string) error {
	if err := k.guess(ctx, accountKey(u.ID, "", ""), u.ID); err != nil {
		return err
	}
	wrong := newError(CodeWrongPassword, "The current password is wrong.")
	if !fitsPassword(pw) {
		return wrong
	}
	ok, err := k.verify(ctx, u, pw)
	if err != nil {
		return err
	}
	if !ok {
		k.event(ctx, "current password refused", u.ID)
		return wrong
	}
	return k.guessedRight(ctx, u.ID)
}

// changeEmail needs the current password. With confirmation on, the change
// waits for the new address to confirm by link; off, it applies at once.
// Either way the old address is told once it applies.
func (k *Kit) changeEmail(ctx context.Context, c *caller, pw, newEmail string) (User, error) {
	newEmail, err := normalizeEmail(newEmail)
	if err != nil {
		return User{}, err
	}
	u := c.user
	if newEmail == u.Email {
		return User{}, newError(CodeEmailUnchanged, "This is the account's email already.")
	}
	if err := k.checkCurrentPassword(ctx, &u, pw); err != nil {
		return User{}, err
	}
	errTaken := newError(CodeEmailTaken, "An account with this email exists already.")
	if _, err := k.store.UserByEmail(ctx, newEmail); err == nil {
		return User{}, errTaken
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, internalError(err)
	}
	if k.emailConfirmation {
		// A link to an address the account does not own: counted, or one
		// account could bury any mailbox in links.
		if err := k.mailAsked(ctx, newEmail); err != nil {
			return User{}, err
		}
		secret, err := k.issueToken(ctx, Token{Purpose: PurposeChangeEmail, UserID: u.ID, Subject: newEmail, Stamp: c.session.Stamp}, k.changeEmailLifetime)
		if err != nil {
			return User{}, internalError(err)
		}
		k.goBackground(ctx, "sending an email-change link", func(ctx context.Context) error {
			return k.mail(ctx, k.templates.changeEmail, newEmail, MessageData{
				Link: k.linkURL(secret), Name: u.Name, Email: u.Email, NewEmail: newEmail, ExpiresIn: k.changeEmailLifetime,
			})
		})
		return u, nil
	}
	unverified := false
	u, err = k.updateUser(ctx, u.ID, UserUpdate{
		Set: UserFields{Email: &newEmail, EmailVerified: &unverified},
		If:  UserFields{Stamp: &c.session.Stamp},
	}, errTaken, errInvalidSession)
	if err != nil {
		return User{}, err
	}
	if err := k.emailChanged(ctx, u, c.user.Email); err != nil {
		return User{}, err
	}
	return u, nil
}

// applyEmailChange spends a change-email token and makes its address the
// user's, confirmed.
func (k *Kit) applyEmailChange(ctx context.Context, t Token) error {
	t, err := k.store.ConsumeToken(ctx, PurposeChangeEmail, t.Hash, k.clock())
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return internalError(err)
	}
	u, err := k.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return internalError(err)
	}
	old, verified := u.Email, true
	u, err = k.updateUser(ctx, u.ID, UserUpdate{
		Set: UserFields{Email: &t.Subject, EmailVerified: &verified},
		If:  UserFields{Email: &old, Stamp: &t.Stamp},
	}, newError(CodeEmailTaken, "An account with this email exists already."), errInvalidToken)
	if err != nil {
		return err
	}
	return k.emailChanged(ctx, u, old)
}

// emailChanged follows a change of u's email from old: it voids the links
// and grants issued for the old address and tells that address.
func (k *Kit) emailChanged(ctx context.Context, u User, old string) error {
	if err := k.store.DeleteUserTokens(ctx, u.ID, PurposeConfirmEmail, PurposeResetPassword, PurposeMagicLink, PurposeGrant); err != nil {
		return internalError(err)
	}
	k.event(ctx, "email changed", u.ID)
	if old != "" {
		k.goBackground(ctx, "sending an email-changed notice", func(ctx context.Context) error {
			return k.mail(ctx, k.templates.emailChanged, old, MessageData{Name: u.Name, Email: old, NewEmail: u.Email})
		})
	}
	return nil
}

// listSessions returns the caller's live sessions, each named by its handle.
func (k *Kit) listSessions(ctx context.Context, c *caller) ([]Session, error) {
	all, err := k.store.ListSessions(ctx, c.user.ID)
	if err != nil {
		return nil, internalError(err)
	}
	now := k.clock()
	live := make([]Session, 0, len(all))
	for _, s := range all {
		if k.alive(s, c.user, now) {
			live = append(live, s)
		}
	}
	return live, nil
}

// signOut ends the caller's current session, or one of the caller's
// sessions named by its token or its handle.
func (k *Kit) signOut(ctx context.Context, c *caller, token string) error {
	id := c.session.ID
	if token != "" && hashToken(token) != c.session.TokenHash {
		id = token // a handle, as getAllSessions lists them
		s, err := k.store.SessionByTokenHash(ctx, hashToken(token))
		if err == nil && s.UserID == c.user.ID {
			id = s.ID
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return internalError(err)
		}
	}
	deleted, err := k.store.DeleteSession(ctx, c.user.ID, id)
	if err != nil {
		return internalError(err)
	}
	if !deleted {
		return newError(CodeSessionNotFound, "You have no such session.")
	}
	k.event(ctx, "signed out", c.user.ID)
	return nil
}

// signOutAll ends all the caller's sessions, or all but the current one. It
// changes the credential stamp, so that a grant, link or code issued
// before, and a session a sign-in was making at that moment, die too; the
// current session, when it stays, takes the new stamp.
func (k *Kit) signOutAll(ctx context.Context, c *caller, keepCurrent bool) error {
	except := ""
	if keepCurrent {
		except = c.session.ID
	}
	if err := k.newStamp(ctx, c, UserFields{}, except); err != nil {
		return err
	}
	if err := k.store.DeleteUserSessions(ctx, c.user.ID, except); err != nil {
		return internalError(err)
	}
	k.event(ctx, "signed out everywhere", c.user.ID)
	return nil
}

// event logs an auth event: never a secret, always who and, through the
// context (see clientLog), from where.
func (k *Kit) event(ctx context.Context, what, userID string) {
	k.log.InfoContext(ctx, "authkit: "+what, "user", userID)
}
