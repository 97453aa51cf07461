package authkit_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
	"github.com/authkit/authkit/memstore"
)

// The hooks (hooks.go), through HTTP and through the Go API.

// hookCalls records the calls of the app's hooks in order, each as a line
// naming the hook and what it was given, and checks that no hook is given
// a password hash.
type hookCalls struct {
	t       *testing.T
	mu      sync.Mutex
	lines   []string
	signIns []authkit.SignInEvent
}

func newHookCalls(t *testing.T) *hookCalls { return &hookCalls{t: t} }

func (c *hookCalls) add(line string, u authkit.User) {
	if u.PasswordHash != "" {
		c.t.Errorf("%s: the hook was given the password hash", line)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines = append(c.lines, line)
}

// take returns the calls recorded since the last take.
func (c *hookCalls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.lines
	c.lines = nil
	return l
}

// lastSignIn is the event of the last AfterSignIn call.
func (c *hookCalls) lastSignIn() authkit.SignInEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	require.NotEmpty(c.t, c.signIns)
	return c.signIns[len(c.signIns)-1]
}

// who names a user in the lines: by email, else phone.
func who(u authkit.User) string { return cmp.Or(u.Email, u.Phone, u.ID) }

// hooks are the After hooks, recording.
func (c *hookCalls) hooks() authkit.Hooks {
	return authkit.Hooks{
		AfterSignUp: func(_ context.Context, u authkit.User) error {
			c.add("AfterSignUp "+who(u), u)
			return nil
		},
		AfterSignIn: func(_ context.Context, e authkit.SignInEvent) error {
			c.mu.Lock()
			c.signIns = append(c.signIns, e)
			c.mu.Unlock()
			c.add(strings.TrimSpace(fmt.Sprintf("AfterSignIn %s %s %s", e.Method, who(e.User), e.Provider)), e.User)
			return nil
		},
		AfterPasswordChange: func(_ context.Context, u authkit.User, reset bool) error {
			c.add(fmt.Sprintf("AfterPasswordChange %s reset=%t", who(u), reset), u)
			return nil
		},
		AfterEmailChange: func(_ context.Context, u authkit.User, old string) error {
			c.add("AfterEmailChange "+old+" -> "+u.Email, u)
			return nil
		},
		AfterPhoneChange: func(_ context.Context, u authkit.User, old string) error {
			c.add("AfterPhoneChange "+old+" -> "+u.Phone, u)
			return nil
		},
		AfterDeleteUser: func(_ context.Context, u authkit.User) error {
			c.add("AfterDeleteUser "+who(u), u)
			return nil
		},
	}
}

// withHooks sets Config.Hooks.
func withHooks(hooks authkit.Hooks) func(*authkit.Config) {
	return func(c *authkit.Config) { c.Hooks = hooks }
}

// inviteOnly is a BeforeSignUp that lets only invited addresses sign up.
func inviteOnly(_ context.Context, s *authkit.SignUp) error {
	if strings.HasSuffix(s.Email, "@invited.example") {
		return nil
	}
	return &authkit.Error{Code: "invite_only", Message: "Sign-up is by invitation.", Status: http.StatusForbidden}
}

// usersIn counts the accounts in a memstore.
func usersIn(t *testing.T, s *memstore.Store) int {
	n := 0
	for _, err := range s.AllUsers(t.Context()) {
		require.NoError(t, err)
		n++
	}
	return n
}

