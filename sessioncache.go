package authkit

// The session cache (Config.SessionCache): verified sessions and their
// users kept in memory, so that a warm RequireSession makes no round trip
// to the store, and forgotten when anything may have revoked them: at once
// for what this instance does, and within the bound for what another
// instance (or cmd/authkit) does, as read from the store's RevocationLog.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SessionCache keeps the sessions that requests authenticate with in
// memory, in front of the store: a request whose session is cached costs
// no round trip to the database. Off by default (Size 0). It needs a store
// that is a [RevocationLog] (memstore and sqlstore are).
//
// A revocation (a sign-out, a sign-out everywhere, a password change or
// reset, a user disabled, deleted or given other access groups) is seen at
// once by the instance that made it, and by every other instance sharing
// the store within Bound: each instance reads the store's revocation log
// every Bound/4, and one whose last read that succeeded began more than
// Bound ago trusts its cache no longer, and asks the store, until a read
// succeeds again. A [RevocationNotifier] (PostgreSQL's LISTEN/NOTIFY, found
// on a sqlstore by itself, or Redis pub/sub through the redispush package)
// makes instances read the log as soon as anything is revoked, in
// milliseconds; the log stays the guarantee. Expiry, absolute and idle,
// holds to the second whatever is cached.
type SessionCache struct {
	// Size is the most sessions kept; past it, an arbitrary one is
	// dropped for each added. Each takes about 1 KiB. 0, the default,
	// turns the cache off.
	Size int
	// Bound is the longest another instance may accept a session after
	// it was revoked here. Default 1 second; at least 100 ms.
	Bound time.Duration
	// Notifier tells other instances of a revocation at once. Default:
	// the store, when it is a [RevocationNotifier]; nil and a store that
	// is none leave the poll alone.
	Notifier RevocationNotifier
}

// cachedSession is a session of the cache with its user, both as they were
// read from the store and never changed afterwards: requests share them.
type cachedSession struct {
	session *Session // AccessGroupKeys set from user
	user    *User
}

// sessionCache is the cache with the state of its poll of the log. Its
// methods are no-ops on a nil *sessionCache, the cache turned off.
type sessionCache struct {
	log      RevocationLog
	notifier RevocationNotifier
	bound    time.Duration
	size     int
	stats    *metrics // its lookups are counted there
	logger   interface {
		ErrorContext(ctx context.Context, msg string, args ...any)
	}

	mu      sync.RWMutex
	entries map[string]*cachedSession            // by token hash
	byUser  map[string]map[string]*cachedSession // user ID -> token hash -> entry
	// evictions counts the users evicted, and recent holds the last of
	// them (recent[n%len(recent)] is the nth; "" evicts everyone), so that
	// a session read from the store before an eviction of its user is not
	// cached after it (put).
	evictions uint64
	recent    [256]string

	// start is the time the cache began; fresh is when (since start) the
	// last read of the log that succeeded began, so everything revoked
	// before then has been evicted. The cache is trusted while fresh is
	// within bound of now.
	start time.Time
	fresh atomic.Int64
	// cursor is the Seq of the last revocation applied; only the poll
	// (sync, under syncMu) moves it.
	syncMu sync.Mutex
	cursor int64

	wake chan struct{} // a notice, or a local revocation: read the log now
	stop context.CancelFunc
	done chan struct{}
}

