package oauthid

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// spec is what this package knows of a provider: its real endpoints, the
// scopes it asks for by default, and how it learns who the user is.
type spec struct {
	authURL, tokenURL, apiURL string
	issuer, jwksURL           string // OpenID providers
	openID                    bool   // the token answer carries an id_token
	authStyle                 oauth2.AuthStyle
	scopes                    []string
	identify                  func(ctx context.Context, p *Provider, tok *oauth2.Token, nonce string, params url.Values) (Identity, error)
}

// specs are the providers the Altogic client names, by that name. Nothing
// writes to it.
var specs = map[string]*spec{
	"google": {
		authURL:   "https://accounts.google.com/o/oauth2/v2/auth",
		tokenURL:  "https://oauth2.googleapis.com/token",
		issuer:    "https://accounts.google.com",
		jwksURL:   "https://www.googleapis.com/oauth2/v3/certs",
		openID:    true,
		authStyle: oauth2.AuthStyleInParams,
		scopes:    []string{"openid", "email", "profile"},
		identify:  identifyGoogle,
	},
	"apple": {
		authURL:   "https://appleid.apple.com/auth/authorize",
		tokenURL:  "https://appleid.apple.com/auth/token",
		issuer:    "https://appleid.apple.com",
		jwksURL:   "https://appleid.apple.com/auth/keys",
		openID:    true,
		authStyle: oauth2.AuthStyleInParams,
		scopes:    []string{"name", "email"},
		identify:  identifyApple,
	},
	"facebook": {
		authURL:   "https://www.facebook.com/v22.0/dialog/oauth",
		tokenURL:  "https://graph.facebook.com/v22.0/oauth/access_token",
		apiURL:    "https://graph.facebook.com/v22.0",
		authStyle: oauth2.AuthStyleInParams,
		scopes:    []string{"email", "public_profile"},
		identify:  identifyFacebook,
	},
	"twitter": { // X: OAuth 2.0 with PKCE; a confidential client authenticates with Basic
		authURL:   "https://x.com/i/oauth2/authorize",
		tokenURL:  "https://api.x.com/2/oauth2/token",
		apiURL:    "https://api.x.com",
		authStyle: oauth2.AuthStyleInHeader,
		scopes:    []string{"tweet.read", "users.read"},
		identify:  identifyX,
	},
	"github": {
		authURL:   "https://github.com/login/oauth/authorize",
		tokenURL:  "https://github.com/login/oauth/access_token",
		apiURL:    "https://api.github.com",
		authStyle: oauth2.AuthStyleInParams,
		scopes:    []string{"read:user", "user:email"},
		identify:  identifyGitHub,
	},
	"discord": {
		authURL:   "https://discord.com/oauth2/authorize",
		tokenURL:  "https://discord.com/api/oauth2/token",
		apiURL:    "https://discord.com/api/v10", // the unversioned route is whatever Discord's default version is
		authStyle: oauth2.AuthStyleInParams,
		scopes:    []string{"identify", "email"},
		identify:  identifyDiscord,
	},
}

// maxAPIBody caps what is read of a provider's answer.
const maxAPIBody = 1 << 20

// errAPIStatus is a user API answering other than 200.
type errAPIStatus struct {
	what   string
	status int
}

func (e *errAPIStatus) Error() string { return fmt.Sprintf("%s answered %d", e.what, e.status) }

// getJSON reads a provider's user API with the access token.
func (p *Provider) getJSON(ctx context.Context, tok *oauth2.Token, path string, query url.Values, v any) error {
	u := p.cfg.APIURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "authkit")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", p.name, path, quietError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxAPIBody))
		return &errAPIStatus{p.name + " " + path, resp.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIBody)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected", p.name, path)
	}
	return nil
}

// idClaims are the claims read of an id_token.
type idClaims struct {
	Subject       string       `json:"sub"`
	Email         string       `json:"email"`
	EmailVerified flexibleBool `json:"email_verified"`
	Name          string       `json:"name"`
	Picture       string       `json:"picture"`
}

// flexibleBool reads true and "true" alike: Apple sends email_verified as
// either.
type flexibleBool bool

func (b *flexibleBool) UnmarshalJSON(raw []byte) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = flexibleBool(v)
	case string:
		*b = flexibleBool(v == "true")
	default:
		*b = false
	}
	return nil
}

