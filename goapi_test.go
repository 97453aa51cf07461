package authkit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The Go API (goapi.go): every flow called from Go, with no request to
// build and no JSON to read. What only the user can do (read a mail and
// follow its link) goes through the harness's server, as the user would.

// A sign-up from Go waits for its link; the link's access token, given to
// ExchangeGrant, makes the account and a session the client can use.
// Sign-in answers the wire's codes as *authkit.Error.
func TestGoAPISignUpConfirmSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)

	up, err := h.kit.SignUpWithEmail(ctx, "Ann@Example.com", inputPassword, map[string]any{"name": "Ann"})
	require.NoError(t, err)
	require.Nil(t, up.Session, "with confirmation on, a sign-up waits for its link")
	require.Empty(t, up.Token)
	require.Equal(t, "ann@example.com", up.User.Email)
	require.Equal(t, "Ann", up.User.Name)
	require.Empty(t, up.User.PasswordHash, "the Go API never hands out a hash")
	_, err = h.kit.SignInWithEmail(ctx, "ann@example.com", inputPassword)
	requireErrorCode(t, err, authkit.CodeEmailNotVerified)

	q := h.follow(h.link("ann@example.com"))
	require.Equal(t, "email-confirm", q.Get("action"))
	in, err := h.kit.ExchangeGrant(ctx, q.Get("access_token"))
	require.NoError(t, err)
	require.NotNil(t, in.Session)
	require.NotEmpty(t, in.Token)
	require.Equal(t, up.User.ID, in.User.ID, "the account is the sign-up's")
	require.True(t, in.User.EmailVerified)
	require.Empty(t, in.User.PasswordHash)
	require.Equal(t, sha256Hex(in.Token), in.Session.TokenHash, "the token is the session's")
	require.Equal(t, hostIP, in.Session.IP, "the session is the context's client's")
	require.Equal(t, "Chrome", in.Session.UserAgent.Family)
	me := h.get(api+"user", in.Token)
	require.Equal(t, http.StatusOK, me.status, "the token is a client's like any other: %s", me.raw)
	require.Equal(t, up.User.ID, me.body["_id"])
	_, err = h.kit.ExchangeGrant(ctx, q.Get("access_token"))
	requireErrorCode(t, err, authkit.CodeInvalidToken)

	again, err := h.kit.SignInWithEmail(ctx, "ANN@example.com", inputPassword)
	require.NoError(t, err)
	require.Equal(t, up.User.ID, again.User.ID)
	require.NotEqual(t, in.Token, again.Token)
	require.Equal(t, http.StatusOK, h.get(api+"user", again.Token).status)
	_, err = h.kit.SignInWithEmail(ctx, "ann@example.com", "a wrong password")
	e := requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	require.Equal(t, http.StatusUnauthorized, e.Code.Status())
	_, err = h.kit.SignInWithEmail(ctx, "nobody@example.com", inputPassword)
	requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	_, err = h.kit.SignUpWithEmail(ctx, "ann@example.com", inputPassword, nil)
	requireErrorCode(t, err, authkit.CodeEmailTaken)
	_, err = h.kit.SignUpWithEmail(ctx, "not an email", inputPassword, nil)
	requireErrorCode(t, err, authkit.CodeInvalidEmail)
}

// StartSession signs in a user the host vouched for: the session works
// through RequireSession and the REST API with the returned token.
func TestGoAPIStartSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	u, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "sso@example.com", EmailVerified: true, Name: "Sso"})
	require.NoError(t, err)

	h.clock.Advance(time.Hour)
	in, err := h.kit.StartSession(ctx, u.ID)
	require.NoError(t, err)
	require.Equal(t, u.ID, in.User.ID)
	require.Equal(t, h.clock.Now(), in.User.LastLoginAt, "a sign-in like any other")
	require.NotEmpty(t, in.Token)
	require.Equal(t, hostIP, in.Session.IP)

	status, _, body := serveHost(t, h.kit.RequireSession, http.MethodGet, map[string]string{"Session": in.Token})
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, u.ID, body["userId"])
	require.Equal(t, in.Session.ID, body["sessionId"])
	require.Equal(t, "sso@example.com", h.get(api+"user", in.Token).body["email"])
	sessions, err := h.kit.UserSessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, in.Session.ID, sessions[0].ID)

	_, err = h.kit.StartSession(ctx, "0123456789abcdef01234567")
	requireErrorCode(t, err, authkit.CodeUserNotFound)
}

