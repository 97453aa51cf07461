package authkit

// Hooks: the app's code run at the points of a flow it may want to act
// on or veto.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Hooks are the app's functions the kit calls as its flows run, each
// synchronously, with the flow's context: in the request (or the Go call)
// that runs the flow, but for BeforeSignUp of the account that a magic
// link, a reset or a code would make for an address that only sign-ups
// wait for, which runs as the courier delivers it (a refusal sends
// nothing). Every field may be nil.
//
// A Before hook can stop its flow: the error it returns is the flow's.
// Return an [*Error] with a code of your own (and a 4xx Status) to answer
// the client with it; any other error is answered 500 internal_error and
// logged. An After hook runs once its flow's outcome is stored: an error
// it returns is logged, and the outcome stands (a sign-up is not undone
// because the app's own row failed). Hooks run in the order of the flow:
// BeforeSignUp, then (once the account is made) AfterSignUp, then
// AfterSignIn when the sign-up signed in.
type Hooks struct {
	// BeforeSignUp runs when a sign-up asks for an account (email, phone
	// or an OAuth provider's first sign-in), before anything is stored or
	// sent: refuse it (invite-only apps, blocked domains), or set the new
	// account's AccessGroups and ServerData in s. With confirmation on, the
	// account is made only when the address is confirmed, with what s held.
	BeforeSignUp func(ctx context.Context, s *SignUp) error
	// AfterSignUp runs once per account, when its row is made: at sign-up,
	// or with confirmation on when the address is confirmed. Accounts made
	// with Kit.CreateUser do not run it: the app made them.
	AfterSignUp func(ctx context.Context, u User) error
	// AfterSignIn runs when a session was started, by any method.
	AfterSignIn func(ctx context.Context, e SignInEvent) error
	// AfterPasswordChange runs when a password was set: changed by its
	// user (Reset false), reset by link or code, or set by Kit.SetPassword
	// (Reset true). Every other session of the user has ended by then.
	AfterPasswordChange func(ctx context.Context, u User, reset bool) error
	// AfterEmailChange runs when an account's email changed (old is the
	// address it had, u has the new one).
	AfterEmailChange func(ctx context.Context, u User, old string) error
	// AfterPhoneChange runs when an account's phone number changed.
	AfterPhoneChange func(ctx context.Context, u User, old string) error
	// BeforeDeleteUser runs before Kit.DeleteUser deletes an account, and
	// can stop it.
	BeforeDeleteUser func(ctx context.Context, u User) error
	// AfterDeleteUser runs once the account, its sessions and its tokens
	// are gone.
	AfterDeleteUser func(ctx context.Context, u User) error
	// AfterFactorChange runs when a second factor of the user became
	// active (a confirmed enrolment, active true) or was removed (by its
	// user, or by Kit.ResetFactors, active false).
	AfterFactorChange func(ctx context.Context, u User, kind FactorKind, active bool) error
}

// SignUp is a sign-up asking for an account, as [Hooks.BeforeSignUp]
// sees it. The hook may change AccessGroups and ServerData; the other
// fields are what the client sent, for the hook to judge.
type SignUp struct {
	Email    string // normalised; "" for a phone sign-up
	Phone    string // E.164; "" for an email sign-up
	Provider string // ProviderAltogic, or the OAuth provider's name
	// AddressProven is true when the account will exist only once its
	// email or number is proven: confirmation is on for it, or the
	// provider vouches for the email. Grant privileges by address (an
	// admin group for one email) only when it is true; with confirmation
	// off, anyone can sign up with anyone's address.
	AddressProven bool
	Name          string
	// Profile is what the client wrote that ProfileFields allows.
	Profile map[string]json.RawMessage
	// AccessGroups start as Config.DefaultAccessGroups.
	AccessGroups []string
	ServerData   map[string]json.RawMessage
}

// SignInMethod says how a session was started.
type SignInMethod string

// The methods of [SignInEvent].
const (
	MethodPassword     SignInMethod = "password"     // an email or phone number and its password
	MethodSignUp       SignInMethod = "sign-up"      // a sign-up that needs no confirmation
	MethodConfirmation SignInMethod = "confirmation" // a followed confirmation link, or verifyPhone's code
	MethodMagicLink    SignInMethod = "magic-link"
	MethodEmailChange  SignInMethod = "email-change" // a followed email-change link
	MethodCode         SignInMethod = "code"         // a texted sign-in code
	MethodOAuth        SignInMethod = "oauth"        // a provider; SignInEvent.Provider names it
	MethodHost         SignInMethod = "host"         // Kit.StartSession: the app vouched for the user
)

// SignInEvent is a session just started, as [Hooks.AfterSignIn] sees it.
type SignInEvent struct {
	User     User
	Session  Session
	Method   SignInMethod
	Provider string // the OAuth provider, for MethodOAuth
}