// verifyIDToken checks the id_token of the token answer with go-oidc
// (signature by the provider's key set, RS256 only, issuer, audience,
// expiry) and its nonce against the sign-in's.
func (p *Provider) verifyIDToken(ctx context.Context, tok *oauth2.Token, nonce string) (idClaims, error) {
	var c idClaims
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return c, fmt.Errorf("%s sent no id_token", p.name)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return c, fmt.Errorf("%s id_token: %w", p.name, err)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return c, fmt.Errorf("%s id_token: the nonce is not this sign-in's", p.name)
	}
	if err := idt.Claims(&c); err != nil {
		return c, fmt.Errorf("%s id_token: claims: %w", p.name, err)
	}
	if c.Subject == "" {
		return c, fmt.Errorf("%s id_token has no sub", p.name)
	}
	return c, nil
}

// identifyGoogle reads the id_token: sub, email, email_verified, name,
// picture.
func identifyGoogle(ctx context.Context, p *Provider, tok *oauth2.Token, nonce string, _ url.Values) (Identity, error) {
	c, err := p.verifyIDToken(ctx, tok, nonce)
	if err != nil {
		return Identity{}, err
	}
	return Identity{ID: c.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified), Name: c.Name, Picture: c.Picture}, nil
}

// identifyApple reads the id_token (sub, email, email_verified) and, on the
// user's first consent only, the name Apple posts in the "user" field.
func identifyApple(ctx context.Context, p *Provider, tok *oauth2.Token, nonce string, params url.Values) (Identity, error) {
	c, err := p.verifyIDToken(ctx, tok, nonce)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{ID: c.Subject, Email: c.Email, EmailVerified: bool(c.EmailVerified)}
	var user struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if raw := params.Get("user"); raw != "" && json.Unmarshal([]byte(raw), &user) == nil {
		id.Name = strings.TrimSpace(user.Name.FirstName + " " + user.Name.LastName)
	}
	return id, nil
}

// identifyGitHub reads /user and, for the email, /user/emails: only the
// primary address, and only when GitHub verified it.
func identifyGitHub(ctx context.Context, p *Provider, tok *oauth2.Token, _ string, _ url.Values) (Identity, error) {
	var u struct {
		ID        json.Number `json:"id"`
		Login     string      `json:"login"`
		Name      string      `json:"name"`
		AvatarURL string      `json:"avatar_url"`
	}
	if err := p.getJSON(ctx, tok, "/user", nil, &u); err != nil {
		return Identity{}, err
	}
	// GitHub sends the id as a JSON integer ("id": 109847134). A JSON
	// number may also be written -0, 1e3 or 1.0, none of which GitHub
	// sends: they are refused rather than read as 0 or 1000. (JSON has no
	// leading zeros, so 007 fails as JSON before it gets here.)
	userID, err := integerID(u.ID.String())
	if err != nil {
		return Identity{}, fmt.Errorf("github /user: %w", err)
	}
	id := Identity{ID: userID, Name: u.Name, Picture: u.AvatarURL}
	if id.Name == "" {
		id.Name = u.Login
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	err = p.getJSON(ctx, tok, "/user/emails", nil, &emails)
	var status *errAPIStatus
	if errors.As(err, &status) && (status.status == http.StatusForbidden || status.status == http.StatusNotFound) {
		return id, nil // scopes without user:email: no address
	}
	if err != nil {
		return Identity{}, err
	}
	for _, e := range emails {
		if e.Primary && e.Verified {
			id.Email, id.EmailVerified = e.Email, true
		}
	}
	return id, nil
}

// identifyFacebook reads /me. Facebook does not say whether the address
// was confirmed, so it counts as unverified.
func identifyFacebook(ctx context.Context, p *Provider, tok *oauth2.Token, _ string, _ url.Values) (Identity, error) {
	var u struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Email   string `json:"email"`
		Picture struct {
			Data struct {
				URL          string `json:"url"`
				IsSilhouette bool   `json:"is_silhouette"`
			} `json:"data"`
		} `json:"picture"`
	}
	// appsecret_proof lets the call pass when the app requires it.
	proof := hmac.New(sha256.New, []byte(p.cfg.ClientSecret))
	proof.Write([]byte(tok.AccessToken))
	q := url.Values{"fields": {"id,name,email,picture.width(256).height(256)"}, "appsecret_proof": {hex.EncodeToString(proof.Sum(nil))}}
	if err := p.getJSON(ctx, tok, "/me", q, &u); err != nil {
		return Identity{}, err
	}
	userID, err := integerID(u.ID) // an app-scoped id: digits in a JSON string
	if err != nil {
		return Identity{}, fmt.Errorf("facebook /me: %w", err)
	}
	id := Identity{ID: userID, Email: u.Email, Name: u.Name}
	if !u.Picture.Data.IsSilhouette {
		id.Picture = u.Picture.Data.URL
	}
	return id, nil
}

