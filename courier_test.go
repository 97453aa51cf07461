package authkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/dbtest"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/sms"
)

// coreStore offers the core of a Store alone: none of its capabilities
// (no Courier: the kit sends from goroutines).
type coreStore struct{ authkit.Store }

// fullStore is a store with every capability the courier tests use.
type fullStore interface {
	authkit.Store
	authkit.Limiter
	authkit.PhoneStore
	authkit.Courier
}

// addUsers stores accounts made straight in the store: confirmed emails
// and numbers, or unconfirmed ones.
func addUsers(t *testing.T, s authkit.Store, now time.Time, users ...authkit.User) {
	t.Helper()
	for n, u := range users {
		u.ID = fmt.Sprintf("%024x", n+1)
		u.Provider, u.ProviderUserID, u.SignUpAt, u.LastLoginAt = authkit.ProviderAltogic, u.ID, now, now
		require.NoError(t, s.CreateUser(context.Background(), u))
	}
}

// countingStore records the name of every call made to the store it
// wraps, every capability included.
type countingStore struct {
	fullStore
	mu    sync.Mutex
	calls []string
}

func (c *countingStore) rec(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, name)
}

// take returns the calls recorded since the last take.
func (c *countingStore) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	return calls
}

func (c *countingStore) CreateUser(ctx context.Context, u authkit.User) error {
	c.rec("CreateUser")
	return c.fullStore.CreateUser(ctx, u)
}

func (c *countingStore) UserByID(ctx context.Context, id string) (authkit.User, error) {
	c.rec("UserByID")
	return c.fullStore.UserByID(ctx, id)
}

func (c *countingStore) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	c.rec("UserByEmail")
	return c.fullStore.UserByEmail(ctx, email)
}

func (c *countingStore) UserByProvider(ctx context.Context, p, id string) (authkit.User, error) {
	c.rec("UserByProvider")
	return c.fullStore.UserByProvider(ctx, p, id)
}

func (c *countingStore) UpdateUser(ctx context.Context, id string, up authkit.UserUpdate) (authkit.User, error) {
	c.rec("UpdateUser")
	return c.fullStore.UpdateUser(ctx, id, up)
}

func (c *countingStore) DeleteUser(ctx context.Context, id string) error {
	c.rec("DeleteUser")
	return c.fullStore.DeleteUser(ctx, id)
}

func (c *countingStore) CreateSession(ctx context.Context, s authkit.Session) error {
	c.rec("CreateSession")
	return c.fullStore.CreateSession(ctx, s)
}

func (c *countingStore) SessionByTokenHash(ctx context.Context, h string) (authkit.Session, error) {
	c.rec("SessionByTokenHash")
	return c.fullStore.SessionByTokenHash(ctx, h)
}

func (c *countingStore) ListSessions(ctx context.Context, userID string) ([]authkit.Session, error) {
	c.rec("ListSessions")
	return c.fullStore.ListSessions(ctx, userID)
}

func (c *countingStore) TouchSession(ctx context.Context, id string, at time.Time) error {
	c.rec("TouchSession")
	return c.fullStore.TouchSession(ctx, id, at)
}

func (c *countingStore) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	c.rec("DeleteSession")
	return c.fullStore.DeleteSession(ctx, userID, id)
}

func (c *countingStore) DeleteUserSessions(ctx context.Context, userID, except string) error {
	c.rec("DeleteUserSessions")
	return c.fullStore.DeleteUserSessions(ctx, userID, except)
}

func (c *countingStore) CreateToken(ctx context.Context, t authkit.Token) error {
	c.rec("CreateToken")
	return c.fullStore.CreateToken(ctx, t)
}

func (c *countingStore) TokenByHash(ctx context.Context, h string, now time.Time) (authkit.Token, error) {
	c.rec("TokenByHash")
	return c.fullStore.TokenByHash(ctx, h, now)
}

func (c *countingStore) ConsumeToken(ctx context.Context, p authkit.TokenPurpose, h string, now time.Time) (authkit.Token, error) {
	c.rec("ConsumeToken")
	return c.fullStore.ConsumeToken(ctx, p, h, now)
}