// A reset from Go: the link is mailed as the REST route mails it, and
// ResetPassword with its access token sets the password and ends every
// session.
func TestGoAPIResetPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	tok := h.confirmedUser("rae@example.com", inputPassword)

	require.NoError(t, h.kit.SendResetLink(ctx, "rae@example.com"))
	require.NoError(t, h.kit.SendResetLink(ctx, "nobody@example.com"), "answered alike")
	q := h.follow(h.link("rae@example.com"))
	require.Equal(t, "reset-pwd", q.Get("action"))
	requireErrorCode(t, h.kit.ResetPassword(ctx, q.Get("access_token"), "short"), authkit.CodePasswordTooShort)
	require.NoError(t, h.kit.ResetPassword(ctx, q.Get("access_token"), "a brand new password"))
	requireErrorCode(t, h.kit.ResetPassword(ctx, q.Get("access_token"), "another new password"), authkit.CodeInvalidToken)

	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
	_, err := h.kit.SignInWithEmail(ctx, "rae@example.com", inputPassword)
	requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	_, err = h.kit.SignInWithEmail(ctx, "rae@example.com", "a brand new password")
	require.NoError(t, err)
	h.noMail("nobody@example.com")
}

// The calls for a signed-in user take their session from a context made
// by Authenticate: ChangePassword keeps it and ends the others, SignOut
// ends one, SignOutAll every one.
func TestGoAPISignedInCalls(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	first := h.confirmedUser("cal@example.com", inputPassword)
	second, err := h.kit.SignInWithEmail(ctx, "cal@example.com", inputPassword)
	require.NoError(t, err)

	_, err = h.kit.Authenticate(ctx, "")
	requireErrorCode(t, err, authkit.CodeMissingSessionToken)
	_, err = h.kit.Authenticate(ctx, "garbage")
	requireErrorCode(t, err, authkit.CodeInvalidSessionToken)
	requireErrorCode(t, h.kit.ChangePassword(ctx, inputPassword, "a brand new password"), authkit.CodeMissingSessionToken)
	requireErrorCode(t, h.kit.SignOutAll(ctx), authkit.CodeMissingSessionToken)

	signedIn, err := h.kit.Authenticate(ctx, second.Token)
	require.NoError(t, err)
	s, ok := authkit.SessionFromContext(signedIn)
	require.True(t, ok)
	require.Equal(t, second.Session.ID, s.ID)
	u, ok := authkit.UserFromContext(signedIn)
	require.True(t, ok)
	require.Equal(t, "cal@example.com", u.Email)
	sessions, err := h.kit.Sessions(signedIn)
	require.NoError(t, err)
	require.Len(t, sessions, 2)

	requireErrorCode(t, h.kit.ChangePassword(signedIn, "a wrong password", "a brand new password"), authkit.CodeWrongPassword)
	require.NoError(t, h.kit.ChangePassword(signedIn, inputPassword, "a brand new password"))
	requireStatusCode(t, h.get(api+"user", first), http.StatusUnauthorized, "invalid_session_token")
	require.Equal(t, http.StatusOK, h.get(api+"user", second.Token).status, "the context's session stays")
	_, err = h.kit.SignInWithEmail(ctx, "cal@example.com", inputPassword)
	requireErrorCode(t, err, authkit.CodeInvalidCredentials)

	third, err := h.kit.SignInWithEmail(ctx, "cal@example.com", "a brand new password")
	require.NoError(t, err)
	signedIn, err = h.kit.Authenticate(ctx, second.Token)
	require.NoError(t, err)
	require.NoError(t, h.kit.SignOut(signedIn, third.Session.ID))
	requireStatusCode(t, h.get(api+"user", third.Token), http.StatusUnauthorized, "invalid_session_token")
	requireErrorCode(t, h.kit.SignOut(signedIn, third.Session.ID), authkit.CodeSessionNotFound)
	require.Equal(t, http.StatusOK, h.get(api+"user", second.Token).status)

	fourth, err := h.kit.SignInWithEmail(ctx, "cal@example.com", "a brand new password")
	require.NoError(t, err)
	require.NoError(t, h.kit.SignOutAll(signedIn))
	for _, tok := range []string{second.Token, fourth.Token} {
		requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
		_, err = h.kit.Authenticate(ctx, tok)
		requireErrorCode(t, err, authkit.CodeInvalidSessionToken)
	}
}

