package authkit_test

import (
	"cmp"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/oauthtest"
)

// The harness's side of OAuth: configs pointing the kit at the fakes of
// internal/oauthtest, and a browser that walks the redirects between them.

// oauth2Provider configures the kit for a fake OAuth 2.0 provider.
func oauth2Provider(p *oauthtest.OAuth2) authkit.OAuthProvider {
	return authkit.OAuthProvider{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), APIURL: p.APIURL(),
	}
}

// openIDProvider configures the kit for a fake OpenID provider.
func openIDProvider(p *oauthtest.OpenID) authkit.OAuthProvider {
	return authkit.OAuthProvider{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: p.AuthURL(), TokenURL: p.TokenURL(), Issuer: p.Issuer(), JWKSURL: p.JWKSURL(),
	}
}

// withProviders sets Config.Providers.
func withProviders(providers map[string]authkit.OAuthProvider) func(*authkit.Config) {
	return func(c *authkit.Config) { c.Providers = providers }
}

// browser is a user agent with its own cookie jar. It follows no redirect
// by itself, so that a test can stop, or tamper, at every step.
type browser struct {
	h         *harness
	client    *http.Client
	userAgent string // chromeUA when empty
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(h.t, err)
	return &browser{h: h, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// send makes a request as the browser and returns the answer, body read.
func (b *browser) send(method, rawURL string, form url.Values) (*http.Response, string) {
	b.h.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	require.NoError(b.h.t, err)
	req.Header.Set("User-Agent", cmp.Or(b.userAgent, chromeUA))
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	require.NoError(b.h.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.h.t, err)
	return resp, string(raw)
}

// start is signInWithProvider: it opens /_auth/{name} and returns where
// the kit sent the browser.
func (b *browser) start(name string) *url.URL {
	b.h.t.Helper()
	resp, raw := b.send(http.MethodGet, b.h.srv.URL+"/_auth/"+name, nil)
	require.Equal(b.h.t, http.StatusSeeOther, resp.StatusCode, raw)
	require.Equal(b.h.t, "no-store", resp.Header.Get("Cache-Control"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(b.h.t, err)
	return loc
}

// callback is how a provider sends the browser back: a GET of url, or,
// with form_post, a POST of form to url.
type callback struct {
	url  string
	form url.Values
}

// with returns the callback with one parameter changed ("" removes it).
func (c callback) with(key, value string) callback {
	if c.form != nil {
		f := url.Values{}
		for k, v := range c.form {
			f[k] = append([]string(nil), v...)
		}
		if value == "" {
			f.Del(key)
		} else {
			f.Set(key, value)
		}
		return callback{url: c.url, form: f}
	}
	u, _ := url.Parse(c.url)
	q := u.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	u.RawQuery = q.Encode()
	return callback{url: u.String()}
}

func (c callback) param(key string) string {
	if c.form != nil {
		return c.form.Get(key)
	}
	u, _ := url.Parse(c.url)
	return u.Query().Get(key)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formInput  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// consent opens the provider's page, which consents at once, and returns
// the callback it sends the browser to.
func (b *browser) consent(authURL *url.URL) callback {
	b.h.t.Helper()
	resp, raw := b.send(http.MethodGet, authURL.String(), nil)
	if resp.StatusCode == http.StatusOK { // form_post: a page that posts itself
		m := formAction.FindStringSubmatch(raw)
		require.NotNil(b.h.t, m, "no form in %s", raw)
		form := url.Values{}
		for _, in := range formInput.FindAllStringSubmatch(raw, -1) {
			form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
		}
		return callback{url: html.UnescapeString(m[1]), form: form}
	}
	require.Equal(b.h.t, http.StatusFound, resp.StatusCode, raw)
	return callback{url: resp.Header.Get("Location")}
}

// finish delivers a callback to the kit and returns the query the kit
// added to the Redirect URL, the only place it may send the browser.
func (b *browser) finish(c callback) url.Values {
	b.h.t.Helper()
	method := http.MethodGet
	if c.form != nil {
		method = http.MethodPost
	}
	resp, raw := b.send(method, c.url, c.form)
	return b.h.landed(resp, raw)
}

// landed checks an answer that ends a sign-in and returns its query.
func (h *harness) landed(resp *http.Response, raw string) url.Values {
	h.t.Helper()
	require.Equal(h.t, http.StatusSeeOther, resp.StatusCode, raw)
	require.Equal(h.t, "no-store", resp.Header.Get("Cache-Control"))
	require.Equal(h.t, "no-referrer", resp.Header.Get("Referrer-Policy"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(h.t, err)
	require.Equal(h.t, "https://app.example.com/after", loc.Scheme+"://"+loc.Host+loc.Path, "redirects only to the Redirect URL")
	q := loc.Query()
	require.Equal(h.t, "kit", q.Get("from"), "the Redirect URL's own query is kept")
	require.Equal(h.t, "oauth-signin", q.Get("action"))
	cleared := false
	for _, c := range resp.Cookies() {
		if strings.HasSuffix(c.Name, "authkit_oauth") {
			cleared = c.MaxAge < 0 && c.Value == ""
		}
	}
	require.True(h.t, cleared, "the callback clears the state cookie")
	return q
}

// signIn runs a whole sign-in with a provider and returns the query the
// kit redirected with.
func (b *browser) signIn(name string) url.Values {
	b.h.t.Helper()
	return b.finish(b.consent(b.start(name)))
}

// oauthSignIn signs in with a provider in a fresh browser and exchanges
// the access token with getAuthGrant.
func (h *harness) oauthSignIn(name string) answer {
	h.t.Helper()
	q := h.browser().signIn(name)
	require.Equal(h.t, "200", q.Get("status"), "error %s", q.Get("error"))
	require.Empty(h.t, q.Get("error"))
	g := h.grant(q.Get("access_token"))
	require.Equal(h.t, http.StatusOK, g.status, "%s", g.raw)
	return g
}

// refused checks that a sign-in ended with status and error, and no token.
func refused(t *testing.T, q url.Values, status, code string) {
	t.Helper()
	require.Equal(t, code, q.Get("error"))
	require.Equal(t, status, q.Get("status"))
	require.Empty(t, q.Get("access_token"))
}

// noUser checks that no account has this identity, nor this email.
func (h *harness) noUser(provider, providerUserID, email string) {
	h.t.Helper()
	ctx := h.t.Context()
	_, err := h.store.UserByProvider(ctx, provider, providerUserID)
	require.True(h.t, errors.Is(err, authkit.ErrNotFound), "a %s user %s exists: %v", provider, providerUserID, err)
	if email != "" {
		_, err = h.store.UserByEmail(ctx, email)
		require.True(h.t, errors.Is(err, authkit.ErrNotFound), "a user with %s exists: %v", email, err)
	}
}
