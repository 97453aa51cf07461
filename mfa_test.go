package authkit_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"encoding/base64"
	"image/png"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
)

// Second factors (Config.MFA): a TOTP authenticator with recovery codes,
// and the sign-in that needs it. SECURITY 86 to 93.

// mfaSecret is the kit's secret in these tests: MFA needs one set.
var mfaSecret = bytes.Repeat([]byte("m"), 32)

// mfaOn turns second factors on, with a secret.
func mfaOn(c *authkit.Config) { c.MFA, c.Secret = authkit.On, mfaSecret }

// newMFAHarness is a harness with MFA on, confirmations off (a sign-up
// signs in) and cheap hashing.
func newMFAHarness(t *testing.T, edit ...func(*authkit.Config)) *harness {
	t.Helper()
	base := []func(*authkit.Config){mfaOn, authkit.CheapHashing, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off }}
	return newHarness(t, append(base, edit...)...)
}

// totpCode is the authenticator app's code for secret at now.
func totpCode(t *testing.T, secret string, now time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, now, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	require.NoError(t, err)
	return c
}

// now is the harness's clock, as the authenticator app reads it.
func (h *harness) now() time.Time { return h.clock.Now() }

// enrolTOTP enrols and confirms an authenticator for the session token,
// and returns its secret and the recovery codes. The clock then moves to
// the next time step, so that the next code is a new one.
func (h *harness) enrolTOTP(token string) (secret string, codes []string) {
	h.t.Helper()
	e := h.post(api+"mfa/totp/enrol", nil, token)
	require.Equal(h.t, http.StatusOK, e.status, "%s", e.raw)
	secret = e.body["secret"].(string)
	c := h.post(api+"mfa/totp/confirm", map[string]any{"code": totpCode(h.t, secret, h.now())}, token)
	require.Equal(h.t, http.StatusOK, c.status, "%s", c.raw)
	for _, v := range c.body["recoveryCodes"].([]any) {
		codes = append(codes, v.(string))
	}
	h.clock.Advance(30 * time.Second)
	return secret, codes
}

// mfaTicket checks that a sign-in answered 401 mfa_required with no
// session, and returns its ticket.
func mfaTicket(t *testing.T, a answer) string {
	t.Helper()
	requireStatusCode(t, a, http.StatusUnauthorized, "mfa_required")
	require.Nil(t, a.body["session"], "no session before the second factor")
	require.Empty(t, a.header.Values("Set-Cookie"), "no cookie before the second factor")
	d := answerDetails(t, a)
	require.Equal(t, float64(300), d["expiresIn"])
	ticket, _ := d["ticket"].(string)
	require.Len(t, ticket, 43, "a ticket carries 256 bits")
	return ticket
}

func (h *harness) verifyMFA(ticket, code string) answer {
	h.t.Helper()
	return h.post(api+"mfa/verify", map[string]any{"ticket": ticket, "code": code}, "")
}

// factorsOf is how many factors the session of token proved.
func (h *harness) factorsOf(token string) int {
	h.t.Helper()
	ctx, err := h.kit.Authenticate(h.t.Context(), token)
	require.NoError(h.t, err)
	s, ok := authkit.SessionFromContext(ctx)
	require.True(h.t, ok)
	return s.Factors
}

var recoveryCodeShape = regexp.MustCompile(`^[A-Z2-7]{5}-[A-Z2-7]{5}$`)

