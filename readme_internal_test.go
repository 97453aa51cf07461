package authkit

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README is the user's reference: it must name every Config field and
// every error code with its status.
func TestREADMEListsEveryConfigFieldAndCode(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	fields := reflect.TypeFor[Config]()
	for i := range fields.NumField() {
		if !fields.Field(i).IsExported() {
			continue
		}
		name := fields.Field(i).Name
		require.True(t, strings.Contains(readme, "| `"+name+"` |"), "README's Config table lacks %s", name)
	}
	for code, status := range codeStatus {
		row := "| `" + string(code) + "` | " + strconv.Itoa(status) + " |"
		require.True(t, strings.Contains(readme, row), "README's error table lacks %q", row)
	}
}

// The README tells a store author how big the core is, and lists each
// capability with its methods: the numbers must follow the interfaces.
func TestREADMEStatesTheStoreContract(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	for name, iface := range map[string]reflect.Type{
		"`authkit.Store` (the core)":  reflect.TypeFor[Store](),
		"`authkit.PhoneStore`":        reflect.TypeFor[PhoneStore](),
		"`authkit.Limiter`":           reflect.TypeFor[Limiter](),
		"`authkit.SessionUserFinder`": reflect.TypeFor[SessionUserFinder](),
		"`authkit.Cleaner`":           reflect.TypeFor[Cleaner](),
		"`authkit.UserLister`":        reflect.TypeFor[UserLister](),
	} {
		row := "| " + name + " | " + strconv.Itoa(iface.NumMethod()) + ": "
		at := strings.Index(readme, row)
		require.True(t, at >= 0, "README's store table lacks %q", row)
		line, _, _ := strings.Cut(readme[at:], "\n")
		for i := range iface.NumMethod() {
			m := iface.Method(i).Name
			require.Contains(t, line, "`"+m+"`", "README's row for %s lacks %s", name, m)
		}
	}
}
