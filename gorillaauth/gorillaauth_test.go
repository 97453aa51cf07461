package gorillaauth_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/gorillaauth"
	"github.com/authkit/authkit/internal/carriertest"
)

// A gorilla/sessions host: the carrier in Config, on a store that keeps
// the values in the cookie and on one that keeps them on the server.
func TestCarrier(t *testing.T) {
	for name, newStore := range map[string]func(t *testing.T) sessions.Store{
		"CookieStore": func(*testing.T) sessions.Store {
			return sessions.NewCookieStore(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
		},
		"FilesystemStore": func(t *testing.T) sessions.Store {
			return sessions.NewFilesystemStore(t.TempDir(), securecookie.GenerateRandomKey(32))
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			carriertest.Run(t, func(t *testing.T) carriertest.Setup {
				store := newStore(t)
				c := gorillaauth.New(store, "app")
				return carriertest.Setup{
					Configure: func(cfg *authkit.Config) { cfg.SessionCarrier = c },
					Carried:   c.Token,
					Visit: func(w http.ResponseWriter, r *http.Request) {
						s, _ := store.Get(r, "app")
						s.Values["cart"] = "3 books"
						if err := s.Save(r, w); err != nil {
							http.Error(w, err.Error(), http.StatusInternalServerError)
						}
					},
					Cookie: "app",
				}
			})
		})
	}
}

// serve runs h on a request with cookie, if any, and returns the last
// cookie named "app" that the answer sets, or nil.
func serve(h http.HandlerFunc, cookie *http.Cookie) *http.Cookie {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	if cookie != nil {
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var found *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "app" {
			found = c
		}
	}
	return found
}

// The cookie that carries a token is HttpOnly, SameSite=Lax (or the
// store's Strict) and lasts no longer than the kit's session (or the
// store's MaxAge, if shorter), whatever gorilla's defaults (neither
// HttpOnly nor Lax); the store's Secure, Path and Domain stay.
func TestCookieAttributes(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
	store.Options.Domain = "example.com"
	c := gorillaauth.New(store, "app")
	save := func(expires time.Time) *http.Cookie {
		ck := serve(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, c.Save(w, r, "the-token", expires))
		}, nil)
		require.NotNil(t, ck)
		return ck
	}

	ck := save(time.Now().Add(time.Hour))
	require.True(t, ck.HttpOnly)
	require.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	require.InDelta(t, 3600, ck.MaxAge, 2)
	require.True(t, ck.Secure, "the store's")
	require.Equal(t, "/", ck.Path)
	require.Equal(t, "example.com", ck.Domain)

	ck = save(time.Now().Add(365 * 24 * time.Hour))
	require.Equal(t, 30*24*60*60, ck.MaxAge, "the store's, shorter")

	store.Options.SameSite = http.SameSiteStrictMode
	require.Equal(t, http.SameSiteStrictMode, save(time.Now().Add(time.Hour)).SameSite)

	require.Negative(t, save(time.Now()).MaxAge, "a session that ends now")
}

// On a server-side store, Save deletes the session under its old id and
// saves it under a new one, the host's values with it: whoever holds the
// old cookie finds nothing. Clear removes the token under the same id.
// The host's own values stay throughout.
func TestServerSideSession(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := sessions.NewFilesystemStore(dir, securecookie.GenerateRandomKey(32))
	c := gorillaauth.New(store, "app")
	files := func() []string {
		names, err := filepath.Glob(filepath.Join(dir, "session_*"))
		require.NoError(t, err)
		return names
	}
	read := func(cookie *http.Cookie) (token string, cart any) {
		serve(func(w http.ResponseWriter, r *http.Request) {
			token = c.Token(r)
			s, _ := store.Get(r, "app") // an old id names no file: an error, and an empty session
			cart = s.Values["cart"]
		}, cookie)
		return token, cart
	}

	visit := serve(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "app")
		s.Values["cart"] = "3 books"
		require.NoError(t, s.Save(r, w))
	}, nil)
	require.NotNil(t, visit)
	before := files()
	require.Len(t, before, 1)

	signedIn := serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Save(w, r, "the-token", time.Now().Add(time.Hour)))
	}, visit)
	require.NotNil(t, signedIn)
	after := files()
	require.Len(t, after, 1, "the old session is deleted")
	require.NotEqual(t, before, after, "a new id")
	token, cart := read(signedIn)
	require.Equal(t, "the-token", token)
	require.Equal(t, "3 books", cart)
	token, cart = read(visit)
	require.Empty(t, token)
	require.Nil(t, cart)

	// A second sign-in leaves nothing of the first under the old id.
	again := serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Save(w, r, "the-second-token", time.Now().Add(time.Hour)))
	}, signedIn)
	token, _ = read(signedIn)
	require.Empty(t, token)
	token, _ = read(again)
	require.Equal(t, "the-second-token", token)

	cleared := serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Clear(w, r))
	}, again)
	require.NotNil(t, cleared)
	token, cart = read(again)
	require.Empty(t, token, "the old cookie names the session, without its token")
	require.Equal(t, "3 books", cart)
	token, _ = read(cleared)
	require.Empty(t, token)

	// A session without a token: Clear leaves it alone.
	require.Nil(t, serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Clear(w, r))
	}, cleared))
}

// A cookie that does not decode (another key, tampered, expired) carries
// no token, and a sign-in replaces it.
func TestUnreadableCookie(t *testing.T) {
	t.Parallel()
	for name, store := range map[string]sessions.Store{
		"CookieStore":     sessions.NewCookieStore(securecookie.GenerateRandomKey(32)),
		"FilesystemStore": sessions.NewFilesystemStore(t.TempDir(), securecookie.GenerateRandomKey(32)),
	} {
		c := gorillaauth.New(store, "app")
		bad := &http.Cookie{Name: "app", Value: "not-a-session"}
		serve(func(w http.ResponseWriter, r *http.Request) {
			require.Empty(t, c.Token(r), name)
			require.NoError(t, c.Clear(w, r), name)
		}, bad)
		good := serve(func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, c.Save(w, r, "the-token", time.Now().Add(time.Hour)), name)
		}, bad)
		require.NotNil(t, good, name)
		serve(func(w http.ResponseWriter, r *http.Request) {
			require.Equal(t, "the-token", c.Token(r), name)
		}, good)
	}
}

// The carrier reads and writes the session of the request's registry:
// the host's handler, later in the same request, sees the token the kit
// saved, and its own save keeps it.
func TestRegistry(t *testing.T) {
	t.Parallel()
	store := sessions.NewCookieStore(securecookie.GenerateRandomKey(32))
	c := gorillaauth.New(store, "app")
	cookie := serve(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, c.Save(w, r, "the-token", time.Now().Add(time.Hour)))
		s, err := store.Get(r, "app")
		require.NoError(t, err)
		require.Equal(t, "the-token", s.Values[gorillaauth.DefaultKey])
		s.AddFlash("signed in")
		require.NoError(t, sessions.Save(r, w))
	}, nil)
	serve(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "the-token", c.Token(r))
		s, _ := store.Get(r, "app")
		require.Equal(t, []any{"signed in"}, s.Flashes())
	}, cookie)
}
