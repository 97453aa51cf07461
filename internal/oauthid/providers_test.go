package oauthid

import (
	"encoding/json"
	"errors"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// Apple sends email_verified as true or as "true".
func TestFlexibleBool(t *testing.T) {
	for raw, want := range map[string]bool{
		`true`: true, `"true"`: true, `false`: false, `"false"`: false, `"yes"`: false, `1`: false, `null`: false,
	} {
		var c idClaims
		require.NoError(t, json.Unmarshal([]byte(`{"email_verified":`+raw+`}`), &c), raw)
		require.Equal(t, want, bool(c.EmailVerified), raw)
	}
	var c idClaims
	require.Error(t, json.Unmarshal([]byte(`{"email_verified":tru}`), &c))
}

// quietError keeps no URL and no body of a failed call.
func TestQuietError(t *testing.T) {
	re := &oauth2.RetrieveError{ErrorCode: "invalid_grant", Body: []byte(`{"secret":"s3cr3t"}`)}
	require.Equal(t, `answered 0 "invalid_grant"`, quietError(re).Error())
	ue := &url.Error{Op: "Post", URL: "https://provider.example.com/token?code=s3cr3t", Err: errors.New("connection refused")}
	require.Equal(t, "Post: connection refused", quietError(ue).Error())
	other := errors.New("other")
	require.Equal(t, other, quietError(other))
}

// A numbered user's id has one form: digits, no sign, no leading zeros.
func TestIntegerID(t *testing.T) {
	for raw, want := range map[string]string{
		"0": "0", "00": "0", "7": "7", "007": "7", "109847134": "109847134",
		"80351110224678912":        "80351110224678912",
		"18446744073709551615":     "18446744073709551615", // the largest uint64
		"000018446744073709551615": "18446744073709551615",
	} {
		got, err := integerID(raw)
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}
	for _, raw := range []string{
		"", "-0", "+0", "-5", "+5", "1e3", "1E3", "1.0", "1.", ".5", "0x1f", "0b1", "1_000", " 7", "7 ", "７",
		"18446744073709551616", "99999999999999999999999", "abc", "NaN", "Infinity",
	} {
		_, err := integerID(raw)
		require.Error(t, err, "%q", raw)
	}
	_, err := integerID("-1")
	require.EqualError(t, err, `user id "-1" is not an unsigned 64-bit decimal integer`)
}