// BeforeSignUp's *authkit.Error is the answer, with the app's status and
// code, and a refused sign-up stores and mails nothing.
func TestHookBeforeSignUpRefuses(t *testing.T) {
	t.Parallel()
	calls := newHookCalls(t)
	hooks := calls.hooks()
	hooks.BeforeSignUp = inviteOnly
	h := newHarness(t, authkit.CheapHashing, withHooks(hooks))
	ctx := clientCtx(t)

	a := h.signUp("eve@example.com", inputPassword, "Eve")
	requireStatusCode(t, a, http.StatusForbidden, "invite_only")
	require.Equal(t, "Sign-up is by invitation.", a.body["errors"].([]any)[0].(map[string]any)["message"])
	_, err := h.kit.SignUpWithEmail(ctx, "eve@example.com", inputPassword, nil)
	e := requireErrorCode(t, err, "invite_only")
	require.Equal(t, "Sign-up is by invitation.", e.Message)
	require.Equal(t, http.StatusForbidden, e.Status)
	h.noMail("eve@example.com")
	requireStatusCode(t, h.signIn("eve@example.com", inputPassword), http.StatusUnauthorized, "invalid_credentials")
	require.Zero(t, usersIn(t, h.store))

	// An invited address signs up, and one refusal is not another's.
	a = h.signUp("ivy@invited.example", inputPassword, "Ivy")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, http.StatusOK, h.grant(h.follow(h.link("ivy@invited.example")).Get("access_token")).status)
	require.Equal(t, []string{"AfterSignUp ivy@invited.example", "AfterSignIn confirmation ivy@invited.example"}, calls.take())
}

// A link to an address that sign-ups wait for would make an account of
// its own (pending.go): it is a sign-up too, and once the app refuses
// the address (its invitation revoked), no such link is sent.
func TestHookBeforeSignUpRefusesLinks(t *testing.T) {
	t.Parallel()
	var closed atomic.Bool
	h := newHarness(t, authkit.CheapHashing, noLimits, func(c *authkit.Config) {
		c.Hooks.BeforeSignUp = func(ctx context.Context, s *authkit.SignUp) error {
			if closed.Load() {
				return &authkit.Error{Code: "invite_only", Message: "Sign-up is by invitation.", Status: http.StatusForbidden}
			}
			return nil
		}
	})
	require.Equal(t, http.StatusOK, h.signUp("una@example.com", inputPassword, nil).status)
	h.link("una@example.com") // the confirmation, left unfollowed: the sign-up waits
	require.Equal(t, http.StatusOK, h.post(api+"send-magic?email=una@example.com", nil, "").status)
	require.Equal(t, "magic-link", h.follow(h.link("una@example.com")).Get("action"), "open, a magic link goes")

	closed.Store(true)
	h.clock.Advance(time.Minute)
	for _, route := range []string{"send-magic", "send-reset"} {
		require.Equal(t, http.StatusOK, h.post(api+route+"?email=una@example.com", nil, "").status, "answered alike")
	}
	h.noMail("una@example.com")
}

// A phone sign-up is refused alike, before its code is texted, and so is
// a code that would make an account for a number sign-ups wait for.
func TestHookBeforeSignUpRefusesPhone(t *testing.T) {
	t.Parallel()
	var (
		invited atomic.Bool
		mu      sync.Mutex
		seen    []string
	)
	asked := func() []string {
		mu.Lock()
		defer mu.Unlock()
		s := seen
		seen = nil
		return s
	}
	h := newPhoneHarness(t, authkit.CheapHashing, noLimits, func(c *authkit.Config) {
		c.Hooks.BeforeSignUp = func(ctx context.Context, s *authkit.SignUp) error {
			mu.Lock()
			seen = append(seen, s.Phone)
			mu.Unlock()
			if invited.Load() {
				return nil
			}
			return &authkit.Error{Code: "invite_only", Message: "Sign-up is by invitation.", Status: http.StatusForbidden}
		}
	})
	requireStatusCode(t, h.signUpPhone("+1 555 555 5501", phonePassword, "Eve"), http.StatusForbidden, "invite_only")
	h.noMail("+15555555501")
	requireStatusCode(t, h.signInPhone("+15555555501", phonePassword), http.StatusUnauthorized, "invalid_credentials")
	require.Equal(t, []string{"+15555555501"}, asked(), "the hook sees the number in E.164")

	const waiting = "+15555555502"
	invited.Store(true)
	require.Equal(t, http.StatusOK, h.signUpPhone(waiting, phonePassword, nil).status)
	h.code(waiting) // the confirmation code, left unused: the sign-up waits
	invited.Store(false)
	h.clock.Advance(time.Minute)
	for _, route := range []string{"send-code", "send-reset-code"} {
		require.Equal(t, http.StatusOK, h.post(phoneQuery(route, waiting, ""), nil, "").status, "answered alike")
	}
	h.noMail(waiting)
	require.Equal(t, []string{waiting, waiting, waiting}, asked(), "each code would have made an account")
	require.Zero(t, usersIn(t, h.store))
}

