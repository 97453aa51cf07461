package authkit

// The courier (SECURITY 64-68): every message a route promises is recorded
// as an Intent before the answer, the same record whatever the account,
// and delivered after it by workers that lease it from the store. A crash,
// a restart or a provider's outage loses nothing: a lease that runs out
// hands the intent to another worker, a temporary failure is tried again
// later, and a message that cannot go is kept as a dead letter.
//
// No link or code is ever stored with an intent: delivery derives it from
// the kit's secret and the intent's id, so a try after a failure makes the
// same link or code, and finds the token row it stored before.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The kinds of intents: the flows that promise a message.
const (
	intentSignUp       = "signup"         // a sign-up's confirmation link
	intentConfirm      = "confirm"        // resend: a confirmation link again
	intentMagic        = "magic"          // send-magic
	intentReset        = "reset"          // send-reset
	intentChangeEmail  = "change-email"   // the link that confirms a new email
	intentAddressInUse = "address-in-use" // to an address's owner: another account asked for it
	intentEmailChanged = "email-changed"  // to the old address
	intentConfirmCode  = "confirm-code"   // resend-code
	intentSignInCode   = "signin-code"    // send-code
	intentResetCode    = "reset-code"     // send-reset-code
	intentPhoneChanged = "phone-changed"  // to the old number
	// Notices to the owner (notices.go), by mail or text.
	intentPasswordChanged = "password-changed"
	intentNewDevice       = "new-device"
	intentFactorChanged   = "factor-changed"
)

// Settings of the courier that Config does not expose.
const (
	// courierPoll is how often an idle courier looks for due intents: the
	// ones other instances recorded, and the tries that waited out their
	// backoff. A kit looks at once for those it records itself.
	courierPoll = time.Second
	// deliveredRetention is how long the janitor keeps delivered intents;
	// deadRetention how long it keeps dead letters nobody retried.
	deliveredRetention = 24 * time.Hour
	deadRetention      = 30 * 24 * time.Hour
	// maxBackoff bounds the wait between two tries.
	maxBackoff = time.Hour
)

// errLeaseLost is a delivery stopped before its send because its lease ran
// out: another worker may hold the intent now.
var errLeaseLost = errors.New("authkit: the intent's lease ran out before the send")

// courier delivers the intents of a kit.
type courier struct {
	store   Courier // nil: no store keeps intents; they go from goroutines
	id      string  // this kit's part of every lease owner
	seq     atomic.Uint64
	workers int
	tries   int
	backoff time.Duration
	lease   time.Duration
	deliver map[string]func(ctx context.Context, i Intent) error

	pass    sync.Mutex    // one pass at a time in this kit
	kick    chan struct{} // a nudge: an intent was recorded
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed when the loop has ended
	once    sync.Once
	// sending is cancelled when Close gives up waiting: the deliveries in
	// flight end, and their leases are released.
	sending context.Context
	abort   context.CancelFunc
}

// configureCourier checks and applies DeliveryWorkers, DeliveryAttempts and
// DeliveryBackoff, finds whether the Store keeps intents, and starts the
// courier's loop when it does.
func (k *Kit) configureCourier(cfg Config) error {
	c := &k.courier
	err := applyBounded(
		bounded[int]{"DeliveryWorkers", cfg.DeliveryWorkers, 4, 1, 1000, "from 1 to 1000", &c.workers},
		bounded[int]{"DeliveryAttempts", cfg.DeliveryAttempts, 8, 1, 100, "from 1 to 100", &c.tries},
	)
	if err == nil {
		err = applyBounded(bounded[time.Duration]{"DeliveryBackoff", cfg.DeliveryBackoff, 30 * time.Second, time.Millisecond, maxBackoff, "from a millisecond to an hour", &c.backoff})
	}
	if err != nil {
		return err
	}
	// Long enough for the lookups, the token and a send that takes all of
	// SendTimeout, with room to spare: a lease that runs out mid-send would
	// let another worker send too.
	c.lease = 2*k.sendTimeout + time.Minute
	c.deliver = map[string]func(ctx context.Context, i Intent) error{
		intentSignUp:          k.deliverSignUp,
		intentConfirm:         k.byEmail(intentConfirm, k.deliverConfirmation),
		intentMagic:           k.byEmail(intentMagic, k.deliverMagicLink),
		intentReset:           k.byEmail(intentReset, k.deliverResetLink),
		intentChangeEmail:     k.deliverChangeEmail,
		intentAddressInUse:    k.deliverAddressInUse,
		intentEmailChanged:    k.deliverEmailChanged,
		intentConfirmCode:     k.byPhone(k.deliverConfirmationCode),
		intentSignInCode:      k.byPhone(k.deliverSignInCode),
		intentResetCode:       k.byPhone(k.deliverResetCode),
		intentPhoneChanged:    k.deliverPhoneChanged,
		intentPasswordChanged: k.deliverNotice,
		intentNewDevice:       k.deliverNotice,
		intentFactorChanged:   k.deliverNotice,
	}
	if cs, ok := cfg.Store.(Courier); ok {
		c.store = k.bound.courierStore(cs)
	}
	if c.store == nil {
		k.log.Warn("authkit: the Store does not implement authkit.Courier: messages are sent from goroutines, and a crash, a restart or a provider's outage loses them")
		return nil
	}
	if c.id, err = k.newID(); err != nil {
		return err
	}
	c.kick = make(chan struct{}, 1)
	c.stop = make(chan struct{})
	c.stopped = make(chan struct{})
	c.sending, c.abort = context.WithCancel(context.Background())
	if cfg.test.noCourierLoop {
		close(c.stopped)
		return nil
	}
	go k.runCourier()
	return nil
}

