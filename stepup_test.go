package authkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// Step-up and the recent second factor that credential changes demand.
// SECURITY 94 to 96.

// SECURITY 94: an attacker holding a session the owner opened before
// enrolling an authenticator (stolen from a shared computer, say) tries to
// take the account: change its password, its email and its phone number,
// and to step the session up by guessing codes. Every change is refused
// with mfa_step_up_required, the guesses lock the step-up out, and the
// owner still signs in with the old password and the authenticator.
func TestStepUpGuardsCredentialChanges(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, func(c *authkit.Config) { c.PhoneAuth = authkit.On })
	up := h.signUp("own@example.com", inputPassword, "Owner")
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	stolen := up.token()
	owner := h.signIn("own@example.com", inputPassword).token()
	secret, _ := h.enrolTOTP(owner)

	for _, try := range []struct {
		path string
		body map[string]any
	}{
		{api + "change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "attacker-chosen-pw"}},
		{api + "change-email", map[string]any{"currentPassword": inputPassword, "newEmail": "mallory@example.com"}},
		{api + "change-phone", map[string]any{"currentPassword": inputPassword, "newPhone": "+14155550100"}},
	} {
		a := h.post(try.path, try.body, stolen)
		requireStatusCode(t, a, http.StatusForbidden, "mfa_step_up_required")
		d := answerDetails(t, a)
		require.Equal(t, true, d["enrolled"], try.path)
		require.Equal(t, float64(600), d["maxAge"], try.path)
	}
	for i := 0; ; i++ {
		a := h.post(api+"mfa/step-up", map[string]any{"code": wrongCode(totpCode(t, secret, h.now()))}, stolen)
		if a.status == http.StatusTooManyRequests {
			break
		}
		requireStatusCode(t, a, http.StatusBadRequest, "invalid_code")
		require.Less(t, i, 50, "guessed codes never locked the step-up out")
	}
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": totpCode(t, secret, h.now())}, stolen),
		http.StatusTooManyRequests, "too_many_requests")

	// What the attacker ended up with: nothing changed.
	u, err := h.kit.User(t.Context(), h.userID("own@example.com"))
	require.NoError(t, err)
	require.Equal(t, "own@example.com", u.Email)
	require.Empty(t, u.Phone)
	require.Equal(t, 1, h.factorsOf(stolen), "the stolen session is still one factor")
	h.clock.Advance(time.Hour) // the lockout ends
	ticket := mfaTicket(t, h.signIn("own@example.com", inputPassword))
	in := h.verifyMFA(ticket, totpCode(t, secret, h.now()))
	require.Equal(t, http.StatusOK, in.status, "the owner's password still works: %s", in.raw)
}

// SECURITY 95: step-up with a current code replaces the session with one
// of two factors: the old token dies (a copy that leaked before gains
// nothing), the code cannot be used again, and the new session may change
// credentials for RecentFactor, after which it must step up again.
func TestStepUpReplacesSession(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, noLimits)
	up := h.signUp("sue@example.com", inputPassword, "Sue")
	token := up.token()
	secret, codes := h.enrolTOTP(token)
	code := totpCode(t, secret, h.now())

	s := h.post(api+"mfa/step-up", map[string]any{"code": code}, token)
	require.Equal(t, http.StatusOK, s.status, "%s", s.raw)
	requireSessionShape(t, s.session())
	raised := s.token()
	require.NotEqual(t, token, raised)
	require.Equal(t, 2, h.factorsOf(raised))
	requireStatusCode(t, h.get(api+"user", token), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": code}, raised), http.StatusBadRequest, "invalid_code")

	ch := h.post(api+"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "a-new-password-1"}, raised)
	require.Equal(t, http.StatusOK, ch.status, "%s", ch.raw)

	h.clock.Advance(10*time.Minute + time.Second)
	requireStatusCode(t, h.post(api+"change-pwd", map[string]any{"oldPassword": "a-new-password-1", "newPassword": "a-new-password-2"}, raised),
		http.StatusForbidden, "mfa_step_up_required")
	again := h.post(api+"mfa/step-up", map[string]any{"code": codes[0]}, raised)
	require.Equal(t, http.StatusOK, again.status, "a recovery code steps up too: %s", again.raw)
	ch = h.post(api+"change-pwd", map[string]any{"oldPassword": "a-new-password-1", "newPassword": "a-new-password-2"}, again.token())
	require.Equal(t, http.StatusOK, ch.status, "%s", ch.raw)

	// A session that signed in with both factors is recent from the start.
	ticket := mfaTicket(t, h.signIn("sue@example.com", "a-new-password-2"))
	h.clock.Advance(30 * time.Second)
	in := h.verifyMFA(ticket, totpCode(t, secret, h.now()))
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	ch = h.post(api+"change-email", map[string]any{"currentPassword": "a-new-password-2", "newEmail": "sue2@example.com"}, in.token())
	require.Equal(t, http.StatusOK, ch.status, "%s", ch.raw)
}

// A user without a factor changes credentials from a one-factor session
// as before; step-up answers mfa_not_enrolled; with MFA off it is
// feature_disabled.
func TestStepUpWithoutFactor(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t)
	token := h.signUp("nof@example.com", inputPassword, "No").token()
	ch := h.post(api+"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "a-new-password-1"}, token)
	require.Equal(t, http.StatusOK, ch.status, "%s", ch.raw)
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": "123456"}, token), http.StatusConflict, "mfa_not_enrolled")

	off := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	t2 := off.signUp("off@example.com", inputPassword, "Off").token()
	requireStatusCode(t, off.post(api+"mfa/step-up", map[string]any{"code": "123456"}, t2), http.StatusForbidden, "feature_disabled")
}

// Each kind of bad step-up request has its 4xx.
func TestStepUpBadInput(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t)
	token := h.signUp("bad@example.com", inputPassword, "Bad").token()
	h.enrolTOTP(token)
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": "123456"}, ""), http.StatusUnauthorized, "missing_session_token")
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": "123456"}, "not-a-session"), http.StatusUnauthorized, "invalid_session_token")
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{"code": "12ab56"}, token), http.StatusBadRequest, "invalid_code")
	requireStatusCode(t, h.post(api+"mfa/step-up", map[string]any{}, token), http.StatusBadRequest, "invalid_code")
	require.Equal(t, http.StatusBadRequest, h.post(api+"mfa/step-up", map[string]any{"code": 123456}, token).status)
	require.Equal(t, http.StatusMethodNotAllowed, h.get(api+"mfa/step-up", token).status)
}