// SECURITY 86: enrolment answers a secret, its otpauth URI and a QR code
// of it; the factor is pending until a first code confirms it, which
// answers ten recovery codes once. From then on a password sign-in
// answers mfa_required with a ticket and no session, and the ticket with
// a code signs in with a session of two factors.
func TestMFAEnrolConfirmAndSignIn(t *testing.T) {
	t.Parallel()
	var events []authkit.FactorKind
	var mu sync.Mutex
	var methods []authkit.SignInMethod
	h := newMFAHarness(t, func(c *authkit.Config) {
		c.Hooks.AfterFactorChange = func(_ context.Context, u authkit.User, kind authkit.FactorKind, active bool) error {
			mu.Lock()
			defer mu.Unlock()
			require.Empty(t, u.PasswordHash)
			events = append(events, kind+map[bool]authkit.FactorKind{true: "+", false: "-"}[active])
			return nil
		}
		c.Hooks.AfterSignIn = func(_ context.Context, e authkit.SignInEvent) error {
			mu.Lock()
			defer mu.Unlock()
			methods = append(methods, e.Method)
			return nil
		}
	})
	up := h.signUp("ann@example.com", inputPassword, "Ann")
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	token := up.token()
	require.Equal(t, 1, h.factorsOf(token), "a sign-up proves one factor")

	e := h.post(api+"mfa/totp/enrol", nil, token)
	require.Equal(t, http.StatusOK, e.status, "%s", e.raw)
	secret := e.body["secret"].(string)
	require.Regexp(t, `^[A-Z2-7]{32}$`, secret, "160 bits in base32")
	key, err := otp.NewKeyFromURL(e.body["uri"].(string))
	require.NoError(t, err)
	require.Equal(t, "totp", key.Type())
	require.Equal(t, secret, key.Secret())
	require.Equal(t, "Test App", key.Issuer())
	require.Equal(t, "ann@example.com", key.AccountName())
	qr, ok := strings.CutPrefix(e.body["qrCode"].(string), "data:image/png;base64,")
	require.True(t, ok)
	raw, err := base64.StdEncoding.DecodeString(qr)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err)
	require.Equal(t, 256, img.Bounds().Dx())

	// Pending: sign-ins need one factor still.
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "a pending factor is asked for by no sign-in: %s", in.raw)

	// A wrong first code confirms nothing; the right one does, once.
	requireStatusCode(t, h.post(api+"mfa/totp/confirm", map[string]any{"code": wrongCode(totpCode(t, secret, h.now()))}, token), http.StatusBadRequest, "invalid_code")
	c := h.post(api+"mfa/totp/confirm", map[string]any{"code": totpCode(t, secret, h.now())}, token)
	require.Equal(t, http.StatusOK, c.status, "%s", c.raw)
	codes := c.body["recoveryCodes"].([]any)
	require.Len(t, codes, 10)
	seen := map[any]bool{}
	for _, rc := range codes {
		require.Regexp(t, recoveryCodeShape, rc)
		seen[rc] = true
	}
	require.Len(t, seen, 10, "ten different codes")
	requireStatusCode(t, h.post(api+"mfa/totp/confirm", map[string]any{"code": totpCode(t, secret, h.now())}, token), http.StatusConflict, "mfa_enrolled")
	requireStatusCode(t, h.post(api+"mfa/totp/enrol", nil, token), http.StatusConflict, "mfa_enrolled")

	// Sign-in: a ticket, then the session.
	h.clock.Advance(30 * time.Second)
	ticket := mfaTicket(t, h.signIn("ann@example.com", inputPassword))
	v := h.verifyMFA(ticket, totpCode(t, secret, h.now()))
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	requireSessionShape(t, v.session())
	require.Equal(t, up.user()["_id"], v.user()["_id"])
	require.Equal(t, 2, h.factorsOf(v.token()), "the session proved two factors")
	me := h.get(api+"user", v.token())
	require.Equal(t, http.StatusOK, me.status)

	// The ticket works once.
	h.clock.Advance(30 * time.Second)
	requireStatusCode(t, h.verifyMFA(ticket, totpCode(t, secret, h.now())), http.StatusBadRequest, "invalid_token")

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []authkit.FactorKind{"totp+"}, events, "AfterFactorChange on the confirmation")
	require.Equal(t, []authkit.SignInMethod{authkit.MethodSignUp, authkit.MethodPassword, authkit.MethodPassword}, methods,
		"AfterSignIn once per session, with the first factor's method; none for the ticket")
}

