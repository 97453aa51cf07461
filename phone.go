package authkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authkit/authkit/internal/phonenum"
)

// phoneSettings are the phone-account parts of Config, checked by New.
type phoneSettings struct {
	enabled, confirm, signInCodes bool
	store                         PhoneStore // the Store, when PhoneAuth is on
	sender                        SMSSender
	codeLength, maxAttempts       int
	codeLifetime, resendGap       time.Duration
	codeKeys                      [][]byte               // key the HMACs of codes, current first
	costly                        map[phonenum.Kind]bool // the costly kinds allowed
	templates                     struct {
		verify, signIn, reset, changed, inUse smsTemplate
	}
}

// configurePhone checks and applies the phone-account fields of cfg.
func (k *Kit) configurePhone(cfg Config) error {
	p := &k.phone
	p.enabled = cfg.PhoneAuth.on(false)
	p.confirm = cfg.PhoneConfirmation.on(true)
	p.signInCodes = cfg.SignInCodes.on(true)
	p.sender = cfg.SMSSender
	if p.enabled && p.sender == nil {
		return errors.New("authkit: Config.SMSSender is required when PhoneAuth is On (outbox.New() records and prints texts in development)")
	}
	if p.enabled {
		var ok bool
		if p.store, ok = cfg.Store.(PhoneStore); !ok {
			return errors.New("authkit: PhoneAuth needs a Store that implements authkit.PhoneStore (users found by number, SMS codes); memstore and sqlstore stores do")
		}
		p.store = k.bound.phoneStore(p.store)
	}
	err := applyBounded(
		bounded[int]{"CodeLength", cfg.CodeLength, 6, 6, 10, "from 6 to 10", &p.codeLength},
		bounded[int]{"CodeMaxAttempts", cfg.CodeMaxAttempts, 5, 1, 10, "from 1 to 10", &p.maxAttempts},
	)
	if err == nil {
		err = applyBounded(bounded[time.Duration]{"CodeLifetime", cfg.CodeLifetime, 5 * time.Minute, 1, 10 * time.Minute, "positive and at most 10 minutes", &p.codeLifetime})
	}
	if err == nil { // its bounds follow CodeLifetime
		err = applyBounded(bounded[time.Duration]{"CodeResendGap", cfg.CodeResendGap, min(time.Minute, p.codeLifetime), 1, p.codeLifetime, "positive and at most CodeLifetime", &p.resendGap})
	}
	if err != nil {
		return err
	}
	tt, def := &p.templates, DefaultSMSTemplates()
	for _, t := range []struct {
		name, in, def string
		out           *smsTemplate
	}{
		{"VerifyPhone", cfg.SMSTemplates.VerifyPhone, def.VerifyPhone, &tt.verify},
		{"SignInCode", cfg.SMSTemplates.SignInCode, def.SignInCode, &tt.signIn},
		{"ResetCode", cfg.SMSTemplates.ResetCode, def.ResetCode, &tt.reset},
		{"PhoneChanged", cfg.SMSTemplates.PhoneChanged, def.PhoneChanged, &tt.changed},
		{"NumberInUse", cfg.SMSTemplates.NumberInUse, def.NumberInUse, &tt.inUse},
	} {
		var err error
		if *t.out, err = parseSMSTemplate(t.name, t.in, t.def); err != nil {
			return err
		}
	}
	for _, kind := range cfg.CostlyNumbers {
		if !slices.Contains(phonenum.AllKinds(), phonenum.Kind(kind)) {
			return fmt.Errorf("authkit: Config.CostlyNumbers: %q is not a kind of number; use the Number… constants", kind)
		}
		if p.costly == nil {
			p.costly = map[phonenum.Kind]bool{}
		}
		p.costly[phonenum.Kind(kind)] = true
	}
	p.codeKeys = k.subkeys("sms code")
	return nil
}

// NumberKind is a kind of phone number that costs whoever texts it; see
// Config.CostlyNumbers.
type NumberKind string

// The kinds of costly numbers, as libphonenumber tells them apart.
const (
	NumberPremiumRate NumberKind = "premium-rate" // +1 900…, +44 909…: the caller pays the owner
	NumberSharedCost  NumberKind = "shared-cost"  // +44 845…: the caller pays part of the call
	NumberUAN         NumberKind = "uan"          // universal access numbers of companies
	NumberVoicemail   NumberKind = "voicemail"    // numbers that reach a mailbox only
	NumberSatellite   NumberKind = "satellite"    // +870, +881, +882…: satellite and international networks
	NumberShortCode   NumberKind = "short-code"   // short numbers of services
)

