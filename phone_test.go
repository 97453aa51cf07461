package authkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/outbox"
)

// The phone flows end to end over HTTP, codes read from the texts.

func TestPhoneSignUpConfirmAndSignIn(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	a := h.signUpPhone("+1 (555) 555-5555", phonePassword, "Jobby")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Nil(t, a.body["session"], "no session while the phone is unconfirmed")
	require.Contains(t, a.body, "session")
	u := a.user()
	require.Equal(t, "+15555555555", u["phone"], "stored as E.164")
	require.Equal(t, false, u["phoneVerified"])
	require.Equal(t, "Jobby", u["name"])
	require.Equal(t, "altogic", u["provider"])
	require.Equal(t, u["_id"], u["providerUserId"])
	require.NotContains(t, u, "email")
	require.NotContains(t, u, "emailVerified")

	// Wrong password first: the unconfirmed state is told only to the owner.
	requireStatusCode(t, h.signInPhone("+15555555555", "wrong password!"), http.StatusUnauthorized, "invalid_credentials")
	requireStatusCode(t, h.signInPhone("+15555555555", phonePassword), http.StatusForbidden, "phone_not_verified")

	code := h.code("+15555555555")
	require.Regexp(t, `^\d{6}$`, code)
	v := h.post(phoneQuery("verify-phone", "+15555555555", code), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Equal(t, true, v.user()["phoneVerified"])
	require.Equal(t, u["_id"], v.user()["_id"])
	requireSessionShape(t, v.session())
	require.Equal(t, http.StatusOK, h.get(api+"user", v.token()).status)
	requireStatusCode(t, h.post(phoneQuery("verify-phone", "+15555555555", code), nil, ""), http.StatusBadRequest, "invalid_code")

	in := h.signInPhone("+1 555 555 5555", phonePassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	requireSessionShape(t, in.session())
	require.NotEqual(t, v.token(), in.token(), "every sign-in gets a fresh token")
	me := h.get(api+"user", in.token())
	require.Equal(t, "+15555555555", me.body["phone"])
	require.Equal(t, true, me.body["phoneVerified"])
}

// A number an account owns answers phone_taken. (A number that only has
// sign-ups waiting is anyone's who proves it: see pending_test.go.)
func TestPhoneSignUpOnAnOwnedNumberIsRefused(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	h.phoneUser("+15555555555", phonePassword)
	requireStatusCode(t, h.signUpPhone("+1-555-555-5555", "another good password", nil), http.StatusConflict, "phone_taken")
}

func TestPhoneSignUpIgnoresPrivilegedUserData(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.ProfileFields = []string{"name", "age"} })
	a := h.signUpPhone("+15555555501", phonePassword, map[string]any{
		"phoneVerified": true, "phone": "+15555555502", "_id": "x", "name": "Ann", "age": 30,
	})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Nil(t, a.body["session"], "phoneVerified in user data skips no confirmation")
	require.Equal(t, "+15555555501", a.user()["phone"])
	require.Equal(t, false, a.user()["phoneVerified"])
	require.Equal(t, float64(30), a.user()["age"])
	requireStatusCode(t, h.signInPhone("+15555555501", phonePassword), http.StatusForbidden, "phone_not_verified")
	h.code("+15555555501")
	h.noMail("+15555555502")
}

func TestPhoneAuthIsOffByDefault(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	token := h.confirmedUser("ann@example.com", phonePassword)
	for _, r := range []struct {
		path, token string
		body        any
	}{
		{api + "signup-phone", "", map[string]any{"phone": "+15555555555", "password": phonePassword}},
		{api + "signin-phone", "", map[string]any{"phone": "+15555555555", "password": phonePassword}},
		{phoneQuery("verify-phone", "+15555555555", "123456"), "", nil},
		{phoneQuery("resend-code", "+15555555555", ""), "", nil},
		{phoneQuery("send-code", "+15555555555", ""), "", nil},
		{phoneQuery("signin-code", "+15555555555", "123456"), "", nil},
		{phoneQuery("send-reset-code", "+15555555555", ""), "", nil},
		{phoneQuery("reset-pwd-code", "+15555555555", "123456"), "", map[string]any{"newPassword": "a new long password"}},
		{api + "change-phone", token, map[string]any{"currentPassword": phonePassword, "newPhone": "+15555555555"}},
	} {
		requireStatusCode(t, h.post(r.path, r.body, r.token), http.StatusForbidden, "feature_disabled")
	}
	h.noMail("+15555555555")
}

