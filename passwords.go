package authkit

// Passwords: signing in with one, ending a reset, changing one, and
// hashing them under a bound on concurrent work.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"time"

	"github.com/authkit/authkit/internal/password"
)

// createUser stores the new account u. A duplicate (the email or number
// was taken meanwhile) answers taken.
func (k *Kit) createUser(ctx context.Context, u User, taken *Error) error {
	if err := k.store.CreateUser(ctx, u); errors.Is(err, ErrDuplicate) {
		return taken
	} else if err != nil {
		return internalError(err)
	}
	k.event(ctx, "sign-up", u.ID)
	k.afterSignUp(ctx, u)
	return nil
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
// before it is checked, by the identifier typed and the source, for known
// and unknown identifiers alike (lockout.go): a limited one answers 429
// whatever the password, and costs no hash. An unknown identifier's zero
// user checks the dummy hash, so every failure takes the same work and
// gets the same answer.
//
// The session is made under the credential stamp of the record whose hash
// was verified: if a reset lands while the hash is checked, the sign-in
// fails, and a session it made anyway would be dead on arrival.
func (k *Kit) signInWithPassword(ctx context.Context, a passwordSignIn, pw string) (SignIn, error) {
	u := a.user
	at := k.attemptAt(ctx, a.kind, a.identifier, u.ID)
	if err := k.guess(ctx, at); err != nil {
		return SignIn{}, err
	}
	if !fitsPassword(pw) {
		k.event(ctx, "sign-in failed", u.ID)
		return SignIn{}, a.wrong
	}
	ok, err := k.verify(ctx, &u, pw)
	if err != nil {
		return SignIn{}, err
	}
	if !ok {
		k.event(ctx, "sign-in failed", u.ID)
		return SignIn{}, a.wrong
	}
	if err := k.guessedRight(ctx, at); err != nil {
		return SignIn{}, err
	}
	if a.unconfirmed {
		k.event(ctx, "sign-in refused: "+a.kind+" not verified", u.ID)
		return SignIn{}, a.refused
	}
	if u.Disabled {
		k.event(ctx, "sign-in refused: user disabled", u.ID)
		return SignIn{}, errUserDisabled
	}
	answer, err := k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, a.wrong, via{method: MethodPassword})
	if err != nil {
		return SignIn{}, err
	}
	k.event(ctx, "sign-in", u.ID)
	k.noticeNewDevice(ctx, answer, false)
	return answer, nil
}

// finishReset sets the new password hash of the user that the spent reset
// token t was issued for, with a new credential stamp, in one write with up
// that holds only while the user's stamp is t's. Every session and every
// outstanding link and code dies with the old stamp; they are deleted too,
// and the failed guesses at the address or number the reset went to are
// cleared. A reset by link or by code ends alike, signing nobody in. No
// sign-in that checked the old password can undo it: the sign-in writes
// only lastLoginAt, and only under the old stamp.
func (k *Kit) finishReset(ctx context.Context, t Token, newHash string, up UserUpdate, stale error) error {
	stamp, err := k.newID()
	if err != nil {
		return internalError(err)
	}
	up.Set.PasswordHash, up.Set.Stamp, up.If.Stamp = &newHash, &stamp, &t.Stamp
	// Stale when the account, its address or its credentials changed since.
	u, err := k.updateUser(ctx, t.UserID, up, nil, stale)
	if err != nil {
		return err
	}
	if err := k.endSessionsAndTokens(ctx, t.UserID, ""); err != nil {
		return err
	}
	kind := kindEmail
	if t.Purpose == PurposeResetCode {
		kind = kindPhone
	}
	if err := k.guessedRight(ctx, k.attemptAt(ctx, kind, t.Subject, t.UserID)); err != nil {
		return err
	}
	k.event(ctx, "password reset", t.UserID)
	k.noticePasswordChanged(ctx, u)
	k.afterPasswordChange(ctx, u, true)
	return nil
}