var errPhoneTaken = newError(CodePhoneTaken, "An account with this phone number exists already.")

// phoneOn refuses every phone route while Config.PhoneAuth is off.
func (k *Kit) phoneOn() error {
	if !k.phone.enabled {
		return newError(CodeFeatureDisabled, "Phone accounts are turned off for this app.")
	}
	return nil
}

// smsFailed is a text the caller waits for that the provider did not take.
// The cause is logged; it holds neither the code nor the message.
func smsFailed(err error) error {
	return &Error{Code: CodeSMSFailed, Message: "The text message could not be sent. Ask for a new code in a minute.", Err: err}
}

// signUpWithPhone signs up with a phone number and a password. With phone
// confirmation on it makes no account: the sign-up waits for its code
// (pending.go), which is texted, and the answer has no session. Off, it
// makes the account and signs it in. A number an account owns answers
// phone_taken.
func (k *Kit) signUpWithPhone(ctx context.Context, phone, pw string, userData json.RawMessage) (SignIn, error) {
	if err := k.phoneOn(); err != nil {
		return SignIn{}, err
	}
	phone, err := k.normalizePhone(phone)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.checkPassword(ctx, pw); err != nil {
		return SignIn{}, err
	}
	now := k.clock()
	u := User{Phone: phone, SignUpAt: now, LastLoginAt: now}
	if err := k.applyUserData(ctx, &u, userData); err != nil {
		return SignIn{}, err
	}
	h, held, err := k.holder(ctx, kindPhone, phone)
	if err != nil {
		return SignIn{}, err
	}
	if held && k.owns(h, kindPhone) {
		return SignIn{}, errPhoneTaken
	}
	u.Provider = ProviderAltogic
	if err := k.beforeSignUp(ctx, &u); err != nil {
		return SignIn{}, err
	}
	if !k.phone.confirm {
		if err := k.newAccount(ctx, &u, pw); err != nil {
			return SignIn{}, err
		}
		if err := k.createUser(ctx, u, errPhoneTaken); err != nil {
			return SignIn{}, err
		}
		return k.signUpSession(ctx, u)
	}
	// Counted before anything is made: a refused sign-up makes nothing.
	if err := k.textAsked(ctx, ""); err != nil {
		return SignIn{}, err
	}
	if err := k.newAccount(ctx, &u, pw); err != nil {
		return SignIn{}, err
	}
	t, err := pendingToken(PurposeConfirmPhone, phone, u)
	if err != nil {
		return SignIn{}, err
	}
	// The caller waits for the text: a number the provider refuses is
	// said at once. The sign-up waits all the same; resendVerificationCode
	// texts another code.
	if err := k.textCode(ctx, t, "", k.phone.templates.verify, true); err != nil {
		return SignIn{}, smsFailed(err)
	}
	k.event(ctx, "sign-up", u.ID)
	u.PasswordHash = ""
	return SignIn{User: u}, nil
}

// signInWithPhone checks a phone number and password. Unknown numbers,
// accounts without a password and wrong passwords fail alike, after the
// same work; phone_not_verified comes only after the right password.
func (k *Kit) signInWithPhone(ctx context.Context, phone, pw string) (SignIn, error) {
	if err := k.phoneOn(); err != nil {
		return SignIn{}, err
	}
	phone, err := k.normalizePhone(phone)
	if err != nil {
		return SignIn{}, err
	}
	u, held, err := k.holder(ctx, kindPhone, phone)
	if err != nil {
		return SignIn{}, err
	}
	if !held && k.phone.confirm {
		// Only sign-ups may wait for the number: the newest one's own
		// password is told to confirm first.
		if u, err = k.waitingAccount(ctx, kindPhone, phone); err != nil {
			return SignIn{}, err
		}
	}
	return k.signInWithPassword(ctx, passwordSignIn{
		user: u, kind: "phone", identifier: phone,
		wrong:       newError(CodeInvalidCredentials, "The phone number or password is wrong."),
		unconfirmed: k.phone.confirm && !u.PhoneVerified,
		refused:     newError(CodePhoneNotVerified, "Confirm your phone number first with the code we texted you."),
	}, pw)
}

