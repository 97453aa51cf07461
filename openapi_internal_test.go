package authkit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// openAPIOperations are the document's operations, as "METHOD path".
func openAPIOperations(t *testing.T) map[string]openAPIOperation {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]openAPIOperation
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	ops := map[string]openAPIOperation{}
	for path, methods := range doc.Paths {
		for method, op := range methods {
			ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	return ops
}

type openAPIOperation struct {
	Summary   string
	Security  []map[string][]string
	Responses map[string]json.RawMessage
	When      string `json:"x-authkit-when"`
}

// The document names every route of the router, with its method, and no
// other: a kit with every optional route on serves exactly the
// document's fixed paths, and the OAuth routes its two templates.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	k, err := New(Config{
		Store: accountsStore{}, Limiter: neverLimited{}, Mailer: nopMailer{}, SMSSender: nopTexter{}, PhoneAuth: On,
		PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		SessionCookie: On, Forms: Forms{SignIn: "/login"}, ServeOpenAPI: On,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	t.Cleanup(func() { k.Close(context.Background()) })

	var served []string
	for path, rt := range k.routeTable() {
		served = append(served, rt.method+" "+path)
	}
	served = append(served, "GET /_auth/{provider}", "GET /_auth/{provider}/callback", "POST /_auth/{provider}/callback")
	slices.Sort(served)
	documented := slices.Sorted(maps.Keys(openAPIOperations(t)))
	require.Equal(t, served, documented)

	// Its session routes are the document's secured operations. (A form
	// route authenticates in its handler, if it needs to: the document
	// says which do.)
	for path, rt := range k.routeTable() {
		if strings.HasPrefix(path, formsPrefix) {
			continue
		}
		op := openAPIOperations(t)[rt.method+" "+path]
		require.Equal(t, rt.session, len(op.Security) > 0, "%s %s: session %v, security %v", rt.method, path, rt.session, op.Security)
	}
}

// The document's code table is the kit's: every code of codeStatus with
// its status, but user_not_found, which only the Go API answers.
func TestOpenAPIDocumentsEveryCode(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct{ Enum []string }
		}
	}
	require.NoError(t, json.Unmarshal(OpenAPI(), &doc))
	documented := map[Code]int{}
	for name, s := range doc.Components.Schemas {
		status, err := strconv.Atoi(strings.TrimPrefix(name, "Code"))
		if !strings.HasPrefix(name, "Code") || err != nil {
			continue
		}
		for _, c := range s.Enum {
			_, twice := documented[Code(c)]
			require.False(t, twice, "%s is in two code tables", c)
			documented[Code(c)] = status
		}
	}
	want := maps.Clone(codeStatus)
	delete(want, CodeUserNotFound) // the Go API's alone
	require.Equal(t, want, documented)
}
