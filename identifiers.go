package authkit

// The operator's check of stored identifiers: accounts made before the
// kit's rules of today may hold an email or number it would now store
// otherwise, refuse, or find as another account's.

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
)

// ErrNoUserLister is returned by [Kit.CheckIdentifiers] when the Store
// cannot go through its users (it does not implement [UserLister]).
var ErrNoUserLister = errors.New("authkit: the Store does not implement authkit.UserLister")

// IdentifierProblem is an account whose stored email or phone number does
// not stand as the kit would store it today.
type IdentifierProblem struct {
	UserID string
	Field  string // "email" or "phone"
	Stored string // as stored
	// Canonical is the form the kit gives the identifier today, which is
	// the one its sign-ins look up; "" when the kit now refuses it (an
	// invisible character, a non-ASCII local part without
	// Config.InternationalEmail, a premium-rate number…) or would store
	// none (Unvouched).
	Canonical string
	// SameAs lists the other accounts whose identifier has the same
	// canonical form: one person with several accounts, or one account
	// squatting another's address. Sign-ins find at most one of them.
	SameAs []string
	// Unvouched marks the email of an account made by an OAuth sign-in
	// whose provider did not vouch for it (any Facebook sign-in, Discord's
	// "verified": false), stored by v0.3 or earlier: anybody could have
	// typed it at the provider, and the kit stores none such today. The
	// account's next sign-in drops it, and the address's owner takes it
	// by proving it (a confirmed sign-up, a reset or a magic link), as
	// from any account that never proved its address; until then the
	// account's user object shows it.
	Unvouched bool
}

// CheckIdentifiers goes through every stored user and reports the emails
// and phone numbers that the kit's rules of today would store otherwise
// or refuse (an OAuth account's unvouched email among them, with
// Canonical "" and Unvouched), and the accounts whose identifiers now
// share one canonical form. It changes nothing: merging or renaming accounts is the operator's
// call. A user whose stored identifier is not its canonical form cannot
// sign in with it until it is rewritten to that form. It needs a
// [UserLister] store; it reads every user, so run it from an operator's
// command or at start, not on a request.
func (k *Kit) CheckIdentifiers(ctx context.Context) ([]IdentifierProblem, error) {
	lister, ok := k.raw.(UserLister)
	if !ok {
		return nil, ErrNoUserLister
	}
	var problems []IdentifierProblem
	owners := map[[2]string][]string{} // field and canonical form → user ids
	check := func(u User, field, stored string, canonical func(string) (string, error)) {
		if stored == "" {
			return
		}
		c, err := canonical(stored)
		if err == nil {
			key := [2]string{field, c}
			owners[key] = append(owners[key], u.ID)
		}
		if c != stored {
			problems = append(problems, IdentifierProblem{UserID: u.ID, Field: field, Stored: stored, Canonical: c})
		}
	}
	for u, err := range lister.AllUsers(ctx) {
		if err != nil {
			return nil, err
		}
		check(u, "email", u.Email, k.normalizeEmail)
		check(u, "phone", u.Phone, k.normalizePhone)
		if u.Provider != ProviderAltogic && u.Email != "" && !u.EmailVerified {
			i := slices.IndexFunc(problems, func(p IdentifierProblem) bool { return p.UserID == u.ID && p.Field == "email" })
			if i < 0 {
				problems = append(problems, IdentifierProblem{UserID: u.ID, Field: "email", Stored: u.Email})
				i = len(problems) - 1
			}
			problems[i].Canonical, problems[i].Unvouched = "", true
		}
	}
	// Every owner of a shared canonical form is reported, with the others.
	for key, ids := range owners {
		if len(ids) < 2 {
			continue
		}
		for _, id := range ids {
			others := slices.DeleteFunc(slices.Clone(ids), func(o string) bool { return o == id })
			slices.Sort(others)
			i := slices.IndexFunc(problems, func(p IdentifierProblem) bool { return p.UserID == id && p.Field == key[0] })
			if i < 0 {
				problems = append(problems, IdentifierProblem{UserID: id, Field: key[0], Stored: key[1], Canonical: key[1]})
				i = len(problems) - 1
			}
			problems[i].SameAs = others
		}
	}
	slices.SortFunc(problems, func(a, b IdentifierProblem) int {
		return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.Field, b.Field))
	})
	return problems, nil
}