// sendByPhone answers a send route as sendByEmail does: it checks the
// number, counts the request (SMSPerIP, whatever the account) and records
// the intent of that kind, so that the answer is the same, in content, in
// time and in the store calls it makes, whether or not an account has the
// number. The courier delivers it (byPhone); SMSPerNumber counts the
// texts it sends.
func (k *Kit) sendByPhone(ctx context.Context, rawPhone, kind string) error {
	phone, err := k.queryPhone(rawPhone)
	if err != nil {
		return err
	}
	if err := k.textAsked(ctx, ""); err != nil {
		return err
	}
	return k.promise(ctx, Intent{Kind: kind, To: phone})
}

// byPhone is the delivery of a send route's intent: send runs with the
// account that holds the number (held false when none does).
func (k *Kit) byPhone(send func(ctx context.Context, phone string, u User, held bool) error) func(context.Context, Intent) error {
	return func(ctx context.Context, i Intent) error {
		u, held, err := k.holder(ctx, kindPhone, i.To)
		if err != nil {
			return err
		}
		if held && u.Disabled {
			return nil // nothing it sends could sign a disabled user in
		}
		return send(ctx, i.To, u, held)
	}
}

// textPending texts a code of the given purpose that makes a new account
// for a number that no account owns but that sign-ups wait for (or an
// unconfirmed account holds), for whoever gives it.
func (k *Kit) textPending(ctx context.Context, purpose TokenPurpose, phone string, u User, held bool, tpl smsTemplate) error {
	if free, err := k.unowned(ctx, kindPhone, phone, u, held); !free {
		return err
	}
	t, err := k.newPendingToken(ctx, purpose, phone)
	if errors.Is(err, errSignUpRefused) {
		return nil
	}
	if err != nil {
		return err
	}
	return k.textCode(ctx, t, "", tpl, false)
}

// resendVerificationCode texts a confirmation code again to a number that
// no account owns, as resendConfirmation mails a link: the one sign-up
// that waits for it (or the one account of an earlier release that holds
// it unconfirmed) gets a fresh code of its own; when several wait, the code
// makes the account with no password.
func (k *Kit) resendVerificationCode(ctx context.Context, phone string) error {
	if err := k.phoneOn(); err != nil {
		return err
	}
	if !k.phone.confirm {
		return newError(CodeFeatureDisabled, "Phone confirmation is turned off for this app.")
	}
	return k.sendByPhone(ctx, phone, intentConfirmCode)
}

// deliverConfirmationCode is the delivery of resendVerificationCode.
func (k *Kit) deliverConfirmationCode(ctx context.Context, phone string, u User, held bool) error {
	if held && k.owns(u, kindPhone) {
		return nil
	}
	waiting, err := k.waitingSignUps(ctx, kindPhone, phone)
	if err != nil {
		return err
	}
	switch {
	case len(waiting) == 0 && held:
		return k.textCode(ctx, userCode(u, PurposeConfirmPhone, phone), "", k.phone.templates.verify, false)
	case len(waiting) == 1 && !held:
		// A fresh code for the same waiting sign-up. The old one works
		// too, until either makes the account.
		fresh := waiting[0]
		fresh.Attempts = 0
		return k.textCode(ctx, fresh, "", k.phone.templates.verify, false)
	case len(waiting) > 0:
		return k.textPending(ctx, PurposeConfirmPhone, phone, u, held, k.phone.templates.verify)
	}
	return nil
}

// signInCodesOn refuses the sign-in code routes while they are off.
func (k *Kit) signInCodesOn() error {
	if err := k.phoneOn(); err != nil {
		return err
	}
	if !k.phone.signInCodes {
		return newError(CodeFeatureDisabled, "Sign-in codes are turned off for this app.")
	}
	return nil
}

// sendSignInCode texts a sign-in code to a confirmed number.
func (k *Kit) sendSignInCode(ctx context.Context, phone string) error {
	if err := k.signInCodesOn(); err != nil {
		return err
	}
	return k.sendByPhone(ctx, phone, intentSignInCode)
}