func TestPhoneConfirmationOff(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.PhoneConfirmation = authkit.Off })
	a := h.signUpPhone("+15555555555", phonePassword, nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	requireSessionShape(t, a.session())
	require.Equal(t, false, a.user()["phoneVerified"])
	h.noMail("+15555555555")
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", phonePassword).status)
	requireStatusCode(t, h.post(phoneQuery("resend-code", "+15555555555", ""), nil, ""), http.StatusForbidden, "feature_disabled")

	// Codes go to an unconfirmed number, and spending one confirms it.
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", "+15555555555", ""), nil, "").status)
	in := h.post(phoneQuery("signin-code", "+15555555555", h.code("+15555555555")), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, true, in.user()["phoneVerified"])
}

func TestPhoneResendVerificationCode(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555555", phonePassword, nil).status)
	first := h.code("+15555555555")
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("resend-code", "+15555555555", ""), nil, "").status)
	second := h.code("+15555555555")
	// Both codes are the one sign-up's: either makes its account, with its
	// password; then the other makes nothing.
	v := h.post(phoneQuery("verify-phone", "+15555555555", second), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", phonePassword).status)
	if first != second { // one chance in a million that they are the same
		requireStatusCode(t, h.post(phoneQuery("verify-phone", "+15555555555", first), nil, ""), http.StatusBadRequest, "invalid_code")
	}

	// A confirmed number gets no more confirmation codes.
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("resend-code", "+15555555555", ""), nil, "").status)
	h.noMail("+15555555555")
}

func TestPhoneSignInWithCode(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	h.phoneUser("+15555555555", phonePassword)
	send := h.post(phoneQuery("send-code", "+15555555555", ""), nil, "")
	require.Equal(t, http.StatusOK, send.status, "%s", send.raw)
	code := h.code("+15555555555")
	in := h.post(phoneQuery("signin-code", "+15555555555", code), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	requireSessionShape(t, in.session())
	require.Equal(t, "+15555555555", in.user()["phone"])
	require.Equal(t, http.StatusOK, h.get(api+"user", in.token()).status)
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555555", code), nil, ""), http.StatusBadRequest, "invalid_code")
}

func TestPhoneSignInCodesOff(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.SignInCodes = authkit.Off })
	h.phoneUser("+15555555555", phonePassword)
	requireStatusCode(t, h.post(phoneQuery("send-code", "+15555555555", ""), nil, ""), http.StatusForbidden, "feature_disabled")
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555555", "123456"), nil, ""), http.StatusForbidden, "feature_disabled")
	h.noMail("+15555555555")
	// The other phone flows still work.
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", phonePassword).status)
}

// A sign-in code to a number that only has a sign-up waiting makes the
// account, its number proven, with no password: whose would it keep?
func TestPhoneSignInCodeToAWaitingNumberMakesTheAccount(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555555", phonePassword, nil).status)
	h.code("+15555555555") // the confirmation sent at sign-up
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", "+15555555555", ""), nil, "").status)
	in := h.post(phoneQuery("signin-code", "+15555555555", h.code("+15555555555")), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, true, in.user()["phoneVerified"])
	requireStatusCode(t, h.signInPhone("+15555555555", phonePassword), http.StatusUnauthorized, "invalid_credentials")
}

// SECURITY 8: the phone send routes answer alike for unknown, unconfirmed
// and confirmed numbers, and text nothing to unknown ones.
func TestCodeSendRoutesAnswerAlike(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, noLimits)
	h.phoneUser("+15555555501", phonePassword)
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555502", phonePassword, nil).status)
	h.code("+15555555502")
	h.clock.Advance(time.Minute)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: "google", ProviderUserID: "google-42",
		Phone: "+15555555504", PhoneVerified: true, SignUpAt: now, LastLoginAt: now,
	}))

	for _, route := range []string{"send-code", "send-reset-code", "resend-code"} {
		t.Run(route, func(t *testing.T) {
			var answers []answer
			for _, phone := range []string{"+15555555503", "+15555555502", "+15555555501", "+15555555504"} {
				a := h.post(phoneQuery(route, phone, ""), nil, "")
				require.Equal(t, http.StatusOK, a.status, "%s: %s", phone, a.raw)
				answers = append(answers, a)
			}
			for _, a := range answers[1:] {
				require.Equal(t, string(answers[0].raw), string(a.raw), "the same body for every number")
				require.Equal(t, answers[0].header.Get("Content-Type"), a.header.Get("Content-Type"))
			}
		})
		h.settle()
		h.clock.Advance(time.Minute)
	}
	h.noMail("+15555555503")

	got := map[string]int{}
	for _, m := range h.box.Messages() {
		if m.Kind == outbox.KindSMS {
			got[m.To]++
		}
	}
	// 01: confirmation, sign-in code, reset code. 02, which a sign-up
	// waits for: its confirmation at sign-up, then a code from each route
	// (each would make the account). 04 (no password): a sign-in code only.
	require.Equal(t, map[string]int{"+15555555501": 3, "+15555555502": 4, "+15555555504": 1}, got)
}

