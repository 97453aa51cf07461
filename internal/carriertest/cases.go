package carriertest

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// The cases, each an attacker's goal or a flow end to end.

// signInForm is a sign-in as an HTML form sends it.
func signInForm(email string) url.Values {
	return url.Values{"email": {email}, "password": {Password}}
}

// foreign are the ways a browser says a request comes from another site.
var foreign = map[string]Headers{
	"Origin of another site":    {"Origin": Evil},
	"Origin null":               {"Origin": "null"}, // a sandboxed frame, a redirect across sites
	"Sec-Fetch-Site cross-site": {"Origin": "", "Sec-Fetch-Site": "cross-site"},
	"Sec-Fetch-Site same-site":  {"Origin": "", "Sec-Fetch-Site": "same-site"}, // a sibling subdomain
}

// silent says nothing of where a request comes from, as an old browser,
// or a native client, does.
var silent = Headers{"Origin": ""}

// The answer that signs in sets the carrier's cookie (for scs: the
// session committed before the answer's first byte), and the kit's
// routes and the host's pages take the carried session; a link's grant
// is carried too.
func testSignInCarried(t *testing.T, a *App) {
	b := a.Browser()
	require.False(t, b.SignedIn())
	in := b.SignIn(nil)
	require.Equal(t, http.StatusOK, in.Status, in.Raw)
	require.Contains(t, setCookies(in.Header), a.setup.Cookie, "the answer that signs in sets the cookie")
	carried := b.Carried()
	require.NotEmpty(t, carried)
	if in.Token() != "" { // TokenInBody
		require.Equal(t, in.Token(), carried)
	}
	require.True(t, b.SignedIn())
	user := b.Do(http.MethodGet, API+"user", nil, nil)
	require.Equal(t, http.StatusOK, user.Status, user.Raw)
	require.Equal(t, Email, user.Body["email"])

	// A sign-up is signed in by its confirmation link's grant, which the
	// page the link leads to exchanges, same-origin.
	up := a.Browser()
	ans := up.Post(API+"signup-email", map[string]string{"email": "bob@example.com", "password": Password}, nil)
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.Empty(t, up.Carried(), "no session before the address is confirmed")
	ans = up.Do(http.MethodGet, API+"grant?key="+a.Follow("bob@example.com"), nil, Headers{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.NotEmpty(t, up.Carried())
	user = up.Do(http.MethodGet, API+"user", nil, nil)
	require.Equal(t, http.StatusOK, user.Status, user.Raw)
	require.Equal(t, "bob@example.com", user.Body["email"])

	// So is a magic link's.
	link := a.Browser()
	ans = link.Do(http.MethodGet, API+"grant?key="+a.GrantKey(Email), nil, Headers{"Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.True(t, link.SignedIn(), "a grant starts a carried session")
}

// An identifier an attacker plants in the browser before it signs in is
// not the one after: the cookie changes at sign-in, and the planted one
// carries nothing, by the kit's sign-in or by the host's.
func testFixation(t *testing.T, a *App) {
	name := a.setup.Cookie
	attacker := a.Browser()
	require.Equal(t, http.StatusNoContent, attacker.Do(http.MethodGet, "/visit", nil, nil).Status)
	planted := attacker.Cookie(name)
	if planted == "" {
		// The kit's cookie is the token itself: only a sign-in makes one.
		require.Nil(t, a.setup.Visit, "Visit set no cookie %s", name)
		planted = "planted-by-the-attacker"
		attacker.Plant(name, planted)
	}

	for how, signIn := range map[string]func(*Browser) Answer{
		"kit": func(b *Browser) Answer { return b.SignIn(nil) },
		"host": func(b *Browser) Answer {
			return b.Post("/login", signInForm(Email), nil)
		},
	} {
		victim := a.Browser()
		victim.Plant(name, planted)
		require.False(t, victim.SignedIn())
		ans := signIn(victim)
		require.Equal(t, http.StatusOK, ans.Status, "%s: %s", how, ans.Raw)
		require.True(t, victim.SignedIn(), how)
		now := victim.Cookie(name)
		require.NotEmpty(t, now, how)
		require.NotEqual(t, planted, now, "%s: the cookie changes at sign-in", how)

		require.False(t, attacker.SignedIn(), "%s: the planted cookie carries nothing", how)
		require.NotEqual(t, victim.Carried(), attacker.Carried(), how)
		require.Equal(t, planted, attacker.Cookie(name), how)
	}
}

// A sign-out of every session from another device ends the browser's on
// its next request.
func testRevokedElsewhere(t *testing.T, a *App) {
	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	require.True(t, b.SignedIn())

	phone := a.Device()
	in := phone.SignIn(nil)
	require.Equal(t, http.StatusOK, in.Status, in.Raw)
	require.NotEmpty(t, in.Token(), "a device's sign-in has its token in the body")
	out := phone.Post(API+"signout-all", nil, Headers{"Session": in.Token()})
	require.Equal(t, http.StatusOK, out.Status, out.Raw)

	require.False(t, b.SignedIn(), "the browser's session ended with the others")
	require.Equal(t, http.StatusUnauthorized, b.Do(http.MethodGet, API+"user", nil, nil).Status)
}

// The host ends the sessions with the Go API: every one of the user's, or
// the browser's alone.
func testRevokedByGoAPI(t *testing.T, a *App) {
	ctx := context.Background()
	u, err := a.Kit.FindUser(ctx, Email)
	require.NoError(t, err)

	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	require.True(t, b.SignedIn())
	require.NoError(t, a.Kit.EndSessions(ctx, u.ID))
	require.False(t, b.SignedIn(), "EndSessions")

	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	page := b.Do(http.MethodGet, "/private", nil, nil)
	require.Equal(t, http.StatusOK, page.Status)
	require.NoError(t, a.Kit.EndSession(ctx, u.ID, page.Body["session"].(string)))
	require.False(t, b.SignedIn(), "EndSession")
}

// A sign-out of the carried session, by signOut or signOutAll, clears it
// from the carrier and ends it.
func testSignOutClears(t *testing.T, a *App) {
	for _, route := range []string{"signout", "signout-all"} {
		b := a.Browser()
		require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
		token := b.Carried()
		require.NotEmpty(t, token)
		out := b.Post(API+route, nil, nil)
		require.Equal(t, http.StatusOK, out.Status, "%s: %s", route, out.Raw)
		require.Empty(t, b.Carried(), route)
		require.False(t, b.SignedIn(), route)
		require.False(t, a.Alive(token), route)
	}

	// signOut naming the carried session clears it too.
	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	token := b.Carried()
	out := b.Post(API+"signout", map[string]string{"token": token}, nil)
	require.Equal(t, http.StatusOK, out.Status, out.Raw)
	require.Empty(t, b.Carried())
	require.False(t, b.SignedIn())
}

// A sign-out of another session, from the browser or from the other
// device, leaves the browser's.
func testSignOutOther(t *testing.T, a *App) {
	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	mine := b.Carried()

	d := a.Device()
	other := d.SignIn(nil).Token()
	out := b.Post(API+"signout", map[string]string{"token": other}, nil)
	require.Equal(t, http.StatusOK, out.Status, out.Raw)
	require.False(t, a.Alive(other))
	require.Equal(t, mine, b.Carried())
	require.True(t, b.SignedIn())

	other = d.SignIn(nil).Token()
	out = d.Post(API+"signout", nil, Headers{"Session": other})
	require.Equal(t, http.StatusOK, out.Status, out.Raw)
	require.False(t, a.Alive(other))
	require.Equal(t, mine, b.Carried())
	require.True(t, b.SignedIn())
}

// An unsafe request another site's page makes the browser send, with
// its session, is refused: to the kit's routes that need a session and
// to the host's pages behind RequireSession. The browser's CSRF token
// does not help a request the browser says is foreign. An allowed origin
// passes.
func testCrossSitePosts(t *testing.T, a *App) {
	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	carried := b.Carried()
	csrf := b.CSRF()

	targets := []struct {
		path string
		form url.Values
	}{
		{API + "signout-all", url.Values{}},
		{API + "signout", url.Values{}},
		{API + "signout-all-except", url.Values{}},
		{API + "change-pwd", url.Values{"oldPassword": {Password}, "newPassword": {"the attacker's own password"}}},
		{API + "change-email", url.Values{"currentPassword": {Password}, "newEmail": {"mallory@evil.example"}}},
		{"/private", url.Values{"transfer": {"everything"}}},
		{"/logout", url.Values{}},
	}
	for how, hdr := range foreign {
		for _, tg := range targets {
			for _, token := range []string{"", csrf} {
				h := Headers{"X-CSRF-Token": token}
				for k, v := range hdr {
					h[k] = v
				}
				ans := b.Post(tg.path, tg.form, h)
				require.Equal(t, http.StatusForbidden, ans.Status, "%s, %s, token %q: %s", tg.path, how, token, ans.Raw)
				require.Equal(t, "origin_not_allowed", ans.Code(), "%s, %s", tg.path, how)
			}
		}
	}
	require.True(t, b.SignedIn())
	require.Equal(t, carried, b.Carried())

	ans := b.Post("/private", nil, Headers{"Origin": AllowedOrigin})
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
}

// An unsafe request that says nothing of where it comes from (no Origin,
// no Sec-Fetch-Site) needs the browser's CSRF token, in the X-CSRF-Token
// header or the csrf_token field of a form; another browser's will not
// do. Sec-Fetch-Site same-origin is enough on its own.
func testSilentPosts(t *testing.T, a *App) {
	b := a.Browser()
	require.Equal(t, http.StatusOK, b.SignIn(nil).Status)
	for _, path := range []string{"/private", API + "signout-all", API + "change-pwd"} {
		ans := b.Post(path, nil, silent)
		require.Equal(t, http.StatusForbidden, ans.Status, "%s: %s", path, ans.Raw)
		require.Equal(t, "origin_not_allowed", ans.Code(), path)
	}

	csrf := b.CSRF()
	theirs := a.Browser().CSRF()
	require.NotEqual(t, csrf, theirs)
	ans := b.Post("/private", nil, Headers{"Origin": "", "X-CSRF-Token": theirs})
	require.Equal(t, http.StatusForbidden, ans.Status, "another browser's token: %s", ans.Raw)
	ans = b.Post("/private", url.Values{"csrf_token": {theirs}}, silent)
	require.Equal(t, http.StatusForbidden, ans.Status, "another browser's token in a form: %s", ans.Raw)

	ans = b.Post("/private", nil, Headers{"Origin": "", "X-CSRF-Token": csrf})
	require.Equal(t, http.StatusOK, ans.Status, "the header: %s", ans.Raw)
	ans = b.Post("/private", url.Values{"csrf_token": {csrf}}, silent)
	require.Equal(t, http.StatusOK, ans.Status, "the form field: %s", ans.Raw)
	require.Equal(t, csrf, b.CSRF(), "the token stays the browser's")
	ans = b.Post("/private", nil, Headers{"Origin": "", "Sec-Fetch-Site": "same-origin"})
	require.Equal(t, http.StatusOK, ans.Status, "Sec-Fetch-Site same-origin: %s", ans.Raw)

	ans = b.Post(API+"signout-all", nil, Headers{"Origin": "", "X-CSRF-Token": csrf})
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.False(t, b.SignedIn())
	require.Empty(t, b.Carried())
}

// Another site's page cannot sign the browser in to an account of the
// attacker's, through the kit's routes or the host's, whether the
// browser has a session already or not: the sign-in is refused, and the
// browser carries what it carried before.
func testLoginCSRF(t *testing.T, a *App) {
	fresh, signedIn := a.Browser(), a.Browser()
	require.Equal(t, http.StatusOK, signedIn.SignIn(nil).Status)
	// The attacker's own magic link, whose grant a page of theirs makes
	// the browser fetch (an image, a navigation).
	key := a.GrantKey(Attacker)
	for _, b := range []*Browser{fresh, signedIn} {
		before := b.Carried()
		for how, hdr := range foreign {
			ans := b.Do(http.MethodGet, API+"grant?key="+key, nil, hdr)
			require.Equal(t, http.StatusForbidden, ans.Status, "grant, %s: %s", how, ans.Raw)
			require.Equal(t, "origin_not_allowed", ans.Code(), "grant, %s", how)
			require.Equal(t, before, b.Carried(), "grant, %s", how)
			for _, post := range []struct {
				path string
				body any
			}{
				{API + "signin-email", signInForm(Attacker)},
				{API + "signin-email", map[string]string{"email": Attacker, "password": Password}},
				{API + "signup-email", url.Values{"email": {"new@evil.example"}, "password": {Password}}},
				{"/login", signInForm(Attacker)},
			} {
				ans := b.Post(post.path, post.body, hdr)
				require.Equal(t, http.StatusForbidden, ans.Status, "%s, %s: %s", post.path, how, ans.Raw)
				require.Equal(t, "origin_not_allowed", ans.Code(), "%s, %s", post.path, how)
				require.Equal(t, before, b.Carried(), "%s, %s", post.path, how)
			}
		}
		if before == "" {
			require.False(t, b.SignedIn())
		} else {
			require.True(t, b.SignedIn(), "still as "+Email)
		}
	}
}

// A sign-in that says nothing of where it comes from is a native
// client's: its token is in the body, and the browser (if it is one)
// carries nothing, since a page of another site could have sent it from
// a browser that says nothing either. With the browser's CSRF token, it
// is carried.
func testSilentSignIn(t *testing.T, a *App) {
	b := a.Browser()
	ans := b.SignIn(silent)
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.NotEmpty(t, ans.Token(), "the token in the body")
	require.True(t, a.Alive(ans.Token()))
	require.Empty(t, b.Carried())
	require.False(t, b.SignedIn())
	require.NotContains(t, setCookies(ans.Header), a.setup.Cookie)

	ans = b.Post("/login", signInForm(Email), silent)
	require.Equal(t, http.StatusForbidden, ans.Status, "SaveSession: %s", ans.Raw)
	require.Empty(t, b.Carried())

	csrf := b.CSRF()
	ans = b.SignIn(Headers{"Origin": "", "X-CSRF-Token": csrf})
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.NotEmpty(t, b.Carried())
	require.True(t, b.SignedIn())

	c := a.Browser()
	form := signInForm(Email)
	form.Set("csrf_token", c.CSRF())
	ans = c.Post("/login", form, silent)
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.True(t, c.SignedIn())
}

// The host signs in with the Go API and SaveSession, and out with SignOut
// and ClearSession.
func testGoAPI(t *testing.T, a *App) {
	b := a.Browser()
	ans := b.Post("/login", url.Values{"email": {Email}, "password": {"not her password"}}, nil)
	require.Equal(t, http.StatusUnauthorized, ans.Status, ans.Raw)
	require.Empty(t, b.Carried())

	ans = b.Post("/login", signInForm(Email), nil)
	require.Equal(t, http.StatusOK, ans.Status, ans.Raw)
	require.True(t, b.SignedIn())
	token := b.Carried()
	require.NotEmpty(t, token)

	ans = b.Post("/logout", nil, nil)
	require.Equal(t, http.StatusNoContent, ans.Status, ans.Raw)
	require.False(t, b.SignedIn())
	require.Empty(t, b.Carried())
	require.False(t, a.Alive(token))
}

// setCookies are the names of the cookies an answer sets.
func setCookies(h http.Header) []string {
	var names []string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		names = append(names, c.Name)
	}
	return names
}
