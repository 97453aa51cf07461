package appenv

import (
	"fmt"
	"os"
	"strings"

	"github.com/authkit/authkit"
)

// Provider is an OAuth provider the examples can offer.
type Provider struct {
	Name  string // the kit's: the path /_auth/<Name> signs in with it
	Env   string // the environment's: AUTHKIT_<Env>_CLIENT_ID...
	Label string // the button's: "Sign in with <Label>"
}

// Providers are the providers the examples can offer, in the order of
// their buttons.
var Providers = []Provider{
	{"google", "GOOGLE", "Google"},
	{"apple", "APPLE", "Apple"},
	{"facebook", "FACEBOOK", "Facebook"},
	{"twitter", "TWITTER", "X"},
	{"github", "GITHUB", "GitHub"},
	{"discord", "DISCORD", "Discord"},
}

// oauthHelp says how to enable a provider; it ends every OAuth
// configuration error.
const oauthHelp = "a provider is enabled by AUTHKIT_<NAME>_CLIENT_ID and AUTHKIT_<NAME>_CLIENT_SECRET " +
	"(Apple: AUTHKIT_APPLE_CLIENT_ID, AUTHKIT_APPLE_TEAM_ID, AUTHKIT_APPLE_KEY_ID and AUTHKIT_APPLE_KEY_FILE), " +
	"NAME one of GOOGLE, APPLE, FACEBOOK, TWITTER, GITHUB, DISCORD; optional: AUTHKIT_<NAME>_SCOPES, " +
	"AUTHKIT_<NAME>_AUTH_URL, AUTHKIT_<NAME>_TOKEN_URL, AUTHKIT_<NAME>_API_URL, AUTHKIT_<NAME>_ISSUER, AUTHKIT_<NAME>_JWKS_URL"

// OAuthFromEnv reads the AUTHKIT_<NAME>_* variables: a provider whose
// credentials are all set is enabled, one with none set is not, and one
// with some set is an error that names what is missing.
func OAuthFromEnv(getenv func(string) string) (map[string]authkit.OAuthProvider, error) {
	out := map[string]authkit.OAuthProvider{}
	for _, p := range Providers {
		v := func(key string) string { return strings.TrimSpace(getenv("AUTHKIT_" + p.Env + "_" + key)) }
		required := []string{"CLIENT_ID", "CLIENT_SECRET"}
		if p.Name == "apple" {
			required = []string{"CLIENT_ID", "TEAM_ID", "KEY_ID", "KEY_FILE"}
		}
		var set, missing []string
		for _, key := range required {
			if v(key) == "" {
				missing = append(missing, "AUTHKIT_"+p.Env+"_"+key)
			} else {
				set = append(set, key)
			}
		}
		if len(set) == 0 {
			continue
		}
		if len(missing) > 0 {
			return nil, fmt.Errorf("%s sign-in is half configured: %s not set; %s", p.Label, strings.Join(missing, ", "), oauthHelp)
		}
		c := authkit.OAuthProvider{
			ClientID: v("CLIENT_ID"), ClientSecret: v("CLIENT_SECRET"),
			AuthURL: v("AUTH_URL"), TokenURL: v("TOKEN_URL"), APIURL: v("API_URL"),
			Issuer: v("ISSUER"), JWKSURL: v("JWKS_URL"),
		}
		if s := v("SCOPES"); s != "" {
			c.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
		}
		if p.Name == "apple" {
			c.TeamID, c.KeyID = v("TEAM_ID"), v("KEY_ID")
			key, err := os.ReadFile(v("KEY_FILE"))
			if err != nil {
				return nil, fmt.Errorf("AUTHKIT_APPLE_KEY_FILE: %w; it names the .p8 file Apple gave you", err)
			}
			c.PrivateKey = key
		}
		out[p.Name] = c
	}
	return out, nil
}