// promise records the intent i (its ID drawn here when empty) and nudges
// the courier, or, when the Store keeps no intents, sends it from a
// goroutine. The request's store calls are the same for every i of a kind.
func (k *Kit) promise(ctx context.Context, i Intent) error {
	if i.ID == "" {
		var err error
		if i.ID, err = k.newIntentID(); err != nil {
			return internalError(err)
		}
	}
	c := &k.courier
	now := k.clock()
	cl := clientOf(ctx)
	i.IP, i.UserAgent = cl.ip, cl.userAgent
	i.State, i.Tries, i.NextAt, i.CreatedAt, i.UpdatedAt = IntentPending, 0, now, now, now
	if c.store == nil {
		i.Tries = 1
		k.metrics.message(ctx, i.To, "queued")
		k.goBackground(ctx, "sending a "+i.Kind+" message", func(ctx context.Context) error {
			err := c.deliver[i.Kind](withIntent(ctx, i), i)
			if err != nil {
				k.metrics.message(ctx, i.To, "dead") // no second try without a Courier
			}
			return err
		})
		return nil
	}
	if err := c.store.CreateIntent(ctx, i); err != nil {
		return internalError(fmt.Errorf("authkit: recording a %s message: %w", i.Kind, err))
	}
	k.metrics.message(ctx, i.To, "queued")
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// notice promises a notice that follows a change already made: a failure
// to record it is logged, not answered, for the change stands.
func (k *Kit) notice(ctx context.Context, i Intent, data any) {
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			k.log.ErrorContext(ctx, "authkit: a notice was not recorded", "kind", i.Kind, "err", err)
			return
		}
		i.Data = b
	}
	if err := k.promise(ctx, i); err != nil {
		k.log.ErrorContext(ctx, "authkit: a notice was not recorded", "kind", i.Kind, "user", i.UserID, "err", err)
	}
}

