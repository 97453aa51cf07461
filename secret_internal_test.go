package authkit

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// oneUserStore is enough of a Store for the tests in this file: one user.
type oneUserStore struct {
	Store
	user User
}

func (s oneUserStore) UserByEmail(_ context.Context, email string) (User, error) {
	if email == s.user.Email {
		return s.user, nil
	}
	return User{}, ErrNotFound
}

type nopMailer struct{}

func (nopMailer) SendEmail(context.Context, Email) error { return nil }

// SECURITY 7: a sign-in for an unknown account, or for one without a
// password, verifies a hash like any other: it needs a hashing slot. With
// the only slot taken and a context that cannot wait, each sign-in gives up
// waiting for it, which proves it asked for one.
func TestEverySignInCostsAHash(t *testing.T) {
	oauthOnly := User{ID: "u1", Provider: "google", ProviderUserID: "g1", Email: "oauth@example.com", EmailVerified: true}
	k, err := New(Config{
		Store: oneUserStore{user: oauthOnly}, Mailer: nopMailer{},
		PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		MaxConcurrentHashes: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	k.dummyHash() // made once, outside the slots

	for _, email := range []string{"nobody@example.com", "oauth@example.com"} {
		release, err := k.acquireHashSlot(context.Background())
		require.NoError(t, err)
		cancelled, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = k.signInWithEmail(cancelled, email, "some password")
		var e *Error
		require.True(t, errors.As(err, &e), "%v", err)
		require.Equal(t, CodeUnavailable, e.Code, "%s waited for a hashing slot", email)
		release()

		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err = k.signInWithEmail(ctx, email, "some password")
		cancel()
		require.True(t, errors.As(err, &e))
		require.Equal(t, CodeInvalidCredentials, e.Code)
	}
}

// The bound holds: with N slots, the N+1th hash waits for one to free.
func TestHashingIsBounded(t *testing.T) {
	k, err := New(Config{Store: oneUserStore{}, Mailer: nopMailer{}, PublicURL: "http://localhost", RedirectURL: "http://localhost/", MaxConcurrentHashes: 2})
	require.NoError(t, err)
	var releases []func()
	for range 2 {
		release, err := k.acquireHashSlot(context.Background())
		require.NoError(t, err)
		releases = append(releases, release)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = k.hash(cancelled, "a new long password")
	require.Error(t, err, "a third hash cannot start while two run")
	releases[0]()
	_, err = k.hash(context.Background(), "a new long password")
	require.NoError(t, err)
	releases[1]()
}

// failingStore fails every user lookup by id, as a database that is down.
type failingStore struct {
	Store
}

func (failingStore) TokenByHash(context.Context, string, time.Time) (Token, error) {
	return Token{Purpose: PurposeMagicLink, UserID: "u1", Subject: "a@example.com"}, nil
}

func (failingStore) UserByID(context.Context, string) (User, error) {
	return User{}, errors.New("database is down")
}

// A store failure is a 500, logged; never passed off as a bad link.
func TestStoreFailureIsNotABadToken(t *testing.T) {
	k, err := New(Config{Store: failingStore{}, Mailer: nopMailer{}, PublicURL: "http://localhost", RedirectURL: "http://localhost/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	_, err = k.followLink(context.Background(), "some-key")
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodeInternal, e.Code)
}
