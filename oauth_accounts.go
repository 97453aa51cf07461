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
func (k *Kit) oauthUser(ctx context.Context, provider string, id oauthid.Identity) (User, error) {
	if id.ID == "" || len(id.ID) > 256 {
		return User{}, oauthFailed(fmt.Errorf("%s named no user", provider))
	}
	id.Email, id.Name, id.Picture = k.usableEmail(id.Email), usableName(id.Name), usablePicture(id.Picture)
	id.EmailVerified = id.EmailVerified && id.Email != ""
	u, err := k.store.UserByProvider(ctx, provider, id.ID)
	if err == nil {
		return k.refreshOAuthUser(ctx, u, id)
	}
	if !errors.Is(err, ErrNotFound) {
		return User{}, internalError(err)
	}
	if id.Email != "" {
		existing, err := k.store.UserByEmail(ctx, id.Email)
		if err == nil {
			if k.oauth.linkEmails && id.EmailVerified && existing.EmailVerified {
				k.oauthEvent(ctx, "oauth sign-in by verified email", provider, existing.ID)
				return existing, nil
			}
			k.oauthEvent(ctx, "oauth sign-in refused: email of another account", provider, existing.ID)
			return User{}, errAccountExists
		}
		if !errors.Is(err, ErrNotFound) {
			return User{}, internalError(err)
		}
	}
	now := k.clock()
	u = User{
		Provider: provider, ProviderUserID: id.ID,
		Email: id.Email, EmailVerified: id.EmailVerified,
		Name: id.Name, ProfilePicture: id.Picture,
		SignUpAt: now, LastLoginAt: now,
	}
	if u.ID, err = k.newID(); err != nil {
		return User{}, internalError(err)
	}
	if u.Stamp, err = k.newID(); err != nil {
		return User{}, internalError(err)
	}
	if err := k.store.CreateUser(ctx, u); errors.Is(err, ErrDuplicate) {
		// A twin callback created the identity meanwhile, or another
		// account took the email.
		if again, err := k.store.UserByProvider(ctx, provider, id.ID); err == nil {
			return again, nil
		}
		return User{}, errAccountExists
	} else if err != nil {
		return User{}, internalError(err)
	}
	k.oauthEvent(ctx, "oauth sign-up", provider, u.ID)
	return u, nil
}

// refreshOAuthUser fills what an account lacks from what the provider says
// now: a name or picture it has no value for, the confirmation of its own
// email. The email itself is the account's and never changes here. Each
// fill holds only if the field is still as it was read; when another write
// got there first, the fill waits for the next sign-in.
func (k *Kit) refreshOAuthUser(ctx context.Context, u User, id oauthid.Identity) (User, error) {
	var up UserUpdate
	if u.Name == "" && id.Name != "" {
		up.Set.Name, up.If.Name = &id.Name, &u.Name
	}
	if u.ProfilePicture == "" && id.Picture != "" {
		up.Set.ProfilePicture, up.If.ProfilePicture = &id.Picture, &u.ProfilePicture
	}
	if !u.EmailVerified && u.Email != "" && u.Email == id.Email && id.EmailVerified {
		verified := true
		up.Set.EmailVerified, up.If.Email = &verified, &u.Email
	}
	if up.Set != (UserFields{}) {
		switch fresh, err := k.store.UpdateUser(ctx, u.ID, up); {
		case err == nil:
			u = fresh
		case !errors.Is(err, ErrConflict):
			return User{}, internalError(err)
		}
	}
	k.oauthEvent(ctx, "oauth sign-in", u.Provider, u.ID)
	return u, nil
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