func (c *countingStore) DeleteUserTokens(ctx context.Context, userID string, ps ...authkit.TokenPurpose) error {
	c.rec("DeleteUserTokens")
	return c.fullStore.DeleteUserTokens(ctx, userID, ps...)
}

func (c *countingStore) TokensBySubject(ctx context.Context, p authkit.TokenPurpose, subject string, now time.Time) ([]authkit.Token, error) {
	c.rec("TokensBySubject")
	return c.fullStore.TokensBySubject(ctx, p, subject, now)
}

func (c *countingStore) UserByPhone(ctx context.Context, phone string) (authkit.User, error) {
	c.rec("UserByPhone")
	return c.fullStore.UserByPhone(ctx, phone)
}

func (c *countingStore) LatestToken(ctx context.Context, p authkit.TokenPurpose, subject string, now time.Time) (authkit.Token, error) {
	c.rec("LatestToken")
	return c.fullStore.LatestToken(ctx, p, subject, now)
}

func (c *countingStore) ClaimAttempt(ctx context.Context, h string, max int, now time.Time) (bool, error) {
	c.rec("ClaimAttempt")
	return c.fullStore.ClaimAttempt(ctx, h, max, now)
}

func (c *countingStore) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	c.rec("Hit")
	return c.fullStore.Hit(ctx, key, window, now)
}

func (c *countingStore) Reset(ctx context.Context, key string) error {
	c.rec("Reset")
	return c.fullStore.Reset(ctx, key)
}

func (c *countingStore) CreateIntent(ctx context.Context, i authkit.Intent) error {
	c.rec("CreateIntent")
	return c.fullStore.CreateIntent(ctx, i)
}

func (c *countingStore) ClaimIntents(ctx context.Context, owner string, now, until time.Time, max int) ([]authkit.Intent, error) {
	c.rec("ClaimIntents")
	return c.fullStore.ClaimIntents(ctx, owner, now, until, max)
}

func (c *countingStore) FinishIntent(ctx context.Context, id, owner string, out authkit.IntentOutcome) error {
	c.rec("FinishIntent")
	return c.fullStore.FinishIntent(ctx, id, owner, out)
}

func (c *countingStore) DeadIntents(ctx context.Context) ([]authkit.Intent, error) {
	c.rec("DeadIntents")
	return c.fullStore.DeadIntents(ctx)
}

func (c *countingStore) RetryIntent(ctx context.Context, id string, now time.Time) error {
	c.rec("RetryIntent")
	return c.fullStore.RetryIntent(ctx, id, now)
}

func (c *countingStore) DeleteFinishedIntents(ctx context.Context, a, b time.Time) (int64, error) {
	c.rec("DeleteFinishedIntents")
	return c.fullStore.DeleteFinishedIntents(ctx, a, b)
}

// SECURITY 64: a send route makes the same store calls, in the same order,
// for an identifier with an account and one without: the lookup happens
// later, in the courier, so neither the answer nor its work tells them
// apart. The known one still gets its message.
func TestSendRoutesMakeTheSameStoreCalls(t *testing.T) {
	t.Parallel()
	counting := &countingStore{fullStore: memstore.New()}
	h := newPhoneHarness(t, authkit.ManualCourier, func(c *authkit.Config) { c.Store, c.Limiter = counting, nil })
	addUsers(t, counting, h.clock.Now(),
		authkit.User{Email: "known@example.com", EmailVerified: true},
		authkit.User{Email: "unconfirmed@example.com"},
		authkit.User{Phone: "+15555555511", PhoneVerified: true},
		authkit.User{Phone: "+15555555513"},
	)
	for _, c := range []struct{ route, known, unknown string }{
		{api + "send-magic?email=", "known@example.com", "nobody@example.com"},
		{api + "send-reset?email=", "known@example.com", "nobody@example.com"},
		{api + "resend?email=", "unconfirmed@example.com", "nobody@example.com"},
		{"send-code", "+15555555511", "+15555555599"},
		{"send-reset-code", "+15555555511", "+15555555599"},
		{"resend-code", "+15555555513", "+15555555599"},
	} {
		path := func(to string) string {
			if c.route[0] == '/' {
				return c.route + to
			}
			return phoneQuery(c.route, to, "")
		}
		counting.take()
		known := h.post(path(c.known), nil, "")
		knownCalls := counting.take()
		unknown := h.post(path(c.unknown), nil, "")
		unknownCalls := counting.take()
		require.Equal(t, http.StatusOK, known.status, "%s: %s", c.route, known.raw)
		require.Equal(t, string(known.raw), string(unknown.raw), c.route)
		require.Contains(t, knownCalls, "CreateIntent", c.route)
		require.Equal(t, knownCalls, unknownCalls, "%s: the same store calls for a known and an unknown identifier", c.route)

		h.settle()
		h.mail(c.known)
		h.noMail(c.unknown)
		h.clock.Advance(2 * time.Minute) // past the repeat gaps
	}
}