// SECURITY 96: RequireMFA lets through only a session of two factors,
// as recent as asked; a one-factor session is told whether its user has
// a factor to step up with.
func TestRequireMFA(t *testing.T) {
	t.Parallel()
	h := newAppHarness(t, func(k *authkit.Kit) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", k.Handler())
		private := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			hostHandler(w, r)
		})
		mux.Handle("/app/any", k.RequireMFA(0)(private))
		mux.Handle("/app/recent", k.RequireSession(k.RequireMFA(5*time.Minute)(private)))
		return mux
	}, mfaOn, authkit.CheapHashing, noLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	none := h.signUp("none@example.com", inputPassword, "None").token()
	one := h.signUp("one@example.com", inputPassword, "One").token()
	secret, _ := h.enrolTOTP(one)

	requireStatusCode(t, h.get("/app/any", ""), http.StatusUnauthorized, "missing_session_token")
	a := h.get("/app/any", none)
	requireStatusCode(t, a, http.StatusForbidden, "mfa_step_up_required")
	require.Equal(t, false, answerDetails(t, a)["enrolled"])
	a = h.get("/app/recent", one)
	requireStatusCode(t, a, http.StatusForbidden, "mfa_step_up_required")
	require.Equal(t, map[string]any{"enrolled": true, "maxAge": float64(300)}, answerDetails(t, a))

	two := h.post(api+"mfa/step-up", map[string]any{"code": totpCode(t, secret, h.now())}, one).token()
	require.Equal(t, http.StatusOK, h.get("/app/any", two).status)
	require.Equal(t, http.StatusOK, h.get("/app/recent", two).status)
	h.clock.Advance(6 * time.Minute)
	require.Equal(t, http.StatusOK, h.get("/app/any", two).status, "maxAge 0: any time in the session's life")
	requireStatusCode(t, h.get("/app/recent", two), http.StatusForbidden, "mfa_step_up_required")

	off, err := authkit.New(validConfig())
	require.NoError(t, err)
	t.Cleanup(func() { off.Close(t.Context()) })
	require.PanicsWithValue(t, "authkit: RequireMFA needs Config.MFA on", func() { off.RequireMFA(0) })
}

// StepUp in the Go API raises the context's session as the route does.
func TestStepUpGoAPI(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t)
	token := h.signUp("go@example.com", inputPassword, "Go").token()
	secret, _ := h.enrolTOTP(token)
	ctx, err := h.kit.Authenticate(t.Context(), token)
	require.NoError(t, err)
	err = h.kit.ChangePassword(ctx, inputPassword, "a-new-password-1")
	requireErrorCode(t, err, authkit.CodeMFAStepUpRequired)
	in, err := h.kit.StepUp(ctx, totpCode(t, secret, h.now()))
	require.NoError(t, err)
	require.Equal(t, 2, in.Session.Factors)
	require.Empty(t, in.User.PasswordHash)
	ctx, err = h.kit.Authenticate(t.Context(), in.Token)
	require.NoError(t, err)
	require.NoError(t, h.kit.ChangePassword(ctx, inputPassword, "a-new-password-1"))

	cfg := validConfig()
	cfg.MFA, cfg.Secret, cfg.RecentFactor = authkit.On, mfaSecret, -time.Second
	_, err = authkit.New(cfg)
	require.ErrorContains(t, err, "RecentFactor")
}

