package authkit

// Waiting sign-ups (SECURITY 59-62): with confirmation on, a sign-up makes
// no account. It waits in the token that its link or code is checked
// against, holding the password hash and profile the account will have.
// Whoever proves the address makes the account: by that link or code, or,
// for an address that only has sign-ups waiting, by a reset, a magic link
// or a sign-in code (an account with no password, or the reset's). An
// address is never held by a sign-up that nobody confirmed, so an attacker
// who signs up with someone else's address first holds nothing, and a
// sign-up never voids another: a later one cannot cancel the owner's.
//
// The tokens of waiting sign-ups belong to no user yet (UserID ""); the
// future account's id is in their data, its credential stamp in their
// Stamp.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// pendingUser is what a waiting sign-up keeps in its token's data.
type pendingUser struct {
	ID             string                     `json:"id"`
	PasswordHash   string                     `json:"hash,omitempty"`
	Name           string                     `json:"name,omitempty"`
	ProfilePicture string                     `json:"picture,omitempty"`
	Profile        map[string]json.RawMessage `json:"profile,omitempty"`
	AccessGroups   []string                   `json:"groups,omitempty"`
	ServerData     map[string]json.RawMessage `json:"serverData,omitempty"`
	SignUpAt       time.Time                  `json:"signUpAt"`
}

// The kinds of address an account proves.
const (
	kindEmail = "email"
	kindPhone = "phone"
)

// newAccount gives u, a new password account (pw "" for none), an id, a
// credential stamp and its password hash.
func (k *Kit) newAccount(ctx context.Context, u *User, pw string) error {
	var err error
	if u.ID, err = k.newID(); err != nil {
		return internalError(err)
	}
	if u.Stamp, err = k.newID(); err != nil {
		return internalError(err)
	}
	u.Provider, u.ProviderUserID = ProviderAltogic, u.ID
	if pw != "" {
		if u.PasswordHash, err = k.hash(ctx, pw); err != nil {
			return err
		}
	}
	return nil
}

// pendingToken is a token of the given purpose for the waiting account u,
// bound to the address subject: u's id, hash and profile in its data.
func pendingToken(purpose TokenPurpose, subject string, u User) (Token, error) {
	data, err := json.Marshal(pendingUser{
		ID: u.ID, PasswordHash: u.PasswordHash, Name: u.Name, ProfilePicture: u.ProfilePicture,
		Profile: u.Profile, AccessGroups: u.AccessGroups, ServerData: u.ServerData, SignUpAt: u.SignUpAt,
	})
	if err != nil {
		return Token{}, internalError(err)
	}
	if len(data) > MaxTokenData {
		return Token{}, newError(CodeInvalidUserData, "nameOrUserData is too large.")
	}
	return Token{Purpose: purpose, Subject: subject, Stamp: u.Stamp, Data: data}, nil
}

// newPendingToken is a token of the given purpose for a new account with
// no password and no profile, to be made when the address subject proves
// itself: what a magic link, a reset or a code sent to an address that
// only has sign-ups waiting carries. It is a sign-up too: when
// Hooks.BeforeSignUp refuses it, the error is errSignUpRefused, and
// nothing is sent.
func (k *Kit) newPendingToken(ctx context.Context, purpose TokenPurpose, subject string) (Token, error) {
	u := User{SignUpAt: k.clock(), Provider: ProviderAltogic}
	if purpose == PurposeConfirmPhone || purpose == PurposeSignInCode || purpose == PurposeResetCode {
		u.Phone = subject
	} else {
		u.Email = subject
	}
	if err := k.beforeSignUp(ctx, &u); err != nil {
		var e *Error
		if errors.As(err, &e) && e.Code != CodeInternal {
			return Token{}, errSignUpRefused
		}
		return Token{}, err
	}
	if err := k.newAccount(ctx, &u, ""); err != nil {
		return Token{}, err
	}
	return pendingToken(purpose, subject, u)
}

// errSignUpRefused: Hooks.BeforeSignUp refused the account a message
// would have made, so the message is not sent.
var errSignUpRefused = errors.New("authkit: Hooks.BeforeSignUp refused the sign-up")

// pending reports whether t is the token of a waiting account.
func pending(t Token) bool { return t.UserID == "" && len(t.Data) > 0 }

// holder returns the account that holds the address (kind email or phone),
// and whether there is one.
func (k *Kit) holder(ctx context.Context, kind, address string) (User, bool, error) {
	var (
		u   User
		err error
	)
	if kind == kindEmail {
		u, err = k.store.UserByEmail(ctx, address)
	} else {
		u, err = k.phone.store.UserByPhone(ctx, address)
	}
	switch {
	case err == nil:
		return u, true, nil
	case errors.Is(err, ErrNotFound):
		return User{}, false, nil
	default:
		return User{}, false, internalError(err)
	}
}

// owns reports whether u owns its address of that kind: it proved it, or
// the app does not ask for proof.
func (k *Kit) owns(u User, kind string) bool {
	if kind == kindEmail {
		return u.EmailVerified || !k.emailConfirmation
	}
	return u.PhoneVerified || !k.phone.confirm
}