// configureSessionCache checks and applies SessionCache, and starts the
// poll of the revocation log.
func (k *Kit) configureSessionCache(cfg Config) error {
	sc := cfg.SessionCache
	if sc.Size < 0 {
		return errors.New("authkit: Config.SessionCache.Size must not be negative")
	}
	if sc.Size == 0 {
		if sc.Bound != 0 || sc.Notifier != nil {
			return errors.New("authkit: Config.SessionCache is set but its Size is 0, which turns it off")
		}
		return nil
	}
	if sc.Bound == 0 {
		sc.Bound = time.Second
	}
	if sc.Bound < 100*time.Millisecond {
		return fmt.Errorf("authkit: Config.SessionCache.Bound is %v: at least 100ms", sc.Bound)
	}
	log, ok := cfg.Store.(RevocationLog)
	if !ok {
		return fmt.Errorf("authkit: Config.SessionCache needs a store that keeps a RevocationLog, and %T does not", cfg.Store)
	}
	if sc.Notifier == nil {
		sc.Notifier, _ = cfg.Store.(RevocationNotifier)
	}
	c := &sessionCache{
		log: log, notifier: sc.Notifier, bound: sc.Bound, size: sc.Size, stats: &k.metrics, logger: k.log,
		entries: make(map[string]*cachedSession), byUser: make(map[string]map[string]*cachedSession),
		start: time.Now(), wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	c.fresh.Store(-int64(time.Hour)) // untrusted until the first read
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	starting, done := context.WithTimeout(ctx, 30*time.Second)
	last, err := log.LastRevocation(starting)
	done()
	if err != nil {
		cancel()
		return fmt.Errorf("authkit: Config.SessionCache: reading the revocation log: %w", err)
	}
	c.cursor = last
	c.fresh.Store(int64(time.Since(c.start)))
	k.cache = c
	k.store = cachingStore{Store: k.store, cache: c}
	go c.run(ctx)
	return nil
}

// close stops the poll.
func (c *sessionCache) close() {
	if c == nil {
		return
	}
	c.stop()
	<-c.done
}

// run reads the log every bound/4, and at once when woken, until ctx ends;
// and listens for notices meanwhile.
func (c *sessionCache) run(ctx context.Context) {
	defer close(c.done)
	if c.notifier != nil {
		listening := make(chan struct{})
		go func() {
			defer close(listening)
			c.listen(ctx)
		}()
		defer func() { <-listening }()
	}
	t := time.NewTicker(c.bound / 4)
	defer t.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.wake:
			// Notices come in bursts (every sign-out of every
			// instance): one read of the log per pushGap serves them
			// all, and bounds what a storm of them costs.
			if wait := pushGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		last = time.Now()
		// A read that takes longer than the bound is of no use: the
		// cache is distrusted by then anyway.
		reading, cancel := context.WithTimeout(ctx, c.bound)
		err := c.sync(reading)
		cancel()
		if err != nil && ctx.Err() == nil {
			c.logger.ErrorContext(ctx, "authkit: session cache: reading the revocation log failed; sessions are read from the store until it works", "err", err)
		}
	}
}

// listen wakes the poll at each notice, and listens again a bound after it
// failed, until ctx ends. A notifier that never can (ErrUnsupported) is
// left.
func (c *sessionCache) listen(ctx context.Context) {
	for {
		err := c.notifier.Listen(ctx, c.poke)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errors.ErrUnsupported):
			return
		}
		c.logger.ErrorContext(ctx, "authkit: session cache: listening for revocations failed; reading the log on a timer meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(c.bound):
		}
	}
}

// poke asks the poll to read the log now.
func (c *sessionCache) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// pushGap is the least time between two reads of the log that notices
// asked for.
const pushGap = 10 * time.Millisecond

// revocationPage is how many revocations one read of the log takes.
const revocationPage = 1000

// sync reads the log from the cursor on, evicts what it names, and marks
// the cache fresh as of the moment the read began.
func (c *sessionCache) sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	began := time.Since(c.start)
	for {
		revs, err := c.log.Revocations(ctx, c.cursor, revocationPage)
		if err != nil {
			return err
		}
		if len(revs) > 0 && revs[0].Seq != c.cursor+1 {
			// The revocations after the cursor were deleted
			// (RevocationRetention): what they named is unknown.
			c.evictAll()
		}
		for _, r := range revs {
			c.evict(r.UserID, r.SessionID)
			c.cursor = r.Seq
		}
		if len(revs) < revocationPage {
			break
		}
	}
	c.fresh.Store(int64(began))
	return nil
}

// trusted reports whether the last read of the log began within bound.
func (c *sessionCache) trusted() bool {
	return time.Since(c.start)-time.Duration(c.fresh.Load()) <= c.bound
}

// get returns the cached session with that token hash and its user, when
// the cache has it and is trusted.
func (c *sessionCache) get(tokenHash string) (*Session, *User, bool) {
	if c == nil {
		return nil, nil, false
	}
	if !c.trusted() {
		c.stats.cacheBypassed.Add(1)
		return nil, nil, false
	}
	c.mu.RLock()
	e, ok := c.entries[tokenHash]
	c.mu.RUnlock()
	if !ok {
		c.stats.cacheMisses.Add(1)
		return nil, nil, false
	}
	c.stats.cacheHits.Add(1)
	return e.session, e.user, true
}

// mark is the count of evictions, to pass to put after reading a session
// from the store.
func (c *sessionCache) mark() uint64 {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.evictions
}

