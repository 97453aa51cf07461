package authkit_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Bad phone numbers and codes get a 4xx with a clear code, never a 500,
// and change nothing (DESIGN §3).

// badPhones are numbers every phone input refuses with invalid_phone.
var badPhones = []struct{ name, phone string }{
	{"empty", ""},
	{"only spaces", "   "},
	{"plus alone", "+"},
	{"national format", "5555555555"},
	{"national format with brackets", "(555) 555-5555"},
	{"international prefix 00", "0015555555555"},
	{"two plus signs", "++15555555555"},
	{"letters", "+1-800-FLOWERS"},
	{"letters only", "+abcdefghij"},
	{"extension", "+15555555555 ext 12"},
	{"RFC 3966 extension", "+15555555555;ext=1"},
	{"tel URI", "tel:+15555555555"},
	{"too short for its country", "+1555"},
	{"too long for its country", "+1 555 555 55555"},
	{"UK number too short", "+44 123"},
	{"no such country code", "+999 1234567"},
	{"country code only", "+1"},
	{"trunk zeros that read differently twice", "+490000000"},
	{"over the 15 digits of E.164", "+8100100000000000"},
	{"33 characters", "+1" + strings.Repeat(" ", 21) + "5555555555"},
	{"over 32 characters of digits", "+" + strings.Repeat("5", 32)},
	{"1000 characters", "+" + strings.Repeat("5", 999)},
	{"NUL", "+1555555\x005555"},
	{"newline", "+1555555\n5555"},
	{"fullwidth digits", "+１５５５５５５５５５５"},
	{"Arabic-Indic digits", "+١٥٥٥٥٥٥٥٥٥٥"},
	{"invalid UTF-8", "+1555\xff5555555"},
	{"email", "ann@example.com"},
}

func TestInputBadPhones(t *testing.T) {
	h := newPhoneHarness(t, noLimits)
	token := h.phoneUser("+15555555500", phonePassword)

	jsonRoutes := []struct {
		name string
		call func(phone string) answer
	}{
		{"signup-phone", func(phone string) answer { return h.signUpPhone(phone, phonePassword, nil) }},
		{"signin-phone", func(phone string) answer { return h.signInPhone(phone, phonePassword) }},
		{"change-phone", func(phone string) answer {
			return h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": phone}, token)
		}},
	}
	queryRoutes := []struct {
		route, code string
		body        any
	}{
		{"send-code", "", nil},
		{"send-reset-code", "", nil},
		{"resend-code", "", nil},
		{"signin-code", "123456", nil},
		{"verify-phone", "123456", nil},
		{"reset-pwd-code", "123456", map[string]any{"newPassword": "a new long password"}},
	}
	for _, c := range badPhones {
		t.Run(c.name, func(t *testing.T) {
			for _, r := range jsonRoutes {
				if !strings.Contains(c.name, "UTF-8") { // JSON cannot carry it
					requireStatusCode(t, r.call(c.phone), http.StatusBadRequest, "invalid_phone")
				}
			}
			for _, r := range queryRoutes {
				a := h.post(phoneQuery(r.route, c.phone, r.code), r.body, "")
				requireStatusCode(t, a, http.StatusBadRequest, "invalid_phone")
			}
		})
	}
	me := h.get(api+"user", token)
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	require.Equal(t, "+15555555500", me.body["phone"], "nothing of that wrote anything")
	h.settle()
	require.Len(t, h.box.Messages(), 1, "nor sent anything but the first confirmation")
}

func TestInputPhoneFormatsAccepted(t *testing.T) {
	h := newPhoneHarness(t)
	for _, c := range []struct{ in, e164 string }{
		{"+15555555555", "+15555555555"},                                // the seeds' own number: possible, not assigned
		{" +1 555-555-5501 ", "+15555555501"},                           // spaces, dashes
		{"+1 (555) 555.5502", "+15555555502"},                           // brackets, dots
		{"+44 (0)20 7946 0958", "+442079460958"},                        // the national trunk 0 dropped
		{"+39 06 1234 5678", "+390612345678"},                           // Italy's leading 0 kept
		{"+1" + strings.Repeat(" ", 20) + "5555555503", "+15555555503"}, // 32 characters, the most
	} {
		t.Run(c.in, func(t *testing.T) {
			a := h.signUpPhone(c.in, phonePassword, nil)
			require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
			require.Equal(t, c.e164, a.user()["phone"])
			h.code(c.e164)
		})
	}
}

