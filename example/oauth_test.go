package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/internal/oauthtest"
)

const chromeUA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36"

// clearOAuthEnv unsets every provider variable the example reads.
func clearOAuthEnv(t *testing.T) {
	t.Helper()
	for _, p := range appenv.Providers {
		for _, key := range []string{"CLIENT_ID", "CLIENT_SECRET", "TEAM_ID", "KEY_ID", "KEY_FILE", "SCOPES", "AUTH_URL", "TOKEN_URL", "API_URL", "ISSUER", "JWKS_URL"} {
			t.Setenv("AUTHKIT_"+p.Env+"_"+key, "")
		}
	}
}

// The end-to-end case: with a fake GitHub and a fake OpenID
// provider (as Google) configured through the environment, a browser goes
// from the page's button through the provider and back to the page, whose
// access_token getAuthGrant exchanges for the seeds' user and session.
func TestOAuthThroughTheExample(t *testing.T) {
	clearSMTPEnv(t)
	clearOAuthEnv(t)
	gh := oauthtest.NewGitHub(t)
	op := oauthtest.NewOpenID(t)
	op.SetClaims(map[string]any{
		"sub": "109847134298377823387", "name": "Rooby", "email": "rooby.google@example.com", "email_verified": true,
		"picture": "https://lh3.googleusercontent.com/a-/AOh14GhCpme",
	})
	for k, v := range map[string]string{
		"AUTHKIT_GITHUB_CLIENT_ID": oauthtest.ClientID, "AUTHKIT_GITHUB_CLIENT_SECRET": oauthtest.ClientSecret,
		"AUTHKIT_GITHUB_AUTH_URL": gh.AuthURL(), "AUTHKIT_GITHUB_TOKEN_URL": gh.TokenURL(), "AUTHKIT_GITHUB_API_URL": gh.APIURL(),
		"AUTHKIT_GOOGLE_CLIENT_ID": oauthtest.ClientID, "AUTHKIT_GOOGLE_CLIENT_SECRET": oauthtest.ClientSecret,
		"AUTHKIT_GOOGLE_AUTH_URL": op.AuthURL(), "AUTHKIT_GOOGLE_TOKEN_URL": op.TokenURL(),
		"AUTHKIT_GOOGLE_ISSUER": op.Issuer(), "AUTHKIT_GOOGLE_JWKS_URL": op.JWKSURL(),
	} {
		t.Setenv(k, v)
	}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	o := devOptions()
	o.addr, o.publicURL, o.redirectURL = srv.Listener.Addr().String(), base, base+"/"
	h, kit, err := newApp(o, io.Discard)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		kit.Close(t.Context())
		h.Close()
	})

	// The page offers the two enabled providers, and no other.
	page := fetch(t, http.DefaultClient, base+"/")
	for _, p := range []string{"github", "google"} {
		if !strings.Contains(page, `href="/_auth/`+p+`"`) {
			t.Errorf("the page has no %s button", p)
		}
	}
	for _, p := range []string{"apple", "facebook", "twitter", "discord"} {
		if strings.Contains(page, `href="/_auth/`+p+`"`) {
			t.Errorf("the page has a %s button, but %s is not configured", p, p)
		}
	}

	for _, tc := range []struct {
		provider, providerUserID, email, picture string
	}{
		{"github", "109847134", "rooby@example.com", "https://avatars.githubusercontent.com/u/109847134?v=4"},
		{"google", "109847134298377823387", "rooby.google@example.com", "https://lh3.googleusercontent.com/a-/AOh14GhCpme"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			// A browser follows the button's link and every redirect after
			// it, and lands on the page with the outcome in the address.
			jar, _ := cookiejar.New(nil)
			browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
			req, _ := http.NewRequest(http.MethodGet, base+"/_auth/"+tc.provider, nil)
			req.Header.Set("User-Agent", chromeUA)
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			landed := resp.Request.URL
			if resp.StatusCode != http.StatusOK || landed.Path != "/" || !strings.HasPrefix(landed.String(), base) {
				t.Fatalf("the browser ended at %s with %d, not at the app's page", landed, resp.StatusCode)
			}
			q := landed.Query()
			if q.Get("action") != "oauth-signin" || q.Get("status") != "200" || q.Get("access_token") == "" {
				t.Fatalf("the page was reached with %v", q)
			}

			// What the page (or the Altogic client) does next: getAuthGrant.
			req, _ = http.NewRequest(http.MethodGet, base+"/_api/rest/v1/auth/grant?key="+q.Get("access_token"), nil)
			req.Header.Set("User-Agent", chromeUA)
			resp, err = http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("grant: %d %s", resp.StatusCode, raw)
			}
			var ans struct {
				User    map[string]any `json:"user"`
				Session map[string]any `json:"session"`
			}
			if err := json.Unmarshal(raw, &ans); err != nil {
				t.Fatal(err)
			}
			checkSeedsUser(t, ans.User, tc.provider, tc.providerUserID, tc.email, tc.picture)
			checkSeedsSession(t, ans.Session, ans.User["_id"])
		})
	}
}

