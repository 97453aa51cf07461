package authkit

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// oauthCookieName binds a sign-in in flight to the browser that started it.
// With an https PublicURL it carries the __Host- prefix.
const oauthCookieName = "authkit_oauth"

// oauthRoute routes /_auth/{provider} and /_auth/{provider}/callback.
// Any name that could be a provider gets a route, so that an unknown or
// unconfigured one ends at the Redirect URL with an error, not on a bare
// error page.
func (k *Kit) oauthRoute(r *http.Request) (route, bool) {
	rest, ok := strings.CutPrefix(r.URL.Path, oauthPrefix)
	if !ok {
		return route{}, false
	}
	name, tail, hasTail := strings.Cut(rest, "/")
	if !providerName(name) {
		return route{}, false
	}
	switch {
	case !hasTail:
		return route{http.MethodGet, func(w http.ResponseWriter, r *http.Request) error {
			k.startOAuth(w, r, name)
			return nil
		}, false, false}, true
	case tail == "callback":
		method := http.MethodGet
		if name == "apple" { // Apple's response_mode=form_post POSTs
			method = "GET, POST" // what the router's 405 says is allowed
			if r.Method == http.MethodGet || r.Method == http.MethodPost {
				method = r.Method
			}
		}
		return route{method, func(w http.ResponseWriter, r *http.Request) error {
			k.finishOAuth(w, r, name)
			return nil
		}, false, false}, true
	}
	return route{}, false
}

// providerName reports whether s could name a provider.
func providerName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// startOAuth is signInWithProvider: it binds a fresh state, PKCE verifier
// and nonce to the browser and sends it to the provider.
func (k *Kit) startOAuth(w http.ResponseWriter, r *http.Request, name string) {
	// A start writes nothing to the store, but it still costs randomness
	// and a seal (and, refused, a log line): counted toward PerIP,
	// whatever the provider.
	if err := k.ipAsked(limiterPolicy(r.Context(), k.limits.down.SignIn, routeSignIn)); err != nil {
		k.oauthRedirectError(w, r, name, err)
		return
	}
	p := k.oauth.providers[name]
	if p == nil {
		k.oauthRedirectError(w, r, name, errProviderUnavailable)
		return
	}
	authURL, value, err := k.beginOAuth(p)
	if err != nil {
		k.oauthRedirectError(w, r, name, internalError(err))
		return
	}
	http.SetCookie(w, k.oauthStateCookie(name, value, int(oauthStateLifetime/time.Second)))
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// oauthStateCookie is the state cookie as set (maxAge > 0) or cleared
// (< 0). It is SameSite=Lax, but for Apple over https: Apple's callback
// is a cross-site form POST, which carries only a SameSite=None cookie.
func (k *Kit) oauthStateCookie(provider, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{
		Name: k.oauth.cookieName, Value: value, Path: "/", MaxAge: maxAge,
		Secure: k.oauth.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
	if provider == "apple" && k.oauth.secure {
		c.SameSite = http.SameSiteNoneMode
	}
	return c
}

// finishOAuth serves the provider's callback. It always ends at the
// Redirect URL: with a grant key, or with status and error.
func (k *Kit) finishOAuth(w http.ResponseWriter, r *http.Request, name string) {
	// Whatever happens, the state in the cookie is spent.
	http.SetCookie(w, k.oauthStateCookie(name, "", -1))
	p := k.oauth.providers[name]
	if p == nil {
		k.oauthRedirectError(w, r, name, errProviderUnavailable)
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseForm(); err != nil {
			k.oauthRedirectError(w, r, name, oauthFailed(errors.New("the callback's form could not be read")))
			return
		}
		params = r.PostForm
	}
	c, err := k.readOAuthCookie(r, name)
	if err != nil {
		k.oauthRedirectError(w, r, name, err)
		return
	}
	u, created, err := k.oauthSignIn(r.Context(), p, c, params)
	if err == nil && u.Disabled {
		k.event(r.Context(), "oauth sign-in refused: user disabled", u.ID)
		err = errUserDisabled
	}
	if err != nil {
		k.oauthRedirectError(w, r, name, err)
		return
	}
	grant, err := k.issueToken(r.Context(), Token{Purpose: PurposeGrant, UserID: u.ID, Subject: name, Action: actionOAuth, Stamp: u.Stamp, Data: grantData(created)}, k.grantLifetime)
	if err != nil {
		k.oauthRedirectError(w, r, name, internalError(err))
		return
	}
	k.redirect(w, r, url.Values{"access_token": {grant}, "action": {actionOAuth}, "status": {"200"}})
}

// readOAuthCookie opens the state cookie of a sign-in with provider.
func (k *Kit) readOAuthCookie(r *http.Request, provider string) (oauthCookie, error) {
	raw, err := r.Cookie(k.oauth.cookieName)
	if err != nil {
		return oauthCookie{}, errInvalidState
	}
	c, err := k.openOAuthCookie(raw.Value)
	if err != nil {
		return oauthCookie{}, err
	}
	if c.Provider != provider || c.State == "" || c.Verifier == "" {
		return oauthCookie{}, errInvalidState
	}
	return c, nil
}

// oauthRedirectError ends a sign-in at the Redirect URL with status and
// error, and logs why.
func (k *Kit) oauthRedirectError(w http.ResponseWriter, r *http.Request, provider string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = internalError(err)
	}
	if e.HTTPStatus() >= 500 {
		logFailure(r, k.log, "authkit: oauth sign-in failed", e, "provider", provider) // and the client, through the context
	} else {
		attrs := []any{"provider", provider, "code", e.Code}
		if e.Err != nil {
			attrs = append(attrs, "err", e.Err)
		}
		k.log.InfoContext(r.Context(), "authkit: oauth sign-in failed", attrs...)
	}
	k.metrics.signInFailed(r.Context(), MethodOAuth, provider, &err)
	k.redirect(w, r, url.Values{"status": {strconv.Itoa(e.HTTPStatus())}, "error": {string(e.Code)}, "action": {actionOAuth}})
}
