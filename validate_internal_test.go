package authkit

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// SECURITY 34: emails come from JSON bodies and, unencoded, from query
// strings. Whatever they hold, parsing never panics, and what is accepted
// is the stored form: lower-case, at most 254 bytes, without spaces or
// control characters, and accepted again as itself (so an account is
// stored and looked up under one key).
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ann@example.com", "Ann@Example.COM", " ann@example.com ", "ann+tag@example.com", "ann tag@example.com",
		"ann@b@example.com", "Ann <ann@example.com>", `"ann smith"@example.com`, "ann@[192.0.2.1]",
		"ann@localhost", "ann@.example.com", "ann@example.com.", "@example.com", "ann@", "",
		"ann\x00@example.com", "ann\r\n@example.com", "ann\xff@example.com", "ånn@exämple.com",
		"\u212a@example.com", "\u0130@example.com", "ann@example.com, bob@example.com", "(comment)ann@example.com",
		strings.Repeat("l", 64) + "@" + strings.Repeat("d", 185) + ".com",
	} {
		f.Add(s)
	}
	k := &Kit{} // the default policy
	f.Fuzz(func(t *testing.T, s string) {
		for _, parse := range []func(string) (string, error){k.normalizeEmail, k.queryEmail} {
			e, err := parse(s)
			if err != nil {
				require.Equal(t, CodeInvalidEmail, err.(*Error).Code)
				continue
			}
			require.LessOrEqual(t, len(e), maxEmailLen, "%q", e)
			require.True(t, utf8.ValidString(e), "%q", e)
			require.Equal(t, strings.ToLower(e), e)
			require.Contains(t, e, "@")
			for _, r := range e {
				require.False(t, unicode.IsSpace(r) || unicode.IsControl(r), "%q holds %q", e, r)
			}
			again, err := k.normalizeEmail(e)
			require.NoError(t, err, "the stored form %q is accepted as input", e)
			require.Equal(t, e, again)
		}
	})
}

// The parser sees hostile numbers: nothing panics out of normalizePhone,
// and what it accepts is E.164.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+15555555555", "+1 (555) 555-5555", "+44 (0)20 7946 0958", "+", "+0", "+1-800-FLOWERS", "+15555555555;ext=1", "+١٥٥٥", "++1", "+(((", "+1 ) ( 5"} {
		f.Add(s)
	}
	e164 := regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	k := &Kit{} // the default policy: no costly numbers
	f.Fuzz(func(t *testing.T, s string) {
		n, err := k.normalizePhone(s)
		if err != nil {
			require.Equal(t, CodeInvalidPhone, err.(*Error).Code)
			return
		}
		require.Regexp(t, e164, n)
		again, err := k.normalizePhone(n)
		require.NoError(t, err, "the stored form is accepted as input")
		require.Equal(t, n, again)
		// The query form (where '+' may arrive as a space) reads every
		// number the body form does, as the same number.
		q, err := k.queryPhone(s)
		require.NoError(t, err)
		require.Equal(t, n, q)
		q, err = k.queryPhone(strings.Replace(strings.TrimSpace(s), "+", " ", 1))
		require.NoError(t, err)
		require.Equal(t, n, q)
	})
}
