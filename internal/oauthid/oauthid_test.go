package oauthid_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/authkit/authkit/internal/oauthid"
	"github.com/authkit/authkit/internal/oauthtest"
)

const redirectURL = "https://app.example.com/_auth/p/callback"

// appleKey is a key like the .p8 file Apple hands out: a P-256 key in
// PKCS #8 PEM.
func appleKey(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// consent opens authURL at a fake, which consents at once, and returns
// the parameters it sends back to the redirect URL.
func consent(t *testing.T, authURL string) url.Values {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusFound, resp.StatusCode)
	back, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, redirectURL, back.Scheme+"://"+back.Host+back.Path)
	return back.Query()
}

func TestKnown(t *testing.T) {
	for _, name := range []string{"google", "apple", "facebook", "twitter", "github", "discord"} {
		require.True(t, oauthid.Known(name), name)
	}
	for _, name := range []string{"", "GitHub", "x", "myspace"} {
		require.False(t, oauthid.Known(name), name)
	}
}

func TestNewRefuses(t *testing.T) {
	pemKey := appleKey(t)
	for name, tc := range map[string]struct {
		provider       string
		cfg            oauthid.Config
		field, problem string
	}{
		"no client id":         {"github", oauthid.Config{ClientID: " ", ClientSecret: "b"}, "ClientID", "is required"},
		"no secret":            {"discord", oauthid.Config{ClientID: "a"}, "ClientSecret", "is required"},
		"apple without key":    {"apple", oauthid.Config{ClientID: "a", TeamID: "T", KeyID: "K"}, "TeamID, KeyID and PrivateKey", "are required for Apple"},
		"apple with secret":    {"apple", oauthid.Config{ClientID: "a", ClientSecret: "b", TeamID: "T", KeyID: "K", PrivateKey: pemKey}, "ClientSecret", "is not used: Apple's secret is made from TeamID, KeyID and PrivateKey"},
		"apple key not PEM":    {"apple", oauthid.Config{ClientID: "a", TeamID: "T", KeyID: "K", PrivateKey: []byte("nope")}, "PrivateKey", "is not PEM: use the contents of the .p8 file Apple gave you"},
		"apple key not PKCS8":  {"apple", oauthid.Config{ClientID: "a", TeamID: "T", KeyID: "K", PrivateKey: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")}, "PrivateKey", "is not a PKCS #8 key: use the contents of the .p8 file Apple gave you"},
		"apple fields on X":    {"twitter", oauthid.Config{ClientID: "a", ClientSecret: "b", KeyID: "K"}, "TeamID, KeyID and PrivateKey", "are for Apple only"},
		"relative URL":         {"github", oauthid.Config{ClientID: "a", ClientSecret: "b", TokenURL: "/token"}, "TokenURL", "must be an absolute http(s) URL"},
		"URL with a user":      {"github", oauthid.Config{ClientID: "a", ClientSecret: "b", APIURL: "https://u:p@ghe.example.com/api/v3"}, "APIURL", "must be an absolute http(s) URL"},
		"issuer for github":    {"github", oauthid.Config{ClientID: "a", ClientSecret: "b", Issuer: "https://x.example.com"}, "Issuer", "is not used by github"},
		"API URL for google":   {"google", oauthid.Config{ClientID: "a", ClientSecret: "b", APIURL: "https://x.example.com"}, "APIURL", "is not used by google"},
		"JWKS URL for discord": {"discord", oauthid.Config{ClientID: "a", ClientSecret: "b", JWKSURL: "https://x.example.com"}, "JWKSURL", "is not used by discord"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := oauthid.New(tc.provider, tc.cfg)
			var fe *oauthid.FieldError
			require.True(t, errors.As(err, &fe), "%v", err)
			require.Equal(t, tc.field, fe.Field)
			require.Equal(t, tc.problem, fe.Problem)
			require.Equal(t, tc.field+" "+tc.problem, err.Error())
		})
	}
	_, err := oauthid.New("myspace", oauthid.Config{ClientID: "a", ClientSecret: "b"})
	require.Error(t, err)
	var fe *oauthid.FieldError
	require.False(t, errors.As(err, &fe), "an unknown provider is no field's fault")
}

// The consent URL carries the client, the redirect URL, the default
// scopes, the state and the PKCE S256 challenge; OpenID providers add the
// nonce, and Apple asks for a form POST.
func TestAuthCodeURL(t *testing.T) {
	verifier := strings.Repeat("v", 43)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		provider, nonce, scope, responseMode string
		cfg                                  oauthid.Config
	}{
		{provider: "github", scope: "read:user user:email", cfg: oauthid.Config{ClientSecret: "s"}},
		{provider: "twitter", scope: "tweet.read users.read", cfg: oauthid.Config{ClientSecret: "s"}},
		{provider: "google", nonce: "n0nce", scope: "openid email profile", cfg: oauthid.Config{ClientSecret: "s"}},
		{provider: "apple", nonce: "n0nce", scope: "name email", responseMode: "form_post", cfg: oauthid.Config{TeamID: "T", KeyID: "K", PrivateKey: appleKey(t)}},
		{provider: "apple", nonce: "n0nce", scope: "openid", cfg: oauthid.Config{TeamID: "T", KeyID: "K", PrivateKey: appleKey(t), Scopes: []string{"openid"}}},
	} {
		t.Run(tc.provider+" "+tc.scope, func(t *testing.T) {
			tc.cfg.ClientID = "client"
			p, err := oauthid.New(tc.provider, tc.cfg)
			require.NoError(t, err)
			require.Equal(t, tc.provider, p.Name())
			require.Equal(t, tc.nonce != "", p.OpenID())
			u, err := url.Parse(p.AuthCodeURL(redirectURL, "st4te", verifier, tc.nonce))
			require.NoError(t, err)
			require.Equal(t, "https", u.Scheme)
			q := u.Query()
			require.Equal(t, url.Values{
				"client_id": {"client"}, "redirect_uri": {redirectURL}, "response_type": {"code"},
				"scope": {tc.scope}, "state": {"st4te"},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"},
			}, without(q, "nonce", "response_mode"))
			require.Equal(t, tc.nonce, q.Get("nonce"))
			require.Equal(t, tc.responseMode, q.Get("response_mode"))
		})
	}
}