// flakyStore fails every lookup and token write while fail is set: the
// database is down between the answer and the send.
type flakyStore struct {
	fullStore
	fail atomic.Bool
}

var errDown = errors.New("the database is down")

func (f *flakyStore) UserByEmail(ctx context.Context, email string) (authkit.User, error) {
	if f.fail.Load() {
		return authkit.User{}, errDown
	}
	return f.fullStore.UserByEmail(ctx, email)
}

func (f *flakyStore) UserByPhone(ctx context.Context, phone string) (authkit.User, error) {
	if f.fail.Load() {
		return authkit.User{}, errDown
	}
	return f.fullStore.UserByPhone(ctx, phone)
}

func (f *flakyStore) CreateToken(ctx context.Context, t authkit.Token) error {
	if f.fail.Load() {
		return errDown
	}
	return f.fullStore.CreateToken(ctx, t)
}

// eachStore runs test on each store of raceStores, as a subtest.
func eachStore(t *testing.T, test func(t *testing.T, open func(t *testing.T) fullStore)) {
	for _, s := range raceStores {
		t.Run(s.name, func(t *testing.T) {
			if s.env != "" {
				dbtest.Need(t, s.env)
			}
			t.Parallel()
			test(t, func(t *testing.T) fullStore { return s.open(t).(fullStore) })
		})
	}
}

// SECURITY 65: a message promised while the store fails after the answer
// is delivered once the store is back, once.
func TestCourierDeliversAfterTheStoreFails(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, open func(t *testing.T) fullStore) {
		flaky := &flakyStore{fullStore: open(t)}
		h := newPhoneHarness(t, authkit.ManualCourier, func(c *authkit.Config) { c.Store, c.Limiter = flaky, nil })
		addUsers(t, flaky, h.clock.Now(),
			authkit.User{Email: "ann@example.com", EmailVerified: true},
			authkit.User{Phone: "+15555555511", PhoneVerified: true})
		flaky.fail.Store(true)
		require.Equal(t, http.StatusOK, h.post(api+"send-magic?email=ann@example.com", nil, "").status)
		require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", "+15555555511", ""), nil, "").status)
		h.settle() // the first tries fail
		h.noMail("ann@example.com")
		h.noMail("+15555555511")

		flaky.fail.Store(false)
		h.clock.Advance(30 * time.Second) // DeliveryBackoff
		h.settle()
		q := h.follow(h.link("ann@example.com"))
		require.Equal(t, http.StatusOK, h.grant(q.Get("access_token")).status)
		a := h.post(phoneQuery("signin-code", "+15555555511", h.code("+15555555511")), nil, "")
		require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
		h.clock.Advance(time.Hour)
		h.noMail("ann@example.com")
		h.noMail("+15555555511")
	})
}

// flakySender answers a temporary error (an SMS provider's 429) to the
// first fails sends, then sends to the outbox; it counts every try.
type flakySender struct {
	*outbox.Outbox
	fails     atomic.Int32
	permanent bool
	tries     atomic.Int32
}