func TestPhoneResetPassword(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	first := h.phoneUser("+15555555555", phonePassword)
	second := h.signInPhone("+15555555555", phonePassword).token()

	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", "+15555555555", ""), nil, "").status)
	code := h.code("+15555555555")
	require.Equal(t, http.StatusOK, h.get(api+"user", first).status, "asking for a reset changes nothing else")

	reset := func(code, pw string) answer {
		return h.post(phoneQuery("reset-pwd-code", "+15555555555", code), map[string]any{"newPassword": pw}, "")
	}
	requireStatusCode(t, reset(code, "short"), http.StatusBadRequest, "password_too_short")
	requireStatusCode(t, reset(code, "password123"), http.StatusBadRequest, "password_too_common")
	done := reset(code, "a new long password")
	require.Equal(t, http.StatusOK, done.status, "%s", done.raw)
	require.NotContains(t, done.body, "session", "a reset signs nobody in")
	require.NotContains(t, done.body, "user")

	for _, tok := range []string{first, second} {
		requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	}
	requireStatusCode(t, h.signInPhone("+15555555555", phonePassword), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555555", "a new long password").status)
	requireStatusCode(t, reset(code, "yet another password"), http.StatusBadRequest, "invalid_code")
}

// A password reset or change voids the codes that could sign in or reset.
func TestPhonePasswordChangesVoidCodes(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	tok := h.phoneUser("+15555555555", phonePassword)
	h.post(phoneQuery("send-code", "+15555555555", ""), nil, "")
	signIn := h.code("+15555555555")
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", "+15555555555", ""), nil, "")
	reset := h.code("+15555555555")

	ok := h.post(api+"change-pwd", map[string]any{"oldPassword": phonePassword, "newPassword": "a new long password"}, tok)
	require.Equal(t, http.StatusOK, ok.status, "%s", ok.raw)
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555555", signIn), nil, ""), http.StatusBadRequest, "invalid_code")
	a := h.post(phoneQuery("reset-pwd-code", "+15555555555", reset), map[string]any{"newPassword": "yet another password"}, "")
	requireStatusCode(t, a, http.StatusBadRequest, "invalid_code")

	// And a reset by code voids a pending sign-in code.
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-code", "+15555555555", ""), nil, "")
	signIn = h.code("+15555555555")
	h.clock.Advance(time.Minute)
	h.post(phoneQuery("send-reset-code", "+15555555555", ""), nil, "")
	reset = h.code("+15555555555")
	a = h.post(phoneQuery("reset-pwd-code", "+15555555555", reset), map[string]any{"newPassword": "yet another password"}, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	requireStatusCode(t, h.post(phoneQuery("signin-code", "+15555555555", signIn), nil, ""), http.StatusBadRequest, "invalid_code")
}

func TestPhoneChangePhone(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	tok := h.phoneUser("+15555555501", phonePassword)
	change := func(pw, phone string) answer {
		return h.post(api+"change-phone", map[string]any{"currentPassword": pw, "newPhone": phone}, tok)
	}
	requireStatusCode(t, change("nope nope nope", "+15555555503"), http.StatusForbidden, "wrong_password")
	requireStatusCode(t, change(phonePassword, "+1 555 555 5501"), http.StatusBadRequest, "phone_unchanged")
	requireStatusCode(t, change(phonePassword, "555-5503"), http.StatusBadRequest, "invalid_phone")
	h.noMail("+15555555503")

	a := change(phonePassword, "+1 555 555 5503")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "+15555555501", a.body["phone"], "nothing changes before the new number confirms")
	requireStatusCode(t, h.signInPhone("+15555555503", phonePassword), http.StatusUnauthorized, "invalid_credentials")

	v := h.post(phoneQuery("verify-phone", "+15555555503", h.code("+15555555503")), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Contains(t, v.body, "session")
	require.Nil(t, v.body["session"], "a change of number signs nobody in")
	require.Equal(t, "+15555555503", v.user()["phone"])
	require.Equal(t, true, v.user()["phoneVerified"])

	notice := h.mail("+15555555501")
	require.Contains(t, notice.Body, "changed")
	require.NotRegexp(t, `\d{6}`, notice.Body, "a notice carries no code")
	me := h.get(api+"user", tok)
	require.Equal(t, http.StatusOK, me.status, "the session lives on")
	require.Equal(t, "+15555555503", me.body["phone"])
	require.Equal(t, http.StatusOK, h.signInPhone("+15555555503", phonePassword).status)
	requireStatusCode(t, h.signInPhone("+15555555501", phonePassword), http.StatusUnauthorized, "invalid_credentials")
}

func TestPhoneChangeToANumberTakenMeanwhile(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	tok := h.phoneUser("+15555555501", phonePassword)
	a := h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": "+15555555503"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	code := h.code("+15555555503")
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: authkit.ProviderAltogic, ProviderUserID: "0123456789abcdef01234567",
		Phone: "+15555555503", PhoneVerified: true, SignUpAt: now, LastLoginAt: now,
	}))
	requireStatusCode(t, h.post(phoneQuery("verify-phone", "+15555555503", code), nil, ""), http.StatusConflict, "phone_taken")
	require.Equal(t, "+15555555501", h.get(api+"user", tok).body["phone"])
	h.noMail("+15555555501")
}