// without is q less keys.
func without(q url.Values, keys ...string) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = v
	}
	for _, k := range keys {
		out.Del(k)
	}
	return out
}

// A whole sign-in with an OAuth 2.0 provider: consent, exchange, user API.
func TestGitHub(t *testing.T) {
	gh := oauthtest.NewGitHub(t)
	p, err := oauthid.New("github", oauthid.Config{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: gh.AuthURL(), TokenURL: gh.TokenURL(), APIURL: gh.APIURL() + "/",
	})
	require.NoError(t, err)
	verifier := strings.Repeat("x", 43)
	back := consent(t, p.AuthCodeURL(redirectURL, "st4te", verifier, ""))
	require.Equal(t, "st4te", back.Get("state"))

	_, err = p.Exchange(t.Context(), redirectURL, back.Get("code"), strings.Repeat("y", 43), time.Now())
	require.EqualError(t, err, `github token endpoint: answered 400 "invalid_grant"`, "a wrong verifier; no URL nor body in the error")

	back = consent(t, p.AuthCodeURL(redirectURL, "st4te", verifier, ""))
	tok, err := p.Exchange(t.Context(), redirectURL, back.Get("code"), verifier, time.Now())
	require.NoError(t, err)
	id, err := p.Identify(t.Context(), tok, "", back)
	require.NoError(t, err)
	require.Equal(t, oauthid.Identity{
		ID: "109847134", Email: "rooby@example.com", EmailVerified: true, Name: "Rooby",
		Picture: "https://avatars.githubusercontent.com/u/109847134?v=4",
	}, id)

	gh.FailAPI("/user", http.StatusInternalServerError)
	_, err = p.Identify(t.Context(), tok, "", back)
	require.EqualError(t, err, "github /user answered 500")
}

