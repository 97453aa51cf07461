package oauthid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/require"
)

// Apple's client secret is an ES256 JWT from the team to Apple about the
// client, cached while it has more than appleSecretRenew to live.
func TestAppleSecret(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	p, err := New("apple", Config{
		ClientID: "com.example.web", TeamID: "TEAM123456", KeyID: "KEY1234567",
		PrivateKey: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
	})
	require.NoError(t, err)

	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	first, err := p.apple.get(now)
	require.NoError(t, err)
	tok, err := jwt.ParseSigned(first, []jose.SignatureAlgorithm{jose.ES256})
	require.NoError(t, err)
	require.Equal(t, "KEY1234567", tok.Headers[0].KeyID)
	var c jwt.Claims
	require.NoError(t, tok.Claims(&key.PublicKey, &c))
	require.NoError(t, c.ValidateWithLeeway(jwt.Expected{
		Issuer: "TEAM123456", Subject: "com.example.web", AnyAudience: jwt.Audience{"https://appleid.apple.com"}, Time: now,
	}, 0))
	require.Equal(t, appleSecretLifetime, c.Expiry.Time().Sub(c.IssuedAt.Time()))

	again, err := p.apple.get(now.Add(appleSecretLifetime - appleSecretRenew - time.Minute))
	require.NoError(t, err)
	require.Equal(t, first, again, "cached")
	renewed, err := p.apple.get(now.Add(appleSecretLifetime - appleSecretRenew))
	require.NoError(t, err)
	require.NotEqual(t, first, renewed, "renewed before it expires")
}