// SECURITY 87: every first factor asks for the second: a password (email
// or phone), a texted code, a magic link and an OAuth provider each
// answer mfa_required, and their tickets sign in as their method, on
// every store.
func TestMFARequiredOnEverySignIn(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, open func(t *testing.T) fullStore) {
		s := open(t)
		gh := oauthtest.NewGitHub(t)
		var mu sync.Mutex
		var methods []authkit.SignInMethod
		h := newMFAHarness(t, onStore(s, s), noLimits, func(c *authkit.Config) {
			c.EmailConfirmation = authkit.On // magic links need it
			c.PhoneAuth, c.PhoneConfirmation = authkit.On, authkit.Off
			c.Providers = map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}
			c.Hooks.AfterSignIn = func(_ context.Context, e authkit.SignInEvent) error {
				mu.Lock()
				defer mu.Unlock()
				methods = append(methods, e.Method)
				return nil
			}
		})
		lastMethod := func() authkit.SignInMethod {
			mu.Lock()
			defer mu.Unlock()
			return methods[len(methods)-1]
		}
		secret, _ := h.enrolTOTP(h.confirmedUser("bo@example.com", inputPassword))
		pup := h.signUpPhone("+15555550123", inputPassword, "Bo")
		require.Equal(t, http.StatusOK, pup.status, "%s", pup.raw)
		psecret, _ := h.enrolTOTP(pup.token())
		og := h.oauthSignIn("github")
		osecret, _ := h.enrolTOTP(og.token())

		for _, c := range []struct {
			name   string
			secret string
			first  func() answer
			method authkit.SignInMethod
		}{
			{"email and password", secret, func() answer { return h.signIn("bo@example.com", inputPassword) }, authkit.MethodPassword},
			{"magic link", secret, func() answer { return h.grant(h.magicGrant("bo@example.com")) }, authkit.MethodMagicLink},
			{"phone and password", psecret, func() answer { return h.signInPhone("+15555550123", inputPassword) }, authkit.MethodPassword},
			{"texted code", psecret, func() answer {
				require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", "+15555550123", ""), nil, "").status)
				return h.post(phoneQuery("signin-code", "+15555550123", h.code("+15555550123")), nil, "")
			}, authkit.MethodCode},
			{"oauth", osecret, func() answer {
				q := h.browser().signIn("github")
				require.Equal(t, "200", q.Get("status"), q.Get("error"))
				return h.grant(q.Get("access_token"))
			}, authkit.MethodOAuth},
		} {
			ticket := mfaTicket(t, c.first())
			v := h.verifyMFA(ticket, totpCode(t, c.secret, h.now()))
			require.Equal(t, http.StatusOK, v.status, "%s: %s", c.name, v.raw)
			require.NotEmpty(t, v.token(), c.name)
			require.Equal(t, c.method, lastMethod(), c.name)
			h.clock.Advance(30 * time.Second)
		}

		// The host's own sign-in asks too.
		_, err := h.kit.StartSession(clientCtx(t), h.userID("bo@example.com"))
		e := requireErrorCode(t, err, authkit.CodeMFARequired)
		a, err := h.kit.VerifyMFA(clientCtx(t), e.Details["ticket"].(string), totpCode(t, secret, h.now()))
		require.NoError(t, err)
		require.Equal(t, 2, a.Session.Factors)
		require.Equal(t, authkit.MethodHost, lastMethod())
	})
}

// SECURITY 88: a ticket lives five minutes, a newer one voids it, and a
// password reset or the host's disabling of the user between the two
// factors ends the sign-in.
func TestMFATicketExpiresAndDies(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, noLimits)
	up := h.signUp("cy@example.com", inputPassword, "Cy")
	secret, _ := h.enrolTOTP(up.token())

	ticket := mfaTicket(t, h.signIn("cy@example.com", inputPassword))
	h.clock.Advance(5*time.Minute + time.Second)
	requireStatusCode(t, h.verifyMFA(ticket, totpCode(t, secret, h.now())), http.StatusBadRequest, "invalid_token")

	// A newer sign-in voids the older ticket.
	h.clock.Advance(30 * time.Second)
	older := mfaTicket(t, h.signIn("cy@example.com", inputPassword))
	newer := mfaTicket(t, h.signIn("cy@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(older, totpCode(t, secret, h.now())), http.StatusBadRequest, "invalid_token")

	// A password reset between the factors ends the sign-in.
	key := h.resetKey("cy@example.com")
	require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "another good password"}, "").status)
	requireStatusCode(t, h.verifyMFA(newer, totpCode(t, secret, h.now())), http.StatusBadRequest, "invalid_token")

	// Disabling the user ends the sign-in too.
	h.clock.Advance(30 * time.Second)
	ticket = mfaTicket(t, h.signIn("cy@example.com", "another good password"))
	require.NoError(t, h.kit.DisableUser(h.t.Context(), h.userID("cy@example.com")))
	requireStatusCode(t, h.verifyMFA(ticket, totpCode(t, secret, h.now())), http.StatusBadRequest, "invalid_token")
}

