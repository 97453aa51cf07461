package authkit

// Second factors (Config.MFA): a TOTP authenticator with recovery codes,
// enrolled and removed by its signed-in user, and asked for by every
// sign-in of a user who has one: the first factor earns a short-lived
// ticket, which VerifyMFA exchanges for a session with the second.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image/png"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// mfaSettings is what Config.MFA turned on.
type mfaSettings struct {
	on       bool
	recent   time.Duration // Config.RecentFactor
	store    FactorStore
	sealKeys [][]byte // seal factors' secrets: the first seals, any opens
	codeKeys [][]byte // hash recovery codes: the first hashes, any finds
}

const (
	// mfaTicketLifetime is how long a sign-in waits for its second factor.
	mfaTicketLifetime = 5 * time.Minute
	// totpPeriod is the length of a TOTP time step.
	totpPeriod = 30
	// recoveryCodes is how many recovery codes a user holds at a time.
	recoveryCodes = 10
	// recoveryCodeLen is a recovery code's length, without its dash: 50
	// random bits in base32.
	recoveryCodeLen = 10
	// qrSize is the side of the enrolment's QR code, in pixels.
	qrSize = 256
)

// base32Alphabet is RFC 4648's, in which recovery codes are written.
const base32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

var (
	errMFADisabled    = newError(CodeFeatureDisabled, "Second factors are not enabled.")
	errMFAEnrolled    = newError(CodeMFAEnrolled, "An authenticator is enrolled already: remove it first.")
	errMFANotEnrolled = newError(CodeMFANotEnrolled, "No authenticator is enrolled, or the enrolment was not started.")
	errMFACode        = newError(CodeInvalidCode, "The code is wrong, was used already, or is not a code.")
	errMFATicket      = newError(CodeInvalidToken, "The sign-in ticket is not valid: it was used already, has expired or never existed. Sign in again.")
)

// configureMFA checks and applies MFA. It needs the secrets: a factor's
// secret is sealed under them, and a secret drawn at start would leave
// every enrolled user unable to sign in after a restart.
func (k *Kit) configureMFA(cfg Config) error {
	m := &k.mfa
	m.on = cfg.MFA.on(false)
	err := applyBounded(bounded[time.Duration]{"RecentFactor", cfg.RecentFactor, defaultRecentFactor, 1, forever, "positive (or zero, for the default)", &m.recent})
	if err != nil || !m.on {
		return err
	}
	if len(cfg.Secret) == 0 && len(cfg.Secrets) == 0 {
		return errors.New("authkit: MFA needs Config.Secret or Config.Secrets: factors' secrets are sealed under it, and a secret drawn at start would lock every enrolled user out at the next restart")
	}
	var ok bool
	if m.store, ok = cfg.Store.(FactorStore); !ok {
		return errors.New("authkit: MFA needs a Store that implements authkit.FactorStore (second factors and recovery codes); memstore and sqlstore stores do")
	}
	m.store = k.bound.factorStore(m.store)
	m.sealKeys = k.subkeys("totp secret")
	m.codeKeys = k.subkeys("recovery code")
	return nil
}

// TOTPEnrolment is a TOTP factor just enrolled, still pending: what the
// user puts into an authenticator app, once. [Kit.ConfirmTOTP] with a
// first code from the app makes it active.
type TOTPEnrolment struct {
	Secret string `json:"secret"` // base32, for typing in
	URI    string `json:"uri"`    // otpauth://totp/..., what the QR code holds
	QRCode string `json:"qrCode"` // the URI as a PNG QR code: a data: URL
}

