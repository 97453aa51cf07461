package authkit_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

func TestConfigValid(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*authkit.Config){
		"least":                 func(*authkit.Config) {},
		"PublicURL with a path": func(c *authkit.Config) { c.PublicURL = "https://example.com/auth/" },
		"http URLs": func(c *authkit.Config) {
			c.PublicURL, c.RedirectURL = "http://localhost:8080", "http://localhost:3000/"
		},
		"RedirectURL with a query": func(c *authkit.Config) {
			c.RedirectURL = "https://app.example.com/after?from=kit"
		},
		"origins": func(c *authkit.Config) {
			c.AllowedOrigins = []string{"https://app.example.com", "http://localhost:3000", "https://app.example.com/"}
		},
		"MinPasswordLength 6":   func(c *authkit.Config) { c.MinPasswordLength = 6 },
		"MinPasswordLength 256": func(c *authkit.Config) { c.MinPasswordLength = 256 },
		"every duration": func(c *authkit.Config) {
			c.SessionLifetime, c.GrantLifetime, c.SendTimeout = time.Hour, time.Minute, time.Second
		},
		"a full template": func(c *authkit.Config) {
			c.EmailTemplates.ResetPassword = authkit.EmailTemplate{
				Subject: "{{.AppName}}", Text: "{{.Link}} {{.Email}} {{.Name}} {{duration .ExpiresIn}}", HTML: "<a href='{{.Link}}'>{{.Name}}</a>",
			}
		},
		"MaxConcurrentHashes 1": func(c *authkit.Config) { c.MaxConcurrentHashes = 1 },
		"Secret of 32 bytes":    func(c *authkit.Config) { c.Secret = make([]byte, 32) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			edit(&cfg)
			k, err := authkit.New(cfg)
			require.NoError(t, err)
			require.NotNil(t, k)
		})
	}
}

func TestConfigRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		edit  func(*authkit.Config)
		field string // the error names it
	}{
		{"nil Store", func(c *authkit.Config) { c.Store = nil }, "Store"},
		{"nil Mailer", func(c *authkit.Config) { c.Mailer = nil }, "Mailer"},

		{"empty PublicURL", func(c *authkit.Config) { c.PublicURL = "" }, "PublicURL"},
		{"relative PublicURL", func(c *authkit.Config) { c.PublicURL = "/auth" }, "PublicURL"},
		{"PublicURL without scheme", func(c *authkit.Config) { c.PublicURL = "api.example.com" }, "PublicURL"},
		{"ftp PublicURL", func(c *authkit.Config) { c.PublicURL = "ftp://api.example.com" }, "PublicURL"},
		{"PublicURL with user info", func(c *authkit.Config) { c.PublicURL = "https://user:pw@api.example.com" }, "PublicURL"},
		{"PublicURL with a query", func(c *authkit.Config) { c.PublicURL = "https://api.example.com/?a=1" }, "PublicURL"},
		{"PublicURL with a fragment", func(c *authkit.Config) { c.PublicURL = "https://api.example.com/#x" }, "PublicURL"},
		{"PublicURL without host", func(c *authkit.Config) { c.PublicURL = "https://" }, "PublicURL"},

		{"empty RedirectURL", func(c *authkit.Config) { c.RedirectURL = "" }, "RedirectURL"},
		{"relative RedirectURL", func(c *authkit.Config) { c.RedirectURL = "/after" }, "RedirectURL"},
		{"scheme-relative RedirectURL", func(c *authkit.Config) { c.RedirectURL = "//app.example.com/after" }, "RedirectURL"},
		{"javascript RedirectURL", func(c *authkit.Config) { c.RedirectURL = "javascript:alert(1)" }, "RedirectURL"},
		{"RedirectURL with a fragment", func(c *authkit.Config) { c.RedirectURL = "https://app.example.com/after#done" }, "RedirectURL"},
		{"RedirectURL with user info", func(c *authkit.Config) { c.RedirectURL = "https://app@evil.example/" }, "RedirectURL"},

		{"MinPasswordLength 5", func(c *authkit.Config) { c.MinPasswordLength = 5 }, "MinPasswordLength"},
		{"MinPasswordLength negative", func(c *authkit.Config) { c.MinPasswordLength = -1 }, "MinPasswordLength"},
		{"MinPasswordLength 1000", func(c *authkit.Config) { c.MinPasswordLength = 1000 }, "MinPasswordLength"},

		{"origin without scheme", func(c *authkit.Config) { c.AllowedOrigins = []string{"app.example.com"} }, "AllowedOrigins"},
		{"origin with a path", func(c *authkit.Config) { c.AllowedOrigins = []string{"https://a.com/path"} }, "AllowedOrigins"},
		{"wildcard origin", func(c *authkit.Config) { c.AllowedOrigins = []string{"*"} }, "AllowedOrigins"},
		{"origin with a query", func(c *authkit.Config) { c.AllowedOrigins = []string{"https://a.com?x=1"} }, "AllowedOrigins"},
		{"origin with user info", func(c *authkit.Config) { c.AllowedOrigins = []string{"https://u@a.com"} }, "AllowedOrigins"},
		{"one bad origin among good", func(c *authkit.Config) { c.AllowedOrigins = []string{"https://a.com", "null"} }, "AllowedOrigins"},

		{"template that does not parse", func(c *authkit.Config) { c.EmailTemplates.MagicLink.Subject = "{{.Nope" }, "EmailTemplates.MagicLink"},
		{"template with an unknown field", func(c *authkit.Config) { c.EmailTemplates.MagicLink.Text = "{{.Unknown}}" }, "EmailTemplates.MagicLink"},
		{"HTML template with an unknown field", func(c *authkit.Config) { c.EmailTemplates.ConfirmEmail.HTML = "<p>{{.Unknown}}</p>" }, "EmailTemplates.ConfirmEmail"},
		{"template with an unknown function", func(c *authkit.Config) { c.EmailTemplates.ResetPassword.Text = "{{shout .Link}}" }, "EmailTemplates.ResetPassword"},

		{"negative MaxConcurrentHashes", func(c *authkit.Config) { c.MaxConcurrentHashes = -1 }, "MaxConcurrentHashes"},
		{"short Secret", func(c *authkit.Config) { c.Secret = []byte("too short to key anything") }, "Secret"},
	}
	for _, d := range []struct {
		field string
		set   func(*authkit.Config, time.Duration)
	}{
		{"SessionLifetime", func(c *authkit.Config, d time.Duration) { c.SessionLifetime = d }},
		{"SessionIdleTimeout", func(c *authkit.Config, d time.Duration) { c.SessionIdleTimeout = d }},
		{"ConfirmEmailLifetime", func(c *authkit.Config, d time.Duration) { c.ConfirmEmailLifetime = d }},
		{"ChangeEmailLifetime", func(c *authkit.Config, d time.Duration) { c.ChangeEmailLifetime = d }},
		{"MagicLinkLifetime", func(c *authkit.Config, d time.Duration) { c.MagicLinkLifetime = d }},
		{"ResetPasswordLifetime", func(c *authkit.Config, d time.Duration) { c.ResetPasswordLifetime = d }},
		{"GrantLifetime", func(c *authkit.Config, d time.Duration) { c.GrantLifetime = d }},
		{"SendTimeout", func(c *authkit.Config, d time.Duration) { c.SendTimeout = d }},
	} {
		cases = append(cases, struct {
			name  string
			edit  func(*authkit.Config)
			field string
		}{"negative " + d.field, func(c *authkit.Config) { d.set(c, -time.Second) }, d.field})
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := validConfig()
			c.edit(&cfg)
			k, err := authkit.New(cfg)
			require.Error(t, err)
			require.Nil(t, k)
			require.True(t, strings.HasPrefix(err.Error(), "authkit: "), "%q", err)
			require.Contains(t, err.Error(), c.field, "the error names the field")
		})
	}
}

