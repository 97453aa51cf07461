// Package oauthid signs a user in with an OAuth provider up to the point
// where the provider has said who the user is: the providers authkit
// knows (their endpoints, default scopes and client authentication), the
// URL the browser consents at, the exchange of the code, and the reading
// of the user's identity from an id_token or the provider's user API.
//
// It knows nothing of the kit: no store, no cookie, no request. The kit
// keeps the state, the PKCE verifier and the nonce, and decides what an
// [Identity] signs into.
//
// # Providers
//
// google, apple, facebook, twitter (X), github and discord: [Known] says
// whether a name is one. Google and Apple are OpenID providers whose
// id_token, checked with go-oidc, names the user; the others are read
// through their user API with the access token.
package oauthid

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config is one provider's settings. Fields left empty take the real
// provider's values.
type Config struct {
	// ClientID is the app's id at the provider (Apple: the Services ID).
	// Required.
	ClientID string
	// ClientSecret is the app's secret at the provider. Required, except
	// for Apple, which takes TeamID, KeyID and PrivateKey instead.
	ClientSecret string
	// Scopes are the permissions asked for. Default (nil): the provider's
	// own list.
	Scopes []string

	// AuthURL, TokenURL and APIURL (the base of the user API, for the
	// providers that have one) are absolute http(s) URLs. Default: the
	// real provider's.
	AuthURL, TokenURL, APIURL string
	// Issuer is the iss of an OpenID provider's id_tokens, and JWKSURL
	// the key set that signs them. Default: the real provider's.
	Issuer, JWKSURL string

	// TeamID, KeyID and PrivateKey (the PEM of Apple's .p8 file) sign
	// Apple's client secret. Apple only, and required there.
	TeamID, KeyID string
	PrivateKey    []byte

	// HTTPClient makes the calls to the provider. Default: a client with
	// a 10-second timeout.
	HTTPClient *http.Client
	// Now is the clock id_tokens are checked against. Default: time.Now.
	Now func() time.Time
}

// FieldError is a Config that New refuses: Field names the field (or
// fields) at fault, Problem says what is wrong with it.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// Identity is who the provider says the user is, as it says it but for
// the ID: the caller normalizes the email and bounds the name and
// picture.
type Identity struct {
	// ID is the provider's id of the user, never empty without an error,
	// in the one form it is compared in. GitHub, Discord, X and Facebook
	// number their users: their ids are decimal digits without sign or
	// leading zeros, and one that is not an unsigned 64-bit integer is
	// an error of Identify. Google's and Apple's sub is as given.
	ID string

	Email         string
	EmailVerified bool // the provider vouches that the user owns Email
	Name          string
	Picture       string // a URL
}

// Provider is a configured provider, defaults applied. It is safe for
// concurrent use.
type Provider struct {
	name     string
	spec     *spec
	cfg      Config
	client   *http.Client
	verifier *oidc.IDTokenVerifier // OpenID providers
	apple    *appleSecret          // Apple
}

// Known reports whether name is a provider this package knows.
func Known(name string) bool { return specs[name] != nil }