// SECURITY 97: a lost authenticator is not recovered by email alone. An
// attacker who controls the owner's mailbox resets the password and asks
// for a magic link: each ends in mfa_required, and without a code the
// attacker gets no session, while the factor stays. A host that chooses
// email recovery says so in its own code (ResetFactors after a reset),
// and then the reset alone signs in.
func TestMFALostDeviceNotByEmailAlone(t *testing.T) {
	t.Parallel()
	h := newMFAHarness(t, noLimits, func(c *authkit.Config) { c.EmailConfirmation = authkit.On })
	_, codes := h.enrolTOTP(h.confirmedUser("vic@example.com", inputPassword))

	key := h.resetKey("vic@example.com")
	require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "mallory-was-here"}, "").status)
	ticket := mfaTicket(t, h.signIn("vic@example.com", "mallory-was-here"))
	requireStatusCode(t, h.verifyMFA(ticket, "000000"), http.StatusBadRequest, "invalid_code")
	mfaTicket(t, h.grant(h.magicGrant("vic@example.com")))
	sessions, err := h.kit.UserSessions(t.Context(), h.userID("vic@example.com"))
	require.NoError(t, err)
	require.Empty(t, sessions, "the mailbox alone earned no session")

	// The owner, who kept a recovery code, gets back in.
	ticket = mfaTicket(t, h.signIn("vic@example.com", "mallory-was-here"))
	in := h.verifyMFA(ticket, codes[0])
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)

	// A host that opts in to email recovery resets the factors itself.
	var kit *authkit.Kit
	o := newMFAHarness(t, noLimits, func(c *authkit.Config) {
		c.EmailConfirmation = authkit.On
		c.Hooks.AfterPasswordChange = func(ctx context.Context, u authkit.User, reset bool) error {
			if !reset {
				return nil
			}
			return kit.ResetFactors(ctx, u.ID)
		}
	})
	kit = o.kit
	o.enrolTOTP(o.confirmedUser("opt@example.com", inputPassword))
	key = o.resetKey("opt@example.com")
	require.Equal(t, http.StatusOK, o.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "a-new-password-1"}, "").status)
	o.settle()
	in = o.signIn("opt@example.com", "a-new-password-1")
	require.Equal(t, http.StatusOK, in.status, "the host's opt-in: %s", in.raw)
}

// A user with passkeys alone has no app code to regenerate recovery codes
// with: a session that stepped up with a passkey regenerates them with no
// code, and a one-factor session or a stale one is told to step up. A user
// with an app may still send its code, but never a recovery code.
func TestRegenerateRecoveryCodesAfterStepUp(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t)
	token, k, old := h.passkeyUser("reg@example.com")
	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{}, token), http.StatusForbidden, "mfa_step_up_required")
	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{"code": old[0]}, token), http.StatusConflict, "mfa_not_enrolled")

	cb := h.post(api+"passkeys/confirm/begin", nil, token)
	up := h.post(api+"passkeys/step-up", map[string]any{"handle": cb.body["handle"], "credential": k.get(cb)}, token)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	r := h.post(api+"mfa/recovery/regenerate", map[string]any{}, up.token())
	require.Equal(t, http.StatusOK, r.status, "%s", r.raw)
	fresh := r.body["recoveryCodes"].([]any)
	require.Len(t, fresh, 10)

	ticket := mfaTicket(t, h.signIn("reg@example.com", inputPassword))
	requireStatusCode(t, h.verifyMFA(ticket, old[1]), http.StatusBadRequest, "invalid_code")
	require.Equal(t, http.StatusOK, h.verifyMFA(ticket, fresh[0].(string)).status, "the new codes work, the old ones do not")

	h.clock.Advance(11 * time.Minute)
	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{}, up.token()), http.StatusForbidden, "mfa_step_up_required")

	none := h.signUp("nofactor@example.com", inputPassword, "None").token()
	requireStatusCode(t, h.post(api+"mfa/recovery/regenerate", map[string]any{}, none), http.StatusConflict, "mfa_not_enrolled")
}

// SECURITY 115: an attacker holding a long-lived session of an account
// without a second factor (a cookie copied days ago) tries to add her own
// authenticator app or passkey, which would lock the owner out at the
// next sign-in with the recovery codes in her hands: refused with
// reauthentication_required, and the owner's password alone still signs
// in. A session signed in within RecentFactor adds one.
func TestFirstFactorNeedsRecentSignIn(t *testing.T) {
	t.Parallel()
	h := newPasskeyHarness(t, noLimits)
	stolen := h.signUp("old@example.com", inputPassword, "Old").token()
	h.clock.Advance(3 * 24 * time.Hour)

	a := h.post(api+"mfa/totp/enrol", nil, stolen)
	requireStatusCode(t, a, http.StatusForbidden, "reauthentication_required")
	require.Equal(t, map[string]any{"maxAge": float64(600)}, answerDetails(t, a))
	requireStatusCode(t, h.post(api+"passkeys/register/begin", nil, stolen), http.StatusForbidden, "reauthentication_required")
	in := h.signIn("old@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "the attacker added nothing: %s", in.raw)

	h.clock.Advance(9 * time.Minute)
	h.enrolTOTP(in.token())
}
