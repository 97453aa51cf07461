package authkit

// Sessions: finding the caller of a session token, signing a user in on
// a device, listing and ending sessions.

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"sync"
	"time"
	"unsafe"

	"github.com/authkit/authkit/internal/useragent"
)

var (
	errMissingSession = newError(CodeMissingSessionToken, "Sign in first: this request needs a session token.")
	errInvalidSession = newError(CodeInvalidSessionToken, "The session is not valid: it ended, was signed out or never existed.")
)

// callerOf finds the live session that token authenticates and its user,
// and notes the session's activity (at most every touchEvery).
func (k *Kit) callerOf(ctx context.Context, token string) (*caller, error) {
	if len(token) > maxTokenLen {
		return nil, errInvalidSession
	}
	var hash [2 * sha256.Size]byte
	hashTokenInto(&hash, token)
	now := k.clock()
	if s, u, ok := k.cache.get(unsafe.String(&hash[0], len(hash))); ok {
		if k.alive(s, u, now) {
			if now.Sub(s.LastSeenAt) >= k.touchEvery {
				if err := k.store.TouchSession(ctx, s.ID, now); err != nil {
					return nil, internalError(err)
				}
				k.cache.touched(s, now)
			}
			c := &caller{session: s, user: u, hash: hash}
			return c, nil
		}
		// Dead as cached: the store has the last word, since another
		// instance may have seen the session since.
		k.cache.drop(unsafe.String(&hash[0], len(hash)))
	}
	// One allocation holds the caller and what it points to.
	read := new(readCaller)
	c := &read.caller
	c.hash = hash
	since := k.cache.mark()
	s, u := &read.session, &read.user
	var err error
	start := k.metrics.start()
	*s, *u, err = k.sessionAndUser(read.bound.begin(ctx, k.bound), c.tokenHash())
	err = read.bound.end(k.bound, "the session lookup", err)
	k.metrics.timed(ctx, "SessionAndUser", start, err)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidSession
	}
	if err != nil {
		return nil, internalError(err)
	}
	if !k.alive(s, u, now) {
		return nil, errInvalidSession
	}
	if now.Sub(s.LastSeenAt) >= k.touchEvery {
		s.LastSeenAt = now
		if err := k.store.TouchSession(ctx, s.ID, now); err != nil {
			return nil, internalError(err)
		}
	}
	s.AccessGroupKeys = u.AccessGroups
	k.cache.put(since, s, u)
	c.session, c.user = s, u
	return c, nil
}

// readCaller is a caller with the session and user it read from the store.
type readCaller struct {
	caller
	session Session
	user    User
	bound   boundCtx // the lookup's context, under Config.StoreTimeout
}

// signUpSession signs a new account in, under the stamp it was made with.
func (k *Kit) signUpSession(ctx context.Context, u User) (SignIn, error) {
	return k.startSession(ctx, u.ID, u.Stamp, UserUpdate{}, internalError(errors.New("authkit: a new account changed while it signed in")), via{method: MethodSignUp})
}

// via is how a session is started, for Hooks.AfterSignIn, and how many
// factors the sign-in proved: 0 or 1 for one, 2 once VerifyMFA checked a
// second.
type via struct {
	method   SignInMethod
	provider string
	factors  int
}

var errUserDisabled = newError(CodeUserDisabled, "This account is disabled.")

// startSession signs a user in on the device of the request: lastLoginAt
// moves to now, up is written with it, and a new session with a fresh token
// is made under stamp, the credential stamp that the checked credential
// (a password hash, a grant, a code) was issued under. The write holds only
// while the user's stamp is still that one; when it moved on (a password
// reset, a sign-out everywhere) nobody is signed in and the answer is stale.
//
// A disabled user is signed in by nobody: the write holds only while the
// user is enabled, and the answer is then user_disabled, given only to
// whoever proved the credential.
//
// Every sign-in ends here, so this is where a second factor is asked
// for: with Config.MFA on, a user with an active factor whose sign-in
// proved one factor gets no session but mfa_required and a ticket
// (askSecondFactor), which VerifyMFA brings back here with two.
func (k *Kit) startSession(ctx context.Context, userID, stamp string, up UserUpdate, stale error, how via) (SignIn, error) {
	if k.mfa.on && how.factors < 2 {
		has, err := k.hasActiveFactor(ctx, userID)
		if err != nil {
			return SignIn{}, internalError(err)
		}
		if has {
			return SignIn{}, k.askSecondFactor(ctx, userID, stamp, up, stale, how)
		}
	}
	factors := max(how.factors, 1)
	now := k.clock()
	enabled := false
	up.Set.LastLoginAt, up.If.Stamp, up.If.Disabled = &now, &stamp, &enabled
	u, err := k.store.UpdateUser(ctx, userID, up)
	if errors.Is(err, ErrConflict) {
		if cur, err := k.store.UserByID(ctx, userID); err == nil && cur.Disabled && cur.Stamp == stamp {
			k.event(ctx, "sign-in refused: user disabled", userID)
			return SignIn{}, errUserDisabled
		}
	}
	if err != nil {
		return SignIn{}, stored(err, stale)
	}
	token, err := k.newToken()
	if err != nil {
		return SignIn{}, internalError(err)
	}
	id, err := k.newID()
	if err != nil {
		return SignIn{}, internalError(err)
	}
	c := clientOf(ctx)
	s := Session{
		ID:         id,
		TokenHash:  hashToken(token),
		UserID:     u.ID,
		CreatedAt:  now,
		LastSeenAt: now,
		ExpiresAt:  now.Add(k.sessionLifetime),
		UserAgent:  parseUserAgent(c.userAgent),
		IP:         c.ip,
		Stamp:      stamp,
		Factors:    factors,
	}
	if err := k.store.CreateSession(ctx, s); err != nil {
		return SignIn{}, internalError(err)
	}
	s.AccessGroupKeys = u.AccessGroups
	a := SignIn{User: u, Session: &s, Token: token}
	k.afterSignIn(ctx, a, how.method, how.provider)
	return a, nil
}