// SECURITY 89: a TOTP code counts once: its time step, once accepted, is
// refused again, on this instance and on another sharing the store; and
// the clock may drift one step either way, no more.
func TestMFACodeReplayedAcrossInstances(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, open func(t *testing.T) fullStore) {
		s := open(t)
		a, b := twoInstances(t, s, mfaOn, noLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
		up := a.signUp("di@example.com", inputPassword, "Di")
		secret, _ := a.enrolTOTP(up.token())

		code := totpCode(t, secret, a.now())
		v := a.verifyMFA(mfaTicket(t, a.signIn("di@example.com", inputPassword)), code)
		require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
		ticket := mfaTicket(t, b.signIn("di@example.com", inputPassword))
		requireStatusCode(t, b.verifyMFA(ticket, code), http.StatusBadRequest, "invalid_code")
		requireStatusCode(t, b.verifyMFA(ticket, totpCode(t, secret, a.now().Add(-30*time.Second))), http.StatusBadRequest, "invalid_code")

		// Drift: a step ahead is accepted, two are not; behind it, nothing.
		requireStatusCode(t, b.verifyMFA(ticket, totpCode(t, secret, a.now().Add(time.Minute))), http.StatusBadRequest, "invalid_code")
		v = b.verifyMFA(ticket, totpCode(t, secret, a.now().Add(30*time.Second)))
		require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
		a.clock.Advance(30 * time.Second)
		ticket = mfaTicket(t, a.signIn("di@example.com", inputPassword))
		requireStatusCode(t, a.verifyMFA(ticket, totpCode(t, secret, a.now())), http.StatusBadRequest, "invalid_code")
		a.clock.Advance(60 * time.Second)
		v = a.verifyMFA(ticket, totpCode(t, secret, a.now().Add(-30*time.Second)))
		require.Equal(t, http.StatusOK, v.status, "a step behind, not used before: %s", v.raw)
	})
}

// SECURITY 90: a recovery code signs in once, in place of a TOTP code;
// used by 50 requests at once it works for exactly one, on every store.
func TestMFARecoveryCodeRaced(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			if st.env != "" {
				dbtest.Need(t, st.env)
			}
			t.Parallel()
			s := st.open(t)
			h := newMFAHarness(t, onStore(s, s), noLimits)
			up := h.signUp("ed@example.com", inputPassword, "Ed")
			_, codes := h.enrolTOTP(up.token())

			// In any case, without its dash.
			ticket := mfaTicket(t, h.signIn("ed@example.com", inputPassword))
			v := h.verifyMFA(ticket, strings.ToLower(strings.ReplaceAll(codes[0], "-", "")))
			require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
			h.clock.Advance(30 * time.Second)
			ticket = mfaTicket(t, h.signIn("ed@example.com", inputPassword))
			requireStatusCode(t, h.verifyMFA(ticket, codes[0]), http.StatusBadRequest, "invalid_code")

			// Removing the factor is idempotent in the store: only the
			// code's consumption lets one request through.
			wins := race(func() int {
				return h.post(api+"mfa/totp/remove", map[string]any{"code": codes[1]}, v.token()).status
			})
			require.Equal(t, 1, wins, "one recovery code, used once")
			in := h.signIn("ed@example.com", inputPassword)
			require.Equal(t, http.StatusOK, in.status, "removed: one factor again: %s", in.raw)
		})
	}
}

