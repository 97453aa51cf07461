package scsauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/carriertest"
	"github.com/authkit/authkit/scsauth"
)

// An scs host: the carrier in Config, and LoadAndSave around the whole
// app, kit.Handler() included. (The suite's first case checks that the
// kit's answer that signs in carries scs's cookie: LoadAndSave commits
// before the kit writes its JSON.)
func TestCarrier(t *testing.T) {
	carriertest.Run(t, func(t *testing.T) carriertest.Setup {
		sm := scs.New()
		c := scsauth.New(sm)
		return carriertest.Setup{
			Configure: func(cfg *authkit.Config) { cfg.SessionCarrier = c },
			Wrap:      sm.LoadAndSave,
			Carried:   c.Token,
			Visit: func(w http.ResponseWriter, r *http.Request) {
				sm.Put(r.Context(), "cart", "3 books")
			},
			Cookie: sm.Cookie.Name,
		}
	})
}

// serve runs h inside sm's LoadAndSave on a request with cookie, if any,
// and returns the scs cookie the answer sets, or nil.
func serve(sm *scs.SessionManager, h http.HandlerFunc, cookie *http.Cookie) *http.Cookie {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	rec := httptest.NewRecorder()
	sm.LoadAndSave(h).ServeHTTP(rec, r)
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sm.Cookie.Name {
			found = c
		}
	}
	return found
}

// Save renews the scs token: the session's data moves to a new token,
// which the answer's cookie carries even though the handler writes its
// body itself (LoadAndSave commits before the first WriteHeader or
// Write, as the kit's JSON answers make them); under the old token the
// store keeps nothing. Clear removes the token and renews again. The
// host's own values stay throughout.
func TestSaveAndClearRenew(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	c := scsauth.New(sm)
	inStore := func(cookie *http.Cookie) bool {
		_, found, err := sm.Store.Find(cookie.Value)
		require.NoError(t, err)
		return found
	}
	read := func(cookie *http.Cookie) (token, cart string) {
		serve(sm, func(w http.ResponseWriter, r *http.Request) {
			token, cart = c.Token(r), sm.GetString(r.Context(), "cart")
		}, cookie)
		return token, cart
	}

	visit := serve(sm, func(w http.ResponseWriter, r *http.Request) {
		sm.Put(r.Context(), "cart", "3 books")
	}, nil)
	require.NotNil(t, visit)

	signedIn := serve(sm, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Save(w, r, "the-token", time.Now().Add(time.Hour)))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(`{"session":{}}`))
	}, visit)
	require.NotNil(t, signedIn, "the answer that signs in carries the cookie")
	require.NotEqual(t, visit.Value, signedIn.Value)
	require.False(t, inStore(visit), "nothing under the old token")
	token, cart := read(signedIn)
	require.Equal(t, "the-token", token)
	require.Equal(t, "3 books", cart)
	token, cart = read(visit)
	require.Empty(t, token)
	require.Empty(t, cart)

	signedOut := serve(sm, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Clear(w, r))
	}, signedIn)
	require.NotNil(t, signedOut)
	require.NotEqual(t, signedIn.Value, signedOut.Value)
	require.False(t, inStore(signedIn))
	token, cart = read(signedOut)
	require.Empty(t, token)
	require.Equal(t, "3 books", cart)

	// A session without a token: Clear leaves it alone.
	require.Nil(t, serve(sm, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Clear(w, r))
	}, signedOut), "no new cookie")
	require.True(t, inStore(signedOut))
}

// Key moves the token to another key of the session.
func TestKey(t *testing.T) {
	t.Parallel()
	sm := scs.New()
	c := scsauth.New(sm)
	c.Key = "auth"
	cookie := serve(sm, func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Save(w, r, "the-token", time.Now().Add(time.Hour)))
	}, nil)
	serve(sm, func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "the-token", sm.GetString(r.Context(), "auth"))
		require.False(t, sm.Exists(r.Context(), scsauth.DefaultKey))
		require.Equal(t, "the-token", c.Token(r))
	}, cookie)
}
