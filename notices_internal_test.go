package authkit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A notice names the browser and system for a person, from what the
// client wrote in its User-Agent header: nothing of the header but
// letters of names and short versions reaches the message.
func TestDescribeDevice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, want string
	}{
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36", "Chrome 99 on Mac OS X 10.15"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0", "Firefox 115 on Windows 10"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1", "Mobile Safari 17 on iOS 17.4"},
		{"curl/8.5.0", "curl 8"},
		{"", "an unknown browser"},
		{"something nobody parses", "an unknown browser"},
	} {
		require.Equal(t, tc.want, describeDevice(parseUserAgent(tc.header)), "%q", tc.header)
	}

	// ua-parser names unknown bots with words of the header: an attacker
	// who signs in writes them. No link, no number, no long text is left.
	hostile := []string{
		"Visit https://evil.example/reset-here call 18005551234 now Bot/1.0",
		"Mozilla/5.0 (compatible; Call +1 800 555 1234 to unlock your account spider/2.1)",
		strings.Repeat("a", 400) + " Bot/999999999",
	}
	for _, header := range hostile {
		d := describeDevice(parseUserAgent(header))
		require.NotRegexp(t, `[:/+@]|\d{5}`, d, "%q gave %q", header, d)
		require.NotContains(t, d, "evil.example")
		require.LessOrEqual(t, len(d), 62, "%q gave %q", header, d)
	}
	longest := UserAgent{
		Family: strings.Repeat("B", 99), Major: "99999",
		OS: OS{Family: strings.Repeat("S", 99), Major: "99999", Minor: "99999"},
	}
	require.Len(t, describeDevice(longest), 62)
}

// The default notice texts fit one segment with the longest values they
// can get, as the other default texts do.
func TestDefaultNoticeTextsFitOneSegment(t *testing.T) {
	t.Parallel()
	d := MessageData{
		AppName: strings.Repeat("W", 30),
		Phone:   "+" + strings.Repeat("9", 15),
		Name:    strings.Repeat("Ñ", 100), // never used by a default
		Device: describeDevice(UserAgent{
			Family: strings.Repeat("B", 99), Major: "99999",
			OS: OS{Family: strings.Repeat("S", 99), Major: "99999", Minor: "99999"},
		}),
		IP: "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		At: time.Date(2030, time.September, 30, 23, 59, 0, 0, time.UTC),
	}
	for name, src := range map[string]string{
		"PasswordChanged": DefaultSMSTemplates().PasswordChanged,
		"NewDevice":       DefaultSMSTemplates().NewDevice,
	} {
		st, err := parseSMSTemplate(name, "", src)
		require.NoError(t, err)
		m, err := st.render(d.Phone, d)
		require.NoError(t, err)
		require.LessOrEqual(t, len(m.Body), 160, "%s: %q", name, m.Body)
		for _, r := range m.Body {
			require.True(t, r < 0x80 && strings.ContainsRune(gsm7, r), "%s: %q is no plain GSM-7 character", name, r)
		}
		require.Contains(t, m.Body, d.AppName)
		require.NotContains(t, m.Body, "Ñ")
	}
}
