package authkit_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// Bad input gets a 4xx with a clear code, never a 500 (DESIGN §3; SECURITY
// 3, 12, 27, 33, 34). h.do already checks that every answer is JSON, below
// 500 and no-store; these tests check the status and the code.

// inputPassword is a good password for the accounts these tests make.
const inputPassword = "correct horse battery"

// requireCode checks an error answer's status and code.
func requireStatusCode(t *testing.T, a answer, status int, code string) {
	t.Helper()
	require.Equal(t, status, a.status, "%s", a.raw)
	require.Equal(t, code, a.code(), "%s", a.raw)
}

// errorDetails is the details object of an error answer.
func answerDetails(t *testing.T, a answer) map[string]any {
	t.Helper()
	errs, _ := a.body["errors"].([]any)
	require.NotEmpty(t, errs, "%s", a.raw)
	e, _ := errs[0].(map[string]any)
	d, _ := e["details"].(map[string]any)
	require.NotNil(t, d, "the error has details: %s", a.raw)
	return d
}

// emailOfLength is a well-formed address of exactly n characters (n ≥ 76),
// with a 64-character local part and DNS labels no longer than 63.
func emailOfLength(n int) string {
	local := strings.Repeat("l", 64)
	domainLen := n - len(local) - 1
	labels := []string{}
	rest := domainLen - len(".com")
	for rest > 0 {
		l := min(rest, 61)
		if rest-l == 1 { // never leave a label of 0 characters
			l--
		}
		labels = append(labels, strings.Repeat("d", l))
		rest -= l + 1
	}
	e := local + "@" + strings.Join(labels, ".") + ".com"
	if len(e) != n {
		panic("emailOfLength: got " + strconv.Itoa(len(e)))
	}
	return e
}

// badEmails are addresses every email input refuses with invalid_email.
// inQuery says whether the case applies to the query of the send routes,
// where a space reads as '+' (the client does not encode the query).
var badEmails = []struct {
	name    string
	email   string
	inJSON  bool
	inQuery bool
}{
	{"empty", "", true, true},
	{"only spaces", "   ", true, true},
	{"no at", "ann.example.com", true, true},
	{"display name", "Ann <ann@example.com>", true, true},
	{"angle brackets", "<ann@example.com>", true, true},
	{"two at", "ann@b@example.com", true, true},
	{"space in local part", "ann smith@example.com", true, false},
	{"space in domain", "ann@exam ple.com", true, false},
	{"tab", "ann\t@example.com", true, true},
	{"NUL", "ann\x00@example.com", true, true},
	{"CR LF", "ann\r\n@example.com", true, true},
	{"DEL", "ann\x7f@example.com", true, true},
	{"255 chars", emailOfLength(255), true, true},
	{"1000 chars", strings.Repeat("a", 990) + "@example.com", true, true},
	{"local part of 65", strings.Repeat("l", 65) + "@example.com", true, true},
	{"trailing dot in domain", "ann@example.com.", true, true},
	{"leading dot in domain", "ann@.example.com", true, true},
	{"no dot in domain", "ann@localhost", true, true},
	{"no local part", "@example.com", true, true},
	{"no domain", "ann@", true, true},
	{"list", "ann@example.com, bob@example.com", true, true},
	{"invalid UTF-8", "ann\xff@example.com", false, true},
}

func TestInputBadEmails(t *testing.T) {
	h := newHarness(t, noLimits)
	token := h.confirmedUser("owner@example.com", inputPassword)

	endpoints := []struct {
		name  string
		query bool
		call  func(email string) answer
	}{
		{"signup-email", false, func(email string) answer {
			return h.post(api+"signup-email", map[string]any{"email": email, "password": inputPassword}, "")
		}},
		{"signin-email", false, func(email string) answer {
			return h.post(api+"signin-email", map[string]any{"email": email, "password": inputPassword}, "")
		}},
		{"change-email", false, func(email string) answer {
			return h.post(api+"change-email", map[string]any{"currentPassword": inputPassword, "newEmail": email}, token)
		}},
		{"send-magic", true, func(email string) answer {
			return h.post(api+"send-magic?email="+url.QueryEscape(email), nil, "")
		}},
		{"send-reset", true, func(email string) answer {
			return h.post(api+"send-reset?email="+url.QueryEscape(email), nil, "")
		}},
		{"resend", true, func(email string) answer {
			return h.post(api+"resend?email="+url.QueryEscape(email), nil, "")
		}},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			for _, c := range badEmails {
				if (ep.query && !c.inQuery) || (!ep.query && !c.inJSON) {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					a := ep.call(c.email)
					requireStatusCode(t, a, http.StatusBadRequest, "invalid_email")
				})
			}
		})
	}
	// Nothing of that wrote anything: the owner's email is as it was.
	me := h.get(api+"user", token)
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	require.Equal(t, "owner@example.com", me.body["email"])
}