// A refusal's status is the app's when it is a 4xx, else 403; an error
// that is not an *authkit.Error is an internal error.
func TestHookBeforeSignUpErrors(t *testing.T) {
	t.Parallel()
	refusals := map[string]error{
		"blocked@example.com": &authkit.Error{Code: "domain_blocked", Message: "No.", Status: http.StatusUnprocessableEntity},
		"odd@example.com":     &authkit.Error{Code: "odd_status", Message: "No.", Status: http.StatusOK},
		"down@example.com":    errors.New("the app's database is down"),
	}
	h := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) {
		c.EmailConfirmation = authkit.Off
		c.Hooks.BeforeSignUp = func(_ context.Context, s *authkit.SignUp) error { return refusals[s.Email] }
	})
	requireStatusCode(t, h.signUp("blocked@example.com", inputPassword, nil), http.StatusUnprocessableEntity, "domain_blocked")
	requireStatusCode(t, h.signUp("odd@example.com", inputPassword, nil), http.StatusForbidden, "odd_status")
	_, err := h.kit.SignUpWithEmail(t.Context(), "down@example.com", inputPassword, nil)
	requireErrorCode(t, err, authkit.CodeInternal)
	require.Zero(t, usersIn(t, h.store))
	require.Equal(t, http.StatusOK, h.signUp("fine@example.com", inputPassword, nil).status)
}