// SECURITY 91: wrong second factors count toward the account's failed
// sign-ins, as wrong passwords do: past the limit even the right code is
// refused.
func TestMFAWrongCodesLockOut(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, func(c *authkit.Config) {
		c.Limits = authkit.Limits{FailedSignIns: authkit.Rate{Max: 3, Per: time.Hour}}
	})
	up := h.signUp("fi@example.com", inputPassword, "Fi")
	secret, _ := h.enrolTOTP(up.token())
	ticket := mfaTicket(t, h.signIn("fi@example.com", inputPassword))
	right := totpCode(t, secret, h.now())
	for range 3 {
		requireStatusCode(t, h.verifyMFA(ticket, wrongCode(right)), http.StatusBadRequest, "invalid_code")
	}
	requireStatusCode(t, h.verifyMFA(ticket, right), http.StatusTooManyRequests, "too_many_requests")
	requireStatusCode(t, h.post(api+"mfa/totp/remove", map[string]any{"code": right}, up.token()), http.StatusTooManyRequests, "too_many_requests")
	h.clock.Advance(time.Hour)
	ticket = mfaTicket(t, h.signIn("fi@example.com", inputPassword))
	v := h.verifyMFA(ticket, totpCode(t, secret, h.now()))
	require.Equal(t, http.StatusOK, v.status, "the window ended: %s", v.raw)
}

// SECURITY 92: New refuses MFA without an explicit secret (a drawn one
// would lock every enrolled user out at the next restart) and without a
// FactorStore.
func TestNewRefusesMFAWithoutSecretOrStore(t *testing.T) {
	t.Parallel()
	cfg := validConfig()
	cfg.MFA = authkit.On
	_, err := authkit.New(cfg)
	require.ErrorContains(t, err, "MFA needs Config.Secret or Config.Secrets")
	cfg.Secret = mfaSecret
	cfg.Store, cfg.Limiter = storeOnly{memstore.New()}, memstore.New()
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "authkit.FactorStore")
	cfg.Store = memstore.New()
	_, err = authkit.New(cfg)
	require.NoError(t, err)
	cfg.Secret, cfg.Secrets = nil, [][]byte{mfaSecret}
	_, err = authkit.New(cfg)
	require.NoError(t, err)
}

// SECURITY 93: the factor's secret is stored sealed under the kit's
// secret, not as the app shows it; it opens after a rotation that keeps
// the old secret in Secrets, and under no other secret.
func TestMFASecretSealedAndRotated(t *testing.T) {
	t.Parallel()
	s := memstore.New()
	h := newMFAHarness(t, onStore(s, s), noLimits)
	up := h.signUp("gu@example.com", inputPassword, "Gu")
	secret, _ := h.enrolTOTP(up.token())
	f, err := s.FactorOf(t.Context(), h.userID("gu@example.com"), authkit.FactorTOTP)
	require.NoError(t, err)
	require.True(t, f.Active)
	require.NotContains(t, string(f.Secret), secret)
	raw, err := base32.StdEncoding.DecodeString(secret)
	require.NoError(t, err)
	require.False(t, bytes.Contains(f.Secret, raw), "the raw key is not stored either")

	newSecret := bytes.Repeat([]byte("n"), 32)
	rotated := newMFAHarness(t, onStore(s, s), noLimits, func(c *authkit.Config) {
		c.Secret, c.Secrets, c.Now = nil, [][]byte{newSecret, mfaSecret}, h.clock.Now
	})
	v := rotated.verifyMFA(mfaTicket(t, rotated.signIn("gu@example.com", inputPassword)), totpCode(t, secret, h.now()))
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)

	h.clock.Advance(30 * time.Second)
	other := newMFAHarness(t, onStore(s, s), noLimits, func(c *authkit.Config) { c.Secret, c.Now = newSecret, h.clock.Now })
	ticket := mfaTicket(t, other.signIn("gu@example.com", inputPassword))
	_, err = other.kit.VerifyMFA(clientCtx(t), ticket, totpCode(t, secret, h.now()))
	requireErrorCode(t, err, authkit.CodeInternal)
}

