package authkit

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// SECURITY.md maps each requirement to the tests that prove it. A renamed or
// deleted test must not leave the page pointing at nothing.
func TestSecurityDocNamesRealTests(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("SECURITY.md")
	require.NoError(t, err)
	// `file.go`: `Name`, `Other`
	ref := regexp.MustCompile("`([\\w./]+\\.go)`: ((?:`\\w+`(?:, )?)+)")
	name := regexp.MustCompile("`(\\w+)`")
	refs := ref.FindAllStringSubmatch(string(raw), -1)
	require.NotEmpty(t, refs)
	named := 0
	for _, m := range refs {
		src, err := os.ReadFile(m[1])
		require.NoError(t, err, "SECURITY.md names %s", m[1])
		for _, n := range name.FindAllStringSubmatch(m[2], -1) {
			fn := n[1]
			found := strings.Contains(string(src), "func "+fn+"(") || strings.Contains(string(src), ") "+fn+"(")
			require.True(t, found, "SECURITY.md names %s in %s, which has no such function", fn, m[1])
			named++
		}
	}
	for i := 1; i <= 115; i++ {
		require.Regexp(t, regexp.MustCompile(`(?m)^\| `+strconv.Itoa(i)+` \|`), string(raw), "SECURITY.md has no row for requirement %d", i)
	}
	t.Logf("%d tests named", named)
}