// What BeforeSignUp sets (access groups, server data) is the account's
// when the link makes it; the hook sees what the client sent.
func TestHookBeforeSignUpSetsGroupsAndServerData(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen []authkit.SignUp
	)
	h := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) {
		c.DefaultAccessGroups = []string{"member"}
		c.ProfileFields = []string{"name", "company"}
		c.Hooks.BeforeSignUp = func(_ context.Context, s *authkit.SignUp) error {
			mu.Lock()
			c := *s
			c.Profile = maps.Clone(s.Profile)
			seen = append(seen, c)
			mu.Unlock()
			if s.Email == "vip@example.com" {
				s.AccessGroups = append(s.AccessGroups, "vip")
				s.ServerData = map[string]json.RawMessage{"plan": json.RawMessage(`"enterprise"`), "seats": json.RawMessage(`3`)}
				s.Profile["company"] = json.RawMessage(`"changed by the hook"`) // a copy: the client's is kept
			}
			return nil
		}
	})
	ctx := t.Context()

	a := h.signUp("VIP@example.com", inputPassword, map[string]any{"name": "Vic", "company": "Acme", "role": "admin"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Len(t, seen, 1)
	s := seen[0]
	require.Equal(t, "vip@example.com", s.Email)
	require.Empty(t, s.Phone)
	require.Equal(t, authkit.ProviderAltogic, s.Provider)
	require.Equal(t, "Vic", s.Name)
	require.Equal(t, map[string]json.RawMessage{"company": json.RawMessage(`"Acme"`)}, s.Profile,
		"the profile the client wrote, without what it may not write")
	require.Equal(t, []string{"member"}, s.AccessGroups, "Config.DefaultAccessGroups")
	_, err := h.store.UserByEmail(ctx, "vip@example.com")
	require.True(t, errors.Is(err, authkit.ErrNotFound), "with confirmation on, nothing is made before the link: %v", err)

	g := h.grant(h.follow(h.link("vip@example.com")).Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, []any{"member", "vip"}, g.session()["accessGroupKeys"])
	require.Equal(t, "Acme", g.user()["company"])
	require.NotContains(t, g.user(), "plan", "server data stays on the server")
	require.NotContains(t, g.user(), "seats")
	u, err := h.store.UserByEmail(ctx, "vip@example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"member", "vip"}, u.AccessGroups)
	require.JSONEq(t, `"enterprise"`, string(u.ServerData["plan"]))
	require.JSONEq(t, `3`, string(u.ServerData["seats"]))

	// Another sign-up gets the defaults alone.
	h.confirmedUser("pat@example.com", inputPassword)
	p, err := h.store.UserByEmail(ctx, "pat@example.com")
	require.NoError(t, err)
	require.Equal(t, []string{"member"}, p.AccessGroups)
	require.Empty(t, p.ServerData)
}

// SignUp.AddressProven says whether the account will exist only once its
// address is proven: with confirmation on for it, or a provider's
// verified email. With it off, anyone may sign up with any address.
func TestHookBeforeSignUpAddressProven(t *testing.T) {
	t.Parallel()
	for _, confirm := range []authkit.Switch{authkit.On, authkit.Off} {
		name := "confirmations off"
		if confirm == authkit.On {
			name = "confirmations on"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gh := oauthtest.NewGitHub(t)
			var (
				mu     sync.Mutex
				proven = map[string]bool{}
			)
			h := newPhoneHarness(t, authkit.CheapHashing, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
				func(c *authkit.Config) {
					c.EmailConfirmation, c.PhoneConfirmation = confirm, confirm
					c.Hooks.BeforeSignUp = func(_ context.Context, s *authkit.SignUp) error {
						mu.Lock()
						defer mu.Unlock()
						proven[s.Provider+" "+cmp.Or(s.Email, s.Phone)] = s.AddressProven
						return nil
					}
				})
			require.Equal(t, http.StatusOK, h.signUp("ann@example.com", inputPassword, nil).status)
			require.Equal(t, http.StatusOK, h.signUpPhone("+15555555501", phonePassword, nil).status)
			h.oauthSignIn("github")
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, map[string]bool{
				authkit.ProviderAltogic + " ann@example.com": confirm == authkit.On,
				authkit.ProviderAltogic + " +15555555501":    confirm == authkit.On,
				"github rooby@example.com":                   true, // the provider vouches for it
			}, proven)
		})
	}
}

// AfterSignUp runs once per account, when its row is made: at the
// link's exchange with confirmation on, at the sign-up with it off; then
// AfterSignIn. Through HTTP and through the Go API alike.
func TestHookAfterSignUpOnce(t *testing.T) {
	t.Parallel()
	for _, confirm := range []authkit.Switch{authkit.On, authkit.Off} {
		for _, via := range []string{"HTTP", "Go"} {
			name := via + ", confirmation off"
			if confirm == authkit.On {
				name = via + ", confirmation on"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				calls := newHookCalls(t)
				h := newHarness(t, authkit.CheapHashing, withHooks(calls.hooks()), func(c *authkit.Config) { c.EmailConfirmation = confirm })
				ctx := clientCtx(t)
				signUp := func() (authkit.SignIn, error) {
					if via == "Go" {
						return h.kit.SignUpWithEmail(ctx, "ann@example.com", inputPassword, nil)
					}
					a := h.signUp("ann@example.com", inputPassword, nil)
					require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
					return authkit.SignIn{Token: a.token()}, nil
				}
				exchange := func(key string) string {
					if via == "Go" {
						in, err := h.kit.ExchangeGrant(ctx, key)
						require.NoError(t, err)
						return in.Token
					}
					g := h.grant(key)
					require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
					return g.token()
				}

				up, err := signUp()
				require.NoError(t, err)
				if confirm == authkit.Off {
					require.Equal(t, []string{"AfterSignUp ann@example.com", "AfterSignIn sign-up ann@example.com"}, calls.take())
					require.Equal(t, sha256Hex(up.Token), calls.lastSignIn().Session.TokenHash)
				} else {
					h.settle()
					require.Empty(t, calls.take(), "no account before the link")
					q := h.follow(h.link("ann@example.com"))
					require.Empty(t, calls.take(), "nor when it is followed")
					tok := exchange(q.Get("access_token"))
					require.Equal(t, []string{"AfterSignUp ann@example.com", "AfterSignIn confirmation ann@example.com"}, calls.take())
					require.Equal(t, sha256Hex(tok), calls.lastSignIn().Session.TokenHash)
					_, err := h.kit.ExchangeGrant(ctx, q.Get("access_token"))
					requireErrorCode(t, err, authkit.CodeInvalidToken)
				}
				require.Equal(t, http.StatusOK, h.signIn("ann@example.com", inputPassword).status)
				require.Equal(t, []string{"AfterSignIn password ann@example.com"}, calls.take(), "a sign-in is no sign-up")
				requireStatusCode(t, h.signUp("ann@example.com", inputPassword, nil), http.StatusConflict, "email_taken")
				require.Empty(t, calls.take())
			})
		}
	}
}

