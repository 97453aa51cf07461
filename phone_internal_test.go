package authkit

import (
	"context"
	"regexp"
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

type nopTexter struct{}

func (nopTexter) SendSMS(context.Context, SMS) error { return nil }

// The parser sees hostile numbers: nothing panics out of normalizePhone,
// and what it accepts is E.164.
func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"+15555555555", "+1 (555) 555-5555", "+44 (0)20 7946 0958", "+", "+0", "+1-800-FLOWERS", "+15555555555;ext=1", "+١٥٥٥", "++1", "+(((", "+1 ) ( 5"} {
		f.Add(s)
	}
	e164 := regexp.MustCompile(`^\+[1-9]\d{1,14}$`)
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normalizePhone(s)
		if err != nil {
			require.Equal(t, CodeInvalidPhone, err.(*Error).Code)
			return
		}
		require.Regexp(t, e164, n)
		again, err := normalizePhone(n)
		require.NoError(t, err, "the stored form is accepted as input")
		require.Equal(t, n, again)
		// The query form (where '+' may arrive as a space) reads every
		// number the body form does, as the same number.
		q, err := queryPhone(s)
		require.NoError(t, err)
		require.Equal(t, n, q)
		q, err = queryPhone(strings.Replace(strings.TrimSpace(s), "+", " ", 1))
		require.NoError(t, err)
		require.Equal(t, n, q)
	})
}
