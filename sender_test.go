package authkit_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

func TestConfigCustomTemplate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *authkit.Config) {
		c.EmailTemplates.MagicLink = authkit.EmailTemplate{
			Subject: "Come back to {{.AppName}}, {{.Name}}",
			Text:    "Tap {{.Link}} within {{duration .ExpiresIn}}.",
		}
	})
	h.confirmedUser("ann@example.com", inputPassword)
	require.Equal(t, http.StatusOK, h.post(api+"send-magic?email=ann@example.com", nil, "").status)
	m := h.mail("ann@example.com")
	require.Equal(t, "Come back to Test App, Rooby", m.Subject)
	require.Regexp(t, `^Tap `+h.srv.URL+`/_auth/verify\?key=[A-Za-z0-9_-]{43} within 15 minutes\.$`, m.Body)
	// The link in the custom message works.
	q := h.follow(linkPattern.FindString(m.Body))
	require.Equal(t, "magic-link", q.Get("action"))

	// The other messages keep their defaults.
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=ann@example.com", nil, "").status)
	require.Equal(t, "Reset your Test App password", h.mail("ann@example.com").Subject)
}