// New checks c and readies the provider called name. A Config it refuses
// yields a *FieldError.
func New(name string, c Config) (*Provider, error) {
	s := specs[name]
	if s == nil {
		return nil, fmt.Errorf("oauthid: %q is not a provider", name)
	}
	if strings.TrimSpace(c.ClientID) == "" {
		return nil, &FieldError{"ClientID", "is required"}
	}
	p := &Provider{name: name, spec: s, cfg: c, client: c.HTTPClient}
	if name == "apple" {
		if c.ClientSecret != "" {
			return nil, &FieldError{"ClientSecret", "is not used: Apple's secret is made from TeamID, KeyID and PrivateKey"}
		}
		a, err := newAppleSecret(c)
		if err != nil {
			return nil, err
		}
		p.apple = a
	} else {
		if c.ClientSecret == "" {
			return nil, &FieldError{"ClientSecret", "is required"}
		}
		if c.TeamID != "" || c.KeyID != "" || len(c.PrivateKey) > 0 {
			return nil, &FieldError{"TeamID, KeyID and PrivateKey", "are for Apple only"}
		}
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 10 * time.Second}
	}
	if p.cfg.Scopes == nil {
		p.cfg.Scopes = s.scopes
	}
	for _, u := range []struct {
		field    string
		in       *string
		def      string
		relevant bool
	}{
		{"AuthURL", &p.cfg.AuthURL, s.authURL, true},
		{"TokenURL", &p.cfg.TokenURL, s.tokenURL, true},
		{"APIURL", &p.cfg.APIURL, s.apiURL, s.apiURL != ""},
		{"Issuer", &p.cfg.Issuer, s.issuer, s.openID},
		{"JWKSURL", &p.cfg.JWKSURL, s.jwksURL, s.openID},
	} {
		if *u.in == "" {
			*u.in = u.def
			continue
		}
		if !u.relevant {
			return nil, &FieldError{u.field, "is not used by " + name}
		}
		if v, err := url.Parse(*u.in); err != nil || (v.Scheme != "http" && v.Scheme != "https") || v.Host == "" || v.User != nil {
			return nil, &FieldError{u.field, "must be an absolute http(s) URL"}
		}
		*u.in = strings.TrimSuffix(*u.in, "/")
	}
	if s.openID {
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), p.client), p.cfg.JWKSURL)
		p.verifier = oidc.NewVerifier(p.cfg.Issuer, keys, &oidc.Config{
			ClientID:             c.ClientID,
			SupportedSigningAlgs: []string{oidc.RS256},
			Now:                  c.Now,
		})
		if p.apple != nil {
			p.apple.audience = p.cfg.Issuer
		}
	}
	return p, nil
}

// Name is the provider's name, as given to New.
func (p *Provider) Name() string { return p.name }

// OpenID reports whether the provider is an OpenID one, whose sign-ins
// need a nonce.
func (p *Provider) OpenID() bool { return p.spec.openID }

// oauth2Config is the provider as golang.org/x/oauth2 sees it.
func (p *Provider) oauth2Config(redirectURL, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: secret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL, AuthStyle: p.spec.authStyle},
		RedirectURL:  redirectURL,
		Scopes:       p.cfg.Scopes,
	}
}

// AuthCodeURL is where the browser consents: with the state, the PKCE S256
// challenge of verifier and, when nonce is not empty, the nonce. Apple,
// asked for the name or email, is told to answer by form POST, the only
// way it sends them.
func (p *Provider) AuthCodeURL(redirectURL, state, verifier, nonce string) string {
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	if nonce != "" {
		opts = append(opts, oidc.Nonce(nonce))
	}
	if p.apple != nil && (slices.Contains(p.cfg.Scopes, "name") || slices.Contains(p.cfg.Scopes, "email")) {
		opts = append(opts, oauth2.SetAuthURLParam("response_mode", "form_post"))
	}
	return p.oauth2Config(redirectURL, "").AuthCodeURL(state, opts...)
}

// Exchange trades the code and the PKCE verifier for the provider's
// token. now dates Apple's client secret. Its errors hold no URL nor
// answer body, and may be logged.
func (p *Provider) Exchange(ctx context.Context, redirectURL, code, verifier string, now time.Time) (*oauth2.Token, error) {
	secret := p.cfg.ClientSecret
	if p.apple != nil {
		var err error
		if secret, err = p.apple.get(now); err != nil {
			return nil, err
		}
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.oauth2Config(redirectURL, secret).Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("%s token endpoint: %w", p.name, quietError(err))
	}
	return tok, nil
}

// Identify says who the user of tok is. nonce is the sign-in's, checked
// against an OpenID provider's id_token; params are the callback's, where
// Apple sends the name on the user's first consent. Its errors may be
// logged.
func (p *Provider) Identify(ctx context.Context, tok *oauth2.Token, nonce string, params url.Values) (Identity, error) {
	return p.spec.identify(ctx, p, tok, nonce, params)
}

// quietError keeps of an HTTP failure what may be logged: no URL (which
// may carry a proof or code), no response body.
func quietError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		return fmt.Errorf("answered %d %.64q", status, re.ErrorCode)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