func TestInputEmailLengthLimit(t *testing.T) {
	h := newHarness(t)
	longest := emailOfLength(254)

	a := h.signUp(longest, inputPassword, nil)
	require.Equal(t, http.StatusOK, a.status, "an address of 254 characters is accepted: %s", a.raw)
	require.Equal(t, longest, a.user()["email"])
	h.mail(longest)

	send := h.post(api+"send-reset?email="+longest, nil, "")
	require.Equal(t, http.StatusOK, send.status, "%s", send.raw)

	requireStatusCode(t, h.signUp(emailOfLength(255), inputPassword, nil), http.StatusBadRequest, "invalid_email")
	requireStatusCode(t, h.post(api+"send-reset?email="+emailOfLength(255), nil, ""), http.StatusBadRequest, "invalid_email")
}

// resetKey asks for a reset link for email, follows it and returns the key
// that resetPwdWithToken takes.
func resetKey(h *harness, email string) string {
	h.t.Helper()
	a := h.post(api+"send-reset?email="+email, nil, "")
	require.Equal(h.t, http.StatusOK, a.status, "%s", a.raw)
	q := h.follow(h.link(email))
	require.Equal(h.t, "reset-pwd", q.Get("action"))
	require.NotEmpty(h.t, q.Get("access_token"))
	return q.Get("access_token")
}

func TestInputBadPasswords(t *testing.T) {
	h := newHarness(t, noLimits)
	changer := h.confirmedUser("changer@example.com", inputPassword)
	h.confirmedUser("resetter@example.com", inputPassword)

	// Each endpoint sends pw as the new password of a request that is
	// otherwise right.
	endpoints := []struct {
		name string
		call func(i int, pw string) answer
		raw  func(i int, pwJSON string) answer // pwJSON is sent unescaped
	}{
		{"signup-email",
			func(i int, pw string) answer {
				return h.signUp("new"+strconv.Itoa(i)+"@example.com", pw, nil)
			},
			func(i int, pwJSON string) answer {
				return h.post(api+"signup-email", `{"email":"raw`+strconv.Itoa(i)+`@example.com","password":"`+pwJSON+`"}`, "")
			}},
		{"reset-pwd",
			func(_ int, pw string) answer {
				return h.post(api+"reset-pwd?key="+resetKey(h, "resetter@example.com"), map[string]any{"newPassword": pw}, "")
			},
			func(_ int, pwJSON string) answer {
				return h.post(api+"reset-pwd?key="+resetKey(h, "resetter@example.com"), `{"newPassword":"`+pwJSON+`"}`, "")
			}},
		{"change-pwd",
			func(_ int, pw string) answer {
				return h.post(api+"change-pwd", map[string]any{"newPassword": pw, "oldPassword": inputPassword}, changer)
			},
			func(_ int, pwJSON string) answer {
				return h.post(api+"change-pwd", `{"newPassword":"`+pwJSON+`","oldPassword":"`+inputPassword+`"}`, changer)
			}},
	}
	cases := []struct {
		name   string
		pw     string
		status int
		code   string
	}{
		{"7 characters", "Zebra42", http.StatusBadRequest, "password_too_short"},
		{"empty", "", http.StatusBadRequest, "password_too_short"},
		{"257 runes", strings.Repeat("é", 257), http.StatusBadRequest, "password_too_long"},
		{"40 KiB", strings.Repeat("x", 40<<10), http.StatusBadRequest, "password_too_long"},
		{"1 MiB", strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge, "request_too_large"},
		{"common", "password123", http.StatusBadRequest, "password_too_common"},
		{"common in another case", "Qwerty123", http.StatusBadRequest, "password_too_common"},
		{"common in capitals", "PASSWORD123", http.StatusBadRequest, "password_too_common"},
	}
	for _, ep := range endpoints {
		t.Run(ep.name, func(t *testing.T) {
			for i, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					a := ep.call(i, c.pw)
					requireStatusCode(t, a, c.status, c.code)
					if c.code == "password_too_short" {
						require.Equal(t, float64(8), answerDetails(t, a)["minLength"], "%s", a.raw)
					}
				})
			}
			// Invalid UTF-8 cannot be a password: the JSON decoder must not
			// quietly turn it into U+FFFD, which would make every such
			// password the same one.
			t.Run("invalid UTF-8", func(t *testing.T) {
				a := ep.raw(len(cases), strings.Repeat("\xff", 12))
				require.Equal(t, http.StatusBadRequest, a.status, "%s", a.raw)
			})
		})
	}

	// The longest password accepted is 256 characters, of any kind.
	a := h.signUp("longest@example.com", strings.Repeat("é", 256), nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	// Signing in with an absurd password is refused before any hashing,
	// as a failed sign-in, or as too large for the body cap.
	requireStatusCode(t, h.signIn("changer@example.com", strings.Repeat("x", 40<<10)), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signIn("changer@example.com", strings.Repeat("x", 1<<20)), http.StatusRequestEntityTooLarge, "request_too_large")
}

