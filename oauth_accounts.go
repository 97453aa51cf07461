package authkit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/authkit/authkit/internal/oauthid"
)

// oauthUser finds the account of an identity, or creates it. An identity
// is (provider, providerUserId); an account whose email matches is never
// taken over on the email alone. With LinkVerifiedEmails, a sign-in whose
// provider vouches for the email signs into the account that has it, if
// that account confirmed it too.
//
// An email the provider does not vouch for (Facebook's, Discord's
// unverified one) counts for nothing: whoever controls the mailbox owns
// the address, and the provider has not said that this user does. It is
// not stored, links to nothing and refuses nothing, so the account is
// made without an email and the address stays free for its owner.
func (k *Kit) oauthUser(ctx context.Context, provider string, id oauthid.Identity) (u User, created bool, err error) {
	if id.ID == "" || len(id.ID) > 256 {
		return User{}, false, oauthFailed(fmt.Errorf("%s named no user", provider))
	}
	id.Email, id.Name, id.Picture = k.usableEmail(id.Email), usableName(id.Name), usablePicture(id.Picture)
	if !id.EmailVerified {
		id.Email = ""
	}
	id.EmailVerified = id.Email != ""
	u, err = k.store.UserByProvider(ctx, provider, id.ID)
	if err == nil {
		u, err = k.refreshOAuthUser(ctx, u, id)
		return u, false, err
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, false, internalError(err)
	}
	if id.Email != "" {
		existing, held, err := k.holder(ctx, kindEmail, id.Email)
		switch {
		case err != nil:
			return User{}, false, err
		case held && k.owns(existing, kindEmail):
			if k.oauth.linkEmails && existing.EmailVerified {
				k.oauthEvent(ctx, "oauth sign-in by verified email", provider, existing.ID)
				return existing, false, nil
			}
			k.oauthEvent(ctx, "oauth sign-in refused: email of another account", provider, existing.ID)
			return User{}, false, errAccountExists
		case held:
			// The provider vouches for an address that the account holding
			// it never proved (a sign-up of an earlier release nobody
			// confirmed): it is this user's (pending.go, release).
			if err := k.release(ctx, kindEmail, id.Email, errAccountExists); err != nil {
				return User{}, false, err
			}
		}
	}
	now := k.clock()
	u = User{
		Provider: provider, ProviderUserID: id.ID,
		Email: id.Email, EmailVerified: id.EmailVerified,
		Name: id.Name, ProfilePicture: id.Picture,
		SignUpAt: now, LastLoginAt: now,
	}
	if err := k.beforeSignUp(ctx, &u); err != nil {
		return User{}, false, err
	}
	if u.ID, err = k.newID(); err != nil {
		return User{}, false, internalError(err)
	}
	if u.Stamp, err = k.newID(); err != nil {
		return User{}, false, internalError(err)
	}
	if err := k.store.CreateUser(ctx, u); errors.Is(err, ErrDuplicate) {
		// A twin callback created the identity meanwhile, or another
		// account took the email.
		if again, err := k.store.UserByProvider(ctx, provider, id.ID); err == nil {
			return again, false, nil
		}
		return User{}, false, errAccountExists
	} else if err != nil {
		return User{}, false, internalError(err)
	}
	k.oauthEvent(ctx, "oauth sign-up", provider, u.ID)
	k.metrics.signedUp(ctx, "oauth", nil)
	k.afterSignUp(ctx, u)
	return u, true, nil
}

// refreshOAuthUser fills what an account lacks from what the provider says
// now: a name or picture it has no value for, and its email (see
// settleOAuthEmail). Each fill holds only if the field is still as it was
// read; when another write got there first, the fill waits for the next
// sign-in.
func (k *Kit) refreshOAuthUser(ctx context.Context, u User, id oauthid.Identity) (User, error) {
	var up UserUpdate
	if u.Name == "" && id.Name != "" {
		up.Set.Name, up.If.Name = &id.Name, &u.Name
	}
	if u.ProfilePicture == "" && id.Picture != "" {
		up.Set.ProfilePicture, up.If.ProfilePicture = &id.Picture, &u.ProfilePicture
	}
	if up.Set != (UserFields{}) {
		switch fresh, err := k.store.UpdateUser(ctx, u.ID, up); {
		case err == nil:
			u = fresh
		case !errors.Is(err, ErrConflict):
			return User{}, internalError(err)
		}
	}
	u, err := k.settleOAuthEmail(ctx, u, id)
	if err != nil {
		return User{}, err
	}
	k.oauthEvent(ctx, "oauth sign-in", u.Provider, u.ID)
	return u, nil
}

// settleOAuthEmail makes the email of an account made by an OAuth sign-in
// what its provider vouches for, id being the provider's word of today
// (an email in it is a vouched one, see oauthUser). A confirmed email is
// the account's and never changes here. Otherwise the account takes the
// address the provider now vouches for, confirmed, unless another account
// has it; and it drops an address its provider never vouched for, which
// releases before this rule stored, so that the address is free for
// whoever owns the mailbox.
func (k *Kit) settleOAuthEmail(ctx context.Context, u User, id oauthid.Identity) (User, error) {
	if u.EmailVerified || (u.Email == "" && id.Email == "") {
		return u, nil
	}
	unverified := false
	was := UserFields{Email: &u.Email, EmailVerified: &unverified}
	if id.Email != "" {
		verified := true
		fresh, err := k.store.UpdateUser(ctx, u.ID, UserUpdate{Set: UserFields{Email: &id.Email, EmailVerified: &verified}, If: was})
		switch {
		case err == nil:
			return fresh, nil
		case errors.Is(err, ErrConflict):
			return u, nil // another write got there first: the next sign-in
		case !errors.Is(err, ErrDuplicate):
			return User{}, internalError(err)
		}
		// Another account has the address: this one goes without.
	}
	if u.Email == "" {
		return u, nil
	}
	none := ""
	fresh, err := k.store.UpdateUser(ctx, u.ID, UserUpdate{Set: UserFields{Email: &none}, If: was})
	switch {
	case err == nil:
		k.oauthEvent(ctx, "oauth sign-in dropped an email its provider did not vouch for", u.Provider, u.ID)
		return fresh, nil
	case errors.Is(err, ErrConflict):
		return u, nil
	default:
		return User{}, internalError(err)
	}
}

// usableEmail is a provider's email as the kit stores it, or "" when it is
// not a usable address.
func (k *Kit) usableEmail(s string) string {
	e, err := k.normalizeEmail(s)
	if err != nil {
		return ""
	}
	return e
}

// usableName is a provider's name as the kit stores it: one line, what
// setName would refuse dropped, cut to maxNameLen characters.
func usableName(s string) string {
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unprintable(r) {
			return -1
		}
		return r
	}, s))
	if r := []rune(s); len(r) > maxNameLen {
		s = strings.TrimSpace(string(r[:maxNameLen]))
	}
	return s
}

// usablePicture keeps an absolute http(s) URL of a sane length.
func usablePicture(s string) string {
	u, err := url.Parse(s)
	if err != nil || len(s) > 2048 || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return ""
	}
	return s
}