// A context from Authenticate stays signed in after a call that changes
// its credentials and keeps its session: the calls that follow in it see
// the new password and the new stamp, as a new request would.
func TestGoAPISignedInContextAfterChange(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	ctx := clientCtx(t)
	h.confirmedUser("cal@example.com", inputPassword)
	in, err := h.kit.SignInWithEmail(ctx, "cal@example.com", inputPassword)
	require.NoError(t, err)
	signedIn, err := h.kit.Authenticate(ctx, in.Token)
	require.NoError(t, err)

	require.NoError(t, h.kit.ChangePassword(signedIn, inputPassword, "a brand new password"))
	sessions, err := h.kit.Sessions(signedIn)
	require.NoError(t, err)
	require.Len(t, sessions, 1, "the context's own session is live")
	require.Equal(t, in.Session.ID, sessions[0].ID)
	require.NoError(t, h.kit.ChangePassword(signedIn, "a brand new password", "a third password"), "the new password is the current one")

	other, err := h.kit.SignInWithEmail(ctx, "cal@example.com", "a third password")
	require.NoError(t, err)
	require.NoError(t, h.kit.SignOutOthers(signedIn))
	requireStatusCode(t, h.get(api+"user", other.Token), http.StatusUnauthorized, "invalid_session_token")
	sessions, err = h.kit.Sessions(signedIn)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.NoError(t, h.kit.SignOut(signedIn, ""))
	requireStatusCode(t, h.get(api+"user", in.Token), http.StatusUnauthorized, "invalid_session_token")
}

// Inside RequireSession, r.Context() is all a host's handler passes to
// the signed-in calls: it has the session and the client, and stays
// signed in across a change of password in the same request.
func TestGoAPIInsideRequireSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing)
	tok := h.confirmedUser("cal@example.com", inputPassword)
	other := h.signIn("cal@example.com", inputPassword).token()
	host := h.kit.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.kit.ChangePassword(r.Context(), inputPassword, "a brand new password"); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		sessions, err := h.kit.Sessions(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		u, _ := authkit.UserFromContext(r.Context())
		in, err := h.kit.StartSession(r.Context(), u.ID) // where the client is
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sessions": sessions, "ip": in.Session.IP})
	}))
	r := httptest.NewRequest(http.MethodPost, "/account/password", nil)
	r.RemoteAddr = "198.51.100.20:4321"
	r.Header.Set("Session", tok)
	r.Header.Set("User-Agent", chromeUA)
	rec := httptest.NewRecorder()
	host.ServeHTTP(rec, r)
	require.Equal(t, http.StatusOK, rec.Code, "%s", rec.Body)
	var body struct {
		Sessions []authkit.Session
		IP       string
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	require.Len(t, body.Sessions, 1, "the request's own session, live under the new password")
	require.Equal(t, "198.51.100.20", body.IP, "the request's client")
	requireStatusCode(t, h.get(api+"user", other), http.StatusUnauthorized, "invalid_session_token")
	require.Equal(t, http.StatusOK, h.get(api+"user", tok).status)
	_, err := h.kit.SignInWithEmail(clientCtx(t), "cal@example.com", "a brand new password")
	require.NoError(t, err)
}