// deliverSignInCode is the delivery of sendSignInCode.
func (k *Kit) deliverSignInCode(ctx context.Context, phone string, u User, held bool) error {
	if !held || !k.owns(u, kindPhone) {
		return k.textPending(ctx, PurposeSignInCode, phone, u, held, k.phone.templates.signIn)
	}
	return k.textCode(ctx, userCode(u, PurposeSignInCode, phone), u.Name, k.phone.templates.signIn, false)
}

// signInWithCode spends a sign-in code and signs its account in.
func (k *Kit) signInWithCode(ctx context.Context, phone, code string) (SignIn, error) {
	if err := k.signInCodesOn(); err != nil {
		return SignIn{}, err
	}
	phone, err := k.queryPhone(phone)
	if err != nil {
		return SignIn{}, err
	}
	at := k.attemptAt(ctx, kindPhone, phone, "")
	if err := k.guess(ctx, at); err != nil {
		return SignIn{}, err
	}
	t, err := k.matchCode(ctx, phone, code, PurposeSignInCode)
	if err != nil {
		return SignIn{}, err
	}
	if pending(t) {
		answer, err := k.signInPending(ctx, t, "sign-in by code", MethodCode)
		if err == nil {
			err = k.guessedRight(ctx, at)
		}
		return answer, err
	}
	t, err = k.codeOwner(ctx, t)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.guessedRight(ctx, at); err != nil {
		return SignIn{}, err
	}
	// The code reached the phone: the number is confirmed too.
	answer, err := k.startSession(ctx, t.UserID, t.Stamp, phoneProven(t), errInvalidCode, via{method: MethodCode})
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, "sign-in by code", t.UserID)
	k.noticeNewDevice(ctx, answer, false)
	return answer, nil
}

// signInPending spends the code t of a waiting account, makes the
// account, its number proven, and signs it in.
func (k *Kit) signInPending(ctx context.Context, t Token, event string, m SignInMethod) (SignIn, error) {
	t, err := k.spendCode(ctx, t)
	if err != nil {
		return SignIn{}, err
	}
	u, err := k.accountFromPending(ctx, t, kindPhone, "", errInvalidCode)
	if err != nil {
		return SignIn{}, err
	}
	answer, err := k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, errInvalidCode, via{method: m})
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, event, u.ID)
	return answer, nil
}

// phoneProven is the write that confirms the number a spent code t was
// sent to, if the account still has it.
func phoneProven(t Token) UserUpdate {
	verified := true
	return UserUpdate{Set: UserFields{PhoneVerified: &verified}, If: UserFields{Phone: &t.Subject}}
}

// codeOwner spends a code matchCode accepted and checks that the account
// it was sent for still has the number it was sent to and, but for a
// confirmation, the credential stamp it was issued under. It returns the
// spent code; a confirmation's carries the account's stamp of now.
func (k *Kit) codeOwner(ctx context.Context, t Token) (Token, error) {
	t, err := k.spendCode(ctx, t)
	if err != nil {
		return Token{}, err
	}
	u, err := k.store.UserByID(ctx, t.UserID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Token{}, internalError(err)
	}
	if err != nil || u.Phone != t.Subject || !issuedUnder(t, u) {
		return Token{}, errInvalidCode // the account, its number or its credentials changed since
	}
	t.Stamp = u.Stamp
	return t, nil
}

// sendResetPwdCode texts a reset code to a password account's number: a
// confirmed one, while confirmation is on.
func (k *Kit) sendResetPwdCode(ctx context.Context, phone string) error {
	if err := k.phoneOn(); err != nil {
		return err
	}
	return k.sendByPhone(ctx, phone, intentResetCode)
}

// deliverResetCode is the delivery of sendResetPwdCode.
func (k *Kit) deliverResetCode(ctx context.Context, phone string, u User, held bool) error {
	if !held || !k.owns(u, kindPhone) {
		return k.textPending(ctx, PurposeResetCode, phone, u, held, k.phone.templates.reset)
	}
	if u.Provider != ProviderAltogic {
		return nil
	}
	return k.textCode(ctx, userCode(u, PurposeResetCode, phone), u.Name, k.phone.templates.reset, false)
}