// A caller that does not encode the query sends '+' as a space; the kit
// reads it back.
func TestInputPlusInQueryPhone(t *testing.T) {
	h := newPhoneHarness(t)
	h.phoneUser("+15555555555", phonePassword)
	a := h.post(api+"send-code?phone=+15555555555", nil, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	code := h.code("+15555555555")
	in := h.post(api+"signin-code?phone=+1%20555%20555%205555&code="+code, nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
}

func TestInputBadCodes(t *testing.T) {
	h := newPhoneHarness(t, noLimits)
	h.phoneUser("+15555555501", phonePassword)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555502", phonePassword, nil).status)
	confirm := h.code("+15555555502")
	h.post(phoneQuery("send-code", "+15555555501", ""), nil, "")
	signIn := h.code("+15555555501")
	h.clock.Advance(60e9)
	h.post(phoneQuery("send-reset-code", "+15555555501", ""), nil, "")
	reset := h.code("+15555555501")

	codes := []struct{ name, code string }{
		{"empty", ""},
		{"letters", "abcdef"},
		{"a letter among digits", "12a456"},
		{"five digits", "12345"},
		{"seven digits", "1234567"},
		{"1000 digits", strings.Repeat("1", 1000)},
		{"spaces", "123 456"},
		{"leading space", " 12345"},
		{"sign", "-12345"},
		{"plus", "+12345"},
		{"decimal", "1234.5"},
		{"fullwidth digits", "１２３４５６"},
		{"NUL", "12345\x00"},
	}
	routes := []struct {
		route, phone string
		body         any
	}{
		{"signin-code", "+15555555501", nil},
		{"verify-phone", "+15555555502", nil},
		{"reset-pwd-code", "+15555555501", map[string]any{"newPassword": "a new long password"}},
	}
	for _, r := range routes {
		t.Run(r.route, func(t *testing.T) {
			for _, c := range codes {
				t.Run(c.name, func(t *testing.T) {
					path := api + r.route + "?phone=" + url.QueryEscape(r.phone) + "&code=" + url.QueryEscape(c.code)
					requireStatusCode(t, h.post(path, r.body, ""), http.StatusBadRequest, "invalid_code")
				})
			}
			// No code parameter at all.
			requireStatusCode(t, h.post(api+r.route+"?phone="+url.QueryEscape(r.phone), r.body, ""), http.StatusBadRequest, "invalid_code")
		})
	}
	// Malformed codes spent no tries: each real code still works.
	a := h.post(phoneQuery("reset-pwd-code", "+15555555501", reset), map[string]any{"newPassword": "a new long password"}, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("verify-phone", "+15555555502", confirm), nil, "").status)
	// The reset voided the sign-in code.
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555501", signIn), nil, ""), http.StatusBadRequest, "invalid_code")
}

func TestInputBadPhoneBodies(t *testing.T) {
	h := newPhoneHarness(t)
	token := h.phoneUser("+15555555555", phonePassword)
	endpoints := []struct {
		path, token, field string
	}{
		{api + "signup-phone", "", "phone"},
		{api + "signin-phone", "", "password"},
		{phoneQuery("reset-pwd-code", "+15555555555", "123456"), "", "newPassword"},
		{api + "change-phone", token, "newPhone"},
	}
	cases := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"no body", "", "", http.StatusBadRequest, "bad_request"},
		{"text/plain", `{}`, "text/plain", http.StatusUnsupportedMediaType, "unsupported_media_type"},
		{"malformed JSON", `{"phone":`, "", http.StatusBadRequest, "bad_request"},
		{"unknown field", `{"bogus":1}`, "", http.StatusBadRequest, "bad_request"},
		{"wrong type", `{"@":15555555555}`, "", http.StatusBadRequest, "bad_request"},
		{"array", `[]`, "", http.StatusBadRequest, "bad_request"},
		{"over 64 KiB", `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`, "", http.StatusRequestEntityTooLarge, "request_too_large"},
	}
	for _, ep := range endpoints {
		t.Run(ep.field+" "+ep.path, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := req{method: http.MethodPost, path: ep.path, token: ep.token}
					if c.body != "" {
						r.body = strings.ReplaceAll(c.body, "@", ep.field)
					}
					if c.contentType != "" {
						r.header = map[string]string{"Content-Type": c.contentType}
					}
					requireStatusCode(t, h.do(r), c.status, c.code)
				})
			}
		})
	}
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", phonePassword).status)
}

func TestInputPhoneRoutes(t *testing.T) {
	h := newPhoneHarness(t)
	for _, route := range []string{"signup-phone", "signin-phone", "verify-phone", "resend-code", "send-code", "signin-code", "send-reset-code", "reset-pwd-code", "change-phone"} {
		a := h.get(api+route, "")
		requireStatusCode(t, a, http.StatusMethodNotAllowed, "method_not_allowed")
		require.Equal(t, "POST", a.header.Get("Allow"))
	}
	requireStatusCode(t, h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": "+15555555555"}, ""),
		http.StatusUnauthorized, "missing_session_token")
}
