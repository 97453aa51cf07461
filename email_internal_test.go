package authkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

// A store failure is a 500, logged; never passed off as a bad link.
func TestStoreFailureIsNotABadToken(t *testing.T) {
	t.Parallel()
	k, err := New(Config{Store: failingStore{}, Mailer: nopMailer{}, PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	_, err = k.followLink(context.Background(), "some-key")
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodeInternal, e.Code)
}
