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
