package authkit

// The store bound (Config.StoreTimeout): every call the kit makes to the
// store and to the limiter on behalf of a request or of the courier runs
// under a deadline of its own, and one that runs past it is answered 503
// service_unavailable with Retry-After, rather than hold the request for
// as long as the database is frozen.
//
// The bound works through the call's context: a store or limiter whose
// driver honours it (pgx, go-sql-driver/mysql, modernc.org/sqlite,
// go-redis, and memstore, which never waits) returns once the deadline
// passes. A store that ignores its context holds the request as long as
// it holds the call: running every call on a goroutine of its own to walk
// away from it would cost every RequireSession more than the call itself,
// and would leave a write running after its request was answered.
//
// The core is wrapped (k.store); so are the capabilities the kit calls on
// requests and in the courier (PhoneStore, FactorStore, Courier) and the Limiter, each
// where it is found, so that the wrappers hide no capability. The bulk
// work of operators' calls (Cleaner.DeleteExpired,
// Courier.DeleteFinishedIntents, UserLister) runs under the caller's
// context alone: a cleanup of a large table may rightly take longer.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// unavailableRetry is the Retry-After of an answer that a store, or the
// limiter, failed to give in time: a moment, not a backoff.
const unavailableRetry = 5 * time.Second

// storeBound is the bound on one store or limiter call (d; 0 is none),
// and where the calls' durations are recorded (m).
type storeBound struct {
	d time.Duration
	m *metrics
}

// configureStoreBound checks and applies StoreTimeout, and wraps the core
// of the store in it. It runs before anything else wraps the store.
func (k *Kit) configureStoreBound(cfg Config) error {
	k.bound.m = &k.metrics
	switch d := cfg.StoreTimeout; {
	case d < 0:
	case d == 0:
		k.bound.d = 5 * time.Second
	case d < time.Millisecond:
		return fmt.Errorf("authkit: Config.StoreTimeout is %v: at least a millisecond (negative: no bound)", d)
	default:
		k.bound.d = d
	}
	if k.bound.off() {
		return nil
	}
	k.store = boundedStore{Store: k.store, bound: k.bound}
	return nil
}

// off reports whether b neither bounds nor times calls: no wrapper is
// needed.
func (b storeBound) off() bool {
	return b.d <= 0 && (b.m == nil || !b.m.on)
}

// errTimedOut is the answer to a call the bound cut short: what the
// client sees, and, in Err, what is logged.
func (b storeBound) errTimedOut(what string, err error) *Error {
	return &Error{
		Code:       CodeUnavailable,
		Message:    "The server could not reach its database in time; try again in a moment.",
		RetryAfter: unavailableRetry,
		Err:        fmt.Errorf("authkit: timeout: %s ran past Config.StoreTimeout (%v): %w", what, b.d, err),
	}
}

// check is err, the outcome of a call made under bctx, a child of parent
// with the bound's deadline: the bound's answer when the call failed past
// that deadline while parent (the request's, the courier's) was still
// alive. A client that went away, or a deadline of the caller's own, leaves
// err as it is.
func (b storeBound) check(parent, bctx context.Context, what string, err error) error {
	if err != nil && parent.Err() == nil && errors.Is(bctx.Err(), context.DeadlineExceeded) {
		return b.errTimedOut(what, err)
	}
	return err
}

// call runs f under the bound.
func call[T any](b storeBound, ctx context.Context, what string, f func(context.Context) (T, error)) (T, error) {
	start := b.m.start()
	var (
		v   T
		err error
	)
	if _, ok := ctx.(*boundCtx); ok || b.d <= 0 {
		v, err = f(ctx) // bound already by the caller (readCaller), or not at all
	} else {
		bctx, cancel := context.WithTimeout(ctx, b.d)
		v, err = f(bctx)
		cancel()
		err = b.check(ctx, bctx, what, err)
	}
	b.m.timed(ctx, what, start, err)
	return v, err
}

// call0 is call for a call that returns only an error.
func call0(b storeBound, ctx context.Context, what string, f func(context.Context) error) error {
	_, err := call(b, ctx, what, func(ctx context.Context) (struct{}, error) { return struct{}{}, f(ctx) })
	return err
}