func TestInputBadUserData(t *testing.T) {
	h := newHarness(t)
	tooMany := map[string]any{}
	for i := range 33 {
		tooMany["field"+strconv.Itoa(i)] = i
	}
	cases := []struct {
		name string
		data any
	}{
		{"number", 42},
		{"array", []any{"Ann"}},
		{"bool", true},
		{"name is a number", map[string]any{"name": 5}},
		{"name is an object", map[string]any{"name": map[string]any{"first": "Ann"}}},
		{"profilePicture is a number", map[string]any{"profilePicture": 1}},
		{"name too long", strings.Repeat("n", 257)},
		{"33 fields", tooMany},
		{"key $where", map[string]any{"$where": "1 == 1"}},
		{"key with a dot", map[string]any{"a.b": 1}},
		{"key starting with a digit", map[string]any{"1st": 1}},
		{"empty key", map[string]any{"": 1}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			email := "data" + strconv.Itoa(i) + "@example.com"
			requireStatusCode(t, h.signUp(email, inputPassword, c.data), http.StatusBadRequest, "invalid_user_data")
			_, err := h.store.UserByEmail(t.Context(), email)
			require.ErrorIs(t, err, authkit.ErrNotFound, "a refused sign-up stores nothing")
		})
	}
	h.noMail("data0@example.com")
}

func TestInputPrivilegedUserDataIgnored(t *testing.T) {
	h := newHarness(t)
	a := h.signUp("ann@example.com", inputPassword, map[string]any{
		"_id":            "000000000000000000000001",
		"provider":       "google",
		"providerUserId": "google-1",
		"emailVerified":  true,
		"phoneVerified":  true,
		"signUpAt":       "2000-01-01T00:00:00.000Z",
		"lastLoginAt":    "2000-01-01T00:00:00.000Z",
		"password":       "injected password",
		"email":          "other@example.com",
		"name":           "Ann",
		"age":            30,
		"nick":           "Annie",
	})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	requireOwnFields := func(u map[string]any) {
		t.Helper()
		require.NotEqual(t, "000000000000000000000001", u["_id"])
		require.Equal(t, "altogic", u["provider"])
		require.Equal(t, u["_id"], u["providerUserId"])
		require.Equal(t, "ann@example.com", u["email"])
		require.Equal(t, "2030-01-02T03:04:05.000Z", u["signUpAt"])
		require.NotContains(t, u, "password")
		require.NotContains(t, u, "phoneVerified")
		require.Equal(t, "Ann", u["name"])
		require.Equal(t, float64(30), u["age"], "custom fields are kept, at the top level")
		require.Equal(t, "Annie", u["nick"])
	}
	u := a.user()
	requireOwnFields(u)
	require.Equal(t, false, u["emailVerified"])
	require.Nil(t, a.body["session"], "the email still needs confirming")
	h.noMail("other@example.com")

	// The injected password is no password of the account.
	requireStatusCode(t, h.signIn("ann@example.com", "injected password"), http.StatusUnauthorized, "invalid_credentials")
	q := h.follow(h.link("ann@example.com"))
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	me := h.get(api+"user", g.token())
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	requireOwnFields(me.body)
	require.Equal(t, true, me.body["emailVerified"], "verified by the link, not by the client")
}