// AfterSignIn says how each session was started, and carries it.
func TestHookAfterSignInMethods(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	calls := newHookCalls(t)
	h := newPhoneHarness(t, authkit.CheapHashing, noLimits, withHooks(calls.hooks()),
		withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}))
	ctx := clientCtx(t)
	const phone = "+15555555501"

	// checks that the last AfterSignIn started the session of token.
	started := func(token string, want ...string) {
		t.Helper()
		require.Equal(t, want, calls.take())
		e := calls.lastSignIn()
		require.Equal(t, sha256Hex(token), e.Session.TokenHash, "the event's session is the one started")
		require.Equal(t, e.User.ID, e.Session.UserID)
	}

	started(h.confirmedUser("ann@example.com", inputPassword),
		"AfterSignUp ann@example.com", "AfterSignIn confirmation ann@example.com")
	started(h.signIn("ann@example.com", inputPassword).token(), "AfterSignIn password ann@example.com")
	started(h.grant(h.magicGrant("ann@example.com")).token(), "AfterSignIn magic-link ann@example.com")
	in, err := h.kit.SignInWithEmail(ctx, "ann@example.com", inputPassword)
	require.NoError(t, err)
	started(in.Token, "AfterSignIn password ann@example.com")
	require.Equal(t, hostIP, calls.lastSignIn().Session.IP)
	host, err := h.kit.StartSession(ctx, in.User.ID)
	require.NoError(t, err)
	started(host.Token, "AfterSignIn host ann@example.com")

	started(h.phoneUser(phone, phonePassword), "AfterSignUp "+phone, "AfterSignIn confirmation "+phone)
	started(h.signInPhone(phone, phonePassword).token(), "AfterSignIn password "+phone)
	h.clock.Advance(time.Minute) // past the resend gap
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phone, ""), nil, "").status)
	started(h.post(phoneQuery("signin-code", phone, h.code(phone)), nil, "").token(), "AfterSignIn code "+phone)

	g := h.oauthSignIn("github")
	started(g.token(), "AfterSignUp rooby@example.com", "AfterSignIn oauth rooby@example.com github")
	require.Equal(t, "github", calls.lastSignIn().Provider)
	started(h.oauthSignIn("github").token(), "AfterSignIn oauth rooby@example.com github")

	// A failed sign-in runs no hook.
	requireStatusCode(t, h.signIn("ann@example.com", "a wrong password"), http.StatusUnauthorized, "invalid_credentials")
	require.Empty(t, calls.take())
}

