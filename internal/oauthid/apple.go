package oauthid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Apple's client secret is a JWT the app signs with its key: a Provider
// makes one, keeps it appleSecretLifetime (Apple takes up to six months)
// and makes the next once less than appleSecretRenew of it is left.
const (
	appleSecretLifetime = 24 * time.Hour
	appleSecretRenew    = time.Hour
)

// appleSecret makes and caches Apple's client secret.
type appleSecret struct {
	key                     *ecdsa.PrivateKey
	teamID, keyID, clientID string
	audience                string // Apple's issuer: https://appleid.apple.com

	mu      sync.Mutex
	secret  string
	expires time.Time
}

// newAppleSecret checks Apple's fields of c. Its audience is set once
// the issuer is known.
func newAppleSecret(c Config) (*appleSecret, error) {
	if c.TeamID == "" || c.KeyID == "" || len(c.PrivateKey) == 0 {
		return nil, &FieldError{"TeamID, KeyID and PrivateKey", "are required for Apple"}
	}
	block, _ := pem.Decode(c.PrivateKey)
	if block == nil {
		return nil, &FieldError{"PrivateKey", "is not PEM: use the contents of the .p8 file Apple gave you"}
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, &FieldError{"PrivateKey", "is not a PKCS #8 key: use the contents of the .p8 file Apple gave you"}
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, &FieldError{"PrivateKey", "is not a P-256 key, as Apple's keys are"}
	}
	return &appleSecret{key: ec, teamID: c.TeamID, keyID: c.KeyID, clientID: c.ClientID}, nil
}

// get returns a client secret good for at least appleSecretRenew more.
func (a *appleSecret) get(now time.Time) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.secret != "" && now.Add(appleSecretRenew).Before(a.expires) {
		return a.secret, nil
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", a.keyID))
	if err != nil {
		return "", err
	}
	exp := now.Add(appleSecretLifetime)
	secret, err := jwt.Signed(signer).Claims(jwt.Claims{
		Issuer:   a.teamID,
		Subject:  a.clientID,
		Audience: jwt.Audience{a.audience},
		IssuedAt: jwt.NewNumericDate(now),
		Expiry:   jwt.NewNumericDate(exp),
	}).Serialize()
	if err != nil {
		return "", err
	}
	a.secret, a.expires = secret, exp
	return secret, nil
}
