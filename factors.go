package authkit

import (
	"context"
	"time"
)

// FactorKind names a kind of second factor.
type FactorKind string

// The kinds of second factor.
const (
	// FactorTOTP is an authenticator app's time-based one-time password
	// (RFC 6238: 6 digits, 30-second steps, SHA-1).
	FactorTOTP FactorKind = "totp"
)

// Factor is a user's second factor of one kind (see [Config.MFA]). A
// factor is pending from its enrolment until its first code confirms it,
// and only an active factor is asked for at sign-in.
type Factor struct {
	UserID string
	Kind   FactorKind
	// Secret is the factor's secret as the kit sealed it (encrypted under
	// a key derived from the kit's secrets): opaque to the store, returned
	// as stored.
	Secret []byte
	Active bool
	// LastStep is the newest TOTP time step a code was accepted for (0
	// for none): a code of that step or an earlier one is never accepted
	// again.
	LastStep  int64
	CreatedAt time.Time
}

// FactorStore is what second factors need of a [Store] beyond the core:
// each user's factors and recovery codes, with the atomic writes that
// make a code count once across every instance sharing the store. [New]
// demands it when [Config.MFA] is On.
//
// Recovery codes are stored as the kit hashed them (keyed hashes, each
// unique per user), never as typed.
type FactorStore interface {
	// PutPendingFactor stores f, which is not active, as the user's
	// factor of f.Kind, replacing a pending one of that kind. It returns
	// ErrDuplicate if the user has an active factor of that kind, and then
	// stores nothing.
	PutPendingFactor(ctx context.Context, f Factor) error
	// FactorOf returns the user's factor of that kind, pending or active,
	// or ErrNotFound.
	FactorOf(ctx context.Context, userID string, kind FactorKind) (Factor, error)
	// ActivateFactor makes the user's pending factor of that kind active,
	// with LastStep step, and replaces every recovery code of the user
	// with codes, in one atomic step, if the factor is still pending and
	// its Secret is secret (a code checked against one enrolment must not
	// activate another that replaced it meanwhile). Otherwise it returns
	// ErrNotFound and changes nothing.
	ActivateFactor(ctx context.Context, userID string, kind FactorKind, secret []byte, step int64, codes []string) error
	// AcceptStep sets LastStep of the user's active factor of that kind to
	// step if step is greater than its LastStep, and reports whether it
	// did. It is atomic: of callers racing with one step, at most one gets
	// true. No such active factor reports false.
	AcceptStep(ctx context.Context, userID string, kind FactorKind, step int64) (bool, error)
	// DeleteFactors deletes every factor and recovery code of the user;
	// none is not an error.
	DeleteFactors(ctx context.Context, userID string) error
	// ReplaceRecoveryCodes replaces every recovery code of the user with
	// codes, in one atomic step.
	ReplaceRecoveryCodes(ctx context.Context, userID string, codes []string) error
	// ConsumeRecoveryCode deletes the user's recovery code code and
	// reports whether there was one. It is atomic: of callers racing to
	// consume one code, exactly one gets true.
	ConsumeRecoveryCode(ctx context.Context, userID, code string) (bool, error)
}