var isoMillis = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// checkSeedsUser checks a user against the one of the seeds' Google sign-in:
// the same keys, of the same types.
func checkSeedsUser(t *testing.T, u map[string]any, provider, providerUserID, email, picture string) {
	t.Helper()
	want := map[string]any{
		"provider": provider, "providerUserId": providerUserID, "name": "Rooby",
		"email": email, "emailVerified": true, "profilePicture": picture,
	}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("user.%s = %v, want %v", k, u[k], v)
		}
	}
	if id, _ := u["_id"].(string); len(id) != 24 {
		t.Errorf("user._id = %v", u["_id"])
	}
	for _, k := range []string{"signUpAt", "lastLoginAt"} {
		if s, _ := u[k].(string); !isoMillis.MatchString(s) {
			t.Errorf("user.%s = %v", k, u[k])
		}
	}
	if len(u) != 9 {
		t.Errorf("user has fields beyond the seeds': %v", u)
	}
}

// checkSeedsSession checks a session as the seeds show it.
func checkSeedsSession(t *testing.T, s map[string]any, userID any) {
	t.Helper()
	if s == nil || s["userId"] != userID {
		t.Fatalf("session %v is not the user's", s)
	}
	if tok, _ := s["token"].(string); tok == "" {
		t.Error("session.token is empty")
	}
	if c, _ := s["creationDtm"].(string); !isoMillis.MatchString(c) {
		t.Errorf("session.creationDtm = %v", s["creationDtm"])
	}
	if g, ok := s["accessGroupKeys"].([]any); !ok || len(g) != 0 {
		t.Errorf("session.accessGroupKeys = %v", s["accessGroupKeys"])
	}
	ua, _ := s["userAgent"].(map[string]any)
	if ua["family"] != "Chrome" || ua["major"] != "99" || ua["minor"] != "0" || ua["patch"] != "4844" {
		t.Errorf("session.userAgent = %v", ua)
	}
	if os, _ := ua["os"].(map[string]any); os["family"] != "Mac OS X" || os["major"] != "10" || os["minor"] != "15" || os["patch"] != "7" {
		t.Errorf("session.userAgent.os = %v", ua["os"])
	}
	dev, _ := ua["device"].(map[string]any)
	for _, k := range []string{"family", "major", "minor", "patch"} {
		if s, _ := dev[k].(string); s == "" {
			t.Errorf("session.userAgent.device.%s = %v", k, dev[k])
		}
	}
}

func fetch(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

func TestProvidersFromEnv(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "AuthKey_KEY1234567.p8")
	if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		enabled []string
		err     string
	}{
		{"none", nil, nil, ""},
		{"github", map[string]string{"AUTHKIT_GITHUB_CLIENT_ID": "id", "AUTHKIT_GITHUB_CLIENT_SECRET": "secret"}, []string{"github"}, ""},
		{"half configured", map[string]string{"AUTHKIT_DISCORD_CLIENT_ID": "id"}, nil, "AUTHKIT_DISCORD_CLIENT_SECRET not set"},
		{"apple", map[string]string{
			"AUTHKIT_APPLE_CLIENT_ID": "com.example.web", "AUTHKIT_APPLE_TEAM_ID": "TEAM123456",
			"AUTHKIT_APPLE_KEY_ID": "KEY1234567", "AUTHKIT_APPLE_KEY_FILE": keyFile,
		}, []string{"apple"}, ""},
		{"apple without key file", map[string]string{"AUTHKIT_APPLE_CLIENT_ID": "com.example.web", "AUTHKIT_APPLE_TEAM_ID": "T", "AUTHKIT_APPLE_KEY_ID": "K"}, nil, "AUTHKIT_APPLE_KEY_FILE not set"},
		{"apple key file missing", map[string]string{
			"AUTHKIT_APPLE_CLIENT_ID": "com.example.web", "AUTHKIT_APPLE_TEAM_ID": "T",
			"AUTHKIT_APPLE_KEY_ID": "K", "AUTHKIT_APPLE_KEY_FILE": filepath.Join(t.TempDir(), "nope.p8"),
		}, nil, "AUTHKIT_APPLE_KEY_FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := appenv.OAuthFromEnv(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.enabled) {
				t.Fatalf("enabled %v, want %v", got, tc.enabled)
			}
			for _, name := range tc.enabled {
				if _, ok := got[name]; !ok {
					t.Errorf("%s is not enabled", name)
				}
			}
		})
	}
	got, err := appenv.OAuthFromEnv(func(k string) string {
		return map[string]string{
			"AUTHKIT_GITHUB_CLIENT_ID": "id", "AUTHKIT_GITHUB_CLIENT_SECRET": "secret",
			"AUTHKIT_GITHUB_SCOPES": "read:user, user:email", "AUTHKIT_GITHUB_API_URL": "https://ghe.example.com/api/v3",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if g := got["github"]; strings.Join(g.Scopes, " ") != "read:user user:email" || g.APIURL != "https://ghe.example.com/api/v3" {
		t.Errorf("github from the environment: %+v", g)
	}
}
