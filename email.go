package authkit

// The email flows: sign-up and sign-in by email, confirmation, magic
// links, reset by link and change of email. Plain values in; the handlers
// (handlers.go) decode the requests.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// signUpWithEmail signs up with an email and a password. With email
// confirmation on it makes no account: the sign-up waits for its link
// (pending.go), which is mailed, and the answer has no session. Off, it
// makes the account and signs it in. An address an account owns answers
// email_taken, as Altogic does.
func (k *Kit) signUpWithEmail(ctx context.Context, email, pw string, userData json.RawMessage) (SignIn, error) {
	email, err := k.normalizeEmail(email)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.checkPassword(ctx, pw); err != nil {
		return SignIn{}, err
	}
	now := k.clock()
	u := User{Email: email, SignUpAt: now, LastLoginAt: now}
	if err := k.applyUserData(ctx, &u, userData); err != nil {
		return SignIn{}, err
	}
	errTaken := newError(CodeEmailTaken, "An account with this email exists already.")
	h, held, err := k.holder(ctx, kindEmail, email)
	if err != nil {
		return SignIn{}, err
	}
	if held && k.owns(h, kindEmail) {
		return SignIn{}, errTaken
	}
	u.Provider = ProviderAltogic
	if err := k.beforeSignUp(ctx, &u); err != nil {
		return SignIn{}, err
	}
	if err := k.newAccount(ctx, &u, pw); err != nil {
		return SignIn{}, err
	}
	if !k.emailConfirmation {
		if err := k.createUser(ctx, u, errTaken); err != nil {
			return SignIn{}, err
		}
		return k.signUpSession(ctx, u)
	}
	t, err := pendingToken(PurposeConfirmEmail, email, u)
	if err != nil {
		return SignIn{}, err
	}
	// The link is the intent's: its token is stored first, under the hash
	// of the link the courier derives, so the courier never finds an
	// intent without its token.
	id, err := k.newIntentID()
	if err != nil {
		return SignIn{}, internalError(err)
	}
	now = k.clock()
	t.Hash, t.CreatedAt, t.ExpiresAt = hashToken(k.intentSecret(Intent{ID: id}, 0)), now, now.Add(k.confirmLifetime)
	if err := k.store.CreateToken(ctx, t); err != nil {
		return SignIn{}, internalError(err)
	}
	k.event(ctx, "sign-up", u.ID)
	if err := k.promise(ctx, Intent{ID: id, Kind: intentSignUp, To: email, UserID: u.ID}); err != nil {
		return SignIn{}, err
	}
	u.PasswordHash = ""
	return SignIn{User: u}, nil
}

// deliverSignUp mails a sign-up its confirmation link, unless it was
// confirmed meanwhile. Counted (EmailsPerAddress), or sign-ups could bury
// any mailbox in mail; apart from the recovery mails of the send routes,
// which sign-ups must not use up, and never held back by the repeat gap,
// which would let an attacker's sign-up a moment before hold back the
// owner's link. Past the cap the sign-up waits all the same, unmailed.
func (k *Kit) deliverSignUp(ctx context.Context, i Intent) error {
	if firstTry(ctx) {
		if ok, err := k.sendCaps(ctx, k.limits.mailPerAddress, "EmailsPerAddress", "signup-mail", i.To, i.UserID, nil); !ok {
			return err
		}
	}
	// The token was stored at sign-up, under the secret current then.
	for _, secret := range k.intentSecrets(i, 0) {
		_, err := k.store.TokenByHash(ctx, hashToken(secret), k.clock())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		return k.mailLink(ctx, k.templates.confirm, i.To, secret, k.confirmLifetime, "")
	}
	return nil // confirmed, or expired: nothing to mail
}

// signInWithEmail checks an email and password. Unknown accounts, accounts
// without a password and wrong passwords fail alike, after the same work.
func (k *Kit) signInWithEmail(ctx context.Context, email, pw string) (SignIn, error) {
	email, err := k.normalizeEmail(email)
	if err != nil {
		return SignIn{}, err
	}
	u, held, err := k.holder(ctx, kindEmail, email)
	if err != nil {
		return SignIn{}, err
	}
	if !held && k.emailConfirmation {
		// Only sign-ups may wait for the address: the newest one's own
		// password is told to confirm first.
		if u, err = k.waitingAccount(ctx, kindEmail, email); err != nil {
			return SignIn{}, err
		}
	}
	return k.signInWithPassword(ctx, passwordSignIn{
		user: u, kind: "email", identifier: email,
		wrong:       newError(CodeInvalidCredentials, "The email or password is wrong."),
		unconfirmed: k.emailConfirmation && !u.EmailVerified,
		refused:     newError(CodeEmailNotVerified, "Confirm your email first: follow the link we sent you."),
	}, pw)
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
	if err := k.leaseHeld(ctx); err != nil {
		return err
	}
	err = k.mailer.SendEmail(ctx, m)
	k.metrics.handedOver(ctx, to, err)
	return err
}

