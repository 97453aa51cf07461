package authkit_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// SECURITY 6-8: whether an account exists, is confirmed, or signs in
// only with a provider shows neither in what a sign-in or send route
// answers nor in when.

// requireSameAnswer checks that two answers look alike to the caller:
// status, every header but Date, and the body byte for byte.
func requireSameAnswer(t *testing.T, want, got answer, msg string) {
	t.Helper()
	require.Equal(t, want.status, got.status, "%s: %s", msg, got.raw)
	require.Equal(t, string(want.raw), string(got.raw), msg)
	wh, gh := want.header.Clone(), got.header.Clone()
	wh.Del("Date")
	gh.Del("Date")
	require.Equal(t, wh, gh, msg)
}

// The four kinds of account an identifier can name. OAuth-only accounts
// have an email or a phone but no password.
const (
	unknownEmail    = "nobody@example.com"
	unverifiedEmail = "pending@example.com"
	verifiedEmail   = "verified@example.com"
	oauthEmail      = "oauth@example.com"
	unknownPhone    = "+15555555503"
	unverifiedPhone = "+15555555502"
	verifiedPhone   = "+15555555501"
	oauthPhone      = "+15555555504"
)

// enumHarness is a phone harness with an account of every kind, by email
// and by phone.
func enumHarness(t *testing.T) *harness {
	t.Helper()
	h := newPhoneHarness(t)
	h.confirmedUser(verifiedEmail, inputPassword)
	require.Equal(t, http.StatusOK, h.signUp(unverifiedEmail, inputPassword, nil).status)
	h.mail(unverifiedEmail)
	h.phoneUser(verifiedPhone, inputPassword)
	require.Equal(t, http.StatusOK, h.signUpPhone(unverifiedPhone, inputPassword, nil).status)
	h.code(unverifiedPhone)
	now := h.clock.Now()
	require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
		ID: "0123456789abcdef01234567", Provider: "google", ProviderUserID: "google-42",
		Email: oauthEmail, EmailVerified: true, Phone: oauthPhone, PhoneVerified: true, SignUpAt: now, LastLoginAt: now,
	}))
	h.settle()
	return h
}

// Every sign-in and send route answers an unknown identifier exactly as it
// answers an unconfirmed, a confirmed and an OAuth-only account: same
// status, same headers, same bytes (sign-in with a wrong password or code;
// "*_not_verified" comes only after the right password, see
// TestSignUpConfirmAndSignIn and TestPhoneSignIn). Nothing is sent to an
// unknown identifier.
func TestEnumerationAnswersAlike(t *testing.T) {
	h := enumHarness(t)
	var guess string
	emails := []string{unknownEmail, unverifiedEmail, verifiedEmail, oauthEmail}
	phones := []string{unknownPhone, unverifiedPhone, verifiedPhone, oauthPhone}
	routes := []struct {
		name  string
		ids   []string
		call  func(id string) answer
		setup func()
	}{
		{"signin-email", emails, func(id string) answer { return h.signIn(id, "not the password") }, nil},
		{"signin-phone", phones, func(id string) answer { return h.signInPhone(id, "not the password") }, nil},
		{"signin-code", phones, func(id string) answer { return h.post(phoneQuery("signin-code", id, guess), nil, "") }, func() {
			// A live sign-in code for the confirmed number, so that its
			// wrong guess is checked against a real code.
			require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", verifiedPhone, ""), nil, "").status)
			guess = wrongCode(h.code(verifiedPhone))
		}},
		{"send-magic", emails, func(id string) answer { return h.post(api+"send-magic?email="+id, nil, "") }, nil},
		{"send-reset", emails, func(id string) answer { return h.post(api+"send-reset?email="+id, nil, "") }, nil},
		{"resend", emails, func(id string) answer { return h.post(api+"resend?email="+id, nil, "") }, nil},
		{"send-code", phones, func(id string) answer { return h.post(phoneQuery("send-code", id, ""), nil, "") }, nil},
		{"send-reset-code", phones, func(id string) answer { return h.post(phoneQuery("send-reset-code", id, ""), nil, "") }, nil},
		{"resend-code", phones, func(id string) answer { return h.post(phoneQuery("resend-code", id, ""), nil, "") }, nil},
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			// A new day: every window of the abuse limits starts afresh,
			// and the numbers may be texted again.
			h.clock.Advance(24 * time.Hour)
			if rt.setup != nil {
				rt.setup()
			}
			first := rt.call(rt.ids[0])
			require.Less(t, first.status, 500)
			for _, id := range rt.ids[1:] {
				requireSameAnswer(t, first, rt.call(id), rt.name+" for "+id+" as for "+rt.ids[0])
			}
			h.settle()
		})
	}
	h.noMail(unknownEmail)
	h.noMail(unknownPhone)
}