// newStamp changes the user's credential stamp on behalf of the caller, if
// the caller's session is still alive (its stamp is the user's), with
// set written in the same step; keep names a session that takes the new
// stamp too. Every other session dies with the old stamp. When keep is
// the caller's session, the caller is brought up to date, so that the
// calls that follow in its context (the Go API's) see the session alive
// and the user as written.
func (k *Kit) newStamp(ctx context.Context, c *caller, set UserFields, keep string) error {
	stamp, err := k.newID()
	if err != nil {
		return internalError(err)
	}
	set.Stamp = &stamp
	u, err := k.updateUser(ctx, c.user.ID, UserUpdate{Set: set, If: UserFields{Stamp: &c.session.Stamp}, KeepSession: keep}, nil, errInvalidSession)
	if err != nil {
		return err
	}
	if keep != "" && keep == c.session.ID {
		s := *c.session
		s.Stamp, s.AccessGroupKeys = stamp, u.AccessGroups
		c.session, c.user = &s, &u
	}
	return nil
}

// updateUser writes up to the user with that id. A duplicate email or
// phone answers taken; a condition of up.If that no longer holds (or a user
// that is gone) answers stale: what the flow decided on changed meanwhile.
func (k *Kit) updateUser(ctx context.Context, id string, up UserUpdate, taken, stale error) (User, error) {
	u, err := k.store.UpdateUser(ctx, id, up)
	if err == nil {
		return u, nil
	}
	if taken != nil && errors.Is(err, ErrDuplicate) {
		return User{}, taken
	}
	return User{}, stored(err, stale)
}

// stored is what a failed write of UpdateUser answers: stale when what
// the flow decided on changed meanwhile (a condition of If no longer
// holds, or the user is gone), else an internal error.
func stored(err, stale error) error {
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return stale
	}
	return internalError(err)
}

// endSessionsAndTokens ends the user's sessions but exceptSession, and voids
// every outstanding link, grant and code but confirmations: what a password change does.
func (k *Kit) endSessionsAndTokens(ctx context.Context, userID, exceptSession string) error {
	if err := k.store.DeleteUserSessions(ctx, userID, exceptSession); err != nil {
		return internalError(err)
	}
	if err := k.store.DeleteUserTokens(ctx, userID, PurposeResetPassword, PurposeResetGrant, PurposeMagicLink, PurposeGrant, PurposeChangeEmail, PurposeSignInCode, PurposeResetCode, PurposeChangePhone); err != nil {
		return internalError(err)
	}
	return nil
}

// changePassword needs the current password; it ends every other session.
func (k *Kit) changePassword(ctx context.Context, c *caller, oldPw, newPw string) error {
	if err := k.credentialChange(ctx, c); err != nil {
		return err
	}
	if err := k.checkPassword(ctx, newPw); err != nil {
		return err
	}
	u := *c.user
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
	k.noticePasswordChanged(ctx, u)
	k.afterPasswordChange(ctx, u, false)
	return nil
}

