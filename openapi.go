package authkit

import (
	"bytes"
	_ "embed"
)

// openAPIDocument is the OpenAPI 3.1 document of every route the Handler
// serves, kept by hand beside the code; the tests check every answer of
// theirs against it, and every route and code in it against the kit.
//
//go:embed openapi/openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document (JSON) of the routes
// [Kit.Handler] serves: the Altogic REST v1 auth API, the email link and
// OAuth routes and the form routes, with their bodies, answers, error
// codes and the session's security schemes. Each call returns a fresh
// copy, for hosts and tools; Config.ServeOpenAPI serves it too.
func OpenAPI() []byte { return bytes.Clone(openAPIDocument) }

// openAPIPath is where Config.ServeOpenAPI serves the document.
const openAPIPath = apiPrefix + "openapi.json"

// configureOpenAPI applies ServeOpenAPI.
func (k *Kit) configureOpenAPI(cfg Config) error {
	k.serveOpenAPI = cfg.ServeOpenAPI.on(false)
	return nil
}