// boundCtx is a context with the bound's deadline that costs no
// allocation until a store asks for its Done channel: the lookup of every
// authenticated request runs under one, held in the allocation that holds
// its result (readCaller), so that RequireSession on an in-memory store
// allocates no more than it did without a bound. A store that waits on
// Done (a SQL driver) gets the channel of a context.WithDeadline made
// then, which the context package sees through (Value, AfterFunc): a
// child the driver derives costs it no goroutine.
type boundCtx struct {
	parent   context.Context
	deadline time.Time
	mu       sync.Mutex
	inner    context.Context // made by Done; nil before
	cancel   context.CancelFunc
	ended    bool // the call returned (end)
}

// begin readies c as a child of parent with the bound's deadline, and
// returns it; with no bound it returns parent.
func (c *boundCtx) begin(parent context.Context, b storeBound) context.Context {
	if b.d <= 0 {
		return parent
	}
	c.parent, c.deadline = parent, time.Now().Add(b.d)
	return c
}

// end releases what Done made and returns err as check does: the bound's
// answer when the call failed past it.
func (c *boundCtx) end(b storeBound, what string, err error) error {
	if c.parent == nil {
		return err
	}
	timedOut := err != nil && c.parent.Err() == nil && !time.Now().Before(c.deadline)
	c.mu.Lock()
	c.ended = true
	if c.cancel != nil {
		c.cancel()
	}
	c.mu.Unlock()
	if timedOut {
		return b.errTimedOut(what, err)
	}
	return err
}

// made is the inner context, when Done made it.
func (c *boundCtx) made() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inner
}

func (c *boundCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && d.Before(c.deadline) {
		return d, true
	}
	return c.deadline, true
}

func (c *boundCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		if c.ended {
			c.cancel()
		}
	}
	return c.inner.Done()
}

func (c *boundCtx) Err() error {
	if in := c.made(); in != nil {
		return in.Err()
	}
	if err := c.parent.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	switch {
	case ended:
		return context.Canceled
	case !time.Now().Before(c.deadline):
		return context.DeadlineExceeded
	}
	return nil
}

func (c *boundCtx) Value(key any) any {
	if in := c.made(); in != nil {
		return in.Value(key)
	}
	return c.parent.Value(key)
}

// boundedStore is the core of the store under the bound.
type boundedStore struct {
	Store
	bound storeBound
}

func (s boundedStore) CreateUser(ctx context.Context, u User) error {
	return call0(s.bound, ctx, "CreateUser", func(ctx context.Context) error { return s.Store.CreateUser(ctx, u) })
}

func (s boundedStore) UserByID(ctx context.Context, id string) (User, error) {
	return call(s.bound, ctx, "UserByID", func(ctx context.Context) (User, error) { return s.Store.UserByID(ctx, id) })
}

func (s boundedStore) UserByEmail(ctx context.Context, email string) (User, error) {
	return call(s.bound, ctx, "UserByEmail", func(ctx context.Context) (User, error) { return s.Store.UserByEmail(ctx, email) })
}

func (s boundedStore) UserByProvider(ctx context.Context, provider, providerUserID string) (User, error) {
	return call(s.bound, ctx, "UserByProvider", func(ctx context.Context) (User, error) {
		return s.Store.UserByProvider(ctx, provider, providerUserID)
	})
}

func (s boundedStore) UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error) {
	return call(s.bound, ctx, "UpdateUser", func(ctx context.Context) (User, error) { return s.Store.UpdateUser(ctx, id, up) })
}

func (s boundedStore) DeleteUser(ctx context.Context, id string) error {
	return call0(s.bound, ctx, "DeleteUser", func(ctx context.Context) error { return s.Store.DeleteUser(ctx, id) })
}

func (s boundedStore) CreateSession(ctx context.Context, se Session) error {
	return call0(s.bound, ctx, "CreateSession", func(ctx context.Context) error { return s.Store.CreateSession(ctx, se) })
}

func (s boundedStore) SessionByTokenHash(ctx context.Context, tokenHash string) (Session, error) {
	return call(s.bound, ctx, "SessionByTokenHash", func(ctx context.Context) (Session, error) {
		return s.Store.SessionByTokenHash(ctx, tokenHash)
	})
}

func (s boundedStore) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	return call(s.bound, ctx, "ListSessions", func(ctx context.Context) ([]Session, error) { return s.Store.ListSessions(ctx, userID) })
}

