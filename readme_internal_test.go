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
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	fields := reflect.TypeFor[Config]()
	for i := range fields.NumField() {
		name := fields.Field(i).Name
		require.True(t, strings.Contains(readme, "| `"+name+"` |"), "README's Config table lacks %s", name)
	}
	for code, status := range codeStatus {
		row := "| `" + string(code) + "` | " + strconv.Itoa(status) + " |"
		require.True(t, strings.Contains(readme, row), "README's error table lacks %q", row)
	}
}
