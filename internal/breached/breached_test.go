package breached

import (
	"bufio"
	"compress/gzip"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/maphash"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// listSHA256 is the SHA-256 of the uncompressed list, as NOTICE states it.
const listSHA256 = "84f9f01da3323b41cdc030f89f7fab65bf76a7e0d5265acabb715c2b3795f148"

// listLines returns the embedded list, decompressed, and its lines.
func listLines(t *testing.T) ([]byte, []string) {
	t.Helper()
	zr, err := gzip.NewReader(strings.NewReader(listGz))
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	return raw, lines
}

// The embedded list is SecLists' top 100,000, byte for byte, and every
// entry of it is common, in its own case and in capitals.
func TestList(t *testing.T) {
	t.Parallel()
	raw, lines := listLines(t)
	sum := sha256.Sum256(raw)
	require.Equal(t, listSHA256, hex.EncodeToString(sum[:]), "the list is not the one NOTICE names")
	require.Len(t, lines, listLen)
	require.Equal(t, "123456", lines[0])
	require.Equal(t, "password", lines[1])
	// Deep in the list, longer than any minimum length; the root
	// package's tests sign up with them.
	require.Equal(t, "1qaz2wsx3ed", lines[98_623-1])
	require.Equal(t, "123qwerty456", lines[99_423-1])
	require.Equal(t, "070162", lines[listLen-1])

	distinct := map[string]bool{}
	for _, l := range lines {
		require.True(t, Common(l), "%q", l)
		require.True(t, Common(strings.ToUpper(l)), "%q in capitals", l)
		distinct[strings.ToLower(l)] = true
	}
	// One hash per distinct folded entry: none lost to a collision, none
	// kept twice.
	require.Len(t, set().sums, len(distinct))
}

// Only a whole entry is common, in any case: a password that holds an
// entry, or is part of one, is not.
func TestCommon(t *testing.T) {
	t.Parallel()
	for pw, common := range map[string]bool{
		"password":                     true,
		"PaSsWoRd":                     true,
		"password123":                  true,
		"Qwerty123":                    true,
		"iloveyou":                     true,
		"123qwerty456":                 true,
		"123QWERTY456":                 true,
		"password1234567":              false,
		"my password":                  false,
		"password ":                    false,
		" password":                    false,
		"23qwerty456":                  false,
		"123qwerty4567":                false,
		"":                             false,
		"correct horse battery staple": false,
		rand.Text():                    false,
	} {
		require.Equal(t, common, Common(pw), "%q", pw)
	}
}

// sum folds case as strings.ToLower does, where folding changes the
// length of a character's encoding too, and past its 256-byte buffer.
func TestSumFoldsLikeToLower(t *testing.T) {
	t.Parallel()
	seed := maphash.MakeSeed()
	for _, s := range []string{
		"", "PASSWORD", "ÀÉÎÕÜ", "İstanbul", "\u212Aelvin", "STRAẞE", "\u023A\u023E",
		strings.Repeat("Ω", 200), strings.Repeat("\u212A", 100), "\xffbad\xfe",
	} {
		require.Equal(t, maphash.String(seed, strings.ToLower(s)), sum(seed, s), "%q", s)
	}
}

func FuzzSumFoldsLikeToLower(f *testing.F) {
	seed := maphash.MakeSeed()
	for _, s := range []string{"Password", "İ", "\u212A", "ẞ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if sum(seed, s) != maphash.String(seed, strings.ToLower(s)) {
			t.Fatalf("sum(%q) folds otherwise than strings.ToLower", s)
		}
	})
}

// A lookup, after the first, allocates nothing: it runs on every sign-up,
// reset and password change.
func TestCommonAllocatesNothing(t *testing.T) {
	Common("warm up")
	allocs := testing.AllocsPerRun(100, func() {
		Common("Correct Horse Battery Staple")
		Common("Password123")
	})
	require.Zero(t, allocs)
}

// BenchmarkLoad is the first call's cost: decompressing the list and
// hashing and sorting its entries.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		load()
	}
}

func BenchmarkCommon(b *testing.B) {
	set()
	for _, bc := range []struct{ name, pw string }{
		{"listed", "123qwerty456"},
		{"unlisted", "correct horse battery staple"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Common(bc.pw)
			}
		})
	}
}
