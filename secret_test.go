package authkit_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// SECURITY 1, 14: what is stored is a salted argon2id hash, and tokens only
// as their SHA-256.
func TestSecretsAtRest(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	tok := h.confirmedUser("sue@example.com", "correct horse battery")
	h.confirmedUser("tim@example.com", "correct horse battery")
	ctx := context.Background()
	sue, err := h.store.UserByEmail(ctx, "sue@example.com")
	require.NoError(t, err)
	tim, err := h.store.UserByEmail(ctx, "tim@example.com")
	require.NoError(t, err)
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$[A-Za-z0-9+/]{43}$`)
	require.Regexp(t, phc, sue.PasswordHash)
	require.NotEqual(t, phc.FindStringSubmatch(sue.PasswordHash)[1], phc.FindStringSubmatch(tim.PasswordHash)[1], "each password has its own salt")

	_, err = h.store.SessionByTokenHash(ctx, tok)
	require.ErrorIs(t, err, authkit.ErrNotFound, "the token itself is not stored")
	_, err = h.store.SessionByTokenHash(ctx, sha256Hex(tok))
	require.NoError(t, err)
	require.Len(t, tok, 43, "256 bits, URL-safe")
	require.Regexp(t, `^[A-Za-z0-9_-]+$`, tok)

	h.post(api+"send-magic?email=sue@example.com", nil, "")
	key := strings.SplitN(h.link("sue@example.com"), "key=", 2)[1]
	_, err = h.store.TokenByHash(ctx, key, h.clock.Now())
	require.ErrorIs(t, err, authkit.ErrNotFound)
	stored, err := h.store.TokenByHash(ctx, sha256Hex(key), h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, authkit.PurposeMagicLink, stored.Purpose)
}