// mailLink mails the link of secret to an address with template t.
func (k *Kit) mailLink(ctx context.Context, t emailTemplate, to, secret string, lifetime time.Duration, name string) error {
	return k.mail(ctx, t, to, MessageData{Link: k.linkURL(secret), Name: name, ExpiresIn: lifetime})
}

// mailConfirmation sends u, an account of an earlier release whose email
// waits for its confirmation, a link that confirms u.Email.
func (k *Kit) mailConfirmation(ctx context.Context, u User) error {
	secret, err := k.issueIntentToken(ctx, Token{Purpose: PurposeConfirmEmail, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.confirmLifetime)
	if err != nil {
		return err
	}
	// No name: the address has not shown it is the account's, and whoever
	// signed up wrote the name (see MessageData.Name).
	return k.mailLink(ctx, k.templates.confirm, u.Email, secret, k.confirmLifetime, "")
}

// mailPending mails a link of the given purpose that makes a new account
// for an address that no account owns, when it is followed and exchanged.
func (k *Kit) mailPending(ctx context.Context, purpose TokenPurpose, email string, t emailTemplate, lifetime time.Duration) error {
	tok, err := k.newPendingToken(ctx, purpose, email)
	if errors.Is(err, errSignUpRefused) {
		return nil
	}
	if err != nil {
		return err
	}
	secret, err := k.issueIntentToken(ctx, tok, lifetime)
	if err != nil {
		return err
	}
	return k.mailLink(ctx, t, email, secret, lifetime, "")
}

// sendByEmail answers a send route: it checks the address and records the
// intent of that kind, and nothing else, so that the answer is the same,
// in content, in time and in the store calls it makes, whether or not an
// account has the address. The courier delivers it (byEmail).
func (k *Kit) sendByEmail(ctx context.Context, rawEmail, kind string) error {
	email, err := k.queryEmail(rawEmail)
	if err != nil {
		return err
	}
	return k.promise(ctx, Intent{Kind: kind, To: email})
}

// byEmail is the delivery of a send route's intent of that kind: send
// runs with the account that holds the address (held false when none
// does), and only within the address's caps (EmailsPerAddress) if the
// address did not get a message of this kind a moment ago (EmailRepeats);
// both are counted on the first try only.
func (k *Kit) byEmail(kind string, send func(ctx context.Context, email string, u User, held bool) error) func(context.Context, Intent) error {
	return func(ctx context.Context, i Intent) error {
		u, held, err := k.holder(ctx, kindEmail, i.To)
		if err != nil {
			return err
		}
		if held && u.Disabled {
			return nil // nothing it sends could sign a disabled user in
		}
		if firstTry(ctx) {
			if ok, err := k.mailAllowed(ctx, kind, i.To, u.ID); !ok {
				return err
			}
		}
		return send(ctx, i.To, u, held)
	}
}

// resendConfirmation mails a confirmation link again to an address that
// no account owns. When one sign-up waits for it (or one account of an
// earlier release holds it unconfirmed), its own link is sent again, and
// following it makes the account with that sign-up's password. When
// several wait, nobody can tell whose password the owner typed: the link
// makes the account with none, and its owner sets one with a reset.
func (k *Kit) resendConfirmation(ctx context.Context, email string) error {
	if !k.emailConfirmation {
		return newError(CodeFeatureDisabled, "Email confirmation is turned off for this app.")
	}
	return k.sendByEmail(ctx, email, intentConfirm)
}

// deliverConfirmation is the delivery of resendConfirmation.
func (k *Kit) deliverConfirmation(ctx context.Context, email string, u User, held bool) error {
	if held && k.owns(u, kindEmail) {
		return nil
	}
	waiting, err := k.waitingSignUps(ctx, kindEmail, email)
	if err != nil {
		return err
	}
	switch {
	// An OAuth account (of an earlier release) gets no confirmation:
	// its address is its provider's word or none, and a confirmation
	// would let the mailbox's owner prove it for somebody else's
	// account (see settleOAuthEmail).
	case len(waiting) == 0 && held && u.Provider == ProviderAltogic:
		return k.mailConfirmation(ctx, u)
	case len(waiting) == 1 && !held:
		return k.mailAgain(ctx, waiting[0])
	case len(waiting) > 0:
		return k.mailPending(ctx, PurposeConfirmEmail, email, k.templates.confirm, k.confirmLifetime)
	}
	return nil
}

// mailAgain mails a waiting sign-up's link again: a new link for the same
// sign-up. The old one works too, until either makes the account.
func (k *Kit) mailAgain(ctx context.Context, old Token) error {
	secret, err := k.issueIntentToken(ctx, old, k.confirmLifetime)
	if err != nil {
		return err
	}
	return k.mailLink(ctx, k.templates.confirm, old.Subject, secret, k.confirmLifetime, "")
}

// sendMagicLink mails a sign-in link to the account that owns the address.
// To an address that no account owns but that sign-ups wait for (or an
// unconfirmed account holds), it mails a link that makes the account, with
// no password, for whoever follows it.
func (k *Kit) sendMagicLink(ctx context.Context, email string) error {
	if !k.emailConfirmation {
		return newError(CodeFeatureDisabled, "Magic links need email confirmation, which is turned off for this app.")
	}
	return k.sendByEmail(ctx, email, intentMagic)
}

// deliverMagicLink is the delivery of sendMagicLink.
func (k *Kit) deliverMagicLink(ctx context.Context, email string, u User, held bool) error {
	if !held || !k.owns(u, kindEmail) {
		if free, err := k.unowned(ctx, kindEmail, email, u, held); !free {
			return err
		}
		return k.mailPending(ctx, PurposeMagicLink, email, k.templates.magic, k.magicLifetime)
	}
	secret, err := k.issueIntentToken(ctx, Token{Purpose: PurposeMagicLink, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.magicLifetime)
	if err != nil {
		return err
	}
	return k.mailLink(ctx, k.templates.magic, u.Email, secret, k.magicLifetime, u.Name)
}

// sendResetLink mails a password-reset link to the password account that
// owns the address. To an address that no account owns but that sign-ups
// wait for (or an unconfirmed account holds), it mails a link that makes
// the account with the new password.
func (k *Kit) sendResetLink(ctx context.Context, email string) error {
	return k.sendByEmail(ctx, email, intentReset)
}

// deliverResetLink is the delivery of sendResetLink.
func (k *Kit) deliverResetLink(ctx context.Context, email string, u User, held bool) error {
	if !held || !k.owns(u, kindEmail) {
		if free, err := k.unowned(ctx, kindEmail, email, u, held); !free {
			return err
		}
		return k.mailPending(ctx, PurposeResetPassword, email, k.templates.reset, k.resetLifetime)
	}
	if u.Provider != ProviderAltogic {
		return nil
	}
	secret, err := k.issueIntentToken(ctx, Token{Purpose: PurposeResetPassword, UserID: u.ID, Subject: u.Email, Stamp: u.Stamp}, k.resetLifetime)
	if err != nil {
		return err
	}
	return k.mailLink(ctx, k.templates.reset, u.Email, secret, k.resetLifetime, u.Name)
}

// resetGrantLifetime is how long the key of a followed reset link lets
// resetPwdWithToken set a password: time to type one.
const resetGrantLifetime = 15 * time.Minute

// followLink handles the GET of an email link and returns the query to
// redirect with. It changes nothing and spends nothing: mail scanners fetch
// links too, and a GET they make must not confirm an address, apply an
// email change or spend a reset. It only mints a short-lived key for the
// app: a grant that getAuthGrant exchanges (confirming, signing in or
// applying the change then, and spending the link), or for a reset link a
// reset key that resetPwdWithToken spends. The mailed key itself never
// reaches the app's URL, where access logs would keep it.
func (k *Kit) followLink(ctx context.Context, key string) (url.Values, error) {
	if key == "" || len(key) > maxTokenLen {
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
	purpose, lifetime := PurposeGrant, k.grantLifetime
	switch t.Purpose {
	case PurposeConfirmEmail, PurposeMagicLink, PurposeChangeEmail:
	case PurposeResetPassword:
		purpose, lifetime = PurposeResetGrant, resetGrantLifetime
	default:
		return nil, errInvalidToken
	}
	// The key carries the user's stamp now: the link's, but for a
	// confirmation, which survives a new password. A waiting account's
	// link has the stamp the account will have.
	userID, stamp := "", t.Stamp
	if !pending(t) {
		u, err := k.store.UserByID(ctx, t.UserID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, internalError(err)
		}
		// The account, its email (but for a change-email link, which names
		// the new one) or its credentials changed since the link was sent.
		if err != nil || !issuedUnder(t, u) || (t.Purpose != PurposeChangeEmail && u.Email != t.Subject) {
			return nil, errInvalidToken
		}
		userID, stamp = u.ID, u.Stamp
	}
	action := string(t.Purpose)
	grant, err := k.issueToken(ctx, Token{Purpose: purpose, UserID: userID, Subject: t.Subject, Action: action, Link: t.Hash, Stamp: stamp}, lifetime)
	if err != nil {
		return nil, internalError(err)
	}
	return url.Values{"access_token": {grant}, "action": {action}, "status": {"200"}}, nil
}

// resetPassword is resetPwdWithToken: it spends the key of a followed
// reset link and the link itself, sets the new password and ends every
// session. Nobody is signed in. A password the policy refuses spends
// nothing.
func (k *Kit) resetPassword(ctx context.Context, key, pw string) error {
	if err := k.checkPassword(ctx, pw); err != nil {
		return err
	}
	if key == "" || len(key) > maxTokenLen {
		return errInvalidToken
	}
	hash := hashToken(key)
	// Look before hashing, so a bad key costs no hash; spend after, so a
	// failed hash costs no key.
	if g, err := k.store.TokenByHash(ctx, hash, k.clock()); errors.Is(err, ErrNotFound) || (err == nil && g.Purpose != PurposeResetGrant) {
		return errInvalidToken
	} else if err != nil {
		return internalError(err)
	}
	newHash, err := k.hash(ctx, pw)
	if err != nil {
		return err
	}
	now := k.clock()
	g, err := k.store.ConsumeToken(ctx, PurposeResetGrant, hash, now)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return internalError(err)
	}
	t, err := k.store.ConsumeToken(ctx, PurposeResetPassword, g.Link, now)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken // the link was used meanwhile
	}
	if err != nil {
		return internalError(err)
	}
	if pending(t) {
		// A link to an address that no account owned: the account is made
		// now, with the new password.
		u, err := k.accountFromPending(ctx, t, kindEmail, newHash, errInvalidToken)
		if err != nil {
			return err
		}
		return k.guessedRight(ctx, k.attemptAt(ctx, kindEmail, t.Subject, u.ID))
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

// changeEmail needs the current password. With confirmation on, the change
// waits for the new address to confirm by link; off, it applies at once.
// Either way the old address is told once it applies.
//
// With confirmation on, an address another account owns is answered as a
// free one (SECURITY 63): nothing tells the asker that it has an account.
// Its owner is told instead, and no link goes out. Off, the change would
// apply at once, so a taken address answers email_taken.
func (k *Kit) changeEmail(ctx context.Context, c *caller, pw, newEmail string) (User, error) {
	if err := k.credentialChange(ctx, c); err != nil {
		return User{}, err
	}
	newEmail, err := k.normalizeEmail(newEmail)
	if err != nil {
		return User{}, err
	}
	u := *c.user
	if newEmail == u.Email {
		return User{}, newError(CodeEmailUnchanged, "This is the account's email already.")
	}
	if err := k.checkCurrentPassword(ctx, &u, pw); err != nil {
		return User{}, err
	}
	errTaken := newError(CodeEmailTaken, "An account with this email exists already.")
	h, held, err := k.holder(ctx, kindEmail, newEmail)
	if err != nil {
		return User{}, err
	}
	owned := held && k.owns(h, kindEmail)
	if !k.emailConfirmation {
		if owned {
			return User{}, errTaken
		}
		unverified := false
		u, err = k.updateUser(ctx, u.ID, UserUpdate{
			Set: UserFields{Email: &newEmail, EmailVerified: &unverified},
			If:  UserFields{Stamp: &c.session.Stamp},
		}, errTaken, errInvalidSession)
		if err != nil {
			return User{}, err
		}
		old := c.user.Email
		c.user = &u // the context's calls that follow see the change
		if err := k.emailChanged(ctx, u, old); err != nil {
			return User{}, err
		}
		return u, nil
	}
	// A mail to an address the account does not own: counted, or one
	// account could bury any mailbox in mail. Whatever goes out goes after
	// the answer, which is the same either way, and past the cap nothing
	// does.
	if ok, err := k.mailAllowed(ctx, "", newEmail, u.ID); err != nil {
		return User{}, err
	} else if !ok {
		return u, nil
	}
	if owned {
		k.event(ctx, "email change to an address in use", u.ID)
		if err := k.promise(ctx, Intent{Kind: intentAddressInUse, To: newEmail, UserID: u.ID}); err != nil {
			return User{}, err
		}
		return u, nil
	}
	data, err := json.Marshal(intentData{Stamp: c.session.Stamp})
	if err != nil {
		return User{}, internalError(err)
	}
	if err := k.promise(ctx, Intent{Kind: intentChangeEmail, To: newEmail, UserID: u.ID, Data: data}); err != nil {
		return User{}, err
	}
	return u, nil
}

// intentData is what an intent keeps for its delivery, by kind: the stamp
// a change-email link is issued under, the name and new address a notice
// names.
type intentData struct {
	Stamp    string `json:"stamp,omitempty"`
	Name     string `json:"name,omitempty"`
	NewEmail string `json:"newEmail,omitempty"`
	NewPhone string `json:"newPhone,omitempty"`
}

// readIntentData reads the data of intent i.
func readIntentData(i Intent) (intentData, error) {
	var d intentData
	if len(i.Data) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(i.Data, &d); err != nil {
		return d, fmt.Errorf("authkit: reading a %s intent: %w", i.Kind, err)
	}
	return d, nil
}

// deliverChangeEmail mails the new address of an email change its link.
func (k *Kit) deliverChangeEmail(ctx context.Context, i Intent) error {
	d, err := readIntentData(i)
	if err != nil {
		return err
	}
	secret, err := k.issueIntentToken(ctx, Token{Purpose: PurposeChangeEmail, UserID: i.UserID, Subject: i.To, Stamp: d.Stamp}, k.changeEmailLifetime)
	if err != nil {
		return err
	}
	return k.mail(ctx, k.templates.changeEmail, i.To, MessageData{
		// Nothing the account's owner wrote: the new address is anyone's
		// until it confirms (see MessageData.Name).
		Link: k.linkURL(secret), NewEmail: i.To, ExpiresIn: k.changeEmailLifetime,
	})
}

// deliverAddressInUse tells the owner of an address that another account
// asked for it.
func (k *Kit) deliverAddressInUse(ctx context.Context, i Intent) error {
	h, held, err := k.holder(ctx, kindEmail, i.To)
	if err != nil {
		return err
	}
	name := ""
	if held {
		name = h.Name
	}
	return k.mail(ctx, k.templates.addressInUse, i.To, MessageData{Name: name, Email: i.To})
}

// deliverEmailChanged tells the old address of an account that it was
// replaced.
func (k *Kit) deliverEmailChanged(ctx context.Context, i Intent) error {
	d, err := readIntentData(i)
	if err != nil {
		return err
	}
	return k.mail(ctx, k.templates.emailChanged, i.To, MessageData{Name: d.Name, Email: i.To, NewEmail: d.NewEmail})
}

// applyEmailChange makes the address of a spent change-email token t the
// user's, confirmed, if the account still has the credentials it was asked
// under.
func (k *Kit) applyEmailChange(ctx context.Context, t Token) error {
	u, err := k.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return errInvalidToken
	}
	if err != nil {
		return internalError(err)
	}
	errTaken := newError(CodeEmailTaken, "An account with this email exists already.")
	// An account that holds the address without having proven it gives it
	// up to this one, which just did.
	if err := k.release(ctx, kindEmail, t.Subject, errTaken); err != nil {
		return err
	}
	old, verified := u.Email, true
	u, err = k.updateUser(ctx, u.ID, UserUpdate{
		Set: UserFields{Email: &t.Subject, EmailVerified: &verified},
		If:  UserFields{Email: &old, Stamp: &t.Stamp},
	}, errTaken, errInvalidToken)
	if err != nil {
		return err
	}
	return k.emailChanged(ctx, u, old)
}

// emailChanged follows a change of u's email from old: it voids the links
// and grants issued for the old address and tells that address.
func (k *Kit) emailChanged(ctx context.Context, u User, old string) error {
	if err := k.store.DeleteUserTokens(ctx, u.ID, PurposeConfirmEmail, PurposeResetPassword, PurposeResetGrant, PurposeMagicLink, PurposeGrant); err != nil {
		return internalError(err)
	}
	k.event(ctx, "email changed", u.ID)
	if old != "" {
		k.notice(ctx, Intent{Kind: intentEmailChanged, To: old, UserID: u.ID}, intentData{Name: u.Name, NewEmail: u.Email})
	}
	k.afterAddressChange(ctx, kindEmail, u, old)
	return nil
}