func (f *flakySender) refuse() error {
	f.tries.Add(1)
	if f.fails.Add(-1) >= 0 {
		return &sms.Error{Provider: "twilio", Status: http.StatusTooManyRequests, Temporary: !f.permanent}
	}
	return nil
}

func (f *flakySender) SendEmail(ctx context.Context, m authkit.Email) error {
	if err := f.refuse(); err != nil {
		return err
	}
	return f.Outbox.SendEmail(ctx, m)
}

func (f *flakySender) SendSMS(ctx context.Context, m authkit.SMS) error {
	if err := f.refuse(); err != nil {
		return err
	}
	return f.Outbox.SendSMS(ctx, m)
}

// SECURITY 66: a provider that answers a temporary error for a while gets
// the message again after a backoff, and it arrives once; the code of
// every try is the same, and works.
func TestCourierRetriesTemporaryErrors(t *testing.T) {
	t.Parallel()
	box := outbox.New()
	sender := &flakySender{Outbox: box}
	h := newPhoneHarness(t, authkit.ManualCourier, func(c *authkit.Config) { c.Mailer, c.SMSSender = sender, sender })
	h.box = box
	addUsers(t, h.store, h.clock.Now(), authkit.User{Phone: "+15555555511", PhoneVerified: true})

	sender.fails.Store(2)
	require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", "+15555555511", ""), nil, "").status)
	h.settle()
	h.noMail("+15555555511")
	h.clock.Advance(29 * time.Second)
	h.settle()
	require.EqualValues(t, 1, sender.tries.Load(), "not before the backoff")
	h.clock.Advance(time.Second) // 30 s: the second try fails too
	h.clock.Advance(time.Minute) // then 60 s: the third goes
	h.settle()
	require.EqualValues(t, 3, sender.tries.Load())
	a := h.post(phoneQuery("signin-code", "+15555555511", h.code("+15555555511")), nil, "")
	require.Equal(t, http.StatusOK, a.status, "%s", a.raw)
	h.clock.Advance(time.Hour)
	h.noMail("+15555555511")
	dead, err := h.kit.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Empty(t, dead)
}

// SECURITY 67: a message its sender refuses for good, or that fails every
// try, is a dead letter: listed with why, and delivered when retried.
func TestDeadLetters(t *testing.T) {
	t.Parallel()
	box := outbox.New()
	sender := &flakySender{Outbox: box, permanent: true}
	h := newHarness(t, authkit.ManualCourier, func(c *authkit.Config) { c.Mailer, c.DeliveryAttempts = sender, 2 })
	h.box = box
	addUsers(t, h.store, h.clock.Now(), authkit.User{Email: "ann@example.com", EmailVerified: true})

	sender.fails.Store(1)
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=ann@example.com", nil, "").status)
	h.settle()
	dead, err := h.kit.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Len(t, dead, 1, "refused for good: given up at once")
	require.Equal(t, "ann@example.com", dead[0].To)
	require.Contains(t, dead[0].LastError, "HTTP 429")
	require.Empty(t, dead[0].Data)

	require.ErrorIs(t, h.kit.RetryDeadLetter(context.Background(), "nope"), authkit.ErrNotFound)
	// Retried later, the address's caps are counted anew: past the repeat
	// gap, it goes.
	h.clock.Advance(2 * time.Minute)
	require.NoError(t, h.kit.RetryDeadLetter(context.Background(), dead[0].ID))
	h.settle()
	link := h.link("ann@example.com")
	require.NotContains(t, fmt.Sprintf("%+v", dead[0]), strings.TrimPrefix(link, h.srv.URL+"/_auth/verify?key="), "no link at rest")
	q := h.follow(link)
	require.Equal(t, "reset-pwd", q.Get("action"))

	// Temporary failures, DeliveryAttempts of them, give it up too.
	sender.permanent = false
	sender.fails.Store(2)
	h.clock.Advance(2 * time.Minute)
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=ann@example.com", nil, "").status)
	h.settle()
	h.clock.Advance(30 * time.Second)
	h.settle()
	dead, err = h.kit.DeadLetters(context.Background())
	require.NoError(t, err)
	require.Len(t, dead, 1)
	h.noMail("ann@example.com")
}

