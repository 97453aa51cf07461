package authkit

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gorilla/securecookie"
)

// OAuthProvider configures sign-in with one OAuth provider, an entry of
// [Config.Providers]. Endpoints left empty are the real provider's; set
// them to point the kit at a fake in tests, or at GitHub Enterprise.
type OAuthProvider struct {
	// ClientID is the app's id at the provider (Apple: the Services ID).
	// Required.
	ClientID string
	// ClientSecret is the app's secret at the provider. Required, except
	// for Apple, which takes TeamID, KeyID and PrivateKey instead.
	ClientSecret string
	// Scopes are the permissions asked for. Default (nil): the provider's
	// own list in the README, enough for the user's id, name, email and
	// picture.
	Scopes []string

	// AuthURL is where the browser is sent to consent. Default: the real
	// provider's (GitHub Enterprise: https://HOST/login/oauth/authorize).
	AuthURL string
	// TokenURL is where the kit exchanges the code. Default: the real
	// provider's (GitHub Enterprise: https://HOST/login/oauth/access_token).
	TokenURL string
	// APIURL is the base of the user API: GitHub's /user and /user/emails,
	// Facebook's /me, Discord's /users/@me, X's /2/users/me. Default: the
	// real provider's (GitHub Enterprise: https://HOST/api/v3). Google and
	// Apple have none: their id_token says who the user is.
	APIURL string
	// Issuer is the iss of Google's or Apple's id_tokens, and JWKSURL the
	// key set that signs them. Default: the real provider's.
	Issuer  string
	JWKSURL string

	// TeamID, KeyID and PrivateKey (the PEM of the .p8 file Apple lets you
	// download once) are what the kit signs Apple's client secret with: an
	// ES256 JWT, renewed before it expires. Apple only, and required there.
	TeamID     string
	KeyID      string
	PrivateKey []byte

	// HTTPClient makes the kit's calls to the provider. Default: a client
	// with a 10-second timeout.
	HTTPClient *http.Client
}

// oauthStateLifetime bounds an OAuth sign-in from start to callback.
const oauthStateLifetime = 10 * time.Minute

// actionOAuth is the action of the redirect that ends an OAuth sign-in.
const actionOAuth = "oauth-signin"

// oauthPrefix is where signInWithProvider sends the browser.
const oauthPrefix = "/_auth/"

// oauthCookieName binds a sign-in in flight to the browser that started it.
// With an https PublicURL it carries the __Host- prefix.
const oauthCookieName = "authkit_oauth"

// oauthKit is the kit's OAuth state, built by setupOAuth.
type oauthKit struct {
	providers  map[string]*oauthProvider
	cookies    *securecookie.SecureCookie
	cookieName string
	secure     bool // PublicURL is https: Secure cookies, __Host- prefix
	linkEmails bool
}

// oauthProvider is one configured provider, defaults applied.
type oauthProvider struct {
	name     string
	spec     *providerSpec
	cfg      OAuthProvider
	client   *http.Client
	verifier *oidc.IDTokenVerifier // Google and Apple
	apple    *appleSecret          // Apple
}

// oauthCookie is what the browser holds while it is at the provider,
// signed and encrypted.
type oauthCookie struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n,omitempty"`
	Provider string `json:"p"`
	Expires  int64  `json:"e"` // unix seconds, by the kit's clock
}

// oauthIdentity is who the provider says the user is.
type oauthIdentity struct {
	ID            string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
}

var (
	errInvalidState        = newError(CodeInvalidState, "The sign-in could not be matched to this browser: it expired, was used already, or was started elsewhere. Start again.")
	errProviderUnavailable = newError(CodeProviderNotConfigured, "This app does not offer sign-in with that provider.")
	errAccessDenied        = newError(CodeAccessDenied, "The sign-in was cancelled at the provider.")
	errAccountExists       = newError(CodeAccountExists, "An account with this email exists already: sign in the way you did before.")
)

// oauthFailed is an answer of the provider the kit cannot use. cause is
// logged and must hold no secret.
func oauthFailed(cause error) *Error {
	return &Error{Code: CodeOAuthFailed, Message: "The provider's answer could not be used to sign you in. Try again.", Err: cause}
}