// Recovery codes are regenerated with a TOTP code only; the old ones
// stop working. Removal needs a code, and then sign-ins need one
// factor; the host's reset does the same without one.
func TestMFARegenerateRemoveAndReset(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	h := newMFAHarness(t, noLimits, func(c *authkit.Config) {
		c.Hooks.AfterFactorChange = func(_ context.Context, u authkit.User, kind authkit.FactorKind, active bool) error {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, u.Email+" "+string(kind)+map[bool]string{true: " on", false: " off"}[active])
			return nil
		}
	})
	up := h.signUp("hu@example.com", inputPassword, "Hu")
	token := up.token()
	secret, old := h.enrolTOTP(token)

	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{"code": old[0]}, token), http.StatusBadRequest, "invalid_code")
	r := h.post(api+"mfa/recovery/regenerate", map[string]any{"code": totpCode(t, secret, h.now())}, token)
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	fresh := r.body["recoveryCodes"].([]any)
	require.Len(t, fresh, 10)
	ticket := mfaTicket(t, h.signIn("hu@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(ticket, old[1]), http.StatusBadRequest, "invalid_code")
	v := h.verifyMFA(ticket, fresh[0].(string))
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)

	h.clock.Advance(30 * time.Second)
	requireStatusCode(t, h.post(api+"mfa/totp/remove", map[string]any{"code": wrongCode(totpCode(t, secret, h.now()))}, token), http.StatusBadRequest, "invalid_code")
	require.Equal(t, http.StatusOK, h.post(api+"mfa/totp/remove", map[string]any{"code": totpCode(t, secret, h.now())}, token).status)
	in := h.signIn("hu@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	require.Equal(t, 1, h.factorsOf(in.token()))
	requireStatusCode(t, h.post(api+"mfa/totp/remove", map[string]any{"code": totpCode(t, secret, h.now())}, token), http.StatusConflict, "mfa_not_enrolled")

	// Enrolled again, reset by the host.
	secret, _ = h.enrolTOTP(token)
	mfaTicket(t, h.signIn("hu@example.com", inputPassword))
	require.NoError(t, h.kit.ResetFactors(t.Context(), h.userID("hu@example.com")))
	in = h.signIn("hu@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	requireErrorCode(t, h.kit.ResetFactors(t.Context(), "no-such-user"), authkit.CodeUserNotFound)

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"hu@example.com totp on", "hu@example.com totp off", "hu@example.com totp on", "hu@example.com totp off"}, events)
}

// The Go API runs the same flows: enrol, confirm, verify.
func TestMFAGoAPI(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, noLimits)
	h.passwordUser("io@example.com")
	in, err := h.kit.SignInWithEmail(clientCtx(t), "io@example.com", inputPassword)
	require.NoError(t, err)
	ctx, err := h.kit.Authenticate(clientCtx(t), in.Token)
	require.NoError(t, err)
	e, err := h.kit.EnrolTOTP(ctx)
	require.NoError(t, err)
	codes, err := h.kit.ConfirmTOTP(ctx, totpCode(t, e.Secret, h.now()))
	require.NoError(t, err)
	require.Len(t, codes, 10)
	_, err = h.kit.SignInWithEmail(clientCtx(t), "io@example.com", inputPassword)
	mfa := requireErrorCode(t, err, authkit.CodeMFARequired)
	a, err := h.kit.VerifyMFA(clientCtx(t), mfa.Details["ticket"].(string), codes[9])
	require.NoError(t, err)
	require.Empty(t, a.User.PasswordHash)
	require.Equal(t, 2, a.Session.Factors)
	_, err = h.kit.RegenerateRecoveryCodes(ctx, codes[8])
	requireErrorCode(t, err, authkit.CodeInvalidCode)
	require.NoError(t, h.kit.RemoveTOTP(ctx, codes[8]))
}

