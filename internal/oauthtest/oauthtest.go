// Package oauthtest holds fake OAuth providers for tests: [OAuth2], a plain
// OAuth 2.0 provider with a user API (GitHub's shape by [NewGitHub]), and
// [OpenID], an OpenID Connect provider with a JWKS endpoint whose id_tokens
// a test can make misbehave. Both run on httptest servers, check what a
// real provider checks (client credentials, redirect URI, single-use codes,
// the PKCE S256 verifier) and consent at once for their one user, so that
// a browser following redirects goes from the kit to the provider and back
// without a page in between.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// The client credentials a fake accepts unless told otherwise.
const (
	ClientID     = "test-client-id"
	ClientSecret = "test-client-secret"
)

// core is the authorization server both fakes share: /authorize, /token.
type core struct {
	srv               *httptest.Server
	authorizePath     string
	tokenPath         string
	clientID          string
	mu                sync.Mutex
	clientSecret      string
	checkClientSecret func(string) error
	authorizeError    string
	tokenError        string
	firstConsentUser  string
	codes             map[string]*pending
	tokens            map[string]bool
	secrets           []string
	issueExtra        func(p *pending) map[string]any
}

// pending is an authorization code not yet exchanged.
type pending struct {
	clientID, redirectURI string
	challenge, method     string
	nonce                 string
}

func newCore(authorizePath, tokenPath string) *core {
	c := &core{
		authorizePath: authorizePath, tokenPath: tokenPath,
		clientID: ClientID, clientSecret: ClientSecret,
		codes: map[string]*pending{}, tokens: map[string]bool{},
	}
	return c
}

func (c *core) start(t testing.TB, mux *http.ServeMux) {
	mux.HandleFunc(c.authorizePath, c.authorize)
	mux.HandleFunc(c.tokenPath, c.token)
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
}

// AuthURL is the fake's authorization endpoint.
func (c *core) AuthURL() string { return c.srv.URL + c.authorizePath }

// TokenURL is the fake's token endpoint.
func (c *core) TokenURL() string { return c.srv.URL + c.tokenPath }

// DenyNext makes the following authorizations answer with this error
// ("access_denied" is a user who declined); "" consents again.
func (c *core) DenyNext(errorCode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.authorizeError = errorCode
}

// FailTokens makes the token endpoint answer 400 with this error code; ""
// makes it work again.
func (c *core) FailTokens(errorCode string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokenError = errorCode
}