// setupOAuth checks Config.Providers and readies them.
func (k *Kit) setupOAuth(cfg Config) error {
	o := &k.oauth
	o.providers = map[string]*oauthProvider{}
	o.secure = strings.HasPrefix(k.publicURL, "https://")
	o.cookieName = oauthCookieName
	if o.secure {
		o.cookieName = "__Host-" + oauthCookieName
	}
	o.linkEmails = cfg.LinkVerifiedEmails.on(false)
	o.cookies = securecookie.New(k.subkey("oauth cookie hash"), k.subkey("oauth cookie block"))
	o.cookies.MaxAge(int(oauthStateLifetime / time.Second))
	o.cookies.SetSerializer(securecookie.JSONEncoder{})
	names := make([]string, 0, len(cfg.Providers))
	for name := range cfg.Providers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p, err := k.newOAuthProvider(name, cfg.Providers[name])
		if err != nil {
			return err
		}
		o.providers[name] = p
	}
	return nil
}

func (k *Kit) newOAuthProvider(name string, c OAuthProvider) (*oauthProvider, error) {
	spec := providerSpecs[name]
	if spec == nil {
		return nil, fmt.Errorf("authkit: Config.Providers: %q is not a provider; use google, apple, facebook, twitter, github or discord", name)
	}
	field := func(f string) string { return "authkit: Config.Providers[" + strconv.Quote(name) + "]." + f }
	if strings.TrimSpace(c.ClientID) == "" {
		return nil, errors.New(field("ClientID") + " is required")
	}
	p := &oauthProvider{name: name, spec: spec, cfg: c, client: c.HTTPClient}
	if name == "apple" {
		if c.ClientSecret != "" {
			return nil, errors.New(field("ClientSecret") + " is not used: Apple's secret is made from TeamID, KeyID and PrivateKey")
		}
		a, err := newAppleSecret(c, field)
		if err != nil {
			return nil, err
		}
		p.apple = a
	} else {
		if c.ClientSecret == "" {
			return nil, errors.New(field("ClientSecret") + " is required")
		}
		if c.TeamID != "" || c.KeyID != "" || len(c.PrivateKey) > 0 {
			return nil, errors.New(field("TeamID") + ", KeyID and PrivateKey are for Apple only")
		}
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	if p.cfg.Scopes == nil {
		p.cfg.Scopes = spec.scopes
	}
	for _, u := range []struct {
		name     string
		in       *string
		def      string
		relevant bool
	}{
		{"AuthURL", &p.cfg.AuthURL, spec.authURL, true},
		{"TokenURL", &p.cfg.TokenURL, spec.tokenURL, true},
		{"APIURL", &p.cfg.APIURL, spec.apiURL, spec.apiURL != ""},
		{"Issuer", &p.cfg.Issuer, spec.issuer, spec.openID},
		{"JWKSURL", &p.cfg.JWKSURL, spec.jwksURL, spec.openID},
	} {
		if *u.in == "" {
			*u.in = u.def
			continue
		}
		if !u.relevant {
			return nil, errors.New(field(u.name) + " is not used by " + name)
		}
		if v, err := url.Parse(*u.in); err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" || v.User != nil {
			return nil, errors.New(field(u.name) + " must be an absolute http(s) URL")
		}
		*u.in = strings.TrimSuffix(*u.in, "/")
	}
	if spec.openID {
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), p.cfg.JWKSURL)
		p.verifier = oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{
			ClientID:             c.ClientID,
			SupportedSigningAlgs: []string{oidc.RS256},
			Now:                  k.now,
		})
		if p.apple != nil {
			p.apple.audience = p.cfg.Issuer
		}
	}
	return p, nil
}

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
		}, false}, true
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
		}, false}, true
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
	p := k.oauth.providers[name]
	if p == nil {
		k.oauthRedirectError(w, r, name, errProviderUnavailable)
		return
	}
	authURL, cookie, err := k.beginOAuth(r.Context(), p)
	if err != nil {
		k.oauthRedirectError(w, r, name, internalError(err))
		return
	}
	http.SetCookie(w, cookie)
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

func (k *Kit) beginOAuth(ctx context.Context, p *oauthProvider) (string, *http.Cookie, error) {
	// The store keeps only the state's hash, so that the callback spends
	// it once, on whichever instance it reaches.
	state, err := k.issueToken(ctx, Token{Purpose: PurposeOAuthState, Subject: p.name}, oauthStateLifetime)
	if err != nil {
		return "", nil, err
	}
	c := oauthCookie{State: state, Provider: p.name, Expires: k.clock().Add(oauthStateLifetime).Unix()}
	if c.Verifier, err = k.newToken(); err != nil { // 43 characters: a valid PKCE verifier
		return "", nil, err
	}
	if p.spec.openID {
		if c.Nonce, err = k.newToken(); err != nil {
			return "", nil, err
		}
	}
	value, err := k.oauth.cookies.Encode(k.oauth.cookieName, c)
	if err != nil {
		return "", nil, err
	}
	return p.authCodeURL(k.publicURL, c), k.oauthCookie(p.name, value, int(oauthStateLifetime/time.Second)), nil
}