func TestInputBadBodies(t *testing.T) {
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", inputPassword)

	endpoints := []struct {
		path     string
		token    string
		field    string // a string field of the body
		optional bool   // the body may be absent
	}{
		{api + "signup-email", "", "password", false},
		{api + "signin-email", "", "password", false},
		{api + "reset-pwd?key=somekey", "", "newPassword", false},
		{api + "change-pwd", token, "newPassword", false},
		{api + "change-email", token, "newEmail", false},
		{api + "signout", token, "token", true},
	}
	huge := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	cases := []struct {
		name        string
		body        any // nil: no body
		contentType string
		status      int
		code        string
		field       string // want details.field; "@" for the endpoint's field
	}{
		{"no body", nil, "", http.StatusBadRequest, "bad_request", ""},
		{"text/plain", `{}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"form", `a=b`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType, "unsupported_media_type", ""},
		{"malformed JSON", `{"email":`, "", http.StatusBadRequest, "bad_request", ""},
		{"not JSON", `hello`, "", http.StatusBadRequest, "bad_request", ""},
		{"unknown field", `{"bogus":1}`, "", http.StatusBadRequest, "bad_request", "bogus"},
		{"wrong type", `{"@":5}`, "", http.StatusBadRequest, "bad_request", "@"},
		{"object for a string", `{"@":{}}`, "", http.StatusBadRequest, "bad_request", "@"},
		{"two objects", `{}{}`, "", http.StatusBadRequest, "bad_request", ""},
		{"trailing garbage", `{} x`, "", http.StatusBadRequest, "bad_request", ""},
		{"array", `[]`, "", http.StatusBadRequest, "bad_request", ""},
		{"string", `"text"`, "", http.StatusBadRequest, "bad_request", ""},
		{"over 64 KiB", huge, "", http.StatusRequestEntityTooLarge, "request_too_large", ""},
	}
	for _, ep := range endpoints {
		t.Run(strings.TrimPrefix(ep.path, api), func(t *testing.T) {
			for _, c := range cases {
				if c.body == nil && ep.optional {
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					r := req{method: http.MethodPost, path: ep.path, token: ep.token}
					if s, ok := c.body.(string); ok {
						r.body = strings.ReplaceAll(s, "@", ep.field)
					}
					if c.contentType != "" {
						r.header = map[string]string{"Content-Type": c.contentType}
					}
					a := h.do(r)
					requireStatusCode(t, a, c.status, c.code)
					if c.field != "" {
						want := c.field
						if want == "@" {
							want = ep.field
						}
						require.Equal(t, want, answerDetails(t, a)["field"], "%s", a.raw)
					}
				})
			}
		})
	}
	// None of it signed the session out or changed the account.
	me := h.get(api+"user", token)
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	require.Equal(t, "ann@example.com", me.body["email"])
	require.Equal(t, http.StatusOK, h.signIn("ann@example.com", inputPassword).status)

	// A charset parameter is fine.
	a := h.do(req{method: http.MethodPost, path: api + "signin-email",
		body:   `{"email":"ann@example.com","password":"` + inputPassword + `"}`,
		header: map[string]string{"Content-Type": "application/json; charset=utf-8"}})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
}

func TestInputRoutes(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, api + "nope", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, api + "nope", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/_auth/nope/deeper", http.StatusNotFound, "not_found", ""}, // /_auth/nope is a provider's start: see TestOAuthUnknownOrUnconfiguredProvider
		{http.MethodGet, api + "signin-email/", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, api + "signin-email", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPut, api + "signup-email", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodPost, api + "grant", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodDelete, api + "user", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{http.MethodPost, "/_auth/verify", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			a := h.do(req{method: c.method, path: c.path})
			requireStatusCode(t, a, c.status, c.code)
			if c.allow != "" {
				require.Equal(t, c.allow, a.header.Get("Allow"))
			}
		})
	}
}

func TestInputBadKeys(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("ann@example.com", inputPassword)
	reset := resetKey(h, "ann@example.com")

	keys := []struct{ name, key string }{
		{"empty", ""},
		{"unknown", "dW5rbm93bi1rZXktb2YtdGhlLXJpZ2h0LWxlbmd0aC14eA"},
		{"1000 characters", strings.Repeat("k", 1000)},
		{"NUL", "%00"},
		{"path", "..%2F..%2Fetc"},
	}
	for _, k := range keys {
		t.Run("grant "+k.name, func(t *testing.T) {
			requireStatusCode(t, h.grant(k.key), http.StatusBadRequest, "invalid_token")
		})
		t.Run("reset-pwd "+k.name, func(t *testing.T) {
			a := h.post(api+"reset-pwd?key="+k.key, map[string]any{"newPassword": "a brand new password"}, "")
			requireStatusCode(t, a, http.StatusBadRequest, "invalid_token")
		})
		t.Run("link "+k.name, func(t *testing.T) {
			q := h.follow(h.srv.URL + "/_auth/verify?key=" + k.key)
			require.Equal(t, "400", q.Get("status"))
			require.Equal(t, "invalid_token", q.Get("error"))
			require.Empty(t, q.Get("access_token"))
		})
	}
	t.Run("link without key", func(t *testing.T) {
		q := h.follow(h.srv.URL + "/_auth/verify")
		require.Equal(t, "400", q.Get("status"))
		require.Equal(t, "invalid_token", q.Get("error"))
	})
	t.Run("a reset key is no grant key", func(t *testing.T) {
		requireStatusCode(t, h.grant(reset), http.StatusBadRequest, "invalid_token")
		// ... and asking did not spend it.
		a := h.post(api+"reset-pwd?key="+reset, map[string]any{"newPassword": "a brand new password"}, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	})
}

func TestInputPlusInQueryEmail(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("ann+tag@example.com", inputPassword)

	// The client puts the address in the query unencoded: '+' arrives as a
	// space, and the kit reads it back.
	a := h.post(api+"send-reset?email=ann+tag@example.com", nil, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	m := h.mail("ann+tag@example.com")
	require.Contains(t, m.Subject, "Reset")

	a = h.post(api+"send-magic?email=Ann+Tag@Example.com", nil, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	m = h.mail("ann+tag@example.com")
	require.Contains(t, m.Subject, "sign-in link")
	h.noMail("ann tag@example.com")
	h.noMail("ann@example.com")
}

func TestInputSignInFailuresAlike(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, h.signUp("pending@example.com", inputPassword, nil).status)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(t.Context(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: "google", ProviderUserID: "google-42",
		Email: "oauth@example.com", EmailVerified: true, SignUpAt: now, LastLoginAt: now,
	}))

	cases := []struct{ name, email, password string }{
		{"unknown account", "nobody@example.com", inputPassword},
		{"wrong password", "ann@example.com", "not the password"},
		{"wrong password in another case", "ann@example.com", strings.ToUpper(inputPassword)},
		{"OAuth-only account", "oauth@example.com", inputPassword},
		{"OAuth-only account, empty password", "oauth@example.com", ""},
		{"unconfirmed account, wrong password", "pending@example.com", "not the password"},
	}
	var first answer
	for i, c := range cases {
		a := h.signIn(c.email, c.password)
		requireStatusCode(t, a, http.StatusUnauthorized, "invalid_credentials")
		if i == 0 {
			first = a
			continue
		}
		require.Equal(t, string(first.raw), string(a.raw), "%s answers as %s does", c.name, cases[0].name)
		require.Equal(t, first.header.Get("Content-Type"), a.header.Get("Content-Type"), c.name)
	}
}

func TestInputSendAnswersAlike(t *testing.T) {
	h := newHarness(t)
	h.confirmedUser("verified@example.com", inputPassword)
	require.Equal(t, http.StatusOK, h.signUp("pending@example.com", inputPassword, nil).status)
	h.mail("pending@example.com") // the confirmation sent at sign-up

	for _, route := range []string{"send-magic", "send-reset", "resend"} {
		t.Run(route, func(t *testing.T) {
			var answers []answer
			for _, email := range []string{"nobody@example.com", "pending@example.com", "verified@example.com"} {
				a := h.post(api+route+"?email="+email, nil, "")
				require.Equal(t, http.StatusOK, a.status, "%s: %s", email, a.raw)
				answers = append(answers, a)
			}
			for _, a := range answers[1:] {
				require.Equal(t, string(answers[0].raw), string(a.raw), "the same body for every account")
				require.Equal(t, answers[0].header.Get("Content-Type"), a.header.Get("Content-Type"))
			}
		})
	}
	h.noMail("nobody@example.com")

	// What the routes did send went only where it makes sense.
	h.settle()
	got := map[string][]string{}
	for _, m := range h.box.Messages() {
		got[m.To] = append(got[m.To], m.Subject)
	}
	require.Len(t, got["verified@example.com"], 3, "confirmation, magic link and reset: %v", got)
	require.Len(t, got["pending@example.com"], 2, "confirmation at sign-up and on resend: %v", got)
}