// Bad input to the mfa routes answers 4xx with its code, and with MFA
// off every route answers feature_disabled.
func TestMFABadInput(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, noLimits)
	up := h.signUp("jo@example.com", inputPassword, "Jo")
	token := up.token()

	requireStatusCode(t, h.post(api+"mfa/totp/enrol", nil, ""), http.StatusUnauthorized, "missing_session_token")
	requireStatusCode(t, h.post(api+"mfa/totp/enrol", map[string]any{"x": 1}, token), http.StatusBadRequest, "bad_request")
	requireStatusCode(t, h.post(api+"mfa/totp/confirm", map[string]any{"code": "123456"}, token), http.StatusConflict, "mfa_not_enrolled")
	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{"code": "123456"}, token), http.StatusConflict, "mfa_not_enrolled")
	requireStatusCode(t, h.post(api+"mfa/totp/remove", map[string]any{"code": "123456"}, token), http.StatusConflict, "mfa_not_enrolled")
	requireStatusCode(t, h.post(api+"mfa/totp/confirm", nil, token), http.StatusBadRequest, "bad_request")
	requireStatusCode(t, h.post(api+"mfa/totp/confirm", `{"code":`, token), http.StatusBadRequest, "bad_request")

	secret, _ := h.enrolTOTP(token)
	ticket := mfaTicket(t, h.signIn("jo@example.com", inputPassword))
	code := totpCode(t, secret, h.now())
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no body", nil, http.StatusBadRequest, "bad_request"},
		{"unknown field", map[string]any{"ticket": ticket, "code": code, "extra": 1}, http.StatusBadRequest, "bad_request"},
		{"code not a string", map[string]any{"ticket": ticket, "code": 123456}, http.StatusBadRequest, "bad_request"},
		{"missing ticket", map[string]any{"code": code}, http.StatusBadRequest, "invalid_token"},
		{"unknown ticket", map[string]any{"ticket": strings.Repeat("A", 43), "code": code}, http.StatusBadRequest, "invalid_token"},
		{"overlong ticket", map[string]any{"ticket": strings.Repeat("A", 300), "code": code}, http.StatusBadRequest, "invalid_token"},
		{"missing code", map[string]any{"ticket": ticket}, http.StatusBadRequest, "invalid_code"},
		{"letters", map[string]any{"ticket": ticket, "code": "abcdef"}, http.StatusBadRequest, "invalid_code"},
		{"five digits", map[string]any{"ticket": ticket, "code": code[:5]}, http.StatusBadRequest, "invalid_code"},
		{"seven digits", map[string]any{"ticket": ticket, "code": code + "1"}, http.StatusBadRequest, "invalid_code"},
		{"recovery code with a 1", map[string]any{"ticket": ticket, "code": "AAAAA-AAAA1"}, http.StatusBadRequest, "invalid_code"},
	} {
		a := h.post(api+"mfa/verify", c.body, "")
		requireStatusCode(t, a, c.status, c.code)
	}
	v := h.verifyMFA(ticket, code[:3]+" "+code[3:])
	require.Equal(t, http.StatusOK, v.status, "spaces in a code are fine: %s", v.raw)

	off := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	offToken := off.signUp("ko@example.com", inputPassword, "Ko").token()
	requireStatusCode(t, off.post(api+"mfa/totp/enrol", nil, offToken), http.StatusForbidden, "feature_disabled")
	for _, route := range []string{"mfa/totp/confirm", "mfa/totp/remove", "mfa/recovery/regenerate"} {
		requireStatusCode(t, off.post(api+route, map[string]any{"code": "123456"}, offToken), http.StatusForbidden, "feature_disabled")
	}
	requireStatusCode(t, off.verifyMFA(strings.Repeat("A", 43), "123456"), http.StatusForbidden, "feature_disabled")
}

// stallFactors is a memstore whose FactorOf, once stalled, is held until
// its context ends.
type stallFactors struct {
	*stallStore
	factors atomic.Bool
}

func (s *stallFactors) FactorOf(ctx context.Context, userID string, kind authkit.FactorKind) (authkit.Factor, error) {
	if s.factors.Load() {
		<-ctx.Done()
		return authkit.Factor{}, ctx.Err()
	}
	return s.Store.FactorOf(ctx, userID, kind)
}

// The factor store is under Config.StoreTimeout too: a frozen database
// answers a sign-in of a user with a factor 503 once the bound passes.
func TestMFAStoreTimeout(t *testing.T) {
	t.Parallel()
	st := &stallFactors{stallStore: newStallStore()}
	logs := &syncBuffer{}
	h := boundHarness(t, st.stallStore, logs, mfaOn, authkit.CheapHashing, func(c *authkit.Config) { c.Store = st })
	h.enrolTOTP(h.confirmedUser("lu@example.com", inputPassword))
	st.factors.Store(true)
	status, retry, body, took := timedCall(t, http.MethodPost, h.srv.URL+api+"signin-email", "", `{"email":"lu@example.com","password":"`+inputPassword+`"}`)
	require.Equal(t, http.StatusServiceUnavailable, status, body)
	require.Equal(t, "5", retry)
	require.Less(t, took, 2*time.Second, "held past the bound")
	require.Contains(t, logs.String(), "timeout: FactorOf ran past Config.StoreTimeout")
}