// blockingSender is a Mailer and SMSSender whose every send blocks until
// the test releases it.
type blockingSender struct {
	inFlight atomic.Int32
	started  chan string // the recipient of each send, as it starts
	release  chan struct{}
	done     chan string
}

func newBlockingSender() *blockingSender {
	return &blockingSender{started: make(chan string, 16), release: make(chan struct{}), done: make(chan string, 16)}
}

func (b *blockingSender) SendEmail(ctx context.Context, m authkit.Email) error {
	return b.block(ctx, m.To)
}

func (b *blockingSender) SendSMS(ctx context.Context, m authkit.SMS) error {
	return b.block(ctx, m.To)
}

func (b *blockingSender) block(ctx context.Context, to string) error {
	b.inFlight.Add(1)
	defer func() {
		b.inFlight.Add(-1)
		b.done <- to
	}()
	b.started <- to
	select {
	case <-b.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SECURITY 8: sending costs the answer no time. Each send route answers a
// real account while the message to it is still being sent (the sender
// blocks until the test releases it), so a slow mail server or SMS
// provider cannot tell real accounts from unknown ones by the answer's
// time.
func TestSendRoutesAnswerBeforeSending(t *testing.T) {
	sender := newBlockingSender()
	h := newPhoneHarness(t, func(c *authkit.Config) {
		c.Mailer = sender
		c.SMSSender = sender
		// A route that waited for its send would answer only once the
		// send gave up: after 5 seconds, with nothing in flight.
		c.SendTimeout = 5 * time.Second
	})
	now := h.clock.Now()
	for i, u := range []authkit.User{
		{Email: "magic@example.com", EmailVerified: true},
		{Email: "reset@example.com", EmailVerified: true},
		{Email: "unconfirmed@example.com"},
		{Phone: "+15555555511", PhoneVerified: true},
		{Phone: "+15555555512", PhoneVerified: true},
		{Phone: "+15555555513"},
	} {
		u.ID = "00000000000000000000000" + string(rune('a'+i))
		u.Provider, u.ProviderUserID, u.SignUpAt, u.LastLoginAt = authkit.ProviderAltogic, u.ID, now, now
		require.NoError(t, h.store.CreateUser(context.Background(), u))
	}
	for _, c := range []struct{ path, to string }{
		{api + "send-magic?email=magic@example.com", "magic@example.com"},
		{api + "send-reset?email=reset@example.com", "reset@example.com"},
		{api + "resend?email=unconfirmed@example.com", "unconfirmed@example.com"},
		{phoneQuery("send-code", "+15555555511", ""), "+15555555511"},
		{phoneQuery("send-reset-code", "+15555555512", ""), "+15555555512"},
		{phoneQuery("resend-code", "+15555555513", ""), "+15555555513"},
	} {
		a := h.post(c.path, nil, "")
		require.Equal(t, http.StatusOK, a.status, "%s: %s", c.path, a.raw)
		select {
		case to := <-sender.started:
			require.Equal(t, c.to, to)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s sent nothing to %s", c.path, c.to)
		}
		require.EqualValues(t, 1, sender.inFlight.Load(), "%s must answer while its message is still being sent", c.path)
		sender.release <- struct{}{}
		require.Equal(t, c.to, <-sender.done)
	}
	h.settle()
	require.Zero(t, sender.inFlight.Load())
}
