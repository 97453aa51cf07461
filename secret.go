package authkit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/authkit/authkit/internal/password"
)

// tokenBytes is the entropy of every token the kit issues: 256 bits.
const tokenBytes = 32

// newToken returns a fresh secret in a URL-safe alphabet (43 characters), so
// it survives the client's unencoded query strings.
func (k *Kit) newToken() (string, error) {
	var b [tokenBytes]byte
	if _, err := io.ReadFull(k.rand, b[:]); err != nil {
		return "", fmt.Errorf("authkit: reading randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// newID returns a fresh public identifier: 24 hex digits, shaped like the
// ids Altogic hands out.
func (k *Kit) newID() (string, error) {
	var b [12]byte
	if _, err := io.ReadFull(k.rand, b[:]); err != nil {
		return "", fmt.Errorf("authkit: reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// hashToken is how a token is kept and looked up: its SHA-256. A token has
// 256 bits of entropy, so a plain hash cannot be reversed; the lookup by
// hash is what compares it, in no time that depends on the secret.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// passwordParams are the argon2id parameters of new hashes, and the ones
// below which a stored hash is upgraded: the OWASP parameters. Only tests
// that hash thousands of times (the fuzz targets) lower them.
var passwordParams = password.Default

// verifyPassword is password.Verify; a test counts its calls.
var verifyPassword = password.Verify

// hashPassword hashes pw with argon2id at passwordParams.
func hashPassword(rand io.Reader, pw string) (string, error) {
	return password.Hash(rand, pw, passwordParams)
}

// acquireHashSlot waits for one of the slots that bound concurrent hashing.
func (k *Kit) acquireHashSlot(ctx context.Context) (release func(), err error) {
	select {
	case k.hashSlots <- struct{}{}:
		return func() { <-k.hashSlots }, nil
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
	h, err := hashPassword(k.rand, pw)
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
	ok, rehash, err := verifyPassword(stored, pw, passwordParams)
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

// subkey derives from Config.Secret the key of one use, named by label, so
// that no two uses ever share a key.
func (k *Kit) subkey(label string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte("authkit " + label))
	return m.Sum(nil)
}