func TestPhoneChangeWithoutConfirmation(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) { c.PhoneConfirmation = authkit.Off })
	tok := h.signUpPhone("+15555555501", phonePassword, nil).token()
	a := h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": "+15555555503"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "+15555555503", a.body["phone"])
	require.Equal(t, false, a.body["phoneVerified"])
	require.Contains(t, h.mail("+15555555501").Body, "changed", "the old number is told")
	h.noMail("+15555555503")
}

func TestPhoneAddedToAnEmailAccount(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t)
	tok := h.confirmedUser("ann@example.com", phonePassword)
	a := h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": "+447911123456"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.NotContains(t, a.body, "phone")
	v := h.post(phoneQuery("verify-phone", "+44 7911 123456", h.code("+447911123456")), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Equal(t, "ann@example.com", v.user()["email"])
	require.Equal(t, "+447911123456", v.user()["phone"])
	in := h.signInPhone("+447911123456", phonePassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, "ann@example.com", in.user()["email"])
}

func TestPhoneConfig(t *testing.T) {
	t.Parallel()
	phone := func(c *authkit.Config) {
		c.PhoneAuth = authkit.On
		c.SMSSender = outbox.New()
	}
	for name, edit := range map[string]func(*authkit.Config){
		"phone on":             phone,
		"phone off, no sender": func(c *authkit.Config) { c.PhoneAuth = authkit.Off },
		"everything set": func(c *authkit.Config) {
			phone(c)
			c.PhoneConfirmation, c.SignInCodes = authkit.Off, authkit.Off
			c.CodeLength, c.CodeMaxAttempts = 10, 1
			c.CodeLifetime, c.CodeResendGap = 10*time.Minute, 10*time.Minute
			c.SMSTemplates = authkit.SMSTemplates{
				VerifyPhone: "{{.Code}} {{.Phone}} {{.AppName}} {{.Name}} {{duration .ExpiresIn}}",
				SignInCode:  "{{.Code}}", ResetCode: "{{.Code}}", PhoneChanged: "{{.Phone}} {{.NewPhone}}",
			}
		},
		"a short lifetime takes the gap down with it": func(c *authkit.Config) { phone(c); c.CodeLifetime = 30 * time.Second },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			edit(&cfg)
			_, err := authkit.New(cfg)
			require.NoError(t, err)
		})
	}
	for _, c := range []struct {
		name  string
		edit  func(*authkit.Config)
		field string
	}{
		{"phone on without a sender", func(c *authkit.Config) { c.PhoneAuth = authkit.On }, "SMSSender"},
		{"an unknown costly kind", func(c *authkit.Config) { c.CostlyNumbers = []authkit.NumberKind{"cheap"} }, "CostlyNumbers"},
		{"CodeLength 5", func(c *authkit.Config) { c.CodeLength = 5 }, "CodeLength"},
		{"CodeLength 11", func(c *authkit.Config) { c.CodeLength = 11 }, "CodeLength"},
		{"CodeLength negative", func(c *authkit.Config) { c.CodeLength = -6 }, "CodeLength"},
		{"CodeMaxAttempts negative", func(c *authkit.Config) { c.CodeMaxAttempts = -1 }, "CodeMaxAttempts"},
		{"CodeMaxAttempts 11", func(c *authkit.Config) { c.CodeMaxAttempts = 11 }, "CodeMaxAttempts"},
		{"CodeLifetime negative", func(c *authkit.Config) { c.CodeLifetime = -time.Minute }, "CodeLifetime"},
		{"CodeLifetime 11 minutes", func(c *authkit.Config) { c.CodeLifetime = 11 * time.Minute }, "CodeLifetime"},
		{"CodeResendGap negative", func(c *authkit.Config) { c.CodeResendGap = -time.Second }, "CodeResendGap"},
		{"CodeResendGap above the lifetime", func(c *authkit.Config) { c.CodeResendGap = 6 * time.Minute }, "CodeResendGap"},
		{"template that does not parse", func(c *authkit.Config) { c.SMSTemplates.SignInCode = "{{.Code" }, "SMSTemplates.SignInCode"},
		{"template with an unknown field", func(c *authkit.Config) { c.SMSTemplates.ResetCode = "{{.Unknown}}" }, "SMSTemplates.ResetCode"},
		{"template with an unknown function", func(c *authkit.Config) { c.SMSTemplates.PhoneChanged = "{{shout .Phone}}" }, "SMSTemplates.PhoneChanged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			c.edit(&cfg)
			_, err := authkit.New(cfg)
			require.Error(t, err)
			require.Contains(t, err.Error(), c.field)
		})
	}
}

