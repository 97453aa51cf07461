package password_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/authkit/authkit/internal/password"
)

// cheap keeps tests fast where the parameters themselves are not under test.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashFormat(t *testing.T) {
	encoded, err := password.Hash(rand.Reader, "correct horse", password.Default)
	require.NoError(t, err)

	fields := strings.Split(encoded, "$")
	require.Len(t, fields, 6, encoded)
	require.Equal(t, []string{"", "argon2id", "v=19", "m=19456,t=2,p=1"}, fields[:4])
	salt, err := base64.RawStdEncoding.Strict().DecodeString(fields[4])
	require.NoError(t, err)
	require.Len(t, salt, 16)
	key, err := base64.RawStdEncoding.Strict().DecodeString(fields[5])
	require.NoError(t, err)
	require.Len(t, key, 32)

	ok, rehash, err := password.Verify(encoded, "correct horse", password.Default)
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, rehash)
}

func TestHashSalted(t *testing.T) {
	a, err := password.Hash(rand.Reader, "same password", cheap)
	require.NoError(t, err)
	b, err := password.Hash(rand.Reader, "same password", cheap)
	require.NoError(t, err)
	require.NotEqual(t, a, b)
	require.NotEqual(t, strings.Split(a, "$")[4], strings.Split(b, "$")[4], "salts")
}

func TestHashErrors(t *testing.T) {
	_, err := password.Hash(iotest.ErrReader(errors.New("entropy gone")), "pw", cheap)
	require.ErrorContains(t, err, "entropy gone")

	_, err = password.Hash(bytes.NewReader(make([]byte, 4)), "pw", cheap) // short read
	require.Error(t, err)

	for _, p := range []password.Params{
		{},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 0, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 4},
	} {
		_, err := password.Hash(rand.Reader, "pw", p)
		require.Error(t, err, "%+v", p)
	}
}

func TestVerify(t *testing.T) {
	argon, err := password.Hash(rand.Reader, "hunter22", cheap)
	require.NoError(t, err)
	bc, err := bcrypt.GenerateFromPassword([]byte("hunter22"), bcrypt.MinCost)
	require.NoError(t, err)
	bcryptHash := string(bc)
	bcrypt2y := "$2y$" + bcryptHash[4:]
	bcrypt2b := "$2b$" + bcryptHash[4:]

	weaker := cheap
	weaker.Time = 2
	stronger := cheap
	stronger.Memory = 128
	longerSalt := cheap
	longerSalt.SaltLen = 32

	tests := []struct {
		name       string
		encoded    string
		pw         string
		p          password.Params
		ok, rehash bool
	}{
		{"argon2id right", argon, "hunter22", cheap, true, false},
		{"argon2id wrong", argon, "hunter23", cheap, false, false},
		{"argon2id empty password", argon, "", cheap, false, false},
		{"argon2id below time", argon, "hunter22", weaker, true, true},
		{"argon2id below memory", argon, "hunter22", stronger, true, true},
		{"argon2id below salt length", argon, "hunter22", longerSalt, true, true},
		{"argon2id below default", argon, "hunter22", password.Default, true, true},
		{"argon2id above current", argon, "hunter22", password.Params{Memory: 8, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 16}, true, false},
		{"argon2id wrong password never rehash", argon, "nope", password.Default, false, false},
		{"bcrypt 2a right", bcryptHash, "hunter22", cheap, true, true},
		{"bcrypt 2b right", bcrypt2b, "hunter22", cheap, true, true},
		{"bcrypt 2y right", bcrypt2y, "hunter22", cheap, true, true},
		{"bcrypt wrong", bcryptHash, "hunter23", cheap, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify(tt.encoded, tt.pw, tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.ok, ok, "ok")
			require.Equal(t, tt.rehash, rehash, "rehash")
		})
	}
}