// newIntentID returns a fresh intent id: 128 random bits in hex.
func (k *Kit) newIntentID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(k.rand, b[:]); err != nil {
		return "", fmt.Errorf("authkit: reading randomness: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// intentKey is the context key of the intent being delivered.
type intentKey struct{}

func withIntent(ctx context.Context, i Intent) context.Context {
	return context.WithValue(ctx, intentKey{}, i)
}

// intentOf is the intent being delivered; false outside a delivery.
func intentOf(ctx context.Context) (Intent, bool) {
	i, ok := ctx.Value(intentKey{}).(Intent)
	return i, ok
}

// intentSecret is the link token of intent i: derived from the current
// secret, never stored (only its hash is, in the token table). Every try
// within one lifetime of the token since the intent was made derives the
// same one, whose row a try before stored and is still live; a try after
// that derives a fresh one. lifetime 0 means one token, ever.
func (k *Kit) intentSecret(i Intent, lifetime time.Duration) string {
	return k.intentSecrets(i, lifetime)[0]
}

// intentSecrets are the link tokens of intent i under every secret in
// use, the current one's first: a token made before a rotation is still
// found (see deliverSignUp).
func (k *Kit) intentSecrets(i Intent, lifetime time.Duration) []string {
	var out []string
	for _, key := range k.subkeys("intent link") {
		out = append(out, base64.RawURLEncoding.EncodeToString(k.intentSum(key, i, lifetime)))
	}
	return out
}

// intentCode is the SMS code of intent i, derived as intentSecret is:
// CodeLength digits (256 bits reduced mod 10^n: no bias that matters).
func (k *Kit) intentCode(i Intent) string {
	n := k.phone.codeLength
	sum := new(big.Int).SetBytes(k.intentSum(k.subkeys("intent code")[0], i, k.phone.codeLifetime))
	s := sum.Mod(sum, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)).String()
	return strings.Repeat("0", n-len(s)) + s
}

// intentSum is the HMAC, under key, of i's id and the number of
// lifetimes passed since i was made.
func (k *Kit) intentSum(key []byte, i Intent, lifetime time.Duration) []byte {
	var window int64
	if lifetime > 0 {
		window = int64(max(k.clock().Sub(i.CreatedAt), 0) / lifetime)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(i.ID + "\x00" + strconv.FormatInt(window, 10)))
	return m.Sum(nil)
}

// issueIntentToken stores t under the link token of the intent being
// delivered and returns that token. A try before this one may have stored
// it already: the row is used again, not doubled (a row of a try before
// whose lifetime ended has another token: see intentSecret). Outside a delivery it
// issues a random token, as issueToken does.
func (k *Kit) issueIntentToken(ctx context.Context, t Token, lifetime time.Duration) (string, error) {
	i, ok := intentOf(ctx)
	if !ok {
		return k.issueToken(ctx, t, lifetime)
	}
	secret := k.intentSecret(i, lifetime)
	now := k.clock()
	t.Hash, t.CreatedAt, t.ExpiresAt = hashToken(secret), now, now.Add(lifetime)
	if err := k.store.CreateToken(ctx, t); err != nil && !errors.Is(err, ErrDuplicate) {
		return "", err
	}
	return secret, nil
}

// firstTry reports whether the delivery under way is its intent's first
// try: the caps on what is sent are counted then, and not again.
func firstTry(ctx context.Context) bool {
	i, ok := intentOf(ctx)
	return !ok || i.Tries <= 1
}

// leaseHeld returns errLeaseLost if the intent being delivered is no
// longer leased to this worker: it is checked right before each send.
func (k *Kit) leaseHeld(ctx context.Context) error {
	i, ok := intentOf(ctx)
	if !ok || i.LeaseUntil.IsZero() || k.clock().Before(i.LeaseUntil) {
		return nil
	}
	return errLeaseLost
}

// runCourier is the courier's loop: a pass whenever an intent is recorded
// and every courierPoll, until Close.
func (k *Kit) runCourier() {
	c := &k.courier
	defer close(c.stopped)
	tick := time.NewTicker(courierPoll)
	defer tick.Stop()
	for {
		for {
			n, err := k.deliverDue(c.sending)
			if err != nil {
				k.log.Error("authkit: looking for messages to deliver failed", "err", err)
			}
			if n < c.workers {
				break
			}
			select {
			case <-c.stop:
				return
			default:
			}
		}
		select {
		case <-c.stop:
			return
		case <-c.kick:
		case <-tick.C:
		}
	}
}

// deliverDue is one pass: it claims up to DeliveryWorkers due intents,
// delivers them at once and records each outcome. It reports how many it
// claimed.
func (k *Kit) deliverDue(ctx context.Context) (int, error) {
	c := &k.courier
	c.pass.Lock()
	defer c.pass.Unlock()
	if ctx.Err() != nil {
		return 0, nil
	}
	owner := c.id + "-" + strconv.FormatUint(c.seq.Add(1), 10)
	now := k.clock()
	claimed, err := c.store.ClaimIntents(ctx, owner, now, now.Add(c.lease), c.workers)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, i := range claimed {
		wg.Go(func() { k.deliverIntent(ctx, owner, i) })
	}
	wg.Wait()
	return len(claimed), nil
}

// deliverIntent makes one try of a leased intent and records its outcome:
// delivered; pending again after a backoff on a failure that may pass;
// dead after a failure that will not, or after DeliveryAttempts tries.
// A try cut short by Close releases the intent, due at once.
func (k *Kit) deliverIntent(sending context.Context, owner string, i Intent) {
	c := &k.courier
	ctx := context.WithValue(context.Background(), clientKey{}, client{ip: i.IP, userAgent: i.UserAgent})
	ctx = withIntent(ctx, i)
	ctx, cancel := context.WithTimeout(ctx, k.sendTimeout)
	stop := context.AfterFunc(sending, cancel)
	err := errUnknownIntent
	if f := c.deliver[i.Kind]; f != nil {
		err = f(ctx, i)
	}
	stop()
	cancel()
	now := k.clock()
	out := IntentOutcome{State: IntentDelivered, At: now}
	event := ""
	switch {
	case err == nil:
	case errors.Is(err, errLeaseLost):
		k.log.Warn("authkit: a message was not sent: its lease ran out", "kind", i.Kind, "user", i.UserID)
		return
	case sending.Err() != nil:
		out = IntentOutcome{State: IntentPending, NextAt: now, LastError: "the kit closed during the try", At: now}
	case !retryable(err) || i.Tries >= c.tries:
		out, event = IntentOutcome{State: IntentDead, LastError: err.Error(), At: now}, "dead"
		k.log.Error("authkit: a message could not be delivered: it is a dead letter", "kind", i.Kind, "user", i.UserID, "intent", i.ID, "tries", i.Tries, "err", err)
	default:
		out, event = IntentOutcome{State: IntentPending, NextAt: now.Add(c.backoffAfter(i.Tries)), LastError: err.Error(), At: now}, "retried"
		k.log.Warn("authkit: delivering a message failed; it will be tried again", "kind", i.Kind, "user", i.UserID, "tries", i.Tries, "err", err)
	}
	fctx, cancel := context.WithTimeout(context.Background(), k.sendTimeout)
	defer cancel()
	if err := c.store.FinishIntent(fctx, i.ID, owner, out); err != nil {
		k.log.Error("authkit: recording a delivery failed", "kind", i.Kind, "user", i.UserID, "intent", i.ID, "err", err)
	}
	if event != "" {
		k.metrics.message(ctx, i.To, event)
	}
}

var errUnknownIntent = errors.New("authkit: an intent of a kind this release does not know")

// backoffAfter is the wait after the given number of failed tries:
// DeliveryBackoff, doubled for every try after the first, at most an hour.
func (c *courier) backoffAfter(tries int) time.Duration {
	d := c.backoff
	for range max(tries-1, 0) {
		if d >= maxBackoff/2 {
			return maxBackoff
		}
		d *= 2
	}
	return min(d, maxBackoff)
}

// retryable reports whether a failed delivery may go through later. A
// sender's error says so with a method Retryable() bool (the sms and
// smtpmail packages' errors have it); every other failure (a store that
// did not answer, a timeout, a sender that does not say) is tried again,
// up to DeliveryAttempts times.
func retryable(err error) bool {
	var r interface{ Retryable() bool }
	if errors.As(err, &r) {
		return r.Retryable()
	}
	return !errors.Is(err, errUnknownIntent)
}

// ErrNoCourier is returned by the dead-letter methods when the Store keeps
// no intents (it does not implement [Courier]).
var ErrNoCourier = errors.New("authkit: the Store does not implement authkit.Courier")

// Flush delivers every message that is due now and waits for those in
// flight, including the ones other goroutines of this kit are sending; it
// returns once none is due, or with ctx's error. A message whose try
// failed and waits for its backoff is not due. The kit delivers on its
// own, from the moment [New] returns: Flush is for tests, and for hosts
// that must see the queue empty before they go on (a job that stops
// after it).
func (k *Kit) Flush(ctx context.Context) error {
	c := &k.courier
	if c.store != nil {
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := k.deliverDue(ctx)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
		}
	}
	return k.waitBackground(ctx)
}

