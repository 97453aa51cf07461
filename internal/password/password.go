// Package password hashes passwords with argon2id and verifies them against
// stored hashes.
//
// New hashes are argon2id in the PHC string format
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64, and [Default] holding the
// OWASP parameters. [Verify] also accepts legacy bcrypt hashes ($2a$, $2b$,
// $2y$) and says when a stored hash should be replaced, so that bcrypt and
// weak argon2id hashes are upgraded on the next successful sign-in.
//
// Stored hashes are treated as hostile input: a hash whose parameters would
// make verification allocate or compute an absurd amount (say m=4 GiB, t=1000
// or a bcrypt cost of 31) is refused with [ErrMalformed] before any work is
// done. Keys are compared in constant time.
package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // memory in KiB
	Time    uint32 // number of passes
	Threads uint8  // degree of parallelism
	SaltLen uint32 // salt length in bytes
	KeyLen  uint32 // derived key length in bytes
}

// Default is the OWASP recommendation for argon2id: m=19 MiB, t=2, p=1, with
// a 16-byte salt and a 32-byte key.
var Default = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// ErrMalformed is returned (possibly wrapped) by [Verify] for a stored hash
// that cannot be parsed, uses an unsupported algorithm or version, or has
// parameters outside the accepted bounds. Test for it with errors.Is.
var ErrMalformed = errors.New("password: malformed or unsupported hash")

// Bounds on the parameters accepted in a stored hash, and in Params given to
// [Hash]. They are far above any sane setting and far below what would let a
// planted hash exhaust the process.
const (
	maxMemory     = 1 << 20 // KiB: 1 GiB
	maxTime       = 100
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 128
	maxBcryptCost = 16 // 2^16 rounds: seconds per verification already
	maxEncodedLen = 512

	argon2Prefix  = "$argon2id$"
	bcryptHashLen = 60
)

// Hash returns the argon2id PHC string of pw under p, with a salt of
// p.SaltLen bytes read from rand. It fails if rand fails or if p is outside
// the bounds that [Verify] accepts.
func Hash(rand io.Reader, pw string, p Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(rand, salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether pw matches encoded, an argon2id PHC string or a
// bcrypt hash ($2a$, $2b$ or $2y$), and, when it does, whether the hash should
// be replaced by Hash(rand, pw, p): always for bcrypt, and for argon2id when
// any of its parameters (memory, time, threads, salt or key length) is below
// p. rehash is false whenever ok is false.
//
// A malformed or unsupported hash, or one with out-of-bounds parameters, gives
// an error wrapping [ErrMalformed]; Verify never panics on its input.
func Verify(encoded, pw string, p Params) (ok, rehash bool, err error) {
	if len(encoded) > maxEncodedLen {
		return false, false, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxEncodedLen)
	}
	switch {
	case strings.HasPrefix(encoded, argon2Prefix):
		return verifyArgon2id(encoded, pw, p)
	case strings.HasPrefix(encoded, "$2a$"),
		strings.HasPrefix(encoded, "$2b$"),
		strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(encoded, pw)
	default:
		return false, false, fmt.Errorf("%w: unknown algorithm", ErrMalformed)
	}
}

// Check reports whether encoded is a hash Verify can check: an error
// wrapping [ErrMalformed] when it is not, as Verify would give. It hashes
// nothing, so it costs microseconds: for checking imported hashes.
func Check(encoded string) error {
	if len(encoded) > maxEncodedLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxEncodedLen)
	}
	switch {
	case strings.HasPrefix(encoded, argon2Prefix):
		_, err := parseArgon2id(encoded)
		return err
	case strings.HasPrefix(encoded, "$2a$"),
		strings.HasPrefix(encoded, "$2b$"),
		strings.HasPrefix(encoded, "$2y$"):
		_, err := bcryptCost(encoded)
		return err
	default:
		return fmt.Errorf("%w: unknown algorithm", ErrMalformed)
	}
}

// phc is a parsed argon2id PHC string.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func verifyArgon2id(encoded, pw string, p Params) (ok, rehash bool, err error) {
	h, err := parseArgon2id(encoded)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	if subtle.ConstantTimeCompare(key, h.key) != 1 {
		return false, false, nil
	}
	rehash = h.memory < p.Memory || h.time < p.Time || h.threads < p.Threads ||
		uint32(len(h.salt)) < p.SaltLen || uint32(len(h.key)) < p.KeyLen
	return true, rehash, nil
}