// stuckMailer holds every mail until its context ends, and sends nothing.
type stuckMailer struct{ started chan string }

func (s stuckMailer) SendEmail(ctx context.Context, m authkit.Email) error {
	s.started <- m.To
	<-ctx.Done()
	return ctx.Err()
}

// newCourierKit builds a kit on store s with the clock c, delivering
// through m, served by a test server.
func newCourierKit(t *testing.T, s authkit.Store, c *clock, m authkit.Mailer, edit ...func(*authkit.Config)) (*authkit.Kit, *httptest.Server) {
	t.Helper()
	cfg := authkit.Config{
		Store: s, Mailer: m, PublicURL: "https://api.example.com", RedirectURL: "https://app.example.com/",
		Now: c.Now, Logger: discardLogger(), Limits: noLimitsAtAll(),
	}
	for _, e := range edit {
		e(&cfg)
	}
	kit, err := authkit.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(theContract().wrap(t, kit.Handler()))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kit.Close(ctx)
	})
	return kit, srv
}

// noLimitsAtAll turns off every abuse limit.
func noLimitsAtAll() authkit.Limits {
	var c authkit.Config
	noLimits(&c)
	return c.Limits
}

func postSendMagic(t *testing.T, srv *httptest.Server, email string) {
	t.Helper()
	resp, err := http.Post(srv.URL+api+"send-magic?email="+email, "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// perRecipient counts the messages the outbox holds, by recipient.
func perRecipient(box *outbox.Outbox) map[string]int {
	n := map[string]int{}
	for _, m := range box.Messages() {
		n[m.To]++
	}
	return n
}

// SECURITY 68: a kit closed with messages in flight and queued hands them
// over: a new kit on the same store delivers every one, once.
func TestCloseHandsOverTheQueue(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, open func(t *testing.T) fullStore) {
		s := open(t)
		c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
		const n = 6
		var users []authkit.User
		for i := range n {
			users = append(users, authkit.User{Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true})
		}
		addUsers(t, s, c.Now(), users...)

		stuck := stuckMailer{started: make(chan string, n)}
		first, srv := newCourierKit(t, s, c, stuck, func(c *authkit.Config) { c.DeliveryWorkers = 2 })
		for _, u := range users {
			postSendMagic(t, srv, u.Email)
		}
		<-stuck.started // the first kit's workers are in the middle of sends
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, first.Close(ctx), context.DeadlineExceeded, "the sends in flight never end")

		box := outbox.New()
		second, _ := newCourierKit(t, s, c, box)
		require.NoError(t, second.Flush(context.Background()))
		got := perRecipient(box)
		for _, u := range users {
			require.Equal(t, 1, got[u.Email], "%s: every message delivered once", u.Email)
		}
	})
}

// SECURITY 68: two kits on one store, each recording half the messages,
// deliver each message once between them.
func TestTwoKitsDeliverEachOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, open func(t *testing.T) fullStore) {
		s := open(t)
		c := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
		const n = 16
		var users []authkit.User
		for i := range n {
			users = append(users, authkit.User{Email: fmt.Sprintf("u%d@example.com", i), EmailVerified: true})
		}
		addUsers(t, s, c.Now(), users...)
		box := outbox.New()
		one, srv1 := newCourierKit(t, s, c, box)
		two, srv2 := newCourierKit(t, s, c, box)
		var wg sync.WaitGroup
		for i, u := range users {
			srv := srv1
			if i%2 == 1 {
				srv = srv2
			}
			wg.Go(func() { postSendMagic(t, srv, u.Email) })
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, one.Flush(ctx))
		require.NoError(t, two.Flush(ctx))
		got := perRecipient(box)
		for _, u := range users {
			require.Equal(t, 1, got[u.Email], "%s: delivered once", u.Email)
		}
	})
}