// DeadLetters returns the messages the kit gave up on, oldest first: each
// failed DeliveryAttempts times, or once with an error its sender said
// will not pass. LastError says why. They stay until [Kit.RetryDeadLetter]
// or the janitor, after 30 days. It returns ErrNoCourier if the Store
// keeps no intents.
func (k *Kit) DeadLetters(ctx context.Context) ([]Intent, error) {
	if k.courier.store == nil {
		return nil, ErrNoCourier
	}
	return k.courier.store.DeadIntents(ctx)
}

// RetryDeadLetter makes the dead letter with that id due again, with
// DeliveryAttempts new tries: once the cause is fixed (the provider's
// account topped up, the address corrected at the provider). Its link or
// code is the one it would have had: a link still works for its lifetime
// from the try that delivers it. It returns ErrNotFound if there is no
// dead letter with that id, and ErrNoCourier if the Store keeps no
// intents.
func (k *Kit) RetryDeadLetter(ctx context.Context, id string) error {
	c := &k.courier
	if c.store == nil {
		return ErrNoCourier
	}
	if err := c.store.RetryIntent(ctx, id, k.clock()); err != nil {
		return err
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return nil
}

// closeCourier stops the courier's loop after a last pass; if ctx ends
// first, the deliveries in flight are cut short and their intents
// released, due at once for another instance or the next start.
func (k *Kit) closeCourier(ctx context.Context) error {
	c := &k.courier
	if c.store == nil {
		return nil
	}
	c.once.Do(func() { close(c.stop) })
	release := context.AfterFunc(ctx, c.abort)
	defer release()
	err := k.Flush(ctx)
	select {
	case <-c.stopped:
	case <-ctx.Done():
		// The workers' sends were still in flight (Flush finds none
		// due while they hold every lease): cut short, and said so.
		c.abort()
		<-c.stopped
		if err == nil {
			err = ctx.Err()
		}
	}
	return err
}
