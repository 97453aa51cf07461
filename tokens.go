package authkit

// One-time tokens: issuing links and grant keys, and exchanging a grant for
// a session (getAuthGrant).

import (
	"context"
	"errors"
	"time"
)

var errInvalidToken = newError(CodeInvalidToken, "The link or key is not valid: it was used already, has expired or never existed.")

// issueToken stores a new one-time token of the given purpose for u (which
// voids the older ones of that purpose) and returns the secret.
func (k *Kit) issueToken(ctx context.Context, t Token, lifetime time.Duration) (string, error) {
	secret, err := k.newToken()
	if err != nil {
		return "", err
	}
	now := k.clock()
	t.Hash, t.CreatedAt, t.ExpiresAt = hashToken(secret), now, now.Add(lifetime)
	if err := k.store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

// linkURL is the address of an email link: always under PublicURL.
func (k *Kit) linkURL(secret string) string {
	return k.publicURL + linkPath + "?key=" + secret
}

// exchangeGrant is getAuthGrant: it spends a grant key and the link it
// came from, does what the link was for (confirms the address, applies an
// email change) and signs the user in.
func (k *Kit) exchangeGrant(ctx context.Context, key string) (SignIn, error) {
	if key == "" || len(key) > maxTokenLen {
		return SignIn{}, errInvalidToken
	}
	now := k.clock()
	g, err := k.store.ConsumeToken(ctx, PurposeGrant, hashToken(key), now)
	if errors.Is(err, ErrNotFound) {
		return SignIn{}, errInvalidToken
	}
	if err != nil {
		return SignIn{}, internalError(err)
	}
	var link Token
	if g.Link != "" {
		link, err = k.store.ConsumeToken(ctx, TokenPurpose(g.Action), g.Link, now)
		if errors.Is(err, ErrNotFound) {
			return SignIn{}, errInvalidToken // the link was used by another grant
		}
		if err != nil {
			return SignIn{}, internalError(err)
		}
	}
	// What the link was for takes effect now, not when it was followed.
	// The session is made under the grant's stamp: a grant minted before a
	// reset or a sign-out everywhere signs nobody in.
	userID, stamp := g.UserID, g.Stamp
	var up UserUpdate
	switch {
	case pending(link):
		// The address proved itself for an account that waited for it.
		u, err := k.accountFromPending(ctx, link, kindEmail, "", errInvalidToken)
		if err != nil {
			return SignIn{}, err
		}
		userID, stamp = u.ID, u.Stamp
	case link.Purpose == PurposeConfirmEmail:
		verified := true
		up = UserUpdate{Set: UserFields{EmailVerified: &verified}, If: UserFields{Email: &link.Subject}}
	case link.Purpose == PurposeChangeEmail:
		if err := k.applyEmailChange(ctx, link); err != nil {
			return SignIn{}, err
		}
	}
	answer, err := k.startSession(ctx, userID, stamp, up, errInvalidToken, grantVia(g))
	if err != nil {
		return SignIn{}, err
	}
	// A link proves the address it went to as well as the password would:
	// it clears the failed guesses at that address from this browser, and
	// the address's ceiling.
	if link.Purpose != "" {
		if err := k.guessedRight(ctx, k.attemptAt(ctx, kindEmail, link.Subject, userID)); err != nil {
			return SignIn{}, err
		}
	}
	k.event(ctx, "sign-in by "+g.Action, userID)
	k.noticeNewDevice(ctx, answer, firstSession(g, link))
	return answer, nil
}

// grantVia is how a grant signs in, by the flow it came from.
func grantVia(g Token) via {
	switch TokenPurpose(g.Action) {
	case PurposeConfirmEmail:
		return via{method: MethodConfirmation}
	case PurposeMagicLink:
		return via{method: MethodMagicLink}
	case PurposeChangeEmail:
		return via{method: MethodEmailChange}
	}
	return via{method: MethodOAuth, provider: g.Subject} // actionOAuth: the grant's subject is the provider
}

// issuedUnder reports whether token t still holds for u: it was issued
// under u's credential stamp, or it is a confirmation, which proves an
// address and survives a change of password.
func issuedUnder(t Token, u User) bool {
	return t.Stamp == u.Stamp || t.Purpose == PurposeConfirmEmail || t.Purpose == PurposeConfirmPhone
}

// linkPath is the GET that every email link points at.
const linkPath = "/_auth/verify"