// checkCurrentPassword checks the password a signed-in user gives to
// change a credential. It counts toward FailedSignIns like a sign-in
// (SECURITY 5): a stolen session must not become a password oracle. Its
// identifier is the account, not its email or number, so that a stolen
// session's failures lock neither of them for their owner.
func (k *Kit) checkCurrentPassword(ctx context.Context, u *User, pw string) error {
	at := k.attemptAt(ctx, "user", u.ID, u.ID)
	if err := k.guess(ctx, at); err != nil {
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
	return k.guessedRight(ctx, at)
}

// PasswordChecker judges a new password against what attackers know, such
// as the passwords of past breaches ([Config.PasswordChecker]).
type PasswordChecker interface {
	// Breached reports whether attackers are known to try pw. An error
	// means it could not tell.
	Breached(ctx context.Context, pw string) (bool, error)
}

// configurePasswords checks and applies MinPasswordLength and
// MaxConcurrentHashes.
func (k *Kit) configurePasswords(cfg Config) error {
	var slots int
	err := applyBounded(
		bounded[int]{"MinPasswordLength", cfg.MinPasswordLength, 8, 6, maxPasswordRunes, fmt.Sprintf("from 6 to %d", maxPasswordRunes), &k.minPassword},
		bounded[int]{"MaxConcurrentHashes", cfg.MaxConcurrentHashes, 2 * runtime.GOMAXPROCS(0), 1, math.MaxInt, "positive (or zero, for the default)", &slots},
	)
	if err == nil {
		err = applyBounded(bounded[time.Duration]{"MaxHashWait", cfg.MaxHashWait, 5 * time.Second, 1, forever, "positive (or zero, for the default)", &k.hashWait})
	}
	if err != nil {
		return err
	}
	k.hashSlots = make(chan struct{}, slots)
	// The argon2id parameters of new hashes, and the ones below which a
	// stored hash is upgraded: the OWASP parameters.
	k.hashParams = password.Default
	if p := cfg.test.hashParams; p != nil {
		k.hashParams = *p
	}
	k.verifyPassword = password.Verify
	if v := cfg.test.verifyPassword; v != nil {
		k.verifyPassword = v
	}
	k.dummyHash = sync.OnceValue(func() string {
		h, err := password.Hash(k.rand, "authkit dummy password, never a real one", k.hashParams)
		if err != nil {
			panic("authkit: cannot hash the dummy password: " + err.Error())
		}
		return h
	})
	return nil
}

// acquireHashSlot waits for one of the slots that bound concurrent hashing.
// It waits at most MaxHashWait: a request that would queue longer behind a
// flood answers 503 with Retry-After instead, so that a flood of hashing
// requests holds no request (nor its connection) for long.
func (k *Kit) acquireHashSlot(ctx context.Context) (release func(), err error) {
	wait := time.NewTimer(k.hashWait)
	defer wait.Stop()
	select {
	case k.hashSlots <- struct{}{}:
		return func() { <-k.hashSlots }, nil
	case <-wait.C:
		return nil, &Error{Code: CodeUnavailable, Message: "The server is busy; try again in a moment.", RetryAfter: time.Second,
			Err: errors.New("authkit: no hashing slot within Config.MaxHashWait")}
	case <-ctx.Done():
		return nil, &Error{Code: CodeUnavailable, Message: "The server is busy; try again.", Err: ctx.Err()}
	}
}

// hash hashes a new password within a hashing slot.
func (k *Kit) hash(ctx context.Context, pw string) (string, error) {
	release, err := k.acquireHashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := password.Hash(k.rand, pw, k.hashParams)
	if err != nil {
		return "", internalError(err)
	}
	return h, nil
}

// verify checks pw against the user's stored hash within a hashing slot. A
// user without a password (an OAuth account, or nobody: u is then zero) is
// checked against a dummy hash, so every failure costs the same time. When
// the stored hash is weaker than today's parameters (or bcrypt) and pw is
// right, the hash is upgraded in place: a compare-and-set on the hash that
// was verified, so that a password set meanwhile (a reset) is never
// overwritten with a hash of the old one. The upgrade then waits for the
// next sign-in.
func (k *Kit) verify(ctx context.Context, u *User, pw string) (bool, error) {
	stored := u.PasswordHash
	if stored == "" {
		stored = k.dummyHash()
	}
	release, err := k.acquireHashSlot(ctx)
	if err != nil {
		return false, err
	}
	ok, rehash, err := k.verifyPassword(stored, pw, k.hashParams)
	release()
	if err != nil {
		return false, internalError(fmt.Errorf("authkit: stored password hash of user %s: %w", u.ID, err))
	}
	if !ok || u.PasswordHash == "" {
		return false, nil
	}
	if rehash {
		h, err := k.hash(ctx, pw)
		if err != nil {
			return false, err
		}
		_, err = k.store.UpdateUser(ctx, u.ID, UserUpdate{Set: UserFields{PasswordHash: &h}, If: UserFields{PasswordHash: &stored}})
		switch {
		case errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound):
			k.log.InfoContext(ctx, "authkit: password hash not upgraded: the password changed meanwhile", "user", u.ID)
		case err != nil:
			return false, internalError(err)
		default:
			u.PasswordHash = h
			k.log.InfoContext(ctx, "authkit: password hash upgraded", "user", u.ID)
		}
	}
	return true, nil
}
