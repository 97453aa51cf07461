package authkit_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// What a client may write of a user (Config.ProfileFields) and what only
// the app writes (User.ServerData, access groups): profile.go.

// The attack: a sign-up through the client that writes roles,
// plans and flags stores none of them and answers none of them, with or
// without confirmation, and the kit says in its log what it dropped.
func TestProfileAllowListAttack(t *testing.T) {
	t.Parallel()
	attack := map[string]any{"name": "Mal", "role": "admin", "plan": "enterprise", "isAdmin": true, "EmailVerified": true}
	for _, confirm := range []authkit.Switch{authkit.On, authkit.Off} {
		name := "confirmation off"
		if confirm == authkit.On {
			name = "confirmation on"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logs := &syncBuffer{}
			h := newHarness(t, authkit.CheapHashing, func(c *authkit.Config) {
				c.EmailConfirmation = confirm
				c.Logger = timelessLogger(logs)
			})
			requireClean := func(what string, u map[string]any, verified bool) {
				t.Helper()
				require.Equal(t, "Mal", u["name"], what)
				require.Equal(t, verified, u["emailVerified"], "%s: the kit's own field, not the client's", what)
				for _, f := range []string{"role", "plan", "isAdmin", "EmailVerified"} {
					require.NotContains(t, u, f, what)
				}
			}

			a := h.signUp("mal@example.com", inputPassword, attack)
			require.Equal(t, http.StatusOK, a.status, "the sign-up goes on without them: %s", a.raw)
			requireClean("the sign-up's answer", a.user(), false)
			tok := a.token()
			if confirm == authkit.On {
				g := h.grant(h.follow(h.link("mal@example.com")).Get("access_token"))
				require.Equal(t, http.StatusOK, g.status, "%s", g.raw)
				requireClean("the confirmation's answer", g.user(), true)
				tok = g.token()
			}
			requireClean("getUser", h.get(api+"user", tok).body, confirm == authkit.On)

			u, err := h.store.UserByEmail(t.Context(), "mal@example.com")
			require.NoError(t, err)
			require.Equal(t, "Mal", u.Name)
			require.Empty(t, u.Profile, "nothing off the list is stored")
			require.Empty(t, u.AccessGroups)
			require.Empty(t, u.ServerData)
			require.Equal(t, confirm == authkit.On, u.EmailVerified, "verified by the link alone")
			for _, f := range []string{"role", "plan", "isAdmin", "EmailVerified"} {
				require.Contains(t, logs.String(), fmt.Sprintf(`"field":%q`, f), "the drop of %s is logged", f)
			}
		})
	}
}

// With StrictProfile on, a field off the list is a 400 naming it, and
// nothing is made or mailed; the allowed fields still pass.
func TestProfileStrict(t *testing.T) {
	t.Parallel()
	h := newHarness(t, authkit.CheapHashing, noLimits, func(c *authkit.Config) { c.StrictProfile = authkit.On })
	for i, field := range []string{"role", "plan", "isAdmin", "EmailVerified", "email_verified", "Email-Verified", "accessGroups", "ServerData"} {
		email := fmt.Sprintf("strict%d@example.com", i)
		a := h.signUp(email, inputPassword, map[string]any{"name": "Sly", field: true})
		requireStatusCode(t, a, http.StatusBadRequest, "invalid_user_data")
		require.Equal(t, field, answerDetails(t, a)["field"], "%s: %s", field, a.raw)
		h.noMail(email)
	}
	_, err := h.kit.SignUpWithEmail(t.Context(), "strict@example.com", inputPassword, map[string]any{"role": "admin"})
	e := requireErrorCode(t, err, authkit.CodeInvalidUserData)
	require.Equal(t, "role", e.Details["field"])
	a := h.signUp("fine@example.com", inputPassword, map[string]any{"name": "Fin", "profilePicture": "https://example.com/fin.png"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)

	// UpdateProfile, which passes on what a user typed, is held to the
	// same list.
	u, err := h.kit.CreateUser(t.Context(), authkit.NewUser{Email: "upd@example.com", EmailVerified: true, Name: "Upd"})
	require.NoError(t, err)
	_, err = h.kit.UpdateProfile(t.Context(), u.ID, map[string]any{"name": "Up", "isAdmin": true})
	e = requireErrorCode(t, err, authkit.CodeInvalidUserData)
	require.Equal(t, "isAdmin", e.Details["field"])
	got, err := h.kit.User(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, "Upd", got.Name, "a refused update writes nothing")
}

// UpdateProfile writes the allowed fields, drops the others (by default)
// and removes a field set to null, on every store.
func TestProfileUpdate(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			testProfileUpdate(t, s, newHarness(t, onStore(s, s), authkit.CheapHashing, func(c *authkit.Config) {
				c.ProfileFields = []string{"name", "profilePicture", "company"}
			}))
		})
	}
}

