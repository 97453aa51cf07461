package authkit

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/password"
)

// SECURITY 7: a sign-in for an unknown account, or for one without a
// password, verifies a hash like any other: it needs a hashing slot. With
// the only slot taken and a context that cannot wait, each sign-in gives up
// waiting for it, which proves it asked for one.
func TestEverySignInCostsAHash(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
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

// SECURITY 7: every sign-in with a password verifies exactly one hash,
// whoever it names: the account's own, or, for an unknown email or number
// and for an account without a password (OAuth), the kit's dummy hash. So
// the three take the same time as a wrong password. Counted by wrapping
// the verification itself.
func TestSignInVerifiesOneHashPerAttempt(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var verified []string // the stored hash of each verification
	countVerifications := func(stored, pw string, p password.Params) (bool, bool, error) {
		mu.Lock()
		verified = append(verified, stored)
		mu.Unlock()
		return password.Verify(stored, pw, p)
	}

	const pw = "correct horse battery"
	own, err := password.Hash(rand.Reader, pw, password.Default)
	require.NoError(t, err)
	store := accountsStore{users: []User{
		{ID: "u1", Provider: ProviderAltogic, ProviderUserID: "u1", Email: "ann@example.com", EmailVerified: true,
			Phone: "+15555555501", PhoneVerified: true, PasswordHash: own},
		{ID: "u2", Provider: "google", ProviderUserID: "g2", Email: "oauth@example.com", EmailVerified: true,
			Phone: "+15555555502", PhoneVerified: true},
	}}
	k, err := New(Config{
		Store: store, Mailer: nopMailer{}, SMSSender: nopTexter{}, PhoneAuth: On, Limiter: neverLimited{},
		PublicURL: "http://localhost", RedirectURL: "http://localhost/", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		test: testHooks{verifyPassword: countVerifications},
	})
	require.NoError(t, err)
	dummy := k.dummyHash() // made at the first need, and once: not counted below

	email := func(id, pw string) string { return `{"email":"` + id + `","password":"` + pw + `"}` }
	phone := func(id, pw string) string { return `{"phone":"` + id + `","password":"` + pw + `"}` }
	long := strings.Repeat("x", 4*maxPasswordRunes+1)
	cases := []struct {
		name, route, body string
		status            int
		stored            []string // what was verified, in order
	}{
		{"email: right password", "signin-email", email("ann@example.com", pw), http.StatusOK, []string{own}},
		{"email: wrong password", "signin-email", email("ann@example.com", "wrong password"), http.StatusUnauthorized, []string{own}},
		{"email: unknown account", "signin-email", email("nobody@example.com", pw), http.StatusUnauthorized, []string{dummy}},
		{"email: OAuth-only account", "signin-email", email("oauth@example.com", pw), http.StatusUnauthorized, []string{dummy}},
		{"email: OAuth-only account, empty password", "signin-email", email("oauth@example.com", ""), http.StatusUnauthorized, []string{dummy}},
		{"phone: right password", "signin-phone", phone("+15555555501", pw), http.StatusOK, []string{own}},
		{"phone: wrong password", "signin-phone", phone("+15555555501", "wrong password"), http.StatusUnauthorized, []string{own}},
		{"phone: unknown number", "signin-phone", phone("+15555555503", pw), http.StatusUnauthorized, []string{dummy}},
		{"phone: OAuth-only account", "signin-phone", phone("+15555555502", pw), http.StatusUnauthorized, []string{dummy}},
		// SECURITY 3: an absurd password is refused before any hash, for
		// every account alike.
		{"email: absurd password, known account", "signin-email", email("ann@example.com", long), http.StatusUnauthorized, nil},
		{"email: absurd password, unknown account", "signin-email", email("nobody@example.com", long), http.StatusUnauthorized, nil},
		{"phone: absurd password, known account", "signin-phone", phone("+15555555501", long), http.StatusUnauthorized, nil},
		{"phone: absurd password, unknown number", "signin-phone", phone("+15555555503", long), http.StatusUnauthorized, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mu.Lock()
			verified = nil
			mu.Unlock()
			r := httptest.NewRequest(http.MethodPost, apiPrefix+c.route, strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			k.Handler().ServeHTTP(w, r)
			require.Equal(t, c.status, w.Code, w.Body.String())
			mu.Lock()
			defer mu.Unlock()
			require.Equal(t, c.stored, verified)
		})
	}
}
