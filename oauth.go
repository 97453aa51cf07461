package authkit

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/authkit/authkit/internal/oauthid"
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
	// own list in the README, enough for the user's id, name and picture,
	// and for the email of every provider but X. X's default,
	// "tweet.read users.read", gets no email: X shares one only when the
	// app has "Request email from users" turned on in X's developer
	// portal (User authentication settings) and Scopes add "users.email",
	// as in {"tweet.read", "users.read", "users.email"}; the kit then
	// reads the user's confirmed_email, which counts as verified.
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

// idConfig is c as internal/oauthid takes it, checked against the kit's
// clock.
func (c OAuthProvider) idConfig(now func() time.Time) oauthid.Config {
	return oauthid.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: c.Scopes,
		AuthURL: c.AuthURL, TokenURL: c.TokenURL, APIURL: c.APIURL,
		Issuer: c.Issuer, JWKSURL: c.JWKSURL,
		TeamID: c.TeamID, KeyID: c.KeyID, PrivateKey: c.PrivateKey,
		HTTPClient: c.HTTPClient, Now: now,
	}
}

// oauthStateLifetime bounds an OAuth sign-in from start to callback.
const oauthStateLifetime = 10 * time.Minute

// actionOAuth is the action of the redirect that ends an OAuth sign-in.
const actionOAuth = "oauth-signin"

// oauthKit is the kit's OAuth state, built by configureOAuth.
type oauthKit struct {
	providers  map[string]*oauthid.Provider
	seals      []cipher.AEAD // XChaCha20-Poly1305 under a subkey of each secret in use, current first
	cookieName string
	secure     bool // PublicURL is https: Secure cookies, __Host- prefix
	linkEmails bool
}

// oauthCookie is what the browser holds while it is at the provider,
// sealed (see sealOAuthCookie): the whole of a sign-in in flight, so that
// starting one writes nothing to the store. The kit redirects only to
// Config.RedirectURL, so a sign-in has no target of its own to carry.
type oauthCookie struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n,omitempty"`
	Provider string `json:"p"`
	Expires  int64  `json:"e"` // unix seconds, by the kit's clock
}

// maxOAuthCookie bounds the state cookie the kit reads: its own are under
// 400 characters.
const maxOAuthCookie = 1024