// put caches copies of s and u, read from the store after mark returned
// since, unless s's user was evicted since: a revocation that happened between the read
// and now would otherwise be forgotten.
func (c *sessionCache) put(since uint64, session *Session, user *User) {
	if c == nil {
		return
	}
	s, u := *session, *user // the cache's own copies
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.evictions-since > uint64(len(c.recent)) {
		return
	}
	for n := since; n < c.evictions; n++ {
		if who := c.recent[n%uint64(len(c.recent))]; who == "" || who == u.ID {
			return
		}
	}
	if old, ok := c.entries[s.TokenHash]; ok {
		c.removeLocked(s.TokenHash, old)
	}
	for len(c.entries) >= c.size {
		for h, e := range c.entries { // an arbitrary one
			c.removeLocked(h, e)
			break
		}
	}
	s.TokenHash = strings.Clone(s.TokenHash)
	e := &cachedSession{session: &s, user: &u}
	c.entries[s.TokenHash] = e
	mine := c.byUser[u.ID]
	if mine == nil {
		mine = make(map[string]*cachedSession)
		c.byUser[u.ID] = mine
	}
	mine[s.TokenHash] = e
}

// touched notes that the session with that token hash was seen at now,
// when the cache still holds it as s.
func (c *sessionCache) touched(s *Session, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[s.TokenHash]; ok && e.session == s {
		t := *s
		t.LastSeenAt = now
		c.entries[s.TokenHash] = &cachedSession{session: &t, user: e.user}
		c.byUser[e.user.ID][s.TokenHash] = c.entries[s.TokenHash]
	}
}

// drop forgets the session with that token hash.
func (c *sessionCache) drop(tokenHash string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[tokenHash]; ok {
		c.removeLocked(tokenHash, e)
	}
}

// evict forgets the user's session with that id, or every session of the
// user when sessionID is "".
func (c *sessionCache) evict(userID, sessionID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recent[c.evictions%uint64(len(c.recent))] = userID
	c.evictions++
	for h, e := range c.byUser[userID] {
		if sessionID == "" || e.session.ID == sessionID {
			c.removeLocked(h, e)
		}
	}
}

// evictAll forgets every session.
func (c *sessionCache) evictAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recent[c.evictions%uint64(len(c.recent))] = ""
	c.evictions++
	clear(c.entries)
	clear(c.byUser)
}

func (c *sessionCache) removeLocked(tokenHash string, e *cachedSession) {
	delete(c.entries, tokenHash)
	mine := c.byUser[e.user.ID]
	delete(mine, tokenHash)
	if len(mine) == 0 {
		delete(c.byUser, e.user.ID)
	}
}

// len is how many sessions the cache holds.
func (c *sessionCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// cachingStore is the store as the kit writes it when the cache is on:
// each change that may end a session evicts it from this instance's cache
// as soon as the store has made it (and the store logs it for the other
// instances), and the other instances are notified. Only the core is
// wrapped: the kit finds the store's capabilities on Config.Store.
type cachingStore struct {
	Store
	cache *sessionCache
}

// revoked evicts what a change revoked, whether or not the store reported
// success (a change whose answer was lost may have happened), and tells
// the other instances.
func (s cachingStore) revoked(ctx context.Context, userID, sessionID string) {
	s.cache.evict(userID, sessionID)
	if n := s.cache.notifier; n != nil {
		if err := n.Notify(context.WithoutCancel(ctx)); err != nil {
			s.cache.logger.ErrorContext(ctx, "authkit: session cache: notifying the other instances failed; they will read the revocation from the log", "err", err)
		}
	}
}

func (s cachingStore) UpdateUser(ctx context.Context, id string, up UserUpdate) (User, error) {
	u, err := s.Store.UpdateUser(ctx, id, up)
	if up.Set.Revokes() {
		s.revoked(ctx, id, "")
	}
	return u, err
}

func (s cachingStore) DeleteUser(ctx context.Context, id string) error {
	err := s.Store.DeleteUser(ctx, id)
	s.revoked(ctx, id, "")
	return err
}

func (s cachingStore) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	ok, err := s.Store.DeleteSession(ctx, userID, id)
	s.revoked(ctx, userID, id)
	return ok, err
}

func (s cachingStore) DeleteUserSessions(ctx context.Context, userID, exceptID string) error {
	err := s.Store.DeleteUserSessions(ctx, userID, exceptID)
	s.revoked(ctx, userID, "")
	return err
}