// An OpenID provider's id_token is checked, its nonce included.
func TestOpenID(t *testing.T) {
	op := oauthtest.NewOpenID(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	op.SetNow(func() time.Time { return now })
	p, err := oauthid.New("google", oauthid.Config{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: op.AuthURL(), TokenURL: op.TokenURL(), Issuer: op.Issuer(), JWKSURL: op.JWKSURL(),
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	verifier := strings.Repeat("x", 43)
	signIn := func(nonce string) (oauthid.Identity, error) {
		back := consent(t, p.AuthCodeURL(redirectURL, "st4te", verifier, nonce))
		tok, err := p.Exchange(t.Context(), redirectURL, back.Get("code"), verifier, now)
		require.NoError(t, err)
		return p.Identify(t.Context(), tok, nonce, back)
	}
	id, err := signIn("n0nce")
	require.NoError(t, err)
	require.Equal(t, oauthid.Identity{
		ID: "109847134298377823387", Email: "rooby@example.com", EmailVerified: true, Name: "Rooby",
		Picture: "https://lh3.googleusercontent.com/a-/AOh14GhCpme",
	}, id)

	op.Tamper(func(c map[string]any) { c["nonce"] = "another" })
	_, err = signIn("n0nce")
	require.EqualError(t, err, "google id_token: the nonce is not this sign-in's")
	op.Tamper(nil)

	now = now.Add(2 * time.Hour) // the kit's clock; the fake's stays
	op.SetNow(func() time.Time { return now.Add(-2 * time.Hour) })
	_, err = signIn("n0nce")
	require.ErrorContains(t, err, "token is expired", "the id_token is checked against Config.Now")
}

// The providers that number their users give one id per user however
// the number is written, and a sign-in fails on an id that is no
// unsigned 64-bit integer: GitHub's JSON number and the JSON strings of
// Discord, X and Facebook, read through the fake's user API.
func TestIntegerIDs(t *testing.T) {
	const notInteger = "is not an unsigned 64-bit decimal integer"
	const notJSON = "the answer is not the JSON expected"
	type idCase struct {
		raw  string // the id as the JSON answer has it
		want string // the Identity's ID, or
		err  string // what the error says
	}
	github := []idCase{
		{raw: `109847134`, want: "109847134"},
		{raw: `0`, want: "0"},
		{raw: `18446744073709551615`, want: "18446744073709551615"},
		{raw: `"7"`, want: "7"}, // encoding/json reads a quoted number into a json.Number
		{raw: `-0`, err: notInteger},
		{raw: `-5`, err: notInteger},
		{raw: `1e3`, err: notInteger},
		{raw: `1.0`, err: notInteger},
		{raw: `18446744073709551616`, err: notInteger},
		{raw: `null`, err: notInteger},
		{raw: `"-0"`, err: notInteger},
		{raw: `007`, err: notJSON}, // not JSON: the fake cannot even send it
		{raw: `"007"`, err: notJSON},
		{raw: `"x"`, err: notJSON},
	}
	numberedStrings := []idCase{
		{raw: `"80351110224678912"`, want: "80351110224678912"},
		{raw: `"0"`, want: "0"},
		{raw: `"000"`, want: "0"},
		{raw: `"007"`, want: "7"},
		{raw: `"18446744073709551615"`, want: "18446744073709551615"},
		{raw: `"-0"`, err: notInteger},
		{raw: `"-5"`, err: notInteger},
		{raw: `"+5"`, err: notInteger},
		{raw: `"1e3"`, err: notInteger},
		{raw: `"1.0"`, err: notInteger},
		{raw: `""`, err: notInteger},
		{raw: `" 7"`, err: notInteger},
		{raw: `"18446744073709551616"`, err: notInteger},
		{raw: `null`, err: notInteger},
		{raw: `7`, err: notJSON}, // a number where the provider sends a string
	}
	for _, pr := range []struct {
		name, path string
		body       func(id string) string
		cases      []idCase
	}{
		{"github", "/user", func(id string) string { return `{"id":` + id + `,"login":"rooby"}` }, github},
		{"discord", "/users/@me", func(id string) string { return `{"id":` + id + `,"username":"rooby"}` }, numberedStrings},
		{"twitter", "/2/users/me", func(id string) string { return `{"data":{"id":` + id + `,"username":"rooby"}}` }, numberedStrings},
		{"facebook", "/me", func(id string) string { return `{"id":` + id + `,"name":"Rooby"}` }, numberedStrings},
	} {
		for _, tc := range pr.cases {
			t.Run(pr.name+" "+tc.raw, func(t *testing.T) {
				t.Parallel()
				id, err := signInWithAPI(t, pr.name, map[string]string{pr.path: pr.body(tc.raw), "/user/emails": `[]`})
				if tc.err != "" {
					require.ErrorContains(t, err, tc.err)
					return
				}
				require.NoError(t, err)
				require.Equal(t, tc.want, id.ID)
			})
		}
	}
}

// Discord's avatar URL is made of the canonical id.
func TestDiscordAvatarOfCanonicalID(t *testing.T) {
	id, err := signInWithAPI(t, "discord", map[string]string{"/users/@me": `{"id":"0080351110224678912","username":"rooby","avatar":"a1b2"}`})
	require.NoError(t, err)
	require.Equal(t, "80351110224678912", id.ID)
	require.Equal(t, "https://cdn.discordapp.com/avatars/80351110224678912/a1b2.png", id.Picture)
}

// Discord's avatar: an animated one is a GIF, another a PNG, and a user
// without one gets the default avatar Discord shows: (id >> 22) % 6 on
// the new usernames (discriminator "0"), discriminator % 5 on legacy
// ones.
func TestDiscordAvatar(t *testing.T) {
	const id = "80351110224678912" // (id >> 22) % 6 == 5
	for _, tc := range []struct{ name, user, want string }{
		{"still", `"avatar":"8342729096ea3675442027381ff50dfe","discriminator":"0"`,
			"https://cdn.discordapp.com/avatars/" + id + "/8342729096ea3675442027381ff50dfe.png"},
		{"animated", `"avatar":"a_1269e74af4df7417b13759eae50c83dc","discriminator":"0"`,
			"https://cdn.discordapp.com/avatars/" + id + "/a_1269e74af4df7417b13759eae50c83dc.gif"},
		{"none, new username", `"avatar":null,"discriminator":"0"`, "https://cdn.discordapp.com/embed/avatars/5.png"},
		{"none, no discriminator", `"avatar":null`, "https://cdn.discordapp.com/embed/avatars/5.png"},
		{"none, legacy discriminator", `"avatar":null,"discriminator":"1337"`, "https://cdn.discordapp.com/embed/avatars/2.png"},
		{"none, legacy discriminator 0005", `"avatar":null,"discriminator":"0005"`, "https://cdn.discordapp.com/embed/avatars/0.png"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := signInWithAPI(t, "discord", map[string]string{"/users/@me": `{"id":"` + id + `","username":"nelly",` + tc.user + `}`})
			require.NoError(t, err)
			require.Equal(t, tc.want, got.Picture)
		})
	}
}

// Discord's user API is v10's, not the unversioned route (whose version
// is whatever Discord's default is).
func TestDiscordDefaultAPIIsV10(t *testing.T) {
	var asked []string
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		asked = append(asked, r.URL.String())
		return &http.Response{
			StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"id":"80351110224678912","username":"nelly","discriminator":"0","avatar":null}`)),
		}, nil
	})}
	p, err := oauthid.New("discord", oauthid.Config{ClientID: "d", ClientSecret: "s", HTTPClient: client})
	require.NoError(t, err)
	id, err := p.Identify(t.Context(), &oauth2.Token{AccessToken: "t0ken"}, "", nil)
	require.NoError(t, err)
	require.Equal(t, "80351110224678912", id.ID)
	require.Equal(t, []string{"https://discord.com/api/v10/users/@me"}, asked)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// signInWithAPI signs in with provider at a fake whose user API answers
// each path with its JSON, and returns what Identify says.
func signInWithAPI(t *testing.T, provider string, answers map[string]string) (oauthid.Identity, error) {
	t.Helper()
	fake := oauthtest.NewOAuth2(t)
	for path, body := range answers {
		fake.SetAPI(path, json.RawMessage(body))
	}
	p, err := oauthid.New(provider, oauthid.Config{
		ClientID: oauthtest.ClientID, ClientSecret: oauthtest.ClientSecret,
		AuthURL: fake.AuthURL(), TokenURL: fake.TokenURL(), APIURL: fake.APIURL(),
	})
	require.NoError(t, err)
	verifier := strings.Repeat("x", 43)
	back := consent(t, p.AuthCodeURL(redirectURL, "st4te", verifier, ""))
	tok, err := p.Exchange(t.Context(), redirectURL, back.Get("code"), verifier, time.Now())
	require.NoError(t, err)
	return p.Identify(t.Context(), tok, "", back)
}