// CheckClientSecret replaces the comparison of the client secret with
// check (Apple's secret is a JWT, new every so often).
func (c *core) CheckClientSecret(check func(secret string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checkClientSecret = check
}

// FirstConsentUser makes the next form_post authorization send this JSON
// in the "user" field, as Apple does on a user's first consent only.
func (c *core) FirstConsentUser(userJSON string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.firstConsentUser = userJSON
}

// Secrets returns every code and token the fake issued, for tests that
// search logs for them.
func (c *core) Secrets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.secrets...)
}

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// authorize consents at once: it redirects back with a code, or posts it
// back as a self-submitting form when asked for response_mode=form_post.
func (c *core) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c.mu.Lock()
	deny := c.authorizeError
	c.mu.Unlock()
	redirectURI := q.Get("redirect_uri")
	back, err := url.Parse(redirectURI)
	if err != nil || back.Host == "" || q.Get("client_id") != c.clientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if m := q.Get("code_challenge_method"); q.Get("code_challenge") != "" && m != "S256" {
		http.Error(w, "only S256", http.StatusBadRequest)
		return
	}
	answer := url.Values{"state": {q.Get("state")}}
	if deny != "" {
		answer.Set("error", deny)
	} else {
		code := randomString()
		c.mu.Lock()
		c.codes[code] = &pending{
			clientID: q.Get("client_id"), redirectURI: redirectURI,
			challenge: q.Get("code_challenge"), method: q.Get("code_challenge_method"),
			nonce: q.Get("nonce"),
		}
		c.secrets = append(c.secrets, code)
		c.mu.Unlock()
		answer.Set("code", code)
	}
	if q.Get("response_mode") == "form_post" {
		c.mu.Lock()
		if c.firstConsentUser != "" && deny == "" {
			answer.Set("user", c.firstConsentUser)
			c.firstConsentUser = ""
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var b strings.Builder
		b.WriteString(`<!doctype html><body onload="document.forms[0].submit()"><form method="post" action="` + html.EscapeString(redirectURI) + `">`)
		for k, vs := range answer {
			b.WriteString(`<input type="hidden" name="` + html.EscapeString(k) + `" value="` + html.EscapeString(vs[0]) + `">`)
		}
		b.WriteString(`</form></body>`)
		w.Write([]byte(b.String()))
		return
	}
	qs := back.Query()
	for k, vs := range answer {
		qs[k] = vs
	}
	back.RawQuery = qs.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// token exchanges a code, once, for an access token, checking the client,
// the redirect URI and the PKCE verifier.
func (c *core) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	} else {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	}
	c.mu.Lock()
	check, want, fail := c.checkClientSecret, c.clientSecret, c.tokenError
	c.mu.Unlock()
	okSecret := subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1
	if check != nil {
		okSecret = check(secret) == nil
	}
	if id != c.clientID || !okSecret {
		tokenError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	if fail != "" {
		tokenError(w, http.StatusBadRequest, fail)
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	c.mu.Lock()
	p := c.codes[r.PostForm.Get("code")]
	delete(c.codes, r.PostForm.Get("code")) // a code works once, even when the exchange fails
	c.mu.Unlock()
	if p == nil || p.clientID != id || p.redirectURI != r.PostForm.Get("redirect_uri") {
		tokenError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	if p.challenge != "" {
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			tokenError(w, http.StatusBadRequest, "invalid_grant")
			return
		}
	}
	access := randomString()
	c.mu.Lock()
	c.tokens[access] = true
	c.secrets = append(c.secrets, access, r.PostForm.Get("code_verifier"))
	extra := c.issueExtra
	c.mu.Unlock()
	answer := map[string]any{"access_token": access, "token_type": "bearer", "expires_in": 3600}
	if extra != nil {
		for k, v := range extra(p) {
			answer[k] = v
			if s, ok := v.(string); ok {
				c.mu.Lock()
				c.secrets = append(c.secrets, s)
				c.mu.Unlock()
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(answer)
}

// validToken reports whether r carries an access token the fake issued.
func (c *core) validToken(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c.mu.Lock()
	defer c.mu.Unlock()
	return ok && c.tokens[tok]
}

// OAuth2 is a fake OAuth 2.0 provider with a user API: JSON answers at
// paths under [OAuth2.APIURL], given only to a valid access token.
type OAuth2 struct {
	*core
	api      map[string]any
	status   map[string]int
	requests []*url.URL
}

// NewOAuth2 starts a fake OAuth 2.0 provider whose endpoints are where
// GitHub Enterprise has them: /login/oauth/authorize,
// /login/oauth/access_token and the API under /api/v3.
func NewOAuth2(t testing.TB) *OAuth2 {
	p := &OAuth2{core: newCore("/login/oauth/authorize", "/login/oauth/access_token"), api: map[string]any{}, status: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/v3/", p.serveAPI)
	p.start(t, mux)
	return p
}

// APIURL is the base of the fake's user API.
func (p *OAuth2) APIURL() string { return p.srv.URL + "/api/v3" }

// SetAPI makes the user API answer path (such as "/user") with v as JSON.
func (p *OAuth2) SetAPI(path string, v any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.api[path] = v
}

// FailAPI makes the user API answer path with this status; 0 undoes it.
func (p *OAuth2) FailAPI(path string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[path] = status
}

// APIRequests returns the URL of every user API request so far.
func (p *OAuth2) APIRequests() []*url.URL {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*url.URL(nil), p.requests...)
}

func (p *OAuth2) serveAPI(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/api/v3")
	w.Header().Set("Content-Type", "application/json")
	if !p.validToken(r) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"message":"Bad credentials"}`))
		return
	}
	p.mu.Lock()
	u := *r.URL
	p.requests = append(p.requests, &u)
	v, found := p.api[path]
	status := p.status[path]
	p.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		w.Write([]byte(`{"message":"failed"}`))
		return
	}
	if !found {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"Not Found"}`))
		return
	}
	json.NewEncoder(w).Encode(v)
}

// GitHubUser is the part of GitHub's GET /user the kit reads, shaped as
// GitHub answers it.
type GitHubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
	Email     string `json:"email"` // the public email: neither primary nor verified for sure
}

// GitHubEmail is an entry of GitHub's GET /user/emails.
type GitHubEmail struct {
	Email      string `json:"email"`
	Primary    bool   `json:"primary"`
	Verified   bool   `json:"verified"`
	Visibility string `json:"visibility,omitempty"`
}

// NewGitHub starts a fake GitHub whose user is Rooby, with a verified
// primary email and an unverified second one.
func NewGitHub(t testing.TB) *OAuth2 {
	p := NewOAuth2(t)
	p.SetGitHubUser(GitHubUser{
		ID: 109847134, Login: "rooby", Name: "Rooby",
		AvatarURL: "https://avatars.githubusercontent.com/u/109847134?v=4",
		Email:     "rooby.public@example.com",
	}, []GitHubEmail{
		{Email: "rooby.unverified@example.com", Primary: false, Verified: false},
		{Email: "rooby@example.com", Primary: true, Verified: true, Visibility: "private"},
	})
	return p
}

// SetGitHubUser sets what /user and /user/emails answer.
func (p *OAuth2) SetGitHubUser(u GitHubUser, emails []GitHubEmail) {
	p.SetAPI("/user", u)
	p.SetAPI("/user/emails", emails)
}
