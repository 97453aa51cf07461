package authkit_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// gatedMailer holds every mail until released.
type gatedMailer struct {
	*outbox.Outbox
	entered chan struct{}
	release chan struct{}
}

func (g *gatedMailer) SendEmail(ctx context.Context, m authkit.Email) error {
	g.entered <- struct{}{}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Outbox.SendEmail(ctx, m)
}

// Messages sent in the background, by a kit whose Store keeps no intents,
// are bounded: past MaxPendingSends a message is dropped and logged, and
// the answer is the same.
func TestBackgroundSendsAreBounded(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	box := outbox.New()
	g := &gatedMailer{Outbox: box, entered: make(chan struct{}, 10), release: make(chan struct{})}
	h := newHarness(t, func(c *authkit.Config) {
		c.Store, c.Limiter = coreStore{c.Store}, memstore.New()
		c.Mailer = g
		c.MaxPendingSends = 2
		c.EmailConfirmation = authkit.Off
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	h.box = box
	for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		require.Equal(t, http.StatusOK, h.signUp(e, "correct horse battery", nil).status)
	}
	answers := map[string]string{}
	for i, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		a := h.post(api+"send-reset?email="+e, nil, "")
		require.Equal(t, http.StatusOK, a.status)
		answers[string(a.raw)] = e
		if i < 2 {
			<-g.entered // held in SendEmail
		}
	}
	require.Len(t, answers, 1, "the same answer, dropped or not")
	require.Contains(t, logs.String(), `"msg":"authkit: sending a reset message dropped: Config.MaxPendingSends messages are being sent already"`)
	close(g.release)
	h.mail("a@example.com")
	h.mail("b@example.com")
	h.noMail("c@example.com")
}

// blockingSender is a Mailer and SMSSender whose every send blocks until
// the test releases it.
type blockingSender struct {
	inFlight atomic.Int32
	started  chan string // the recipient of each send, as it starts
	release  chan struct{}
	done     chan string
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

func newBlockingSender() *blockingSender {
	return &blockingSender{started: make(chan string, 16), release: make(chan struct{}), done: make(chan string, 16)}
}

// SECURITY 8: sending costs the answer no time. Each send route answers a
// real account while the message to it is still being sent (the sender
// blocks until the test releases it), so a slow mail server or SMS
// provider cannot tell real accounts from unknown ones by the answer's
// time.
func TestSendRoutesAnswerBeforeSending(t *testing.T) {
	t.Parallel()
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