func TestConfigEmailConfirmationOff(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) { c.EmailConfirmation = authkit.Off })
	a := h.signUp("ann@example.com", inputPassword, "Ann")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	require.NotEmpty(t, a.token(), "a session at once")
	me := h.get(api+"user", a.token())
	require.Equal(t, http.StatusOK, me.status, "%s", me.raw)
	require.Equal(t, "ann@example.com", me.body["email"])
	h.noMail("ann@example.com")

	requireStatusCode(t, h.post(api+"send-magic?email=ann@example.com", nil, ""), http.StatusForbidden, "feature_disabled")
	requireStatusCode(t, h.post(api+"send-magic?email=nobody@example.com", nil, ""), http.StatusForbidden, "feature_disabled")
	requireStatusCode(t, h.post(api+"resend?email=ann@example.com", nil, ""), http.StatusForbidden, "feature_disabled")
	in := h.signIn("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, in.status, "an unconfirmed email may sign in: %s", in.raw)
	h.noMail("ann@example.com")
}

func TestConfigAppName(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.signUp("ann@example.com", inputPassword, nil)
	m := h.mail("ann@example.com")
	require.Equal(t, "Confirm your email for Test App", m.Subject)
	require.Contains(t, m.Body, "Test App")

	h = newHarness(t, func(c *authkit.Config) { c.AppName = "" })
	h.signUp("ann@example.com", inputPassword, nil)
	require.Equal(t, "Confirm your email for authkit", h.mail("ann@example.com").Subject, "the default AppName")
}

// coreOnly offers the core of a store and nothing else: embedding the
// interface promotes only its methods, whatever the store behind it has.
type coreOnly struct{ authkit.Store }

// A store of the core alone (no phone lookups or codes, no one-lookup
// session finder, no limiter, no bulk cleaner) runs every email flow and
// its sessions; New asks for a Limiter, and refuses phone accounts naming
// the interface they need.
func TestCoreOnlyStore(t *testing.T) {
	t.Parallel()
	core := coreOnly{memstore.New()}
	for _, capability := range []any{(*authkit.PhoneStore)(nil), (*authkit.SessionUserFinder)(nil), (*authkit.Cleaner)(nil), (*authkit.UserLister)(nil), (*authkit.Limiter)(nil)} {
		require.False(t, reflect.TypeOf(core).Implements(reflect.TypeOf(capability).Elem()), "%T", capability)
	}
	base := authkit.Config{Store: core, Mailer: outbox.New(), PublicURL: "https://api.example.com", RedirectURL: "https://app.example.com/", Logger: discardLogger()}

	_, err := authkit.New(base)
	require.ErrorContains(t, err, "Config.Limiter is required", "the limits must be counted somewhere")
	phone := base
	phone.Limiter, phone.PhoneAuth, phone.SMSSender = memstore.New(), authkit.On, outbox.New()
	_, err = authkit.New(phone)
	require.ErrorContains(t, err, "authkit.PhoneStore")

	h := newHarness(t, func(c *authkit.Config) { c.Store, c.Limiter = coreOnly{c.Store}, memstore.New() })
	h.confirmedUser("core@example.com", "correct horse battery")
	in := h.signIn("core@example.com", "correct horse battery")
	require.Equal(t, http.StatusOK, in.status, string(in.raw))
	token := in.session()["token"].(string)
	require.Equal(t, http.StatusOK, h.get("/_api/rest/v1/auth/user", token).status, "a session is found in two lookups")
	require.Equal(t, http.StatusOK, h.post("/_api/rest/v1/auth/signout", nil, token).status)
	require.Equal(t, http.StatusUnauthorized, h.get("/_api/rest/v1/auth/user", token).status)
	_, err = h.kit.Cleanup(t.Context())
	require.ErrorIs(t, err, authkit.ErrNoCleaner)
}
