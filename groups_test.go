package authkit_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// Access groups: on users, answered as the session's accessGroupKeys,
// required by Kit.RequireAccessGroup.

// groupsHost reports the access groups that the kit's middleware put in
// the context: the session's and its user's.
func groupsHost(w http.ResponseWriter, r *http.Request) {
	s, _ := authkit.SessionFromContext(r.Context())
	u, _ := authkit.UserFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"session": s.AccessGroupKeys, "user": u.AccessGroups})
}

// callHost makes a request of a host's handler with a session token
// ("" for none) and returns its answer.
func callHost(t *testing.T, handler http.Handler, token string) answer {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/private", nil)
	if token != "" {
		r.Header.Set("Session", token)
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	a := answer{status: rec.Code, raw: rec.Body.Bytes()}
	require.NoError(t, json.Unmarshal(a.raw, &a.body), "%s", a.raw)
	return a
}

// Config.DefaultAccessGroups are every new account's, and appear in the
// sign-in, grant and getAllSessions answers, in SessionFromContext and in
// the Go API's sessions, on every store.
func TestAccessGroupsDefault(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			h := newHarness(t, onStore(s, s), authkit.CheapHashing, func(c *authkit.Config) {
				c.DefaultAccessGroups = []string{"member", "beta", "member"}
			})
			ctx := clientCtx(t)
			want, wantWire := []string{"beta", "member"}, []any{"beta", "member"}

			require.Equal(t, http.StatusOK, h.signUp("ann@example.com", inputPassword, nil).status)
			g := h.grant(h.follow(h.link("ann@example.com")).Get("access_token"))
			require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
			require.Equal(t, wantWire, g.session()["accessGroupKeys"], "the grant's answer")
			in := h.signIn("ann@example.com", inputPassword)
			require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
			require.Equal(t, wantWire, in.session()["accessGroupKeys"], "the sign-in's answer")
			list := h.get(api+"sessions", in.token())
			require.Len(t, list.list, 2)
			for _, s := range list.list {
				require.Equal(t, wantWire, s.(map[string]any)["accessGroupKeys"], "getAllSessions' answer")
			}
			a := callHost(t, h.kit.RequireSession(http.HandlerFunc(groupsHost)), in.token())
			require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
			require.Equal(t, wantWire, a.body["session"], "SessionFromContext")
			require.Equal(t, wantWire, a.body["user"], "UserFromContext")

			goIn, err := h.kit.SignInWithEmail(ctx, "ann@example.com", inputPassword)
			require.NoError(t, err)
			require.Equal(t, want, goIn.Session.AccessGroupKeys)
			require.Equal(t, want, goIn.User.AccessGroups)
			signedIn, err := h.kit.Authenticate(ctx, goIn.Token)
			require.NoError(t, err)
			sess, _ := authkit.SessionFromContext(signedIn)
			require.Equal(t, want, sess.AccessGroupKeys)
			sessions, err := h.kit.Sessions(signedIn)
			require.NoError(t, err)
			require.Len(t, sessions, 3)
			for _, s := range sessions {
				require.Equal(t, want, s.AccessGroupKeys)
			}
			u, err := h.kit.User(ctx, goIn.User.ID)
			require.NoError(t, err)
			require.Equal(t, want, u.AccessGroups)
		})
	}
}

// An access group key is a short word: New refuses another.
func TestAccessGroupsConfigChecked(t *testing.T) {
	t.Parallel()
	for _, groups := range [][]string{{""}, {"has space"}, {"admin", "semi;colon"}, {string(make([]byte, 65))}} {
		cfg := validConfig()
		cfg.DefaultAccessGroups = groups
		_, err := authkit.New(cfg)
		require.ErrorContains(t, err, "DefaultAccessGroups", "%q", groups)
	}
	cfg := validConfig()
	cfg.DefaultAccessGroups = []string{"org:acme", "team.web-1", "role_admin"}
	k, err := authkit.New(cfg)
	require.NoError(t, err)
	require.NoError(t, k.Close(t.Context()))
}

