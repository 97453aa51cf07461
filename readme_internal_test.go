package authkit

import (
	"cmp"
	"flag"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
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
		"`authkit.FactorStore`":       reflect.TypeFor[FactorStore](),
		"`authkit.PasskeyStore`":      reflect.TypeFor[PasskeyStore](),
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

// The README's HTTP reference is the OpenAPI document's operations as a
// table, between its two markers: regenerate it with
//
//	go test -run TestREADMEHTTPReferenceIsTheDocument -update-readme .
func TestREADMEHTTPReferenceIsTheDocument(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	require.NoError(t, err)
	readme := string(raw)
	const start, end = "<!-- http-reference: generated from openapi/openapi.json -->\n", "<!-- end of http-reference -->\n"
	from, to := strings.Index(readme, start), strings.Index(readme, end)
	require.True(t, from >= 0 && to > from, "README lacks the HTTP reference's markers")
	want := httpReference(t)
	if *updateREADME {
		readme = readme[:from+len(start)] + want + readme[to:]
		require.NoError(t, os.WriteFile("README.md", []byte(readme), 0o644))
		return
	}
	require.Equal(t, want, readme[from+len(start):to], "the README's HTTP reference is not the document's: run with -update-readme")
}

var updateREADME = flag.Bool("update-readme", false, "write the README's HTTP reference from the OpenAPI document")

// httpReference is the README's table of the document's operations:
// REST API, then browser routes, then forms, each by path.
func httpReference(t *testing.T) string {
	ops := openAPIOperations(t)
	keys := slices.SortedFunc(maps.Keys(ops), func(a, b string) int {
		group := func(k string) int {
			_, path, _ := strings.Cut(k, " ")
			switch {
			case strings.HasPrefix(path, formsPrefix):
				return 2
			case strings.HasPrefix(path, oauthPrefix):
				return 1
			}
			return 0
		}
		pathOf := func(k string) string { _, p, _ := strings.Cut(k, " "); return p }
		return cmp.Or(cmp.Compare(group(a), group(b)), cmp.Compare(pathOf(a), pathOf(b)), cmp.Compare(a, b))
	})
	var b strings.Builder
	b.WriteString("| method | path | what it does | session | answers |\n|---|---|---|---|---|\n")
	for _, k := range keys {
		op := ops[k]
		method, path, _ := strings.Cut(k, " ")
		session := "no"
		if len(op.Security) > 0 {
			session = "yes"
		}
		what := op.Summary
		if op.When != "" {
			what += " (with `" + op.When + "`)"
		}
		success := ""
		for _, status := range slices.Sorted(maps.Keys(op.Responses)) {
			if status[0] == '2' || status[0] == '3' {
				success = status
				break
			}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", method, path, what, session, success)
	}
	return b.String()
}