func (s boundedStore) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	return call0(s.bound, ctx, "TouchSession", func(ctx context.Context) error { return s.Store.TouchSession(ctx, id, lastSeen) })
}

func (s boundedStore) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	return call(s.bound, ctx, "DeleteSession", func(ctx context.Context) (bool, error) { return s.Store.DeleteSession(ctx, userID, id) })
}

func (s boundedStore) DeleteUserSessions(ctx context.Context, userID, exceptID string) error {
	return call0(s.bound, ctx, "DeleteUserSessions", func(ctx context.Context) error {
		return s.Store.DeleteUserSessions(ctx, userID, exceptID)
	})
}

func (s boundedStore) CreateToken(ctx context.Context, t Token) error {
	return call0(s.bound, ctx, "CreateToken", func(ctx context.Context) error { return s.Store.CreateToken(ctx, t) })
}

func (s boundedStore) TokenByHash(ctx context.Context, hash string, now time.Time) (Token, error) {
	return call(s.bound, ctx, "TokenByHash", func(ctx context.Context) (Token, error) { return s.Store.TokenByHash(ctx, hash, now) })
}

func (s boundedStore) ConsumeToken(ctx context.Context, purpose TokenPurpose, hash string, now time.Time) (Token, error) {
	return call(s.bound, ctx, "ConsumeToken", func(ctx context.Context) (Token, error) {
		return s.Store.ConsumeToken(ctx, purpose, hash, now)
	})
}

func (s boundedStore) DeleteUserTokens(ctx context.Context, userID string, purposes ...TokenPurpose) error {
	return call0(s.bound, ctx, "DeleteUserTokens", func(ctx context.Context) error {
		return s.Store.DeleteUserTokens(ctx, userID, purposes...)
	})
}

func (s boundedStore) TokensBySubject(ctx context.Context, purpose TokenPurpose, subject string, now time.Time) ([]Token, error) {
	return call(s.bound, ctx, "TokensBySubject", func(ctx context.Context) ([]Token, error) {
		return s.Store.TokensBySubject(ctx, purpose, subject, now)
	})
}

// boundedPhoneStore is a PhoneStore under the bound.
type boundedPhoneStore struct {
	PhoneStore
	bound storeBound
}

func (s boundedPhoneStore) UserByPhone(ctx context.Context, phone string) (User, error) {
	return call(s.bound, ctx, "UserByPhone", func(ctx context.Context) (User, error) { return s.PhoneStore.UserByPhone(ctx, phone) })
}

func (s boundedPhoneStore) LatestToken(ctx context.Context, purpose TokenPurpose, subject string, now time.Time) (Token, error) {
	return call(s.bound, ctx, "LatestToken", func(ctx context.Context) (Token, error) {
		return s.PhoneStore.LatestToken(ctx, purpose, subject, now)
	})
}

func (s boundedPhoneStore) ClaimAttempt(ctx context.Context, hash string, max int, now time.Time) (bool, error) {
	return call(s.bound, ctx, "ClaimAttempt", func(ctx context.Context) (bool, error) {
		return s.PhoneStore.ClaimAttempt(ctx, hash, max, now)
	})
}

// boundedCourier is a Courier under the bound, but for its bulk deletion.
type boundedCourier struct {
	Courier
	bound storeBound
}

func (s boundedCourier) CreateIntent(ctx context.Context, i Intent) error {
	return call0(s.bound, ctx, "CreateIntent", func(ctx context.Context) error { return s.Courier.CreateIntent(ctx, i) })
}

func (s boundedCourier) ClaimIntents(ctx context.Context, owner string, now, until time.Time, max int) ([]Intent, error) {
	return call(s.bound, ctx, "ClaimIntents", func(ctx context.Context) ([]Intent, error) {
		return s.Courier.ClaimIntents(ctx, owner, now, until, max)
	})
}

func (s boundedCourier) FinishIntent(ctx context.Context, id, owner string, out IntentOutcome) error {
	return call0(s.bound, ctx, "FinishIntent", func(ctx context.Context) error { return s.Courier.FinishIntent(ctx, id, owner, out) })
}

func (s boundedCourier) DeadIntents(ctx context.Context) ([]Intent, error) {
	return call(s.bound, ctx, "DeadIntents", func(ctx context.Context) ([]Intent, error) { return s.Courier.DeadIntents(ctx) })
}