// resetPwdWithCode spends a reset code, sets the new password and ends
// every session; it also voids the account's other codes and links.
// Nobody is signed in.
func (k *Kit) resetPwdWithCode(ctx context.Context, phone, code, pw string) error {
	if err := k.phoneOn(); err != nil {
		return err
	}
	if err := k.checkPassword(ctx, pw); err != nil {
		return err
	}
	phone, err := k.queryPhone(phone)
	if err != nil {
		return err
	}
	// Check the code before hashing, so a wrong one costs no hash; spend it
	// after, so a failed hash costs no code.
	t, err := k.matchCode(ctx, phone, code, PurposeResetCode)
	if err != nil {
		return err
	}
	newHash, err := k.hash(ctx, pw)
	if err != nil {
		return err
	}
	if pending(t) {
		// A code to a number that no account owned: the account is made
		// now, with the new password.
		if t, err = k.spendCode(ctx, t); err != nil {
			return err
		}
		u, err := k.accountFromPending(ctx, t, kindPhone, newHash, errInvalidCode)
		if err != nil {
			return err
		}
		return k.guessedRight(ctx, k.attemptAt(ctx, kindPhone, t.Subject, u.ID))
	}
	t, err = k.codeOwner(ctx, t)
	if err != nil {
		return err
	}
	// The code reached the phone: the number is confirmed too.
	return k.finishReset(ctx, t, newHash, phoneProven(t), errInvalidCode)
}

// verifyPhone spends the newest confirmation or change-phone code sent to
// the number. A sign-up's confirmation signs the user in; a change of
// number applies, and answers with no session.
func (k *Kit) verifyPhone(ctx context.Context, phone, code string) (SignIn, error) {
	if err := k.phoneOn(); err != nil {
		return SignIn{}, err
	}
	phone, err := k.queryPhone(phone)
	if err != nil {
		return SignIn{}, err
	}
	// Counted by the number, whether or not an account has it, as a
	// password sign-in with it is.
	at := k.attemptAt(ctx, kindPhone, phone, "")
	if err := k.guess(ctx, at); err != nil {
		return SignIn{}, err
	}
	t, err := k.matchCode(ctx, phone, code, PurposeConfirmPhone, PurposeChangePhone)
	if err != nil {
		return SignIn{}, err
	}
	if t.Purpose == PurposeChangePhone {
		u, err := k.applyPhoneChange(ctx, t)
		if err != nil {
			return SignIn{}, err
		}
		return SignIn{User: u}, nil
	}
	if pending(t) {
		answer, err := k.signInPending(ctx, t, "phone confirmed", MethodConfirmation)
		if err == nil {
			err = k.guessedRight(ctx, at)
		}
		return answer, err
	}
	t, err = k.codeOwner(ctx, t)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.guessedRight(ctx, at); err != nil {
		return SignIn{}, err
	}
	answer, err := k.startSession(ctx, t.UserID, t.Stamp, phoneProven(t), errInvalidCode, via{method: MethodConfirmation})
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, "phone confirmed", t.UserID)
	return answer, nil
}

// changePhone needs the current password. With confirmation on, the change
// waits for the new number to confirm with verifyPhone; off, it applies at
// once. Either way the old number is told once it applies.
//
// With confirmation on, a number another account owns is answered as a
// free one (SECURITY 63): its owner gets a notice instead of a code. Off, a
// taken number answers phone_taken.
func (k *Kit) changePhone(ctx context.Context, c *caller, pw, newPhone string) (User, error) {
	if err := k.phoneOn(); err != nil {
		return User{}, err
	}
	if err := k.credentialChange(ctx, c); err != nil {
		return User{}, err
	}
	newPhone, err := k.normalizePhone(newPhone)
	if err != nil {
		return User{}, err
	}
	u := *c.user
	if newPhone == u.Phone {
		return User{}, newError(CodePhoneUnchanged, "This is the account's phone number already.")
	}
	if err := k.checkCurrentPassword(ctx, &u, pw); err != nil {
		return User{}, err
	}
	h, held, err := k.holder(ctx, kindPhone, newPhone)
	if err != nil {
		return User{}, err
	}
	owned := held && k.owns(h, kindPhone)
	if !k.phone.confirm {
		if owned {
			return User{}, errPhoneTaken
		}
		unverified := false
		u, err = k.updateUser(ctx, u.ID, UserUpdate{
			Set: UserFields{Phone: &newPhone, PhoneVerified: &unverified},
			If:  UserFields{Stamp: &c.session.Stamp},
		}, errPhoneTaken, errInvalidSession)
		if err != nil {
			return User{}, err
		}
		old := c.user.Phone
		c.user = &u // the context's calls that follow see the change
		if err := k.phoneChanged(ctx, u, old); err != nil {
			return User{}, err
		}
		return u, nil
	}
	if err := k.textAsked(ctx, u.ID); err != nil {
		return User{}, err
	}
	if owned {
		// The caller waits for this text as for a code, so the answer
		// takes as long either way.
		k.event(ctx, "phone change to a number in use", u.ID)
		if err := k.textNotice(ctx, h, newPhone, k.phone.templates.inUse, MessageData{}); err != nil {
			return User{}, smsFailed(err)
		}
		return u, nil
	}
	if err := k.textCode(ctx, userCode(u, PurposeChangePhone, newPhone), "", k.phone.templates.verify, false); err != nil {
		return User{}, smsFailed(err)
	}
	return u, nil
}