func testProfileUpdate(t *testing.T, s store, h *harness) {
	ctx := t.Context()
	u, err := h.kit.CreateUser(ctx, authkit.NewUser{Email: "upd@example.com", Name: "Upd",
		Profile: map[string]json.RawMessage{"company": json.RawMessage(`"Acme"`)}})
	require.NoError(t, err)

	u, err = h.kit.UpdateProfile(ctx, u.ID, map[string]any{"name": "Up", "company": nil, "role": "admin", "Email_Verified": true})
	require.NoError(t, err)
	require.Equal(t, "Up", u.Name)
	require.Empty(t, u.Profile, "company removed; role and Email_Verified dropped")
	require.False(t, u.EmailVerified)
	stored, err := s.UserByID(ctx, u.ID)
	require.NoError(t, err)
	require.Empty(t, stored.Profile)
	require.False(t, stored.EmailVerified)
	_, err = h.kit.UpdateProfile(ctx, "0123456789abcdef01234567", map[string]any{"name": "Nobody"})
	requireErrorCode(t, err, authkit.CodeUserNotFound)
}

// PublicServerData shows a server data key among the user's fields on
// the wire; no client writes it, at sign-up or through UpdateProfile. On
// every store.
func TestProfilePublicServerData(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			s := st.open(t)
			testPublicServerData(t, newHarness(t, onStore(s, s), authkit.CheapHashing, func(c *authkit.Config) {
				c.PublicServerData = []string{"plan"}
			}))
		})
	}
}

func testPublicServerData(t *testing.T, h *harness) {
	ctx := t.Context()

	a := h.signUp("pam@example.com", inputPassword, map[string]any{"name": "Pam", "plan": "enterprise"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.NotContains(t, a.user(), "plan")
	tok := h.grant(h.follow(h.link("pam@example.com")).Get("access_token")).token()
	require.NotContains(t, h.get(api+"user", tok).body, "plan", "the client could not write it")
	id := h.userID("pam@example.com")
	u, err := h.kit.User(ctx, id)
	require.NoError(t, err)
	require.Empty(t, u.ServerData)
	require.NotContains(t, u.Profile, "plan")

	_, err = h.kit.SetServerData(ctx, id, map[string]json.RawMessage{
		"plan": json.RawMessage(`"pro"`), "stripeCustomer": json.RawMessage(`"cus_123"`),
	})
	require.NoError(t, err)
	me := h.get(api+"user", tok)
	require.Equal(t, "pro", me.body["plan"], "a public key is on the wire")
	require.NotContains(t, me.body, "stripeCustomer", "the others stay on the server")
	in := h.signIn("pam@example.com", inputPassword)
	require.Equal(t, "pro", in.user()["plan"])
	require.NotContains(t, in.user(), "stripeCustomer")

	_, err = h.kit.UpdateProfile(ctx, id, map[string]any{"plan": "free"})
	require.NoError(t, err, "dropped, as any field off the list")
	require.Equal(t, "pro", h.get(api+"user", tok).body["plan"])
	u, err = h.kit.User(ctx, id)
	require.NoError(t, err)
	require.JSONEq(t, `"pro"`, string(u.ServerData["plan"]))
	require.JSONEq(t, `"cus_123"`, string(u.ServerData["stripeCustomer"]))

	_, err = h.kit.SetServerData(ctx, id, map[string]json.RawMessage{"emailVerified": json.RawMessage(`true`)})
	requireErrorCode(t, err, authkit.CodeInvalidUserData)
}

// New refuses a profile field or a public server data key that is one
// of the kit's own fields in any spelling, and a key that is both.
func TestProfileConfigChecked(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*authkit.Config){
		"profile field emailVerified":  func(c *authkit.Config) { c.ProfileFields = []string{"name", "emailVerified"} },
		"profile field Email_Verified": func(c *authkit.Config) { c.ProfileFields = []string{"Email_Verified"} },
		"profile field accessGroups":   func(c *authkit.Config) { c.ProfileFields = []string{"accessGroups"} },
		"public server data _id":       func(c *authkit.Config) { c.PublicServerData = []string{"_id"} },
		"public server data name":      func(c *authkit.Config) { c.PublicServerData = []string{"name"} },
		"a key both":                   func(c *authkit.Config) { c.ProfileFields, c.PublicServerData = []string{"plan"}, []string{"plan"} },
	} {
		cfg := validConfig()
		edit(&cfg)
		_, err := authkit.New(cfg)
		require.Error(t, err, name)
	}
}