func (s boundedCourier) RetryIntent(ctx context.Context, id string, now time.Time) error {
	return call0(s.bound, ctx, "RetryIntent", func(ctx context.Context) error { return s.Courier.RetryIntent(ctx, id, now) })
}

// boundedLimiter is the Limiter under the bound.
type boundedLimiter struct {
	Limiter
	bound storeBound
}

// hitResult is what Limiter.Hit returns.
type hitResult struct {
	count   int64
	resetAt time.Time
}

func (l boundedLimiter) Hit(ctx context.Context, key string, window time.Duration, now time.Time) (int64, time.Time, error) {
	r, err := call(l.bound, ctx, "Limiter.Hit", func(ctx context.Context) (hitResult, error) {
		n, end, err := l.Limiter.Hit(ctx, key, window, now)
		return hitResult{n, end}, err
	})
	return r.count, r.resetAt, err
}

func (l boundedLimiter) Reset(ctx context.Context, key string) error {
	return call0(l.bound, ctx, "Limiter.Reset", func(ctx context.Context) error { return l.Limiter.Reset(ctx, key) })
}

// phoneStore, courierStore and limiter are those capabilities under the
// bound (nil stays nil).
func (b storeBound) phoneStore(s PhoneStore) PhoneStore {
	if s == nil || b.off() {
		return s
	}
	return boundedPhoneStore{PhoneStore: s, bound: b}
}

func (b storeBound) courierStore(s Courier) Courier {
	if s == nil || b.off() {
		return s
	}
	return boundedCourier{Courier: s, bound: b}
}

func (b storeBound) limiter(l Limiter) Limiter {
	if l == nil || b.off() {
		return l
	}
	return boundedLimiter{Limiter: l, bound: b}
}

// boundedFactorStore is a FactorStore under the bound: every call is on
// a request's path (sign-in, verify, the mfa routes).
type boundedFactorStore struct {
	FactorStore
	bound storeBound
}

func (s boundedFactorStore) PutPendingFactor(ctx context.Context, f Factor) error {
	return call0(s.bound, ctx, "PutPendingFactor", func(ctx context.Context) error { return s.FactorStore.PutPendingFactor(ctx, f) })
}

func (s boundedFactorStore) FactorOf(ctx context.Context, userID string, kind FactorKind) (Factor, error) {
	return call(s.bound, ctx, "FactorOf", func(ctx context.Context) (Factor, error) { return s.FactorStore.FactorOf(ctx, userID, kind) })
}

func (s boundedFactorStore) ActivateFactor(ctx context.Context, userID string, kind FactorKind, secret []byte, step int64, codes []string) error {
	return call0(s.bound, ctx, "ActivateFactor", func(ctx context.Context) error {
		return s.FactorStore.ActivateFactor(ctx, userID, kind, secret, step, codes)
	})
}

func (s boundedFactorStore) AcceptStep(ctx context.Context, userID string, kind FactorKind, step int64) (bool, error) {
	return call(s.bound, ctx, "AcceptStep", func(ctx context.Context) (bool, error) {
		return s.FactorStore.AcceptStep(ctx, userID, kind, step)
	})
}

func (s boundedFactorStore) DeleteFactors(ctx context.Context, userID string) error {
	return call0(s.bound, ctx, "DeleteFactors", func(ctx context.Context) error { return s.FactorStore.DeleteFactors(ctx, userID) })
}

func (s boundedFactorStore) ReplaceRecoveryCodes(ctx context.Context, userID string, codes []string) error {
	return call0(s.bound, ctx, "ReplaceRecoveryCodes", func(ctx context.Context) error {
		return s.FactorStore.ReplaceRecoveryCodes(ctx, userID, codes)
	})
}

func (s boundedFactorStore) ConsumeRecoveryCode(ctx context.Context, userID, code string) (bool, error) {
	return call(s.bound, ctx, "ConsumeRecoveryCode", func(ctx context.Context) (bool, error) {
		return s.FactorStore.ConsumeRecoveryCode(ctx, userID, code)
	})
}

// factorStore is a FactorStore under the bound (nil stays nil).
func (b storeBound) factorStore(s FactorStore) FactorStore {
	if s == nil || b.off() {
		return s
	}
	return boundedFactorStore{FactorStore: s, bound: b}
}