func parseUserAgent(header string) UserAgent {
	p := useragent.Parse(header)
	return UserAgent{
		Family: p.Browser.Family, Major: p.Browser.Major, Minor: p.Browser.Minor, Patch: p.Browser.Patch,
		Device: Device{Family: p.Device.Family, Major: p.Device.Major, Minor: p.Device.Minor, Patch: p.Device.Patch},
		OS:     OS{Family: p.OS.Family, Major: p.OS.Major, Minor: p.OS.Minor, Patch: p.OS.Patch},
	}
}

// listSessions returns the caller's live sessions, each named by its handle.
func (k *Kit) listSessions(ctx context.Context, c *caller) ([]Session, error) {
	all, err := k.store.ListSessions(ctx, c.user.ID)
	if err != nil {
		return nil, internalError(err)
	}
	now := k.clock()
	live := make([]Session, 0, len(all))
	for _, s := range all {
		if k.alive(&s, c.user, now) {
			s.AccessGroupKeys = c.user.AccessGroups
			live = append(live, s)
		}
	}
	return live, nil
}

// signOut ends the caller's current session, or one of the caller's
// sessions named by its token or its handle.
func (k *Kit) signOut(ctx context.Context, c *caller, token string) error {
	id := c.session.ID
	if token != "" && hashToken(token) != c.session.TokenHash {
		id = token // a handle, as getAllSessions lists them
		s, err := k.store.SessionByTokenHash(ctx, hashToken(token))
		if err == nil && s.UserID == c.user.ID {
			id = s.ID
		} else if err != nil && !errors.Is(err, ErrNotFound) {
			return internalError(err)
		}
	}
	deleted, err := k.store.DeleteSession(ctx, c.user.ID, id)
	if err != nil {
		return internalError(err)
	}
	if !deleted {
		return newError(CodeSessionNotFound, "You have no such session.")
	}
	k.event(ctx, "signed out", c.user.ID)
	return nil
}

// signOutAll ends all the caller's sessions, or all but the current one. It
// changes the credential stamp, so that a grant, link or code issued
// before, and a session a sign-in was making at that moment, die too; the
// current session, when it stays, takes the new stamp.
func (k *Kit) signOutAll(ctx context.Context, c *caller, keepCurrent bool) error {
	except := ""
	if keepCurrent {
		except = c.session.ID
	}
	if err := k.newStamp(ctx, c, UserFields{}, except); err != nil {
		return err
	}
	if err := k.store.DeleteUserSessions(ctx, c.user.ID, except); err != nil {
		return internalError(err)
	}
	k.event(ctx, "signed out everywhere", c.user.ID)
	return nil
}

// caller is who an authenticated request comes from. Once the request is
// signed in (attach), it is the request's context too: the context whose
// value under ctxKey is the caller, which makes the session middlewares'
// work one allocation, with r.WithContext the second.
//
// Its session and user are shared, not copied (from the session cache,
// or from the readCaller that holds them), and so never changed: a change
// puts a changed copy in their place.
type caller struct {
	context.Context // the parent; nil until attach
	session         *Session
	user            *User
	// client is where the request comes from, when the session
	// middlewares noted it here rather than under clientKey: read from
	// the request from, by kit, at the first clientIn, since most
	// requests never ask (clientOf).
	hasClient  bool
	from       *http.Request
	kit        *Kit
	clientOnce sync.Once
	client     client
	// hash is the token's hash as the store keys it, written once
	// (callerOf) before anything reads it.
	hash [2 * sha256.Size]byte
}

// clientOf is where c's request comes from, when the session middlewares
// noted the request.
func (c *caller) clientOf() (client, bool) {
	if !c.hasClient {
		return client{}, false
	}
	c.clientOnce.Do(func() { c.client = c.kit.clientFor(c.from) })
	return c.client, true
}

// Value is the caller under ctxKey, else the parent's value.
func (c *caller) Value(key any) any {
	if _, ok := key.(ctxKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// attach is ctx with c as its caller: c itself, the first time.
func (c *caller) attach(ctx context.Context) context.Context {
	if c.Context == nil {
		c.Context = ctx
		return c
	}
	return context.WithValue(ctx, ctxKey{}, c)
}

// tokenHash is c.hash as a string, without a copy: c.hash is never
// written again, and c lives as long as the string does.
func (c *caller) tokenHash() string {
	return unsafe.String(&c.hash[0], len(c.hash))
}

// sessionAndUser finds the session with that token hash and its user: in
// one query when the store can, else in two.
func (k *Kit) sessionAndUser(ctx context.Context, tokenHash string) (Session, User, error) {
	if f, ok := k.raw.(SessionUserFinder); ok {
		return f.SessionAndUser(ctx, tokenHash)
	}
	s, err := k.store.SessionByTokenHash(ctx, tokenHash)
	if err != nil {
		return Session{}, User{}, err
	}
	u, err := k.store.UserByID(ctx, s.UserID)
	return s, u, err
}

// alive reports whether s, a session of u, is neither past its absolute end
// nor idle too long, and was made under u's credential stamp: a session
// made before a password reset or a sign-out everywhere is dead, whether or
// not it was deleted yet, and so is every session of a disabled user.
func (k *Kit) alive(s *Session, u *User, now time.Time) bool {
	return !u.Disabled && s.Stamp == u.Stamp && now.Before(s.ExpiresAt) && now.Sub(s.LastSeenAt) < k.sessionIdle
}
