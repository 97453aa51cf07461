package authkit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/carriertest"
)

// The kit's own session cookie passes the suite the scs and gorilla
// carriers pass (internal/carriertest): under its plain name, under the
// __Host- prefix, and with the token kept out of the body.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		cookie string
		edit   func(*authkit.Config)
	}{
		"session_token":        {"session_token", func(*authkit.Config) {}},
		"__Host-session_token": {"__Host-session_token", func(c *authkit.Config) { c.SessionCookieHostPrefix = authkit.On }},
		"TokenInBody off":      {"session_token", func(c *authkit.Config) { c.TokenInBody = authkit.Off }},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			carriertest.Run(t, func(t *testing.T) carriertest.Setup {
				return carriertest.Setup{
					Configure: func(c *authkit.Config) {
						c.SessionCookie = authkit.On
						authkit.CheapHashing(c)
						tc.edit(c)
					},
					Carried: func(r *http.Request) string {
						if c, err := r.Cookie(tc.cookie); err == nil {
							return c.Value
						}
						return ""
					},
					Cookie: tc.cookie,
				}
			})
		})
	}
}

// cookieKit is a kit on PublicURL with the session cookie on, email
// confirmation off and one account, ann@example.com.
func cookieKit(t *testing.T, publicURL string, edit ...func(*authkit.Config)) *authkit.Kit {
	t.Helper()
	cfg := validConfig()
	cfg.PublicURL = publicURL
	cfg.SessionCookie = authkit.On
	cfg.EmailConfirmation = authkit.Off
	authkit.CheapHashing(&cfg)
	for _, e := range edit {
		e(&cfg)
	}
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, kit.Close(ctx))
	})
	_, err = kit.CreateUser(context.Background(), authkit.NewUser{Email: "ann@example.com", EmailVerified: true, Password: inputPassword})
	require.NoError(t, err)
	return kit
}

// serveKit sends one request to kit's handler.
func serveKit(kit *authkit.Kit, method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	kit.Handler().ServeHTTP(rec, r)
	return rec
}

const annSignIn = `{"email":"ann@example.com","password":"` + inputPassword + `"}`

