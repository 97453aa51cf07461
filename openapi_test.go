package authkit_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The OpenAPI document (openapi/openapi.json) is the truth about the
// kit's HTTP routes. Every exchange of the HTTP tests of this package
// with a kit route (the harness's servers, through contract.wrap) is
// checked against it with libopenapi-validator: the request, and the
// answer's status, headers and body. A request the document refuses
// must not succeed; an answer the document does not describe fails the
// test that made it, printing both. TestMain then fails the run if an
// operation of the document, or an error code of its code table, was
// never seen: an operation nothing exercises is a route the document
// may describe wrongly, and a code never answered is one it may have
// at the wrong status.

// TestMain runs the tests, then, when they all ran and passed, the
// coverage check of the document (see contract.coverage).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 && wholeRun() {
		c := theContract()
		if err := c.coverage(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: the OpenAPI document's coverage:", err)
			code = 1
		} else if path := os.Getenv("AUTHKIT_OPENAPI_REPORT"); path != "" {
			if err := os.WriteFile(path, c.report(), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 1
			}
		} else if testing.Verbose() {
			fmt.Printf("the OpenAPI document's %d operations and %d codes were all exercised\n", len(c.operations), len(c.codes)-len(unseenCodes))
		}
	}
	os.Exit(code)
}

// wholeRun tells whether every test ran: coverage means nothing for a
// run that picked some (-run, -skip, -short) or fuzzes.
func wholeRun() bool {
	for _, name := range []string{"test.run", "test.skip", "test.fuzz"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// unseenCodes are the codes of the document's table that no exchange
// of these tests answers, and why that is fine. (user_not_found is not
// in the table at all: only the Go API answers it.)
var unseenCodes = map[string]string{
	// RequireAccessGroup answers it on the host's routes, not on the
	// kit's; groups_test.go checks it there.
	"forbidden": "answered by Kit.RequireAccessGroup on the host's routes",
}

// opKey names an operation: a path template of the document and a
// method; the path "(unrouted)" stands for the 404 and 405 answers to
// requests no operation takes.
type opKey struct{ path, method string }

const unrouted = "(unrouted)"

// contract is the document, its validator, and what the tests saw.
type contract struct {
	validator validator.Validator
	model     *v3.Document
	options   *config.ValidationOptions
	// codes is the document's code table: each code with its status,
	// from the enums Code400 to Code503.
	codes map[string]int
	// operations are the document's operations, and for each one that
	// answers with redirects the codes its redirects may carry (nil for
	// any code of the table).
	operations     []opKey
	redirectErrors map[opKey][]string
	// optional are the operations a Config field turns on
	// (x-authkit-when): off, their path is no route.
	optional map[opKey]bool

	mu        sync.Mutex
	seen      map[opKey]bool // an exchange with this operation was checked
	succeeded map[opKey]bool // ... and one succeeded
	seenCodes map[string]bool
	answers   map[answerKey]bool // every (operation, status, code) answered
}

// answerKey is one kind of answer of an operation.
type answerKey struct {
	op     opKey
	status int
	code   string
}

// theContract builds the validator once for the whole test binary.
var theContract = sync.OnceValue(func() *contract {
	c, err := newContract(authkit.OpenAPI())
	if err != nil {
		panic(err)
	}
	return c
})

func newContract(raw []byte) (*contract, error) {
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		return nil, err
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, err
	}
	opts := []config.Option{
		// The session rides in the Session header, a bearer token, the
		// session cookie, or the host's own session (a SessionCarrier),
		// whose cookie the document cannot name: the kit, not the
		// validator, decides what authenticates.
		config.WithoutSecurityValidation(),
		config.WithURLEncodedBodyValidation(),
	}
	v, errs := validator.NewValidator(doc, opts...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("the validator: %v", errs)
	}
	c := &contract{
		validator: v, model: &model.Model, options: config.NewValidationOptions(opts...),
		codes: map[string]int{}, redirectErrors: map[opKey][]string{}, optional: map[opKey]bool{},
		seen: map[opKey]bool{}, succeeded: map[opKey]bool{}, seenCodes: map[string]bool{}, answers: map[answerKey]bool{},
	}
	var plain struct {
		Paths      map[string]map[string]json.RawMessage
		Components struct {
			Schemas map[string]struct {
				Enum []string
			}
		}
	}
	if err := json.Unmarshal(raw, &plain); err != nil {
		return nil, err
	}
	for name, s := range plain.Components.Schemas {
		status, err := strconv.Atoi(strings.TrimPrefix(name, "Code"))
		if !strings.HasPrefix(name, "Code") || err != nil {
			continue
		}
		for _, code := range s.Enum {
			c.codes[code] = status
		}
	}
	for path, methods := range plain.Paths {
		for method, raw := range methods {
			key := opKey{path, strings.ToUpper(method)}
			c.operations = append(c.operations, key)
			var op struct {
				RedirectErrors []string `json:"x-authkit-redirect-errors"`
				When           string   `json:"x-authkit-when"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				return nil, err
			}
			c.optional[key] = op.When != ""
			if op.RedirectErrors != nil {
				c.redirectErrors[key] = op.RedirectErrors
			}
		}
	}
	slices.SortFunc(c.operations, func(a, b opKey) int { return strings.Compare(a.path+" "+a.method, b.path+" "+b.method) })
	return c, nil
}

// kitPath tells whether a path is one the kit serves (rather than the
// host's, in a test of middleware).
func kitPath(p string) bool {
	return strings.HasPrefix(p, "/_api/rest/v1/auth/") || strings.HasPrefix(p, "/_auth/")
}

// wrap is next, with every exchange on a kit path checked against the
// document: a failure fails t, printing the request and the answer.
func (c *contract) wrap(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !kitPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading the request to check it: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())

		check := r.Clone(r.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))
		ex := c.check(check, body, rec.Result())
		c.record(ex)
		if len(ex.problems) > 0 {
			t.Errorf("an exchange the OpenAPI document does not describe:\n%s", ex)
		}
	})
}

// exchange is one request and its answer, as checked.
type exchange struct {
	req      *http.Request
	reqBody  []byte
	resp     *http.Response
	respBody []byte
	op       opKey
	code     string // the error code answered, in the body or the redirect
	accepted bool   // the kit did what was asked
	problems []string
}

func (ex exchange) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "  %s %s (operation %s %s)\n", ex.req.Method, ex.req.URL.RequestURI(), ex.op.method, ex.op.path)
	for _, h := range []string{"Content-Type", "Origin", "Session", "Cookie", "X-CSRF-Token"} {
		if v := ex.req.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "  %s: %s\n", h, v)
		}
	}
	fmt.Fprintf(&b, "  %s\n", clip(ex.reqBody))
	fmt.Fprintf(&b, "  -> %d\n", ex.resp.StatusCode)
	for _, h := range []string{"Content-Type", "Location", "Allow", "Retry-After"} {
		if v := ex.resp.Header.Get(h); v != "" {
			fmt.Fprintf(&b, "  %s: %s\n", h, v)
		}
	}
	fmt.Fprintf(&b, "  %s\n", clip(ex.respBody))
	for _, p := range ex.problems {
		fmt.Fprintf(&b, "  * %s\n", p)
	}
	return b.String()
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// check checks one exchange against the document.
func (c *contract) check(r *http.Request, reqBody []byte, resp *http.Response) exchange {
	respBody, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	ex := exchange{req: r, reqBody: reqBody, resp: resp, respBody: respBody}
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		// A CORS preflight: the document states its answers in its
		// description; it is no route of its own.
		ex.op = opKey{unrouted, http.MethodOptions}
		if resp.StatusCode != http.StatusNoContent {
			ex.errorBody(c, resp.StatusCode)
		}
		return ex
	}
	status := resp.StatusCode
	redirect := url.Values{}
	if status/100 == 3 {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			ex.fail("a redirect without a usable Location: %v", err)
		} else {
			redirect = loc.Query()
		}
		ex.code = redirect.Get("error")
		ex.accepted = ex.code == ""
	} else {
		ex.accepted = status < 300
	}

	item, _, template := paths.FindPath(r, c.model, c.options)
	var op *v3.Operation
	if item != nil {
		op = item.GetOperations().GetOrZero(strings.ToLower(r.Method))
	}
	reqOK, reqErrs := true, []string(nil)
	if op != nil {
		ok, errs := c.validator.ValidateHttpRequestSync(r)
		reqOK = ok
		for _, e := range errs {
			reqErrs = append(reqErrs, describe(e.Message, e.Reason, e.SchemaValidationErrors))
		}
	}
	offRoute := op != nil && status == http.StatusNotFound && c.optional[opKey{template, r.Method}]
	if op == nil || (!reqOK && status == http.StatusNotFound) || offRoute {
		// No operation takes the request, its path parameter is one the
		// router refuses, or its operation is off in this kit's Config:
		// the kit must say so, and nothing else.
		ex.op = opKey{unrouted, ""}
		switch {
		case status == http.StatusNotFound:
			ex.errorBody(c, status)
			if ex.code != "not_found" {
				ex.fail("a request no operation takes answered %s, not not_found", ex.code)
			}
		case item != nil && status == http.StatusMethodNotAllowed:
			ex.errorBody(c, status)
			if ex.code != "method_not_allowed" || resp.Header.Get("Allow") == "" {
				ex.fail("a method the path does not take answered %s, Allow %q", ex.code, resp.Header.Get("Allow"))
			}
		default:
			ex.fail("no operation of the document takes this request (%s), yet the kit answered %d", strings.Join(reqErrs, "; "), status)
		}
		return ex
	}
	ex.op = opKey{template, r.Method}
	if !reqOK && ex.accepted {
		ex.fail("the document refuses the request, which the kit accepted: %s", strings.Join(reqErrs, "; "))
	}
	if ok, errs := c.validator.ValidateHttpResponse(r, resp); !ok {
		for _, e := range errs {
			ex.fail("the answer: %s", describe(e.Message, e.Reason, e.SchemaValidationErrors))
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	switch {
	case status/100 == 3 && ex.code != "":
		ex.redirectError(c, redirect)
	case status >= 400:
		ex.errorBody(c, status)
	}
	return ex
}

// errorBody checks an error answer's body by the code table, for the
// answers no operation describes, and reads its code.
func (ex *exchange) errorBody(c *contract, status int) {
	var body struct {
		Errors []struct {
			Origin, Code, Message string
			Details               map[string]any
		}
	}
	if err := json.Unmarshal(ex.respBody, &body); err != nil || len(body.Errors) != 1 {
		ex.fail("an error answer that is not the Altogic error body")
		return
	}
	e := body.Errors[0]
	ex.code = e.Code
	origin := "client_error"
	if status >= 500 {
		origin = "server_error"
	}
	if e.Origin != origin || e.Message == "" {
		ex.fail("an error with origin %q (not %q), message %q", e.Origin, origin, e.Message)
	}
	if s, ok := c.codes[e.Code]; ok && s != status {
		ex.fail("code %s answered with %d; the document gives it %d", e.Code, status, s)
	} else if !ok && (status < 400 || status >= 500) {
		ex.fail("code %s, not in the document, answered with %d", e.Code, status)
	}
}

// redirectError checks the error a redirect carries in its query: a
// code of the kit's must be one the operation lists, with its status;
// any other is a hook's refusal, the app's own code.
func (ex *exchange) redirectError(c *contract, q url.Values) {
	s, ok := c.codes[ex.code]
	if raw := q.Get("status"); raw != "" && ok && raw != strconv.Itoa(s) {
		ex.fail("the redirect carries %s with status %s; the document gives it %d", ex.code, raw, s)
	}
	if allowed, listed := c.redirectErrors[ex.op]; listed && ok && !slices.Contains(allowed, ex.code) {
		ex.fail("the redirect carries %s, which the document does not list for %s %s (x-authkit-redirect-errors)", ex.code, ex.op.method, ex.op.path)
	}
}

func (ex *exchange) fail(format string, args ...any) {
	ex.problems = append(ex.problems, fmt.Sprintf(format, args...))
}

func describe[T error](message, reason string, schemaErrs []T) string {
	s := message
	if reason != "" && reason != message {
		s += ": " + reason
	}
	for _, e := range schemaErrs {
		s += " [" + e.Error() + "]"
	}
	return s
}

// record notes what an exchange covered.
func (c *contract) record(ex exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen[ex.op] = true
	if ex.resp != nil {
		c.answers[answerKey{ex.op, ex.resp.StatusCode, ex.code}] = true
	}
	if ex.accepted && len(ex.problems) == 0 {
		c.succeeded[ex.op] = true
	}
	if ex.code != "" {
		c.seenCodes[ex.code] = true
	}
}

// report lists every kind of answer each operation gave, for a reader
// checking the document's lists of answers against what the kit does:
//
//	AUTHKIT_OPENAPI_REPORT=/tmp/answers.txt go test .
func (c *contract) report() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lines []string
	for a := range c.answers {
		lines = append(lines, fmt.Sprintf("%s %s %d %s", a.op.method, a.op.path, a.status, a.code))
	}
	slices.Sort(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// coverage is an error naming every operation of the document that no
// exchange succeeded with, and every code of its table that none
// answered (unseenCodes aside).
func (c *contract) coverage() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for _, op := range c.operations {
		if !c.succeeded[op] {
			missing = append(missing, fmt.Sprintf("operation %s %s never succeeded", op.method, op.path))
		}
	}
	for _, u := range []opKey{{unrouted, ""}} {
		if !c.seen[u] {
			missing = append(missing, "no request to a route the kit does not serve")
		}
	}
	for code := range c.codes {
		_, excused := unseenCodes[code]
		if !c.seenCodes[code] && !excused {
			missing = append(missing, "code "+code+" never answered")
		}
	}
	for code := range unseenCodes {
		if _, ok := c.codes[code]; !ok {
			missing = append(missing, "unseenCodes names "+code+", which the document does not have")
		} else if c.seenCodes[code] {
			missing = append(missing, "unseenCodes excuses "+code+", which an exchange answered: drop the excuse")
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return fmt.Errorf("\n  %s", strings.Join(missing, "\n  "))
}

// The validator can fail: answers that drift from the document are
// caught, each for its own reason.
func TestOpenAPIContractCatchesDrift(t *testing.T) {
	t.Parallel()
	c := theContract()
	user := `{"_id":"u1","provider":"altogic","providerUserId":"u1","email":"a@example.com","emailVerified":true,"signUpAt":"2030-01-02T03:04:05.000Z","lastLoginAt":"2030-01-02T03:04:05.000Z"}`
	session := `{"userId":"u1","token":"t","creationDtm":"2030-01-02T03:04:05.000Z","userAgent":{"family":"Chrome","major":"1","minor":"0","patch":"0","device":{"family":"Other","major":"","minor":"","patch":""},"os":{"family":"Mac OS X","major":"","minor":"","patch":""}},"accessGroupKeys":[]}`
	signIn := `{"user":` + user + `,"session":` + session + `}`
	const signInBody = `{"email":"a@example.com","password":"correct horse battery"}`
	for _, tc := range []struct {
		name, method, path, reqBody string
		status                      int
		header                      map[string]string
		respBody                    string
		want                        string // in a problem; "" for none
	}{
		{"as documented", "POST", api + "signin-email", signInBody, 200, nil, signIn, ""},
		{"pending sign-up", "POST", api + "signup-email", signInBody, 200, nil, `{"user":` + user + `,"session":null}`, ""},
		{"a session field too many", "POST", api + "signin-email", signInBody, 200, nil,
			strings.Replace(signIn, `"accessGroupKeys":[]`, `"accessGroupKeys":[],"hash":"x"`, 1), "hash"},
		{"a required user field missing", "POST", api + "signin-email", signInBody, 200, nil,
			strings.Replace(signIn, `"_id":"u1",`, "", 1), "_id"},
		{"a secret in the user", "GET", api + "user", "", 200, nil,
			strings.Replace(user, `"provider":"altogic"`, `"provider":"altogic","passwordHash":"$argon2id$..."`, 1), "'not' failed"},
		{"a null where the client casts", "GET", api + "user", "", 200, nil,
			strings.Replace(user, `"provider":"altogic"`, `"provider":null`, 1), "provider"},
		{"a status the operation does not have", "POST", api + "signin-email", signInBody, 201, nil, signIn, "201"},
		{"a code at another status", "POST", api + "signin-email", signInBody, 400, nil,
			`{"errors":[{"origin":"client_error","code":"invalid_credentials","message":"No."}]}`, "answer"},
		{"a server error as a client's", "POST", api + "signin-email", signInBody, 500, nil,
			`{"errors":[{"origin":"client_error","code":"internal_error","message":"No."}]}`, "answer"},
		{"an error body that is not Altogic's", "POST", api + "signin-email", signInBody, 401, nil,
			`{"error":"invalid_credentials"}`, "answer"},
		{"a 429 without Retry-After", "POST", api + "signin-email", signInBody, 429, nil,
			`{"errors":[{"origin":"client_error","code":"too_many_requests","message":"No."}]}`, "Retry-After"},
		{"a 429 with Retry-After", "POST", api + "signin-email", signInBody, 429, map[string]string{"Retry-After": "30"},
			`{"errors":[{"origin":"client_error","code":"too_many_requests","message":"No."}]}`, ""},
		{"a request the document refuses, accepted", "POST", api + "signin-email", `{"email":"a@example.com"}`, 200, nil, signIn, "refuses the request"},
		{"an undocumented route that answers", "GET", api + "whoami", "", 200, nil, `{}`, "no operation"},
		{"an undocumented route, 404", "GET", api + "whoami", "", 404, nil,
			`{"errors":[{"origin":"client_error","code":"not_found","message":"No."}]}`, ""},
		{"a redirect with an error not listed", "GET", "/_auth/verify?key=k", "", 303,
			map[string]string{"Location": "https://app.example.com/after?status=401&error=invalid_credentials"}, "", "does not list"},
		{"a redirect's status not its code's", "GET", "/_auth/verify?key=k", "", 303,
			map[string]string{"Location": "https://app.example.com/after?status=404&error=invalid_token"}, "", "status 404"},
		{"a redirect without Location", "GET", "/_auth/verify?key=k", "", 303, nil, "", "Location"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.reqBody))
			if tc.reqBody != "" {
				r.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			for k, v := range tc.header {
				rec.Header().Set(k, v)
			}
			if tc.respBody != "" {
				rec.Header().Set("Content-Type", "application/json; charset=utf-8")
			}
			rec.WriteHeader(tc.status)
			rec.WriteString(tc.respBody)
			ex := c.check(r, []byte(tc.reqBody), rec.Result())
			if tc.want == "" {
				require.Empty(t, ex.problems, "%s", ex)
				return
			}
			require.NotEmpty(t, ex.problems, "the drift passed:\n%s", ex)
			require.Contains(t, strings.Join(ex.problems, "\n"), tc.want, "%s", ex)
		})
	}
}

// The document is a valid OpenAPI 3.1 document.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	t.Parallel()
	ok, errs := theContract().validator.ValidateDocument()
	for _, e := range errs {
		t.Errorf("%s: %s", e.Message, e.Reason)
	}
	require.True(t, ok)
	require.Equal(t, authkit.OpenAPI(), authkit.OpenAPI())
	b := authkit.OpenAPI()
	b[0] = 'x'
	require.NotEqual(t, b, authkit.OpenAPI(), "OpenAPI returns a copy")
}

// Config.ServeOpenAPI serves the document; off, as by default, the path
// is no route.
func TestServeOpenAPI(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.ServeOpenAPI = authkit.On })
	a := h.get(api+"openapi.json", "")
	require.Equal(t, http.StatusOK, a.status)
	require.Equal(t, authkit.OpenAPI(), a.raw)

	off := newHarness(t)
	requireStatusCode(t, off.get(api+"openapi.json", ""), http.StatusNotFound, "not_found")
}

// The coverage check can fail: a contract that saw nothing names every
// operation and code; one that saw all but one names that one.
func TestOpenAPICoverageCanFail(t *testing.T) {
	t.Parallel()
	c, err := newContract(authkit.OpenAPI())
	require.NoError(t, err)
	err = c.coverage()
	require.Error(t, err)
	require.Contains(t, err.Error(), "operation POST /_api/rest/v1/auth/signin-email never succeeded")
	require.Contains(t, err.Error(), "code invalid_credentials never answered")
	require.Contains(t, err.Error(), "no request to a route the kit does not serve")
	require.NotContains(t, err.Error(), "code forbidden", "excused")

	for _, op := range c.operations {
		c.record(exchange{op: op, accepted: true})
	}
	c.record(exchange{op: opKey{unrouted, ""}})
	for code := range c.codes {
		if code != "phone_taken" && unseenCodes[code] == "" {
			c.record(exchange{code: code})
		}
	}
	err = c.coverage()
	require.Error(t, err)
	require.Equal(t, "\n  code phone_taken never answered", err.Error())
	c.record(exchange{code: "phone_taken"})
	require.NoError(t, c.coverage())
}
