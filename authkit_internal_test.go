package authkit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Only the HTTP layer sees a request: handlers decode it and call a flow
// with plain values, so the flows can be called from Go as they are (the
// README's Layout). A function of another file that takes an
// *http.Request or an http.ResponseWriter breaks the layering.
func TestOnlyTheHTTPLayerTakesRequests(t *testing.T) {
	t.Parallel()
	httpLayer := map[string]bool{
		"handlers.go": true, "phone_handlers.go": true, "oauth_handlers.go": true, "mfa_handlers.go": true,
		"middleware.go": true, "respond.go": true, "carrier.go": true, "csrf.go": true,
		"forms.go": true, "form_handlers.go": true,
		"forms_mfa.go": true, "passkeys_handlers.go": true,
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") || httpLayer[name] {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			checked++
			for _, p := range fn.Type.Params.List {
				typ := types.ExprString(p.Type)
				require.False(t, typ == "*http.Request" || typ == "http.ResponseWriter",
					"%s: %s takes %s: only the HTTP layer (%v) may", name, fn.Name.Name, typ, httpLayer)
			}
		}
	}
	require.Greater(t, checked, 100, "the check found the package's functions")
}