// AfterPasswordChange: reset false for a change by the user, true for a
// reset by link or code and for SetPassword.
func TestHookAfterPasswordChange(t *testing.T) {
	t.Parallel()
	calls := newHookCalls(t)
	h := newPhoneHarness(t, authkit.CheapHashing, noLimits, withHooks(calls.hooks()))
	ctx := clientCtx(t)
	tok := h.confirmedUser("pia@example.com", inputPassword)
	calls.take()

	a := h.post(api+"change-pwd", map[string]any{"oldPassword": "a wrong password", "newPassword": "second password"}, tok)
	requireStatusCode(t, a, http.StatusForbidden, "wrong_password")
	require.Empty(t, calls.take())
	a = h.post(api+"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "second password"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, []string{"AfterPasswordChange pia@example.com reset=false"}, calls.take())

	signedIn, err := h.kit.Authenticate(ctx, tok)
	require.NoError(t, err)
	require.NoError(t, h.kit.ChangePassword(signedIn, "second password", "third password"))
	require.Equal(t, []string{"AfterPasswordChange pia@example.com reset=false"}, calls.take())

	key := h.resetKey("pia@example.com")
	require.Empty(t, calls.take(), "asking for a reset changes nothing")
	require.Equal(t, http.StatusOK, h.post(api+"reset-pwd?key="+key, map[string]any{"newPassword": "fourth password"}, "").status)
	require.Equal(t, []string{"AfterPasswordChange pia@example.com reset=true"}, calls.take())

	require.NoError(t, h.kit.SetPassword(ctx, h.userID("pia@example.com"), "fifth password"))
	require.Equal(t, []string{"AfterPasswordChange pia@example.com reset=true"}, calls.take())

	const phone = "+15555555501"
	h.phoneUser(phone, phonePassword)
	calls.take()
	h.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-reset-code", phone, ""), nil, "").status)
	a = h.post(phoneQuery("reset-pwd-code", phone, h.code(phone)), map[string]any{"newPassword": "a new phone password"}, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, []string{"AfterPasswordChange " + phone + " reset=true"}, calls.take())
}

// AfterEmailChange and AfterPhoneChange run when the change applies (at
// the new address's proof), with the old address.
func TestHookAfterAddressChange(t *testing.T) {
	t.Parallel()
	calls := newHookCalls(t)
	h := newPhoneHarness(t, authkit.CheapHashing, noLimits, withHooks(calls.hooks()))
	tok := h.confirmedUser("max@example.com", inputPassword)
	calls.take()

	a := h.post(api+"change-email", map[string]any{"currentPassword": inputPassword, "newEmail": "new@example.com"}, tok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	q := h.follow(h.link("new@example.com"))
	require.Empty(t, calls.take(), "nothing changed before the new address is proven")
	g := h.grant(q.Get("access_token"))
	require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
	require.Equal(t, []string{"AfterEmailChange max@example.com -> new@example.com", "AfterSignIn email-change new@example.com"}, calls.take())

	const phone, newPhone = "+15555555501", "+15555555503"
	ptok := h.phoneUser(phone, phonePassword)
	calls.take()
	a = h.post(api+"change-phone", map[string]any{"currentPassword": phonePassword, "newPhone": newPhone}, ptok)
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Empty(t, calls.take())
	v := h.post(phoneQuery("verify-phone", newPhone, h.code(newPhone)), nil, "")
	require.Equal(t, http.StatusOK, v.status, "%s", v.raw)
	require.Equal(t, []string{"AfterPhoneChange " + phone + " -> " + newPhone}, calls.take())
}

// BeforeDeleteUser can stop a deletion; AfterDeleteUser runs once the
// account is gone.
func TestHookDeleteUser(t *testing.T) {
	t.Parallel()
	calls := newHookCalls(t)
	hooks := calls.hooks()
	var refusal error
	hooks.BeforeDeleteUser = func(_ context.Context, u authkit.User) error {
		calls.add("BeforeDeleteUser "+who(u), u)
		return refusal
	}
	h := newHarness(t, authkit.CheapHashing, withHooks(hooks))
	ctx := t.Context()
	tok := h.confirmedUser("del@example.com", inputPassword)
	id := h.userID("del@example.com")
	calls.take()

	refusal = &authkit.Error{Code: "has_open_orders", Message: "The user has open orders.", Status: http.StatusConflict}
	requireErrorCode(t, h.kit.DeleteUser(ctx, id), "has_open_orders")
	refusal = errors.New("the app's database is down")
	requireErrorCode(t, h.kit.DeleteUser(ctx, id), authkit.CodeInternal)
	require.Equal(t, []string{"BeforeDeleteUser del@example.com", "BeforeDeleteUser del@example.com"}, calls.take())
	_, err := h.kit.User(ctx, id)
	require.NoError(t, err, "the user stays")
	require.Equal(t, http.StatusOK, h.get(api+"user", tok).status, "and so does their session")

	refusal = nil
	require.NoError(t, h.kit.DeleteUser(ctx, id))
	require.Equal(t, []string{"BeforeDeleteUser del@example.com", "AfterDeleteUser del@example.com"}, calls.take())
	requireStatusCode(t, h.get(api+"user", tok), http.StatusUnauthorized, "invalid_session_token")
}

// An After hook's error is logged, and the flow's outcome stands.
func TestHookAfterFailsFlowStands(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	fail := errors.New("the app's database is down")
	h := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) {
		c.EmailConfirmation = authkit.Off
		c.Logger = timelessLogger(logs)
		c.Hooks = authkit.Hooks{
			AfterSignUp:         func(context.Context, authkit.User) error { return fail },
			AfterSignIn:         func(context.Context, authkit.SignInEvent) error { return fail },
			AfterPasswordChange: func(context.Context, authkit.User, bool) error { return fail },
			AfterEmailChange:    func(context.Context, authkit.User, string) error { return fail },
			AfterDeleteUser:     func(context.Context, authkit.User) error { return fail },
		}
	})
	ctx := t.Context()

	up := h.signUp("ann@example.com", inputPassword, nil)
	require.Equal(t, http.StatusOK, up.status, "%s", up.raw)
	require.Equal(t, http.StatusOK, h.get(api+"user", up.token()).status)
	in, err := h.kit.SignInWithEmail(ctx, "ann@example.com", inputPassword)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, h.get(api+"user", in.Token).status)
	a := h.post(api+"change-pwd", map[string]any{"oldPassword": inputPassword, "newPassword": "a new password"}, up.token())
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	a = h.post(api+"change-email", map[string]any{"currentPassword": "a new password", "newEmail": "ann2@example.com"}, up.token())
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.Equal(t, "ann2@example.com", a.body["email"])
	require.Equal(t, http.StatusOK, h.signIn("ann2@example.com", "a new password").status)
	require.NoError(t, h.kit.DeleteUser(ctx, h.userID("ann2@example.com")))
	_, err = h.kit.FindUser(ctx, "ann2@example.com")
	requireErrorCode(t, err, authkit.CodeUserNotFound)

	out := logs.String()
	for _, hook := range []string{"AfterSignUp", "AfterSignIn", "AfterPasswordChange", "AfterEmailChange", "AfterDeleteUser"} {
		require.Contains(t, out, "Hooks."+hook+" failed", "the failure of %s is logged", hook)
	}
	require.Contains(t, out, fail.Error())
}

// An OAuth provider's first sign-in is a sign-up: BeforeSignUp may
// refuse it, which ends at the Redirect URL with the app's code.
func TestHookBeforeSignUpOAuth(t *testing.T) {
	t.Parallel()
	gh := oauthtest.NewGitHub(t)
	var provider string
	h := newHarness(t, authkit.CheapHashing, withProviders(map[string]authkit.OAuthProvider{"github": oauth2Provider(gh)}),
		func(c *authkit.Config) {
			c.Hooks.BeforeSignUp = func(ctx context.Context, s *authkit.SignUp) error {
				provider = s.Provider
				return inviteOnly(ctx, s)
			}
		})
	refused(t, h.browser().signIn("github"), "403", "invite_only")
	require.Equal(t, "github", provider)
	h.noUser("github", "109847134", "rooby@example.com")
}