// configureHooks applies Hooks and checks DefaultAccessGroups.
func (k *Kit) configureHooks(cfg Config) error {
	k.hooks = cfg.Hooks
	groups, err := accessGroups(cfg.DefaultAccessGroups)
	if err != nil {
		return fmt.Errorf("authkit: Config.DefaultAccessGroups: %w", err)
	}
	k.defaultGroups = groups
	return nil
}

// maxGroupKey bounds an access group's key.
const maxGroupKey = 64

// accessGroups checks a list of access group keys and returns it sorted,
// each once: a key is 1 to 64 letters, digits, '.', '_', ':' or '-'.
func accessGroups(keys []string) ([]string, error) {
	out := make([]string, 0, len(keys))
	for _, g := range keys {
		if g == "" || len(g) > maxGroupKey || strings.ContainsFunc(g, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._:-", r))
		}) {
			return nil, fmt.Errorf("%q is not an access group key (1 to %d letters, digits, '.', '_', ':' or '-')", g, maxGroupKey)
		}
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// beforeSignUp runs Hooks.BeforeSignUp for a new account u and applies
// what it set: u's access groups and server data.
func (k *Kit) beforeSignUp(ctx context.Context, u *User) error {
	s := SignUp{
		Email: u.Email, Phone: u.Phone, Provider: u.Provider, Name: u.Name, Profile: maps.Clone(u.Profile),
		AccessGroups: slices.Clone(k.defaultGroups),
	}
	switch {
	case u.Provider != ProviderAltogic:
		s.AddressProven = u.Email != "" && u.EmailVerified // only a vouched-for email is kept (oauthUser)
	case u.Email != "":
		s.AddressProven = k.emailConfirmation
	default:
		s.AddressProven = k.phone.confirm
	}
	if k.hooks.BeforeSignUp != nil {
		if err := k.hooks.BeforeSignUp(ctx, &s); err != nil {
			return k.refused(ctx, "BeforeSignUp", err)
		}
	}
	groups, err := accessGroups(s.AccessGroups)
	if err != nil {
		return internalError(fmt.Errorf("authkit: Hooks.BeforeSignUp: %w", err))
	}
	if len(groups) > 0 {
		u.AccessGroups = groups
	}
	if len(s.ServerData) > 0 {
		u.ServerData = s.ServerData
	}
	return nil
}

// refused is what a Before hook's error becomes: an [*Error] is the
// app's answer, anything else an internal error.
func (k *Kit) refused(ctx context.Context, hook string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		k.log.InfoContext(ctx, "authkit: Hooks."+hook+" refused", "code", e.Code)
		return e
	}
	return internalError(fmt.Errorf("authkit: Hooks.%s: %w", hook, err))
}

// after runs an After hook's call; its failure is logged, and changes
// nothing else.
func (k *Kit) after(ctx context.Context, hook, userID string, call func() error) {
	if err := call(); err != nil {
		k.log.ErrorContext(ctx, "authkit: Hooks."+hook+" failed; what it follows stands", "user", userID, "err", err)
	}
}

// afterSignUp runs Hooks.AfterSignUp for u, a new account.
func (k *Kit) afterSignUp(ctx context.Context, u User) {
	if h := k.hooks.AfterSignUp; h != nil {
		u.PasswordHash = ""
		k.after(ctx, "AfterSignUp", u.ID, func() error { return h(ctx, u) })
	}
}

// afterSignIn runs Hooks.AfterSignIn for a session just started.
func (k *Kit) afterSignIn(ctx context.Context, a SignIn, m SignInMethod, provider string) {
	k.metrics.signedIn(ctx, m, provider)
	if h := k.hooks.AfterSignIn; h != nil && a.Session != nil {
		e := SignInEvent{User: a.User, Session: *a.Session, Method: m, Provider: provider}
		e.User.PasswordHash = ""
		k.after(ctx, "AfterSignIn", a.User.ID, func() error { return h(ctx, e) })
	}
}

// afterPasswordChange runs Hooks.AfterPasswordChange.
func (k *Kit) afterPasswordChange(ctx context.Context, u User, reset bool) {
	if h := k.hooks.AfterPasswordChange; h != nil {
		u.PasswordHash = ""
		k.after(ctx, "AfterPasswordChange", u.ID, func() error { return h(ctx, u, reset) })
	}
}

// afterAddressChange runs AfterEmailChange or AfterPhoneChange.
func (k *Kit) afterAddressChange(ctx context.Context, kind string, u User, old string) {
	h, name := k.hooks.AfterEmailChange, "AfterEmailChange"
	if kind == kindPhone {
		h, name = k.hooks.AfterPhoneChange, "AfterPhoneChange"
	}
	if h != nil {
		u.PasswordHash = ""
		k.after(ctx, name, u.ID, func() error { return h(ctx, u, old) })
	}
}