// The session cookie is HttpOnly, SameSite=Lax, Path=/, without Domain,
// and lasts as long as the session; over https it is Secure, and with
// SessionCookieHostPrefix it takes the __Host- name, which a browser keeps
// only from its own host, over https, with Path=/. A sign-out clears it
// with the same attributes.
func TestSessionCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		publicURL string
		prefix    authkit.Switch
		name      string
		secure    bool
	}{
		{"http://localhost:8080", authkit.Off, "session_token", false},
		{"https://api.example.com", authkit.Off, "session_token", true},
		{"https://api.example.com", authkit.On, "__Host-session_token", true},
	} {
		t.Run(tc.name+" "+tc.publicURL, func(t *testing.T) {
			t.Parallel()
			kit := cookieKit(t, tc.publicURL, func(c *authkit.Config) { c.SessionCookieHostPrefix = tc.prefix })
			origin := map[string]string{"Origin": tc.publicURL}
			rec := serveKit(kit, http.MethodPost, api+"signin-email", annSignIn, origin)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var ans struct {
				Session struct {
					Token string `json:"token"`
				} `json:"session"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))

			c := setCookie(t, rec.Header(), tc.name)
			require.NotNil(t, c, "%v", rec.Header())
			require.Equal(t, ans.Session.Token, c.Value)
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
			require.Equal(t, "/", c.Path)
			require.Empty(t, c.Domain)
			require.Equal(t, tc.secure, c.Secure)
			require.InDelta(t, 30*24*60*60, c.MaxAge, 5, "the session's lifetime")
			require.WithinDuration(t, time.Now().Add(30*24*time.Hour), c.Expires, 5*time.Second)

			origin["Cookie"] = tc.name + "=" + c.Value
			rec = serveKit(kit, http.MethodPost, api+"signout", "", origin)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			gone := setCookie(t, rec.Header(), tc.name)
			require.NotNil(t, gone, "a sign-out clears it: %v", rec.Header())
			require.Empty(t, gone.Value)
			require.Negative(t, gone.MaxAge)
			require.True(t, gone.HttpOnly)
			require.Equal(t, "/", gone.Path)
			require.Equal(t, tc.secure, gone.Secure)
		})
	}
}

// The CSRF cookie is HttpOnly (the page gets the token from the host's
// HTML, never from the cookie), SameSite=Lax, Path=/, without Domain, and
// lasts as long as the browser; over https it is Secure and __Host-. A
// browser keeps one: CSRFToken sets it once and gives the same token
// after.
func TestCSRFCookieAttributes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		publicURL, name string
		secure          bool
	}{
		{"http://localhost:8080", "authkit_csrf", false},
		{"https://api.example.com", "__Host-authkit_csrf", true},
	} {
		t.Run(tc.publicURL, func(t *testing.T) {
			t.Parallel()
			kit := cookieKit(t, tc.publicURL)
			rec := httptest.NewRecorder()
			token := kit.CSRFToken(rec, httptest.NewRequest(http.MethodGet, "/form", nil))
			require.NotEmpty(t, token)
			c := setCookie(t, rec.Header(), tc.name)
			require.NotNil(t, c, "%v", rec.Header())
			require.GreaterOrEqual(t, len(c.Value), 32)
			require.NotEqual(t, c.Value, token, "the token is a MAC of the cookie, not the cookie")
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
			require.Equal(t, "/", c.Path)
			require.Empty(t, c.Domain)
			require.Equal(t, tc.secure, c.Secure)
			require.Zero(t, c.MaxAge, "a cookie of the browser's session")

			again := httptest.NewRequest(http.MethodGet, "/form", nil)
			again.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			rec = httptest.NewRecorder()
			require.Equal(t, token, kit.CSRFToken(rec, again))
			require.Empty(t, rec.Header().Values("Set-Cookie"), "the browser has its cookie")

			other := httptest.NewRecorder()
			require.NotEqual(t, token, kit.CSRFToken(other, httptest.NewRequest(http.MethodGet, "/form", nil)), "another browser's")
		})
	}
}

// TokenInBody off: a sign-in whose session the cookie keeps answers
// without the token, so that no script on the page sees it; one that said
// nothing of its origin, which sets no cookie, has it in the body still.
func TestTokenInBodyOff(t *testing.T) {
	t.Parallel()
	const origin = "https://api.example.com"
	kit := cookieKit(t, origin, func(c *authkit.Config) { c.TokenInBody = authkit.Off })

	for _, route := range []string{"signin-email", "signup-email"} {
		body := annSignIn
		if route == "signup-email" {
			body = `{"email":"bob@example.com","password":"` + inputPassword + `"}`
		}
		rec := serveKit(kit, http.MethodPost, api+route, body, map[string]string{"Origin": origin})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var ans map[string]any
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
		session, _ := ans["session"].(map[string]any)
		require.NotNil(t, session, "%s: the session, without its token", route)
		require.Empty(t, session["token"], route)
		require.NotContains(t, rec.Body.String(), setCookie(t, rec.Header(), authkit.SessionCookie).Value, route)
	}

	rec := serveKit(kit, http.MethodPost, api+"signin-email", annSignIn, nil)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Nil(t, setCookie(t, rec.Header(), authkit.SessionCookie), "no cookie for a request that says nothing")
	var ans struct {
		Session struct {
			Token string `json:"token"`
		} `json:"session"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &ans))
	require.NotEmpty(t, ans.Session.Token, "the token in the body, the one place it is")
}

// Config: the carrier in one place, the __Host- prefix over https only,
// and a token kept somewhere.
func TestConfigSessionCarrier(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		edit func(*authkit.Config)
		err  string
	}{
		"cookie and carrier": {func(c *authkit.Config) {
			c.SessionCookie = authkit.On
			c.SessionCarrier = nopCarrier{}
		}, "not both"},
		"cookie over http": {func(c *authkit.Config) {
			c.PublicURL = "http://api.example.com"
			c.SessionCookie = authkit.On
		}, "needs an https PublicURL"},
		"cookie over http on localhost": {func(c *authkit.Config) {
			c.PublicURL = "http://127.0.0.1:8080"
			c.SessionCookie = authkit.On
		}, ""},
		"__Host- over http": {func(c *authkit.Config) {
			c.PublicURL = "http://localhost:8080"
			c.SessionCookie = authkit.On
			c.SessionCookieHostPrefix = authkit.On
		}, "https PublicURL"},
		"__Host- without the cookie": {func(c *authkit.Config) { c.SessionCookieHostPrefix = authkit.On }, "turn Config.SessionCookie on"},
		"__Host- with a carrier": {func(c *authkit.Config) {
			c.SessionCarrier = nopCarrier{}
			c.SessionCookieHostPrefix = authkit.On
		}, "turn Config.SessionCookie on"},
		"no token anywhere": {func(c *authkit.Config) { c.TokenInBody = authkit.Off }, "nobody could use a session"},
		"cookie":            {func(c *authkit.Config) { c.SessionCookie = authkit.On }, ""},
		"carrier":           {func(c *authkit.Config) { c.SessionCarrier = nopCarrier{}; c.TokenInBody = authkit.Off }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			tc.edit(&cfg)
			kit, err := authkit.New(cfg)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.NoError(t, kit.Close(context.Background()))
		})
	}
}

