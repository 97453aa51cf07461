package authkit

// Step-up: a session that proved one factor proves a second and becomes a
// new session of two, and the routes that change credentials demand a
// second factor proved recently when the user has one. Without this, a
// session opened before the user enrolled a factor (or stolen from one)
// could change the password, the email or the phone number, and so take
// the account, without ever meeting the factor.

import (
	"context"
	"time"
)

// MethodStepUp is the method of the session that Kit.StepUp makes:
// Hooks.AfterSignIn sees it, since a new session starts.
const MethodStepUp SignInMethod = "step-up"

// defaultRecentFactor is Config.RecentFactor's default: long enough to
// change a few settings after a sign-in, short enough that a session left
// open on a shared computer cannot.
const defaultRecentFactor = 10 * time.Minute

// recentFactor reports whether the caller's session proved a second
// factor no longer than maxAge ago (maxAge 0: ever). A session proves two
// factors when it is made (VerifyMFA, StepUp, a passkey), so its
// CreatedAt is when the second factor was proved.
func (k *Kit) recentFactor(s *Session, maxAge time.Duration) bool {
	if s.Factors < 2 {
		return false
	}
	return maxAge == 0 || k.clock().Sub(s.CreatedAt) <= maxAge
}

// stepUpRequired is the answer to a session that must prove a second
// factor first: enrolled says whether the user has one to prove (else
// the user must enrol one), maxAge how recent it must be, in seconds (0:
// any time in the session's life).
func stepUpRequired(enrolled bool, maxAge time.Duration) *Error {
	msg := "This needs a second factor: send a code from the authenticator app or a recovery code to mfa/step-up, or use a passkey (passkeys/step-up)."
	if !enrolled {
		msg = "This needs a second factor, and the account has none: set one up first."
	}
	return &Error{
		Code: CodeMFAStepUpRequired, Message: msg,
		Details: map[string]any{"enrolled": enrolled, "maxAge": int(maxAge / time.Second)},
	}
}

// needRecentFactor guards the routes that change a credential: with
// Config.MFA on, a user who has a second factor changes a credential
// only from a session that proved it within Config.RecentFactor. A user
// without one needs nothing more than the route did before.
func (k *Kit) needRecentFactor(ctx context.Context, c *caller) error {
	if !k.mfa.on {
		return nil
	}
	_, err := k.checkRecentFactor(ctx, c, "change")
	return err
}

// credentialChange admits a change of the caller's credentials (the
// password, the email, the phone number): it counts toward
// Limits.AccountChanges and, for a user with a second factor, needs a
// recent one.
func (k *Kit) credentialChange(ctx context.Context, c *caller) error {
	if err := k.changeAsked(ctx, c.user.ID); err != nil {
		return err
	}
	return k.needRecentFactor(ctx, c)
}

// needRecentProof guards the routes that add a second factor. A user
// with one proves it recently (as needRecentFactor asks). A user without
// one has only the first factor to prove, so the session must have been
// made by a sign-in within Config.RecentFactor: an attacker's factor
// added from a stolen, long-lived session would otherwise lock the owner
// out of the account at the next sign-in, with the recovery codes in the
// attacker's hands.
func (k *Kit) needRecentProof(ctx context.Context, c *caller) error {
	none, err := k.checkRecentFactor(ctx, c, "factor")
	if err != nil || !none {
		return err
	}
	if k.clock().Sub(c.session.CreatedAt) > k.mfa.recent {
		k.event(ctx, "factor refused: no recent sign-in", c.user.ID)
		return errSignInAgain(k.mfa.recent)
	}
	return nil
}

// checkRecentFactor is mfa_step_up_required, logged as a refused what
// ("change", "factor"), when c's user has a second factor that c's
// session did not prove within Config.RecentFactor. none reports a user
// without a factor.
func (k *Kit) checkRecentFactor(ctx context.Context, c *caller, what string) (none bool, err error) {
	if k.recentFactor(c.session, k.mfa.recent) {
		return false, nil
	}
	has, err := k.hasActiveFactor(ctx, c.user.ID)
	if err != nil {
		return false, internalError(err)
	}
	if has {
		k.event(ctx, what+" refused: no recent second factor", c.user.ID)
		return false, stepUpRequired(true, k.mfa.recent)
	}
	return true, nil
}

// errSignInAgain answers a session too old to add a user's first second
// factor: see needRecentProof.
func errSignInAgain(maxAge time.Duration) *Error {
	return &Error{
		Code:    CodeReauthenticationRequired,
		Message: "Setting up a second factor needs a recent sign-in: sign in again, then set it up.",
		Details: map[string]any{"maxAge": int(maxAge / time.Second)},
	}
}

// StepUp raises the signed-in session to two factors with a current code
// from the user's authenticator app or a recovery code: the session is
// replaced by a new one of two factors, recent for Config.RecentFactor,
// which the answer carries as a sign-in's does (and the session cookie,
// when the kit keeps one). The old session ends, so a token that leaked
// before the step-up does not gain what the step-up earned. A wrong code
// is invalid_code and counts toward the account's failed sign-ins; a user
// without a factor gets mfa_not_enrolled.
func (k *Kit) StepUp(ctx context.Context, code string) (SignIn, error) {
	c, err := signedIn(ctx)
	if err != nil {
		return SignIn{}, err
	}
	if err := k.askedIP(ctx); err != nil {
		return SignIn{}, err
	}
	// A user with passkeys and no authenticator app may send a recovery
	// code (or step up with a passkey: StepUpWithPasskey).
	if err := k.checkCodeFactor(ctx, c.user.ID, code, true); err != nil {
		return SignIn{}, err
	}
	return k.raiseSession(ctx, c)
}

// raiseSession replaces the caller's session, whose user just proved a
// second factor, with a new one of two factors under the same stamp: a
// credential changed since the session was made (a sign-out everywhere,
// a reset) leaves nothing to raise.
func (k *Kit) raiseSession(ctx context.Context, c *caller) (SignIn, error) {
	stale := errInvalidSession
	answer, err := k.startSession(ctx, c.user.ID, c.session.Stamp, UserUpdate{}, stale, via{method: MethodStepUp, factors: 2})
	if err != nil {
		return SignIn{}, err
	}
	if _, err := k.store.DeleteSession(ctx, c.user.ID, c.session.ID); err != nil {
		// The old session outlives the step-up; the new one stands.
		k.log.ErrorContext(ctx, "authkit: the session a step-up replaced was not deleted", "err", err)
	}
	k.event(ctx, "session stepped up to two factors", c.user.ID)
	return forHost(answer, nil)
}