func TestVerifyMalformed(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	phc := func(version, params, salt, key string) string {
		return "$argon2id$" + version + "$" + params + "$" + salt + "$" + key
	}
	valid := phc("v=19", "m=64,t=1,p=1", salt, key)
	_, _, err := password.Verify(valid, "pw", cheap)
	require.NoError(t, err, "the base case must be well-formed")

	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	require.NoError(t, err)
	bcryptTail := string(bc[7:]) // after "$2a$04$"

	tests := []struct{ name, encoded string }{
		{"empty", ""},
		{"plain text", "hunter22"},
		{"wrong prefix argon2i", strings.Replace(valid, "argon2id", "argon2i", 1)},
		{"wrong prefix argon2d", strings.Replace(valid, "argon2id", "argon2d", 1)},
		{"scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"},
		{"prefix only", "$argon2id$"},
		{"too few fields", "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{"too many fields", valid + "$extra"},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"v=18", phc("v=18", "m=64,t=1,p=1", salt, key)},
		{"v=16", phc("v=16", "m=64,t=1,p=1", salt, key)},
		{"params out of order", phc("v=19", "t=1,m=64,p=1", salt, key)},
		{"missing param", phc("v=19", "m=64,t=1", salt, key)},
		{"extra param", phc("v=19", "m=64,t=1,p=1,keyid=x", salt, key)},
		{"non-numeric m", phc("v=19", "m=lots,t=1,p=1", salt, key)},
		{"negative t", phc("v=19", "m=64,t=-1,p=1", salt, key)},
		{"signed m", phc("v=19", "m=+64,t=1,p=1", salt, key)},
		{"hostile m 4 GiB", phc("v=19", "m=4194304,t=1,p=1", salt, key)},
		{"hostile m overflow", phc("v=19", "m=4294967296,t=1,p=1", salt, key)},
		{"m below 8p", phc("v=19", "m=7,t=1,p=1", salt, key)},
		{"m zero", phc("v=19", "m=0,t=1,p=1", salt, key)},
		{"hostile t", phc("v=19", "m=64,t=101,p=1", salt, key)},
		{"t zero", phc("v=19", "m=64,t=0,p=1", salt, key)},
		{"p zero", phc("v=19", "m=64,t=1,p=0", salt, key)},
		{"p overflow", phc("v=19", "m=4096,t=1,p=256", salt, key)},
		{"bad base64 salt", phc("v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!!!!!!!!!!!", key)},
		{"bad base64 key", phc("v=19", "m=64,t=1,p=1", salt, strings.Repeat("*", 43))},
		{"padded base64 key", phc("v=19", "m=64,t=1,p=1", salt, key+"=")},
		{"salt too short", phc("v=19", "m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString(make([]byte, 4)), key)},
		{"salt too long", phc("v=19", "m=64,t=1,p=1", base64.RawStdEncoding.EncodeToString(make([]byte, 65)), key)},
		{"key too short", phc("v=19", "m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 8)))},
		{"key too long", phc("v=19", "m=64,t=1,p=1", salt, base64.RawStdEncoding.EncodeToString(make([]byte, 300)))},
		{"empty salt and key", phc("v=19", "m=64,t=1,p=1", "", "")},
		{"huge input", valid + strings.Repeat("A", 1<<20)},
		{"bcrypt truncated", string(bc[:40])},
		{"bcrypt too long", string(bc) + "A"},
		{"bcrypt 2x", "$2x$04$" + bcryptTail},
		{"bcrypt bad cost", "$2a$xx$" + bcryptTail},
		{"bcrypt cost 3", "$2a$03$" + bcryptTail},
		{"bcrypt hostile cost 31", "$2a$31$" + bcryptTail},
		{"bcrypt hostile cost 17", "$2a$17$" + bcryptTail},
		{"bcrypt bad base64 salt", "$2a$04$" + strings.Repeat("!", 53)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify(tt.encoded, "pw", cheap)
			require.ErrorIs(t, err, password.ErrMalformed)
			require.False(t, ok)
			require.False(t, rehash)
		})
	}
}

func BenchmarkHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := password.Hash(rand.Reader, "correct horse battery staple", password.Default); err != nil {
			b.Fatal(err)
		}
	}
}