// waitingSignUps returns the sign-ups that wait for the address, newest
// first: the newest token of each (a sign-up whose link or code was sent
// again has several).
func (k *Kit) waitingSignUps(ctx context.Context, kind, address string) ([]Token, error) {
	purpose := PurposeConfirmEmail
	if kind == kindPhone {
		purpose = PurposeConfirmPhone
	}
	all, err := k.store.TokensBySubject(ctx, purpose, address, k.clock())
	if err != nil {
		return nil, internalError(err)
	}
	var waiting []Token
	seen := map[string]bool{}
	for _, t := range all {
		if !pending(t) {
			continue
		}
		var p pendingUser
		if err := json.Unmarshal(t.Data, &p); err != nil {
			return nil, internalError(fmt.Errorf("authkit: reading a waiting sign-up: %w", err))
		}
		if !seen[p.ID] {
			seen[p.ID] = true
			waiting = append(waiting, t)
		}
	}
	return waiting, nil
}

// unowned reports whether the address is free to whoever proves it: no
// account owns it, and an account holds it or sign-ups wait for it. An
// address nobody asked for is not: nothing is sent to it.
func (k *Kit) unowned(ctx context.Context, kind, address string, h User, held bool) (bool, error) {
	if held {
		return !k.owns(h, kind), nil
	}
	waiting, err := k.waitingSignUps(ctx, kind, address)
	return len(waiting) > 0, err
}

// waitingAccount is what a sign-in with the address of no account is
// checked against: the newest waiting sign-up's id and password hash, so
// that its own password answers email_not_verified (or
// phone_not_verified). One hash only, whatever waits: a failure costs what
// it costs for any address.
func (k *Kit) waitingAccount(ctx context.Context, kind, address string) (User, error) {
	waiting, err := k.waitingSignUps(ctx, kind, address)
	if err != nil || len(waiting) == 0 {
		return User{}, err
	}
	var p pendingUser
	if err := json.Unmarshal(waiting[0].Data, &p); err != nil {
		return User{}, internalError(fmt.Errorf("authkit: reading a waiting sign-up: %w", err))
	}
	return User{ID: p.ID, PasswordHash: p.PasswordHash}, nil
}

// tokenUser is the id of the user token t is for, waiting or not, for logs.
func tokenUser(t Token) string {
	if !pending(t) {
		return t.UserID
	}
	var p pendingUser
	_ = json.Unmarshal(t.Data, &p) // a log line names no user rather than fail
	return p.ID
}

// accountFromPending makes the account that the spent token t of a waiting
// sign-up holds, its address proven; newHash, when set, is its password
// (a reset's). An account that holds the address without owning it gives
// it up first (see release). stale answers when the address has an owner
// by now (another sign-up for it was confirmed first).
func (k *Kit) accountFromPending(ctx context.Context, t Token, kind, newHash string, stale error) (User, error) {
	var p pendingUser
	if err := json.Unmarshal(t.Data, &p); err != nil || p.ID == "" {
		return User{}, internalError(fmt.Errorf("authkit: reading a waiting sign-up: %v", err))
	}
	if newHash != "" {
		p.PasswordHash = newHash
	}
	u := User{
		ID: p.ID, Provider: ProviderAltogic, ProviderUserID: p.ID,
		Name: p.Name, ProfilePicture: p.ProfilePicture, Profile: p.Profile, PasswordHash: p.PasswordHash,
		AccessGroups: p.AccessGroups, ServerData: p.ServerData,
		SignUpAt: p.SignUpAt, LastLoginAt: k.clock(), Stamp: t.Stamp,
	}
	if kind == kindEmail {
		u.Email, u.EmailVerified = t.Subject, true
	} else {
		u.Phone, u.PhoneVerified = t.Subject, true
	}
	if err := k.release(ctx, kind, t.Subject, stale); err != nil {
		return User{}, err
	}
	if err := k.store.CreateUser(ctx, u); errors.Is(err, ErrDuplicate) {
		return User{}, stale
	} else if err != nil {
		return User{}, internalError(err)
	}
	k.event(ctx, "sign-up confirmed", u.ID)
	k.afterSignUp(ctx, u)
	return u, nil
}

// release takes the address from an account that holds it without owning
// it (a sign-up of an earlier release that was never confirmed, or an
// account that proved another address), for whoever just proved it. The
// account loses the address in a write that holds only while it is still
// unproven; an account left with nothing it proved is deleted, with its
// password, sessions and tokens. An owner answers stale.
func (k *Kit) release(ctx context.Context, kind, address string, stale error) error {
	h, held, err := k.holder(ctx, kind, address)
	if err != nil || !held {
		return err
	}
	if k.owns(h, kind) {
		return stale
	}
	none, unproven := "", false
	up := UserUpdate{}
	keeps := h.Provider != ProviderAltogic // the provider vouches for the account
	if kind == kindEmail {
		up.Set.Email, up.If.Email, up.If.EmailVerified = &none, &address, &unproven
		keeps = keeps || (h.Phone != "" && h.PhoneVerified)
	} else {
		up.Set.Phone, up.If.Phone, up.If.PhoneVerified = &none, &address, &unproven
		keeps = keeps || (h.Email != "" && h.EmailVerified)
	}
	if _, err := k.updateUser(ctx, h.ID, up, nil, stale); err != nil {
		return err
	}
	if keeps {
		k.event(ctx, "unproven "+kind+" released", h.ID)
		return nil
	}
	if err := k.store.DeleteUser(ctx, h.ID); err != nil && !errors.Is(err, ErrNotFound) {
		return internalError(err)
	}
	k.event(ctx, "unconfirmed account discarded", h.ID)
	return nil
}
