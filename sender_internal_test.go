package authkit

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// gsm7 is the GSM 03.38 basic character set: a text of these characters
// only takes 160 to a segment (the extension characters, such as '{' or
// '€', take two, and anything else makes the whole text UCS-2, 70 to a
// segment).
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// The default texts fit one segment with the longest values they can get:
// an AppName of 30 characters, a code of 10 digits, the longest lifetime.
func TestDefaultSMSTemplatesFitOneSegment(t *testing.T) {
	t.Parallel()
	d := MessageData{
		AppName:   strings.Repeat("W", 30),
		Code:      strings.Repeat("9", 10),
		Phone:     "+" + strings.Repeat("9", 15),
		NewPhone:  "+" + strings.Repeat("8", 15),
		Name:      strings.Repeat("Ñ", 256), // never used by a default
		ExpiresIn: 10 * time.Minute,
	}
	for name, src := range map[string]string{
		"VerifyPhone":  DefaultSMSTemplates().VerifyPhone,
		"SignInCode":   DefaultSMSTemplates().SignInCode,
		"ResetCode":    DefaultSMSTemplates().ResetCode,
		"PhoneChanged": DefaultSMSTemplates().PhoneChanged,
	} {
		st, err := parseSMSTemplate(name, "", src)
		require.NoError(t, err)
		m, err := st.render(d.Phone, d)
		require.NoError(t, err)
		require.LessOrEqual(t, len(m.Body), 160, "%s: %q", name, m.Body)
		for _, r := range m.Body {
			require.True(t, r < 0x80 && strings.ContainsRune(gsm7, r), "%s: %q is no plain GSM-7 character", name, r)
		}
		if name != "PhoneChanged" {
			require.Contains(t, m.Body, d.Code)
			require.Contains(t, m.Body, "10 minutes")
		}
		require.Contains(t, m.Body, d.AppName)
		require.NotContains(t, m.Body, "Ñ")
	}
}
