package authkit

// The codes of second factors: TOTP codes checked against a sealed
// secret, recovery codes drawn and kept as keyed hashes, and the sealing
// of a factor's secret under the kit's secrets.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// checkSecondFactor checks code against f, an active factor: a TOTP code
// of a step not accepted before, or (when recovery allows) one of the
// user's recovery codes, which it spends. A malformed code is refused
// before it counts; every other guess counts toward the account's failed
// sign-ins (lockout.go) before it is checked, and a right one clears
// them.
func (k *Kit) checkSecondFactor(ctx context.Context, f Factor, code string, recovery bool) error {
	digits, isTOTP := totpCode(code)
	rc, isRecovery := recoveryCode(code)
	if !isTOTP && !(recovery && isRecovery) {
		return errMFACode
	}
	at := k.attemptAt(ctx, "user", f.UserID, f.UserID)
	if err := k.guess(ctx, at); err != nil {
		return err
	}
	ok := false
	if isTOTP {
		step, match, err := k.matchTOTP(f, digits)
		if err != nil {
			return err
		}
		if match {
			// A step once accepted is refused again, on every instance.
			if ok, err = k.mfa.store.AcceptStep(ctx, f.UserID, f.Kind, step); err != nil {
				return internalError(err)
			}
		}
	} else {
		for _, key := range k.mfa.codeKeys {
			spent, err := k.mfa.store.ConsumeRecoveryCode(ctx, f.UserID, hashRecoveryCode(key, f.UserID, rc))
			if err != nil {
				return internalError(err)
			}
			if spent {
				ok = true
				k.event(ctx, "recovery code used", f.UserID)
				break
			}
		}
	}
	if !ok {
		k.event(ctx, "second factor failed", f.UserID)
		return errMFACode
	}
	return k.guessedRight(ctx, at)
}

// matchTOTP finds the time step, of the current one and one on either
// side (clock drift), whose code is digits. A step not after f.LastStep
// does not match.
func (k *Kit) matchTOTP(f Factor, digits string) (int64, bool, error) {
	secret, err := k.openFactor(f.UserID, f.Secret)
	if err != nil {
		return 0, false, internalError(err)
	}
	cur := k.clock().Unix() / totpPeriod
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	var found int64
	match := 0
	for step := cur - 1; step <= cur+1; step++ {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(step*totpPeriod, 0).UTC(), opts)
		if err != nil {
			return 0, false, internalError(err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(digits)) == 1 && step > f.LastStep && match == 0 {
			found, match = step, 1
		}
	}
	return found, match == 1, nil
}

// totpCode is code as a TOTP code: six digits, spaces dropped.
func totpCode(code string) (string, bool) {
	c := strings.ReplaceAll(code, " ", "")
	if len(c) != 6 {
		return "", false
	}
	for i := range len(c) {
		if c[i] < '0' || c[i] > '9' {
			return "", false
		}
	}
	return c, true
}

// recoveryCode is code as a recovery code: ten base32 characters, in any
// case, dashes and spaces dropped.
func recoveryCode(code string) (string, bool) {
	if len(code) > 4*recoveryCodeLen {
		return "", false
	}
	c := strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(code))
	if len(c) != recoveryCodeLen {
		return "", false
	}
	for i := range len(c) {
		if strings.IndexByte(base32Alphabet, c[i]) < 0 {
			return "", false
		}
	}
	return c, true
}

// newRecoveryCodes draws the user's recovery codes: as shown (XXXXX-XXXXX)
// and as stored (hashed under the current key).
func (k *Kit) newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	var b [recoveryCodes * recoveryCodeLen]byte
	if _, err := io.ReadFull(k.rand, b[:]); err != nil {
		return nil, nil, fmt.Errorf("authkit: reading randomness: %w", err)
	}
	for i := range recoveryCodes {
		var c [recoveryCodeLen]byte
		for j := range c {
			c[j] = base32Alphabet[b[i*recoveryCodeLen+j]%32] // 32 divides 256: no bias
		}
		codes = append(codes, string(c[:5])+"-"+string(c[5:]))
		hashes = append(hashes, hashRecoveryCode(k.mfa.codeKeys[0], userID, string(c[:])))
	}
	return codes, hashes, nil
}

// hashRecoveryCode is how a recovery code is stored: keyed, so that a
// leaked table cannot be searched offline, and bound to its user.
func hashRecoveryCode(key []byte, userID, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return hex.EncodeToString(m.Sum(nil))
}

// sealedVersion leads a sealed secret: AES-256-GCM, a 12-byte nonce,
// the user's id as additional data.
const sealedVersion = 1

// sealFactor encrypts a factor's secret under the current secret's key,
// bound to its user: a sealed secret copied to another user opens for
// nobody.
func (k *Kit) sealFactor(userID string, plain []byte) ([]byte, error) {
	aead, err := newAEAD(k.mfa.sealKeys[0])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+aead.NonceSize(), 1+aead.NonceSize()+len(plain)+aead.Overhead())
	out[0] = sealedVersion
	if _, err := io.ReadFull(k.rand, out[1:]); err != nil {
		return nil, fmt.Errorf("authkit: reading randomness: %w", err)
	}
	return aead.Seal(out, out[1:], plain, []byte(userID)), nil
}

// openFactor decrypts a sealed secret under the key of any secret in use:
// one sealed before a rotation opens until its secret leaves Secrets.
func (k *Kit) openFactor(userID string, sealed []byte) ([]byte, error) {
	for _, key := range k.mfa.sealKeys {
		aead, err := newAEAD(key)
		if err != nil {
			return nil, err
		}
		n := aead.NonceSize()
		if len(sealed) < 1+n || sealed[0] != sealedVersion {
			return nil, errors.New("authkit: a factor's secret is not sealed by the kit")
		}
		if plain, err := aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(userID)); err == nil {
			return plain, nil
		}
	}
	return nil, errors.New("authkit: a factor's secret opens under no secret in use (was its secret removed from Config.Secrets?)")
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