// RequireAccessGroup lets through exactly the sessions whose user is in
// one of its groups, and reads the groups as each request authenticates:
// a group taken away on one instance stops the session on the next
// request to any instance, with no new sign-in. On every store.
func TestRequireAccessGroup(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a, b := sharedInstances(t, st.open(t))
			ctx := t.Context()
			admin := a.confirmedUser("admin@example.com", inputPassword)
			support := a.confirmedUser("support@example.com", inputPassword)
			member := a.confirmedUser("member@example.com", inputPassword)
			adminID := a.userID("admin@example.com")
			_, err := a.kit.SetAccessGroups(ctx, adminID, "admin")
			require.NoError(t, err)
			u, err := a.kit.SetAccessGroups(ctx, a.userID("support@example.com"), "support", "staff", "support")
			require.NoError(t, err)
			require.Equal(t, []string{"staff", "support"}, u.AccessGroups)

			host := http.HandlerFunc(groupsHost)
			adminOnly := b.kit.RequireAccessGroup("admin")(host)
			staff := b.kit.RequireAccessGroup("admin", "support")(host)
			inside := b.kit.RequireSession(b.kit.RequireAccessGroup("admin")(host))
			cases := []struct {
				name    string
				handler http.Handler
				token   string
				status  int
				code    string
			}{
				{"admin, admin only", adminOnly, admin, http.StatusOK, ""},
				{"support, admin only", adminOnly, support, http.StatusForbidden, "forbidden"},
				{"member, admin only", adminOnly, member, http.StatusForbidden, "forbidden"},
				{"admin, admin or support", staff, admin, http.StatusOK, ""},
				{"support, admin or support", staff, support, http.StatusOK, ""},
				{"member, admin or support", staff, member, http.StatusForbidden, "forbidden"},
				{"admin, inside RequireSession", inside, admin, http.StatusOK, ""},
				{"member, inside RequireSession", inside, member, http.StatusForbidden, "forbidden"},
				{"no session", adminOnly, "", http.StatusUnauthorized, "missing_session_token"},
				{"no session, inside RequireSession", inside, "", http.StatusUnauthorized, "missing_session_token"},
				{"an unknown token", adminOnly, "garbage", http.StatusUnauthorized, "invalid_session_token"},
			}
			for _, c := range cases {
				got := callHost(t, c.handler, c.token)
				require.Equal(t, c.status, got.status, "%s: %s", c.name, got.raw)
				require.Equal(t, c.code, got.code(), "%s: %s", c.name, got.raw)
			}
			require.Equal(t, []any{"admin"}, callHost(t, adminOnly, admin).body["session"])
			require.Equal(t, []any{"admin"}, b.get(api+"sessions", admin).list[0].(map[string]any)["accessGroupKeys"])

			// Taken away: the same session is stopped on its next request.
			_, err = a.kit.SetAccessGroups(ctx, adminID)
			require.NoError(t, err)
			requireStatusCode(t, callHost(t, adminOnly, admin), http.StatusForbidden, "forbidden")
			requireStatusCode(t, callHost(t, inside, admin), http.StatusForbidden, "forbidden")
			require.Equal(t, http.StatusOK, b.get(api+"user", admin).status, "the session itself lives on")
			require.Equal(t, []any{}, b.get(api+"sessions", admin).list[0].(map[string]any)["accessGroupKeys"])
			// Given back: let through again, still with no new sign-in.
			_, err = b.kit.SetAccessGroups(ctx, adminID, "admin")
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, callHost(t, adminOnly, admin).status)
			require.Equal(t, []any{"admin"}, a.signIn("admin@example.com", inputPassword).session()["accessGroupKeys"])

			_, err = a.kit.SetAccessGroups(ctx, "0123456789abcdef01234567", "admin")
			requireErrorCode(t, err, authkit.CodeUserNotFound)
			_, err = a.kit.SetAccessGroups(ctx, adminID, "not a key")
			requireErrorCode(t, err, authkit.CodeBadRequest)
		})
	}
}

// AddAccessGroups and RemoveAccessGroups change some groups and keep the
// others, and changes that race are all kept, on every store.
func TestAddRemoveAccessGroups(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			h := newHarness(t, onStore(s, s), authkit.CheapHashing)
			ctx := t.Context()
			u, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "gus@example.com", EmailVerified: true, AccessGroups: []string{"member"}})
			require.NoError(t, err)

			u, err = h.kit.AddAccessGroups(ctx, u.ID, "staff", "admin", "member")
			require.NoError(t, err)
			require.Equal(t, []string{"admin", "member", "staff"}, u.AccessGroups)
			u, err = h.kit.RemoveAccessGroups(ctx, u.ID, "admin", "never-had")
			require.NoError(t, err)
			require.Equal(t, []string{"member", "staff"}, u.AccessGroups)

			var wg sync.WaitGroup
			start := make(chan struct{})
			added := []string{"a", "b", "c", "d", "e"}
			for _, g := range added {
				wg.Go(func() {
					<-start
					if _, err := h.kit.AddAccessGroups(ctx, u.ID, g); err != nil {
						t.Errorf("adding %s: %v", g, err)
					}
				})
			}
			wg.Go(func() {
				<-start
				if _, err := h.kit.RemoveAccessGroups(ctx, u.ID, "staff"); err != nil {
					t.Errorf("removing staff: %v", err)
				}
			})
			close(start)
			wg.Wait()
			got, err := h.kit.User(ctx, u.ID)
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b", "c", "d", "e", "member"}, got.AccessGroups, "every change kept")

			_, err = h.kit.AddAccessGroups(ctx, u.ID, "not a key")
			requireErrorCode(t, err, authkit.CodeBadRequest)
			_, err = h.kit.RemoveAccessGroups(ctx, "0123456789abcdef01234567", "a")
			requireErrorCode(t, err, authkit.CodeUserNotFound)
		})
	}
}