// oauthCookie is the state cookie as set (maxAge > 0) or cleared (< 0).
// It is SameSite=Lax, but for Apple over https: Apple's callback is a
// cross-site form POST, which carries only a SameSite=None cookie.
func (k *Kit) oauthCookie(provider, value string, maxAge int) *http.Cookie {
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
	http.SetCookie(w, k.oauthCookie(name, "", -1))
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
	u, err := k.oauthCallback(r.Context(), r, p, params)
	if err != nil {
		k.oauthRedirectError(w, r, name, err)
		return
	}
	grant, err := k.issueToken(r.Context(), Token{Purpose: PurposeGrant, UserID: u.ID, Action: actionOAuth, Stamp: u.Stamp}, k.grantLifetime)
	if err != nil {
		k.oauthRedirectError(w, r, name, internalError(err))
		return
	}
	k.redirect(w, r, url.Values{"access_token": {grant}, "action": {actionOAuth}, "status": {"200"}})
}

// oauthCallback checks the callback against the browser's cookie and the
// store, exchanges the code and finds or creates the user.
func (k *Kit) oauthCallback(ctx context.Context, r *http.Request, p *oauthProvider, params url.Values) (User, error) {
	c, err := k.readOAuthCookie(r, p.name)
	if err != nil {
		return User{}, err
	}
	now := k.clock()
	state := params.Get("state")
	if state == "" || len(state) > 256 || subtle.ConstantTimeCompare([]byte(state), []byte(c.State)) != 1 || now.Unix() >= c.Expires {
		return User{}, errInvalidState
	}
	t, err := k.store.ConsumeToken(ctx, PurposeOAuthState, hashToken(state), now)
	if errors.Is(err, ErrNotFound) {
		return User{}, errInvalidState
	}
	if err != nil {
		return User{}, internalError(err)
	}
	if t.Subject != p.name {
		return User{}, errInvalidState
	}
	if e := params.Get("error"); e != "" {
		if e == "access_denied" || e == "user_cancelled_authorize" {
			return User{}, errAccessDenied
		}
		return User{}, oauthFailed(fmt.Errorf("%s answered error %.64q", p.name, e))
	}
	code := params.Get("code")
	if code == "" || len(code) > 4096 {
		return User{}, oauthFailed(fmt.Errorf("%s sent no code", p.name))
	}
	tok, err := p.exchange(ctx, k.publicURL, code, c.Verifier, now)
	if err != nil {
		return User{}, oauthFailed(err)
	}
	id, err := p.spec.identify(ctx, p, tok, c.Nonce, params)
	if err != nil {
		return User{}, oauthFailed(err)
	}
	return k.oauthUser(ctx, p.name, id)
}

// readOAuthCookie decodes the state cookie of a sign-in with provider.
func (k *Kit) readOAuthCookie(r *http.Request, provider string) (oauthCookie, error) {
	var c oauthCookie
	raw, err := r.Cookie(k.oauth.cookieName)
	if err != nil || raw.Value == "" {
		return c, errInvalidState
	}
	if err := k.oauth.cookies.Decode(k.oauth.cookieName, raw.Value, &c); err != nil {
		return c, errInvalidState
	}
	if c.Provider != provider || c.State == "" || c.Verifier == "" {
		return c, errInvalidState
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
	attrs := []any{"provider", provider, "code", e.Code} // and the client, through the context
	if e.Err != nil {
		attrs = append(attrs, "err", e.Err)
	}
	if e.Code.Status() >= 500 {
		k.log.ErrorContext(r.Context(), "authkit: oauth sign-in failed", attrs...)
	} else {
		k.log.InfoContext(r.Context(), "authkit: oauth sign-in failed", attrs...)
	}
	k.redirect(w, r, url.Values{"status": {strconv.Itoa(e.Code.Status())}, "error": {string(e.Code)}, "action": {actionOAuth}})
}

// oauthEvent logs an OAuth auth event with the provider.
func (k *Kit) oauthEvent(ctx context.Context, what, provider, userID string) {
	k.log.InfoContext(ctx, "authkit: "+what, "provider", provider, "user", userID)
}
