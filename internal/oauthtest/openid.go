package oauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Signing is how an [OpenID] fake signs its id_tokens.
type Signing int

// The ways to sign: one right, the others forgeries a verifier must refuse.
const (
	SignRS256    Signing = iota // RS256 with the key the JWKS publishes
	SignOtherKey                // RS256 with a key the JWKS does not hold, under the same kid
	SignNone                    // alg "none" and no signature
	SignHS256                   // HS256 keyed with the published public key (algorithm confusion)
)

// keyID names the fake's signing key in its JWKS and id_tokens.
const keyID = "oauthtest-1"

// RSA keys take a while to make: one pair serves every fake of a process.
var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { return newRSAKey() })
	forgerKey  = sync.OnceValue(func() *rsa.PrivateKey { return newRSAKey() })
)

func newRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// OpenID is a fake OpenID Connect provider, shaped like Google and Apple:
// /authorize, /token (whose answer carries an id_token) and /jwks. Its
// one user's claims are those of the seeds' Google user unless set.
type OpenID struct {
	*core
	now     func() time.Time
	claims  map[string]any
	tamper  func(claims map[string]any)
	signing Signing
}

// NewOpenID starts a fake OpenID provider. Its issuer is its URL; its
// id_tokens are for [ClientID] and carry the nonce of the authorization.
func NewOpenID(t testing.TB) *OpenID {
	p := &OpenID{core: newCore("/authorize", "/token"), now: time.Now, claims: map[string]any{
		"sub":            "109847134298377823387",
		"name":           "Rooby",
		"email":          "rooby@example.com",
		"email_verified": true,
		"picture":        "https://lh3.googleusercontent.com/a-/AOh14GhCpme",
	}}
	p.issueExtra = func(pd *pending) map[string]any {
		return map[string]any{"id_token": p.idToken(pd.nonce)}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &signingKey().PublicKey, KeyID: keyID, Algorithm: "RS256", Use: "sig"}}}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(set)
	})
	p.start(t, mux)
	return p
}

// Issuer is the iss of the fake's id_tokens.
func (p *OpenID) Issuer() string { return p.srv.URL }

// JWKSURL is where the fake publishes its signing key.
func (p *OpenID) JWKSURL() string { return p.srv.URL + "/jwks" }

// SetNow sets the clock of iat and exp (default time.Now).
func (p *OpenID) SetNow(now func() time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.now = now
}

// SetClaims replaces the user's claims (sub, email, email_verified, name,
// picture…); iss, aud, iat, exp and nonce are added at issue.
func (p *OpenID) SetClaims(claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claims = maps.Clone(claims)
}

// Tamper lets f edit every id_token's claims just before signing (nil
// stops it): a wrong iss, aud or nonce, an exp in the past.
func (p *OpenID) Tamper(f func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// SignWith sets how id_tokens are signed from now on.
func (p *OpenID) SignWith(s Signing) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signing = s
}

// idToken issues the id_token of an authorization that carried nonce.
func (p *OpenID) idToken(nonce string) string {
	p.mu.Lock()
	now, tamper := p.now(), p.tamper
	claims := maps.Clone(p.claims)
	p.mu.Unlock()
	claims["iss"] = p.Issuer()
	claims["aud"] = p.clientID
	claims["iat"] = now.Unix()
	claims["exp"] = now.Add(time.Hour).Unix()
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if tamper != nil {
		tamper(claims)
	}
	return p.Sign(claims)
}

// Sign signs claims as the fake is set to, for tests that make an
// id_token by hand.
func (p *OpenID) Sign(claims map[string]any) string {
	p.mu.Lock()
	how := p.signing
	p.mu.Unlock()
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(err)
	}
	var key jose.SigningKey
	switch how {
	case SignNone:
		header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT","kid":"` + keyID + `"}`))
		return header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	case SignOtherKey:
		key = jose.SigningKey{Algorithm: jose.RS256, Key: forgerKey()}
	case SignHS256:
		pub, err := x509.MarshalPKIXPublicKey(&signingKey().PublicKey)
		if err != nil {
			panic(err)
		}
		key = jose.SigningKey{Algorithm: jose.HS256, Key: pub}
	default:
		key = jose.SigningKey{Algorithm: jose.RS256, Key: signingKey()}
	}
	signer, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", keyID))
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}