// sealOAuthCookie encrypts and authenticates c for the browser, under
// the current secret: neither the browser nor anyone who reads the cookie
// learns the state, the PKCE verifier or the nonce, and no one without a
// secret in use makes one the kit opens. XChaCha20-Poly1305's 192-bit
// random nonces never repeat in practice, however many sign-ins one
// secret seals.
func (k *Kit) sealOAuthCookie(c oauthCookie) (string, error) {
	plain, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	seal := k.oauth.seals[0]
	nonce := make([]byte, seal.NonceSize(), seal.NonceSize()+len(plain)+seal.Overhead())
	if _, err := io.ReadFull(k.rand, nonce); err != nil {
		return "", fmt.Errorf("authkit: reading randomness: %w", err)
	}
	sealed := seal.Seal(nonce, nonce, plain, []byte(k.oauth.cookieName))
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openOAuthCookie is the cookie sealOAuthCookie sealed as value, under
// any secret in use (a sign-in started before a rotation ends after it),
// or errInvalidState for anything else: forged, altered, cut, or sealed
// under a secret no longer in use.
func (k *Kit) openOAuthCookie(value string) (oauthCookie, error) {
	var c oauthCookie
	if value == "" || len(value) > maxOAuthCookie {
		return c, errInvalidState
	}
	raw, err := base64.RawURLEncoding.DecodeString(value)
	n := chacha20poly1305.NonceSizeX
	if err != nil || len(raw) < n+chacha20poly1305.Overhead {
		return c, errInvalidState
	}
	for _, seal := range k.oauth.seals {
		plain, err := seal.Open(nil, raw[:n], raw[n:], []byte(k.oauth.cookieName))
		if err != nil {
			continue
		}
		if json.Unmarshal(plain, &c) != nil {
			return oauthCookie{}, errInvalidState
		}
		return c, nil
	}
	return oauthCookie{}, errInvalidState
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

// configureOAuth checks Config.Providers and readies them.
func (k *Kit) configureOAuth(cfg Config) error {
	o := &k.oauth
	o.providers = map[string]*oauthid.Provider{}
	o.secure = strings.HasPrefix(k.publicURL, "https://")
	o.cookieName = oauthCookieName
	if o.secure {
		o.cookieName = "__Host-" + oauthCookieName
	}
	o.linkEmails = cfg.LinkVerifiedEmails.on(false)
	for _, key := range k.subkeys("oauth state cookie") {
		seal, err := chacha20poly1305.NewX(key)
		if err != nil {
			return err
		}
		o.seals = append(o.seals, seal)
	}
	names := make([]string, 0, len(cfg.Providers))
	for name := range cfg.Providers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !oauthid.Known(name) {
			return fmt.Errorf("authkit: Config.Providers: %q is not a provider; use google, apple, facebook, twitter, github or discord", name)
		}
		p, err := oauthid.New(name, cfg.Providers[name].idConfig(k.now))
		if fe := (*oauthid.FieldError)(nil); errors.As(err, &fe) {
			return fmt.Errorf("authkit: Config.Providers[%q].%s %s", name, fe.Field, fe.Problem)
		}
		if err != nil {
			return fmt.Errorf("authkit: Config.Providers[%q]: %w", name, err)
		}
		o.providers[name] = p
	}
	return nil
}

// oauthRedirectURL is where provider sends the browser back.
func (k *Kit) oauthRedirectURL(provider string) string {
	return k.publicURL + oauthPrefix + provider + "/callback"
}

// beginOAuth starts a sign-in with p: it makes a fresh state, PKCE
// verifier and, for OpenID providers, nonce, and returns where the browser
// consents and the value of the cookie that binds the sign-in to it. It
// writes nothing to the store: the sealed cookie holds the sign-in, and
// the callback spends its state (see spendOAuthState).
func (k *Kit) beginOAuth(p *oauthid.Provider) (authURL, cookieValue string, err error) {
	c := oauthCookie{Provider: p.Name(), Expires: k.clock().Add(oauthStateLifetime).Unix()}
	if c.State, err = k.newToken(); err != nil { // 256 bits
		return "", "", err
	}
	if c.Verifier, err = k.newToken(); err != nil { // 43 characters: a valid PKCE verifier
		return "", "", err
	}
	if p.OpenID() {
		if c.Nonce, err = k.newToken(); err != nil {
			return "", "", err
		}
	}
	cookieValue, err = k.sealOAuthCookie(c)
	if err != nil {
		return "", "", err
	}
	return p.AuthCodeURL(k.oauthRedirectURL(p.Name()), c.State, c.Verifier, c.Nonce), cookieValue, nil
}

// oauthSignIn ends a sign-in with p: it checks the callback's params
// against c, the browser's opened cookie, spends the state, exchanges the
// code and finds or creates the user (created says which).
func (k *Kit) oauthSignIn(ctx context.Context, p *oauthid.Provider, c oauthCookie, params url.Values) (u User, created bool, err error) {
	now := k.clock()
	state := params.Get("state")
	if state == "" || len(state) > maxTokenLen || subtle.ConstantTimeCompare([]byte(state), []byte(c.State)) != 1 ||
		c.Provider != p.Name() || now.Unix() >= c.Expires {
		return User{}, false, errInvalidState
	}
	if err := k.spendOAuthState(ctx, c, now); err != nil {
		return User{}, false, err
	}
	if e := params.Get("error"); e != "" {
		if e == "access_denied" || e == "user_cancelled_authorize" {
			return User{}, false, errAccessDenied
		}
		return User{}, false, oauthFailed(fmt.Errorf("%s answered error %.64q", p.Name(), e))
	}
	code := params.Get("code")
	if code == "" || len(code) > 4096 {
		return User{}, false, oauthFailed(fmt.Errorf("%s sent no code", p.Name()))
	}
	tok, err := p.Exchange(ctx, k.oauthRedirectURL(p.Name()), code, c.Verifier, now)
	if err != nil {
		return User{}, false, oauthFailed(err)
	}
	id, err := p.Identify(ctx, tok, c.Nonce, params)
	if err != nil {
		return User{}, false, oauthFailed(err)
	}
	return k.oauthUser(ctx, p.Name(), id)
}

// spendOAuthState makes the state of c, whose cookie the kit sealed and
// whose state the callback carries, single use on every instance: it
// writes a marker keyed by the state's hash, which only the first callback
// can write (CreateToken answers a taken hash with ErrDuplicate, however
// many race). The marker dies when the state would anyway, and is the
// only row a sign-in writes before it knows the user, so rows come only
// from starts completed in their lifetime, and starts count toward PerIP.
func (k *Kit) spendOAuthState(ctx context.Context, c oauthCookie, now time.Time) error {
	err := k.store.CreateToken(ctx, Token{
		Hash: hashToken(c.State), Purpose: PurposeOAuthState, Subject: c.Provider,
		CreatedAt: now, ExpiresAt: time.Unix(c.Expires, 0),
	})
	if errors.Is(err, ErrDuplicate) {
		return errInvalidState // used already
	}
	if err != nil {
		return internalError(err)
	}
	return nil
}

// oauthEvent logs an OAuth auth event with the provider.
func (k *Kit) oauthEvent(ctx context.Context, what, provider, userID string) {
	k.log.InfoContext(ctx, "authkit: "+what, "provider", provider, "user", userID)
}

// oauthPrefix is where signInWithProvider sends the browser.
const oauthPrefix = "/_auth/"