// Limits.PerIP counts the Go API's calls from a client with an IP, per
// IP, the send calls apart; a call with no IP (a job's) is not counted.
func TestGoAPIPerIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing, noLimits, func(c *authkit.Config) {
		c.Limits.PerIP = authkit.Rate{Max: 3, Per: time.Hour}
	})
	from := func(ip string) context.Context {
		return authkit.WithClient(t.Context(), authkit.Client{IP: ip, UserAgent: chromeUA})
	}
	client := from("198.51.100.7")
	for i := range 3 {
		_, err := h.kit.SignInWithEmail(client, fmt.Sprintf("user%d@example.com", i), "a wrong password")
		requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	}
	_, err := h.kit.SignInWithEmail(client, "user3@example.com", "a wrong password")
	e := requireErrorCode(t, err, authkit.CodeTooManyRequests)
	require.Positive(t, e.RetryAfter)
	_, err = h.kit.SignUpWithEmail(client, "new@example.com", inputPassword, nil)
	requireErrorCode(t, err, authkit.CodeTooManyRequests)

	// The send calls have a count of their own.
	for i := range 3 {
		require.NoError(t, h.kit.SendMagicLink(client, fmt.Sprintf("user%d@example.com", i)))
	}
	requireErrorCode(t, h.kit.SendResetLink(client, "user3@example.com"), authkit.CodeTooManyRequests)

	other := from("198.51.100.8")
	_, err = h.kit.SignInWithEmail(other, "user3@example.com", "a wrong password")
	requireErrorCode(t, err, authkit.CodeInvalidCredentials)

	// No IP, or no client at all: no per-IP count, however many calls.
	job := authkit.WithClient(t.Context(), authkit.Client{UserAgent: "nightly import"})
	for i := range 10 {
		_, err := h.kit.SignInWithEmail(job, fmt.Sprintf("user%d@example.com", i), "a wrong password")
		requireErrorCode(t, err, authkit.CodeInvalidCredentials)
		require.NoError(t, h.kit.SendResetLink(job, fmt.Sprintf("user%d@example.com", i)))
		_, err = h.kit.SignInWithEmail(t.Context(), fmt.Sprintf("user%d@example.com", i), "a wrong password")
		requireErrorCode(t, err, authkit.CodeInvalidCredentials)
	}
}

// RequestContext carries a request's client into the Go API: the host's
// own route counts toward the kit's per-IP limit for its IP, and the
// session it starts has the request's IP and user agent.
func TestGoAPIRequestContext(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing, noLimits, func(c *authkit.Config) {
		c.Limits.PerIP = authkit.Rate{Max: 3, Per: time.Hour}
	})
	_, err := h.kit.CreateUser(t.Context(), authkit.NewUser{Email: "rex@example.com", EmailVerified: true, Password: inputPassword})
	require.NoError(t, err)
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, err := h.kit.SignInWithEmail(h.kit.RequestContext(r), r.FormValue("email"), r.FormValue("password"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		fmt.Fprintf(w, "%s %s %s", in.Session.IP, in.Session.UserAgent.Family, in.Token)
	}))
	t.Cleanup(host.Close)
	signIn := func(password string) (int, string) {
		r, err := http.NewRequest(http.MethodPost, host.URL, strings.NewReader(url.Values{"email": {"rex@example.com"}, "password": {password}}.Encode()))
		require.NoError(t, err)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("User-Agent", chromeUA)
		resp, err := http.DefaultClient.Do(r)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}

	status, body := signIn(inputPassword)
	require.Equal(t, http.StatusOK, status, body)
	f := strings.Fields(body)
	require.Equal(t, []string{"127.0.0.1", "Chrome"}, f[:2])
	require.Equal(t, http.StatusOK, h.get(api+"user", f[2]).status)

	// The host's route and the kit's share the IP's count: 3 in all.
	requireStatusCode(t, h.signIn("rex@example.com", "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
	status, body = signIn("a wrong password")
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "invalid_credentials")
	requireStatusCode(t, h.signIn("rex@example.com", inputPassword), http.StatusTooManyRequests, "too_many_requests")
	status, body = signIn(inputPassword)
	require.Equal(t, http.StatusForbidden, status)
	require.Contains(t, body, "too_many_requests")
}