func TestPhoneCustomTemplates(t *testing.T) {
	t.Parallel()
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.SMSTemplates.VerifyPhone = "Code for {{.Phone}}: {{.Code}}"
		c.CodeLifetime = 2 * time.Minute
	})
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555555", phonePassword, nil).status)
	m := h.mail("+15555555555")
	require.Regexp(t, `^Code for \+15555555555: \d{6}$`, m.Body)
	tok, err := h.store.LatestToken(context.Background(), authkit.PurposeConfirmPhone, "+15555555555", h.clock.Now())
	require.NoError(t, err)
	require.Equal(t, 2*time.Minute, tok.ExpiresAt.Sub(tok.CreatedAt))
}

// SMS pumping: numbers that pay whoever owns them when texted (premium
// rate, shared cost, satellite and international networks, short codes)
// are refused by every phone route with invalid_phone, before any text
// goes out; CostlyNumbers lets a kind through. (Found by an adversarial
// review: each was accepted and texted.)
func TestCostlyNumbersRefused(t *testing.T) {
	t.Parallel()
	costly := []string{
		"+1 900 234 5678",    // premium rate
		"+44 909 876 5432",   // premium rate
		"+979 123 456 789",   // international premium rate
		"+371 90 123 456",    // premium rate
		"+44 845 123 4567",   // libphonenumber: premium rate
		"+808 1234 5678",     // international shared cost
		"+49 180 12345",      // shared cost
		"+44 300 123 4567",   // UAN
		"+49 177 99 1234567", // voicemail
		"+881 6 1234 5678",   // GMSS satellite
		"+870 301 234 567",   // Inmarsat
		"+882 342 1234",      // international networks
		"+44 118 118",        // a short code
		"+49 11833",          // a short code
	}
	h := newPhoneHarness(t, noLimits)
	token := h.phoneUser("+15555555500", phonePassword)
	for _, phone := range costly {
		requireStatusCode(t, h.signUpPhone(phone, phonePassword, nil), http.StatusBadRequest, "invalid_phone")
		requireStatusCode(t, h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": phone}, token),
			http.StatusBadRequest, "invalid_phone")
		for _, route := range []string{"send-code", "send-reset-code", "resend-code"} {
			requireStatusCode(t, h.post(phoneQuery(route, phone, ""), nil, ""), http.StatusBadRequest, "invalid_phone")
		}
	}
	h.settle()
	require.Len(t, h.box.Messages(), 1, "nothing texted but the first account's confirmation")

	// A kind the host allows is an account like any other.
	allowed := newPhoneHarness(t, noLimits, func(c *authkit.Config) { c.CostlyNumbers = []authkit.NumberKind{authkit.NumberPremiumRate} })
	require.Equal(t, http.StatusOK, allowed.signUpPhone("+1 900 234 5678", phonePassword, nil).status)
	requireStatusCode(t, allowed.signUpPhone("+881 6 1234 5678", phonePassword, nil), http.StatusBadRequest, "invalid_phone")

	// The seeds' own number, and ordinary mobiles, stay accepted.
	for _, phone := range []string{"+15555555555", "+447911123456", "+4915123456789", "+919876543210", "+5511987654321"} {
		require.Equal(t, http.StatusOK, h.signUpPhone(phone, phonePassword, nil).status, phone)
	}
}
