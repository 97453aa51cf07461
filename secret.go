package authkit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
)

// tokenBytes is the entropy of every token the kit issues: 256 bits.
const tokenBytes = 32

// maxTokenLen bounds a token, key or state the kit reads from a request:
// its own are 43 characters, and anything much longer is not one of them.
const maxTokenLen = 256

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
	var h [2 * sha256.Size]byte
	hashTokenInto(&h, token)
	return string(h[:])
}

// hashTokenInto writes hashToken(token) to h, allocating nothing for a
// token of at most maxTokenLen bytes: it runs on every authenticated
// request.
func hashTokenInto(h *[2 * sha256.Size]byte, token string) {
	var buf [maxTokenLen]byte
	var sum [sha256.Size]byte
	if len(token) <= len(buf) {
		sum = sha256.Sum256(buf[:copy(buf[:], token)])
	} else {
		sum = sha256.Sum256([]byte(token))
	}
	hex.Encode(h[:], sum[:])
}

// subkeys derives from each secret in use (Config.Secrets, or Secret) the
// key of one use, named by label, so that no two uses ever share a key.
// The first is the current secret's, which makes and seals; the others,
// of secrets being rotated out, only recognise what they made before.
func (k *Kit) subkeys(label string) [][]byte {
	keys := make([][]byte, len(k.secrets))
	for i, s := range k.secrets {
		m := hmac.New(sha256.New, s)
		m.Write([]byte("authkit " + label))
		keys[i] = m.Sum(nil)
	}
	return keys
}