// applyPhoneChange spends a change-phone code and makes its number the
// user's, confirmed.
func (k *Kit) applyPhoneChange(ctx context.Context, t Token) (User, error) {
	t, err := k.spendCode(ctx, t)
	if err != nil {
		return User{}, err
	}
	u, err := k.store.UserByID(ctx, t.UserID)
	if errors.Is(err, ErrNotFound) {
		return User{}, errInvalidCode
	}
	if err != nil {
		return User{}, internalError(err)
	}
	// An account that holds the number without having proven it gives it
	// up to this one, which just did.
	if err := k.release(ctx, kindPhone, t.Subject, errPhoneTaken); err != nil {
		return User{}, err
	}
	old, verified := u.Phone, true
	u, err = k.updateUser(ctx, u.ID, UserUpdate{
		Set: UserFields{Phone: &t.Subject, PhoneVerified: &verified},
		If:  UserFields{Phone: &old, Stamp: &t.Stamp},
	}, errPhoneTaken, errInvalidCode)
	if err != nil {
		return User{}, err
	}
	return u, k.phoneChanged(ctx, u, old)
}

// phoneChanged follows a change of u's number from old: it voids the codes
// issued for the old number and texts it a notice.
func (k *Kit) phoneChanged(ctx context.Context, u User, old string) error {
	if err := k.store.DeleteUserTokens(ctx, u.ID, codePurposes...); err != nil {
		return internalError(err)
	}
	k.event(ctx, "phone changed", u.ID)
	if old != "" {
		k.notice(ctx, Intent{Kind: intentPhoneChanged, To: old, UserID: u.ID}, intentData{Name: u.Name, NewPhone: u.Phone})
	}
	k.afterAddressChange(ctx, kindPhone, u, old)
	return nil
}

// deliverPhoneChanged texts the old number of an account that it was
// replaced.
func (k *Kit) deliverPhoneChanged(ctx context.Context, i Intent) error {
	d, err := readIntentData(i)
	if err != nil {
		return err
	}
	return k.textNotice(ctx, User{ID: i.UserID, Name: d.Name}, i.To, k.phone.templates.changed, MessageData{NewPhone: d.NewPhone})
}

// textNotice texts u a notice at phone with tpl, if the number's region is
// allowed and Limits.SMSBudget is not spent.
func (k *Kit) textNotice(ctx context.Context, u User, phone string, tpl smsTemplate, d MessageData) error {
	if !k.textAllowed(ctx, phone, u.ID) {
		return nil
	}
	if firstTry(ctx) {
		if ok, err := k.textBudget(ctx, u.ID); !ok {
			return err
		}
	}
	d.AppName, d.Phone, d.Name = k.appName, phone, u.Name
	m, err := tpl.render(phone, d)
	if err != nil {
		return err
	}
	return k.sendText(ctx, m)
}

// sendText hands m to the SMS sender, within SendTimeout, if the courier's
// lease on the message (when a courier sends it) still holds.
func (k *Kit) sendText(ctx context.Context, m SMS) error {
	if err := k.leaseHeld(ctx); err != nil {
		return err
	}
	sending, cancel := context.WithTimeout(ctx, k.sendTimeout)
	defer cancel()
	err := k.phone.sender.SendSMS(sending, m)
	k.metrics.handedOver(ctx, m.To, err)
	return err
}