// EnrolTOTP starts enrolling a TOTP authenticator for the signed-in
// user: a new secret, pending until ConfirmTOTP, replacing a pending
// one. An active authenticator is mfa_enrolled: remove it first.
func (k *Kit) EnrolTOTP(ctx context.Context) (TOTPEnrolment, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if !k.mfa.on {
		return TOTPEnrolment{}, errMFADisabled
	}
	u := c.user
	if f, err := k.mfa.store.FactorOf(ctx, u.ID, FactorTOTP); err == nil && f.Active {
		return TOTPEnrolment{}, errMFAEnrolled
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return TOTPEnrolment{}, internalError(err)
	}
	// An app is added only from a session that proved a factor recently:
	// beside a passkey, the second factor (an app added from a stolen
	// one-factor session would stand in for the owner's passkey at the
	// next sign-in); as the first factor, a recent sign-in.
	if err := k.needRecentProof(ctx, c); err != nil {
		return TOTPEnrolment{}, err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: k.appName, AccountName: accountName(u), Period: totpPeriod,
		SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: k.rand,
	})
	if err != nil {
		return TOTPEnrolment{}, internalError(err)
	}
	sealed, err := k.sealFactor(u.ID, []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, internalError(err)
	}
	err = k.mfa.store.PutPendingFactor(ctx, Factor{UserID: u.ID, Kind: FactorTOTP, Secret: sealed, CreatedAt: k.clock()})
	if errors.Is(err, ErrDuplicate) {
		return TOTPEnrolment{}, errMFAEnrolled
	}
	if err != nil {
		return TOTPEnrolment{}, internalError(err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return TOTPEnrolment{}, internalError(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, internalError(err)
	}
	k.event(ctx, "totp enrolment started", u.ID)
	return TOTPEnrolment{
		Secret: key.Secret(), URI: key.URL(),
		QRCode: "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// accountName is how an authenticator app lists the account: its email,
// else its phone, else its id.
func accountName(u *User) string {
	switch {
	case u.Email != "":
		return u.Email
	case u.Phone != "":
		return u.Phone
	}
	return u.ID
}

// ConfirmTOTP makes the signed-in user's pending TOTP authenticator
// active with a first code from it, and returns the user's recovery
// codes: shown once, never again. From then on every sign-in of the
// user asks for a second factor. A wrong code is invalid_code, and
// counts toward the account's failed sign-ins.
func (k *Kit) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if !k.mfa.on {
		return nil, errMFADisabled
	}
	if err := k.askedIP(ctx); err != nil {
		return nil, err
	}
	u := c.user
	f, err := k.mfa.store.FactorOf(ctx, u.ID, FactorTOTP)
	if errors.Is(err, ErrNotFound) {
		return nil, errMFANotEnrolled
	}
	if err != nil {
		return nil, internalError(err)
	}
	if f.Active {
		return nil, errMFAEnrolled
	}
	if err := k.needRecentFactor(ctx, c); err != nil {
		return nil, err // a passkey registered since the enrolment began
	}
	digits, ok := totpCode(code)
	if !ok {
		return nil, errMFACode
	}
	at := k.attemptAt(ctx, "user", u.ID, u.ID)
	if err := k.guess(ctx, at); err != nil {
		return nil, err
	}
	step, ok, err := k.matchTOTP(f, digits)
	if err != nil {
		return nil, err
	}
	if !ok {
		k.event(ctx, "totp confirmation failed", u.ID)
		return nil, errMFACode
	}
	codes, hashes, err := k.newRecoveryCodes(u.ID)
	if err != nil {
		return nil, internalError(err)
	}
	err = k.mfa.store.ActivateFactor(ctx, u.ID, FactorTOTP, f.Secret, step, hashes)
	if errors.Is(err, ErrNotFound) {
		return nil, errMFANotEnrolled // enrolled anew, or removed, meanwhile
	}
	if err != nil {
		return nil, internalError(err)
	}
	if err := k.guessedRight(ctx, at); err != nil {
		return nil, err
	}
	k.event(ctx, "totp enrolled", u.ID)
	k.afterFactorChange(ctx, *u, FactorTOTP, true)
	return codes, nil
}

// RemoveTOTP removes the signed-in user's TOTP authenticator, and with
// it the recovery codes, with a current code from it or a recovery code:
// the user's sign-ins then need one factor again.
func (k *Kit) RemoveTOTP(ctx context.Context, code string) error {
	c, err := signedIn(ctx)
	if err != nil {
		return err
	}
	if err := k.askedIP(ctx); err != nil {
		return err
	}
	f, err := k.activeFactor(ctx, c.user.ID)
	if err != nil {
		return err
	}
	if err := k.checkSecondFactor(ctx, f, code, true); err != nil {
		return err
	}
	// While a passkey remains, it is a second factor with the recovery
	// codes: only the authenticator goes.
	keep, err := k.hasPasskey(ctx, c.user.ID)
	if err != nil {
		return internalError(err)
	}
	if keep {
		err = k.passkey.store.DeleteFactor(ctx, c.user.ID, FactorTOTP)
	} else {
		err = k.mfa.store.DeleteFactors(ctx, c.user.ID)
	}
	if err != nil {
		return internalError(err)
	}
	k.event(ctx, "totp removed", c.user.ID)
	k.afterFactorChange(ctx, *c.user, FactorTOTP, false)
	return nil
}

// RegenerateRecoveryCodes replaces the signed-in user's recovery codes
// with new ones, with a current TOTP code (a recovery code will not do),
// or with no code from a session that proved a second factor within
// Config.RecentFactor (mfa_step_up_required otherwise: the way of a user
// with passkeys alone), and returns them: shown once. The old ones stop
// working.
func (k *Kit) RegenerateRecoveryCodes(ctx context.Context, code string) ([]string, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return nil, err
	}
	if err := k.askedIP(ctx); err != nil {
		return nil, err
	}
	if err := k.regenerationProof(ctx, c, code); err != nil {
		return nil, err
	}
	codes, hashes, err := k.newRecoveryCodes(c.user.ID)
	if err != nil {
		return nil, internalError(err)
	}
	if err := k.mfa.store.ReplaceRecoveryCodes(ctx, c.user.ID, hashes); err != nil {
		return nil, internalError(err)
	}
	k.event(ctx, "recovery codes regenerated", c.user.ID)
	return codes, nil
}

// regenerationProof checks what replacing the recovery codes takes: a
// current code from the authenticator app (a recovery code will not do:
// it would mint ten from one), or, with no code, a session that proved a
// second factor within RecentFactor, which is how a user with passkeys
// alone proves one (passkeys/step-up first).
func (k *Kit) regenerationProof(ctx context.Context, c *caller, code string) error {
	if code == "" {
		if !k.mfa.on {
			return errMFADisabled
		}
		has, err := k.hasActiveFactor(ctx, c.user.ID)
		if err != nil {
			return internalError(err)
		}
		if !has {
			return errMFANotEnrolled
		}
		if !k.recentFactor(c.session, k.mfa.recent) {
			return stepUpRequired(true, k.mfa.recent)
		}
		return nil
	}
	f, err := k.activeFactor(ctx, c.user.ID)
	if err != nil {
		return err
	}
	return k.checkSecondFactor(ctx, f, code, false)
}

// ResetFactors removes every second factor and recovery code of the
// user with that id, for the host (an administrator's reset, when a
// user lost both the authenticator and the codes): the user's sign-ins
// then need one factor. user_not_found when there is no such user.
func (k *Kit) ResetFactors(ctx context.Context, userID string) error {
	if !k.mfa.on {
		return errMFADisabled
	}
	u, err := k.userByID(ctx, userID)
	if err != nil {
		return err
	}
	hadPasskey, err := k.hasPasskey(ctx, u.ID)
	if err != nil {
		return internalError(err)
	}
	// DeleteFactors takes the passkeys too (PasskeyStore).
	if err := k.mfa.store.DeleteFactors(ctx, u.ID); err != nil {
		return internalError(err)
	}
	k.event(ctx, "second factors reset by the app", u.ID)
	k.noticeFactorChanged(ctx, u, "", false) // one notice: every second factor
	k.factorHook(ctx, u, FactorTOTP, false)
	if hadPasskey {
		k.factorHook(ctx, u, FactorPasskey, false)
	}
	return nil
}

// VerifyMFA finishes a sign-in that answered mfa_required: it spends
// the ticket of that answer's details with a current TOTP code or a
// recovery code, and signs the user in as the first factor would have
// (Hooks.AfterSignIn sees the first factor's method), with a session of
// two factors. A wrong code is invalid_code and counts toward the
// account's failed sign-ins; the ticket stays good until it expires (5
// minutes) or is spent. A spent, expired or unknown ticket is
// invalid_token: sign in again.
func (k *Kit) VerifyMFA(ctx context.Context, ticket, code string) (_ SignIn, err error) {
	defer k.metrics.signInFailed(ctx, methodSecondFactor, "", &err)
	if !k.mfa.on {
		return SignIn{}, errMFADisabled
	}
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	t, err := k.ticketOf(ctx, ticket)
	if err != nil {
		return SignIn{}, err
	}
	// A factor removed or reset since the first factor leaves the ticket
	// nothing to check: mfa_not_enrolled, and the next sign-in needs one
	// factor. A user with passkeys and no authenticator may send a
	// recovery code.
	if err := k.checkCodeFactor(ctx, t.UserID, code, true); err != nil {
		return SignIn{}, err
	}
	return k.spendTicket(ctx, t, "sign-in with a second factor")
}

// methodSecondFactor names VerifyMFA's failures in the metrics; its
// successes count under the first factor's method.
const methodSecondFactor SignInMethod = "second-factor"

// activeFactor is the user's active TOTP factor, or mfa_not_enrolled.
func (k *Kit) activeFactor(ctx context.Context, userID string) (Factor, error) {
	if !k.mfa.on {
		return Factor{}, errMFADisabled
	}
	f, err := k.mfa.store.FactorOf(ctx, userID, FactorTOTP)
	if errors.Is(err, ErrNotFound) || (err == nil && !f.Active) {
		return Factor{}, errMFANotEnrolled
	}
	if err != nil {
		return Factor{}, internalError(err)
	}
	return f, nil
}

// hasActiveFactor reports whether the user has an active second factor:
// a TOTP authenticator or a passkey.
func (k *Kit) hasActiveFactor(ctx context.Context, userID string) (bool, error) {
	if has, err := k.hasActiveTOTP(ctx, userID); has || err != nil {
		return has, err
	}
	return k.hasPasskey(ctx, userID)
}

// askSecondFactor ends a first-factor sign-in of a user with an active
// factor: what the first factor proved (up: an address confirmed) is
// written, under the same conditions as startSession's, and the answer
// is mfa_required with a ticket that VerifyMFA takes with the second
// factor. The ticket carries the user, the credential stamp the first
// factor was checked under, and how the user signed in.
func (k *Kit) askSecondFactor(ctx context.Context, userID, stamp string, up UserUpdate, stale error, how via) error {
	enabled := false
	up.If.Stamp, up.If.Disabled = &stamp, &enabled
	var err error
	if up.Set != (UserFields{}) {
		_, err = k.store.UpdateUser(ctx, userID, up)
	} else {
		var u User
		if u, err = k.store.UserByID(ctx, userID); err == nil && !up.If.Matches(u) {
			err = ErrConflict
		}
	}
	if errors.Is(err, ErrConflict) {
		if cur, err := k.store.UserByID(ctx, userID); err == nil && cur.Disabled && cur.Stamp == stamp {
			k.event(ctx, "sign-in refused: user disabled", userID)
			return errUserDisabled
		}
	}
	if err != nil {
		return stored(err, stale)
	}
	ticket, err := k.issueToken(ctx, Token{
		Purpose: PurposeMFATicket, UserID: userID, Stamp: stamp,
		Action: string(how.method), Subject: how.provider,
	}, mfaTicketLifetime)
	if err != nil {
		return internalError(err)
	}
	details := map[string]any{"ticket": ticket, "expiresIn": int(mfaTicketLifetime / time.Second)}
	// details.passkey tells the app to offer passkeys/verify.
	if has, err := k.hasPasskey(ctx, userID); err != nil {
		return internalError(err)
	} else if has {
		details["passkey"] = true
	}
	k.event(ctx, "sign-in waits for a second factor", userID)
	return &Error{
		Code:    CodeMFARequired,
		Message: "This account has a second factor: send the ticket with a code from the authenticator app, or a recovery code.",
		Details: details,
	}
}

// afterFactorChange tells the owner (Notices.FactorChanged) and runs
// Hooks.AfterFactorChange.
func (k *Kit) afterFactorChange(ctx context.Context, u User, kind FactorKind, active bool) {
	k.noticeFactorChanged(ctx, u, kind, active)
	k.factorHook(ctx, u, kind, active)
}

// factorHook runs Hooks.AfterFactorChange.
func (k *Kit) factorHook(ctx context.Context, u User, kind FactorKind, active bool) {
	if h := k.hooks.AfterFactorChange; h != nil {
		u.PasswordHash = ""
		k.after(ctx, "AfterFactorChange", u.ID, func() error { return h(ctx, u, kind, active) })
	}
}