// identifyDiscord reads /users/@me (API v10): the email counts as
// verified when Discord says "verified".
func identifyDiscord(ctx context.Context, p *Provider, tok *oauth2.Token, _ string, _ url.Values) (Identity, error) {
	var u struct {
		ID            string `json:"id"`
		Username      string `json:"username"`
		Discriminator string `json:"discriminator"`
		GlobalName    string `json:"global_name"`
		Avatar        string `json:"avatar"`
		Email         string `json:"email"`
		Verified      bool   `json:"verified"`
	}
	if err := p.getJSON(ctx, tok, "/users/@me", nil, &u); err != nil {
		return Identity{}, err
	}
	userID, err := integerID(u.ID) // a snowflake: digits in a JSON string
	if err != nil {
		return Identity{}, fmt.Errorf("discord /users/@me: %w", err)
	}
	id := Identity{ID: userID, Email: u.Email, EmailVerified: u.Verified, Name: u.GlobalName}
	if id.Name == "" {
		id.Name = u.Username
	}
	id.Picture = discordAvatar(userID, u.Avatar, u.Discriminator)
	return id, nil
}

// discordAvatar is the URL on Discord's CDN of the avatar of the user
// whose canonical id is userID: with an avatar hash, the image as a GIF
// when the hash says it is animated ("a_…") and as a PNG otherwise;
// without one, the default avatar Discord shows the user, number
// (id >> 22) % 6 for a user of the new usernames (discriminator "0", or
// none), and discriminator % 5 for one who still has a legacy "#1337".
func discordAvatar(userID, hash, discriminator string) string {
	const cdn = "https://cdn.discordapp.com"
	if hash != "" {
		ext := ".png"
		if strings.HasPrefix(hash, "a_") {
			ext = ".gif"
		}
		return cdn + "/avatars/" + userID + "/" + url.PathEscape(hash) + ext
	}
	var index uint64
	if d, err := strconv.ParseUint(discriminator, 10, 16); err == nil && d != 0 {
		index = d % 5
	} else {
		n, _ := strconv.ParseUint(userID, 10, 64) // canonical: integerID parsed it
		index = (n >> 22) % 6
	}
	return cdn + "/embed/avatars/" + strconv.FormatUint(index, 10) + ".png"
}

// identifyX reads /2/users/me. X shares an email only with apps it grants
// email access, asked for with the users.email scope; the address it
// shares is one the user confirmed.
func identifyX(ctx context.Context, p *Provider, tok *oauth2.Token, _ string, _ url.Values) (Identity, error) {
	var u struct {
		Data struct {
			ID              string `json:"id"`
			Name            string `json:"name"`
			Username        string `json:"username"`
			ProfileImageURL string `json:"profile_image_url"`
			ConfirmedEmail  string `json:"confirmed_email"`
		} `json:"data"`
	}
	fields := "profile_image_url"
	if slices.Contains(p.cfg.Scopes, "users.email") {
		fields += ",confirmed_email"
	}
	if err := p.getJSON(ctx, tok, "/2/users/me", url.Values{"user.fields": {fields}}, &u); err != nil {
		return Identity{}, err
	}
	d := u.Data
	userID, err := integerID(d.ID) // digits in a JSON string
	if err != nil {
		return Identity{}, fmt.Errorf("twitter /2/users/me: %w", err)
	}
	id := Identity{ID: userID, Email: d.ConfirmedEmail, EmailVerified: d.ConfirmedEmail != "", Name: d.Name, Picture: d.ProfileImageURL}
	if id.Name == "" {
		id.Name = d.Username
	}
	return id, nil
}

// integerID is the canonical form of a user id that the provider makes
// an unsigned 64-bit integer (GitHub, Discord, X, Facebook): decimal
// digits without sign or leading zeros, so that one user is one identity
// however the number is written. Anything else is an error: empty, a
// sign (even -0), a fraction, an exponent, other characters, or more
// than 64 bits.
func integerID(raw string) (string, error) {
	n, err := strconv.ParseUint(raw, 10, 64) // no sign, no '_', no base prefix
	if err != nil {
		return "", fmt.Errorf("user id %.40q is not an unsigned 64-bit decimal integer", raw)
	}
	return strconv.FormatUint(n, 10), nil
}