// nopCarrier carries nothing.
type nopCarrier struct{}

func (nopCarrier) Token(*http.Request) string                                       { return "" }
func (nopCarrier) Save(http.ResponseWriter, *http.Request, string, time.Time) error { return nil }
func (nopCarrier) Clear(http.ResponseWriter, *http.Request) error                   { return nil }

// The cookie's lifetime is counted on the kit's clock (Config.Now), which
// the session's end is on: a clock years behind the wall clock (or ahead)
// still gives the browser the session's 30 days, not a cookie that is
// dead on arrival (found by the forms tests: a Now in 2020 signed in with
// no cookie).
func TestSessionCookieLifetimeOnTheKitsClock(t *testing.T) {
	t.Parallel()
	for _, at := range []time.Time{time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), time.Date(2040, 1, 2, 3, 4, 5, 0, time.UTC)} {
		kit := cookieKit(t, "http://localhost:8080", func(c *authkit.Config) { c.Now = func() time.Time { return at } })
		rec := serveKit(kit, http.MethodPost, api+"signin-email", annSignIn, map[string]string{"Origin": "http://localhost:8080"})
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		c := setCookie(t, rec.Header(), "session_token")
		require.NotNil(t, c, "%v", rec.Header())
		require.InDelta(t, 30*24*60*60, c.MaxAge, 5, "at %v", at)
	}
}

// SaveSession, the Go API's way to put a session in the browser, refuses a
// request that says it comes from another site even when it carries a
// valid CSRF token (a token proves the page was the app's; the browser
// says it was not), as the kit's own routes do.
func TestSaveSessionRefusesAForeignRequestWithAToken(t *testing.T) {
	t.Parallel()
	kit := cookieKit(t, "http://localhost:8080")
	rec := httptest.NewRecorder()
	tok := kit.CSRFToken(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	csrf := setCookie(t, rec.Header(), "authkit_csrf")
	require.NotNil(t, csrf)
	in, err := kit.SignInWithEmail(context.Background(), "ann@example.com", inputPassword)
	require.NoError(t, err)
	for _, h := range []map[string]string{
		{"Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "cross-site"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/login", nil)
		r.Header.Set("Cookie", "authkit_csrf="+csrf.Value)
		r.Header.Set(authkit.CSRFHeader, tok)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		err := kit.SaveSession(w, r, in)
		var e *authkit.Error
		require.ErrorAs(t, err, &e, "%v", h)
		require.Equal(t, authkit.CodeOriginNotAllowed, e.Code)
		require.Nil(t, setCookie(t, w.Header(), "session_token"), "nothing carried: %v", h)
	}
	// The same token from a browser that says nothing is the app's page.
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.Header.Set("Cookie", "authkit_csrf="+csrf.Value)
	r.Header.Set(authkit.CSRFHeader, tok)
	w := httptest.NewRecorder()
	require.NoError(t, kit.SaveSession(w, r, in))
	require.NotNil(t, setCookie(t, w.Header(), "session_token"))
}