// parseArgon2id parses $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key> and
// checks every value against the bounds before anything is allocated for it.
func parseArgon2id(encoded string) (phc, error) {
	var h phc
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return h, fmt.Errorf("%w: want 5 $-separated argon2id fields", ErrMalformed)
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformed, fields[2])
	}

	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return h, fmt.Errorf("%w: want m, t and p parameters", ErrMalformed)
	}
	m, err := parseParam(params[0], "m", 32)
	if err != nil {
		return h, err
	}
	t, err := parseParam(params[1], "t", 32)
	if err != nil {
		return h, err
	}
	threads, err := parseParam(params[2], "p", 8)
	if err != nil {
		return h, err
	}
	h.memory, h.time, h.threads = uint32(m), uint32(t), uint8(threads)

	if h.salt, err = decodeBase64(fields[4], "salt", minSaltLen, maxSaltLen); err != nil {
		return h, err
	}
	if h.key, err = decodeBase64(fields[5], "key", minKeyLen, maxKeyLen); err != nil {
		return h, err
	}
	if err := checkCost(h.memory, h.time, h.threads); err != nil {
		return h, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return h, nil
}

// parseParam parses "name=<decimal>" into an unsigned integer of bitSize bits.
func parseParam(s, name string, bitSize int) (uint64, error) {
	v, ok := strings.CutPrefix(s, name+"=")
	if !ok {
		return 0, fmt.Errorf("%w: want parameter %s", ErrMalformed, name)
	}
	n, err := strconv.ParseUint(v, 10, bitSize)
	if err != nil {
		return 0, fmt.Errorf("%w: parameter %s: %w", ErrMalformed, name, err)
	}
	return n, nil
}

// decodeBase64 decodes unpadded standard base64 of between min and max bytes,
// checking the length before decoding.
func decodeBase64(s, name string, minLen, maxLen int) ([]byte, error) {
	if n := base64.RawStdEncoding.DecodedLen(len(s)); n < minLen || n > maxLen {
		return nil, fmt.Errorf("%w: %s of %d bytes, want %d to %d", ErrMalformed, name, n, minLen, maxLen)
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	return b, nil
}

// checkCost reports whether argon2 memory, time and threads are within the
// accepted bounds. argon2 needs at least 8 KiB of memory per thread.
func checkCost(memory, time uint32, threads uint8) error {
	switch {
	case threads == 0:
		return errors.New("p must be at least 1")
	case time == 0 || time > maxTime:
		return fmt.Errorf("t=%d, want 1 to %d", time, maxTime)
	case memory < 8*uint32(threads) || memory > maxMemory:
		return fmt.Errorf("m=%d, want %d to %d KiB", memory, 8*uint32(threads), maxMemory)
	}
	return nil
}

// check reports whether p is within the bounds Verify accepts, so that every
// hash Hash makes can be verified.
func (p Params) check() error {
	if err := checkCost(p.Memory, p.Time, p.Threads); err != nil {
		return fmt.Errorf("password: invalid params: %w", err)
	}
	if p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen {
		return fmt.Errorf("password: invalid params: salt length %d, want %d to %d", p.SaltLen, minSaltLen, maxSaltLen)
	}
	if p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen {
		return fmt.Errorf("password: invalid params: key length %d, want %d to %d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// bcryptCost parses a bcrypt hash's cost and checks its bounds.
func bcryptCost(encoded string) (int, error) {
	if len(encoded) != bcryptHashLen {
		return 0, fmt.Errorf("%w: bcrypt hash of %d bytes, want %d", ErrMalformed, len(encoded), bcryptHashLen)
	}
	cost, err := bcrypt.Cost([]byte(encoded))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if cost > maxBcryptCost {
		return 0, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformed, cost, maxBcryptCost)
	}
	return cost, nil
}

func verifyBcrypt(encoded, pw string) (ok, rehash bool, err error) {
	if _, err := bcryptCost(encoded); err != nil {
		return false, false, err
	}
	switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(pw)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
}
