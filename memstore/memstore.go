// Package memstore keeps authkit's users, sessions, one-time tokens and
// rate-limit counts in memory. It suits tests, demos and a single process;
// everything is lost when the process ends, and limits are not shared with
// other processes.
//
// A [Store] is safe for concurrent use. It implements [authkit.Store] and
// every optional capability: [authkit.PhoneStore], [authkit.SessionUserFinder],
// [authkit.Cleaner], [authkit.UserLister], [authkit.Limiter],
// [authkit.Courier] (the messages promised are kept in memory too: a
// restart loses them), [authkit.FactorStore], [authkit.PasskeyStore] and [authkit.RevocationLog] (so that kits sharing
// one Store in a test can keep a session cache each, as instances
// sharing a database do). It passes every group of the
// storetest conformance suite.
package memstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authkit/authkit"
)

var (
	_ authkit.Store             = (*Store)(nil)
	_ authkit.PhoneStore        = (*Store)(nil)
	_ authkit.SessionUserFinder = (*Store)(nil)
	_ authkit.Cleaner           = (*Store)(nil)
	_ authkit.UserLister        = (*Store)(nil)
	_ authkit.Limiter           = (*Store)(nil)
)

// Store is an in-memory [authkit.Store]. The zero value is not usable: call
// [New].
type Store struct {
	mu sync.RWMutex

	users           map[string]*authkit.User // by ID
	usersByEmail    map[string]string        // folded email -> user ID
	usersByPhone    map[string]string        // phone -> user ID
	usersByProvider map[identity]string      // provider identity -> user ID

	sessions       map[string]*authkit.Session     // by ID
	sessionsByHash map[string]*authkit.Session     // by TokenHash; same pointers as sessions
	userSessions   map[string]map[string]struct{}  // user ID -> session IDs
	tokens         map[string]*authkit.Token       // by Hash
	userTokens     map[string]map[string]struct{}  // user ID -> token hashes
	subjectTokens  map[subject]map[string]struct{} // purpose and subject -> token hashes

	limits limits // rate-limit counters, under their own lock (limiter.go)

	imu     sync.Mutex
	intents intents // the messages promised, under imu (intents.go)

	revs revocations // under mu (revocations.go)

	factors  factors  // under mu (factors.go)
	passkeys passkeys // under mu (passkeys.go)
}

// subject is the key LatestToken and TokensBySubject find tokens by.
type subject struct {
	purpose authkit.TokenPurpose
	subject string
}

// identity is a user's (Provider, ProviderUserID) pair.
type identity struct{ provider, userID string }

// New returns an empty Store.
func New() *Store {
	return &Store{
		users:           make(map[string]*authkit.User),
		usersByEmail:    make(map[string]string),
		usersByPhone:    make(map[string]string),
		usersByProvider: make(map[identity]string),
		sessions:        make(map[string]*authkit.Session),
		sessionsByHash:  make(map[string]*authkit.Session),
		userSessions:    make(map[string]map[string]struct{}),
		tokens:          make(map[string]*authkit.Token),
		userTokens:      make(map[string]map[string]struct{}),
		subjectTokens:   make(map[subject]map[string]struct{}),
	}
}

// foldEmail is the index key of an email: emails are found whatever their case.
func foldEmail(email string) string { return strings.ToLower(email) }

func identityOf(u *authkit.User) identity { return identity{u.Provider, u.ProviderUserID} }

// cloneUser returns a deep copy of u: the Profile and ServerData maps and
// each of their values, and the AccessGroups list, are copied, so the copy
// shares no memory with u.
func cloneUser(u authkit.User) authkit.User {
	u.Profile = cloneJSONMap(u.Profile)
	u.ServerData = cloneJSONMap(u.ServerData)
	u.AccessGroups = slices.Clone(u.AccessGroups) // nil stays nil
	return u
}

// cloneJSONMap returns a copy of m and of each of its values; nil stays nil.
func cloneJSONMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	c := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c[k] = slices.Clone(v) // nil stays nil
	}
	return c
}

// Users

// CreateUser implements [authkit.UserStore].
func (s *Store) CreateUser(_ context.Context, u authkit.User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; ok {
		return fmt.Errorf("memstore: user id %q: %w", u.ID, authkit.ErrDuplicate)
	}
	if err := s.checkUserKeys(&u); err != nil {
		return err
	}
	stored := cloneUser(u)
	s.users[u.ID] = &stored
	s.indexUser(&stored)
	return nil
}

// checkUserKeys returns ErrDuplicate if u's email, phone or provider identity
// belongs to a user other than u.ID. The caller holds the write lock.
func (s *Store) checkUserKeys(u *authkit.User) error {
	if u.Email != "" {
		if id, ok := s.usersByEmail[foldEmail(u.Email)]; ok && id != u.ID {
			return fmt.Errorf("memstore: email: %w", authkit.ErrDuplicate)
		}
	}
	if u.Phone != "" {
		if id, ok := s.usersByPhone[u.Phone]; ok && id != u.ID {
			return fmt.Errorf("memstore: phone: %w", authkit.ErrDuplicate)
		}
	}
	if id, ok := s.usersByProvider[identityOf(u)]; ok && id != u.ID {
		return fmt.Errorf("memstore: provider identity: %w", authkit.ErrDuplicate)
	}
	return nil
}

// indexUser adds u's keys to the indexes. The caller holds the write lock.
func (s *Store) indexUser(u *authkit.User) {
	if u.Email != "" {
		s.usersByEmail[foldEmail(u.Email)] = u.ID
	}
	if u.Phone != "" {
		s.usersByPhone[u.Phone] = u.ID
	}
	s.usersByProvider[identityOf(u)] = u.ID
}

// unindexUser removes u's keys from the indexes. The caller holds the write lock.
func (s *Store) unindexUser(u *authkit.User) {
	if u.Email != "" {
		delete(s.usersByEmail, foldEmail(u.Email))
	}
	if u.Phone != "" {
		delete(s.usersByPhone, u.Phone)
	}
	delete(s.usersByProvider, identityOf(u))
}

// AllUsers implements [authkit.UserLister]: it copies the users under the
// lock, then yields them without it.
func (s *Store) AllUsers(_ context.Context) iter.Seq2[authkit.User, error] {
	return func(yield func(authkit.User, error) bool) {
		s.mu.RLock()
		all := make([]authkit.User, 0, len(s.users))
		for _, u := range s.users {
			all = append(all, cloneUser(*u))
		}
		s.mu.RUnlock()
		slices.SortFunc(all, func(a, b authkit.User) int { return strings.Compare(a.ID, b.ID) })
		for _, u := range all {
			if !yield(u, nil) {
				return
			}
		}
	}
}

// ListUsers implements [authkit.UserLister]: it sorts the ids after after
// under the read lock, and copies the first limit users.
func (s *Store) ListUsers(_ context.Context, after string, limit int) ([]authkit.User, error) {
	if limit <= 0 {
		return []authkit.User{}, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var ids []string
	for id := range s.users {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // strings compare byte by byte
	page := make([]authkit.User, 0, min(limit, len(ids)))
	for _, id := range ids[:min(limit, len(ids))] {
		page = append(page, cloneUser(*s.users[id]))
	}
	return page, nil
}

// UserByID implements [authkit.UserStore].
func (s *Store) UserByID(_ context.Context, id string) (authkit.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.userLocked(id, true)
}

// UserByEmail implements [authkit.UserStore]; the email is matched whatever its case.
func (s *Store) UserByEmail(_ context.Context, email string) (authkit.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.usersByEmail[foldEmail(email)]
	return s.userLocked(id, ok)
}

// UserByPhone implements [authkit.PhoneStore].
func (s *Store) UserByPhone(_ context.Context, phone string) (authkit.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.usersByPhone[phone]
	return s.userLocked(id, ok)
}

// UserByProvider implements [authkit.UserStore].
func (s *Store) UserByProvider(_ context.Context, provider, providerUserID string) (authkit.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.usersByProvider[identity{provider, providerUserID}]
	return s.userLocked(id, ok)
}

// userLocked returns a copy of the user with that id, or ErrNotFound when
// found is false or there is none. The caller holds a lock.
func (s *Store) userLocked(id string, found bool) (authkit.User, error) {
	if found {
		if u, ok := s.users[id]; ok {
			return cloneUser(*u), nil
		}
	}
	return authkit.User{}, fmt.Errorf("memstore: user: %w", authkit.ErrNotFound)
}

// UpdateUser implements [authkit.UserStore]: the check of up.If, the write
// of up.Set and the new stamp of up.KeepSession happen under one lock. The
// keys the user gives up (an old email or phone) are free for other users
// afterwards.
func (s *Store) UpdateUser(_ context.Context, id string, up authkit.UserUpdate) (authkit.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return authkit.User{}, fmt.Errorf("memstore: user %q: %w", id, authkit.ErrNotFound)
	}
	if !up.If.Matches(*old) {
		return authkit.User{}, fmt.Errorf("memstore: user %q changed: %w", id, authkit.ErrConflict)
	}
	u := *old
	up.Set.ApplyTo(&u)
	u = cloneUser(u) // shares no memory with the maps and lists of up.Set
	if err := s.checkUserKeys(&u); err != nil {
		return authkit.User{}, err
	}
	s.unindexUser(old)
	s.users[id] = &u
	s.indexUser(&u)
	if sess, ok := s.sessions[up.KeepSession]; ok && up.Set.Stamp != nil && sess.UserID == id {
		sess.Stamp = u.Stamp
	}
	if up.Set.Revokes() {
		s.revokeLocked(id, "")
	}
	return cloneUser(u), nil
}

// DeleteUser implements [authkit.UserStore]: the user, their sessions and
// their tokens go under one lock.
func (s *Store) DeleteUser(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return fmt.Errorf("memstore: user %q: %w", id, authkit.ErrNotFound)
	}
	for sid := range s.userSessions[id] {
		s.deleteSessionLocked(s.sessions[sid])
	}
	for hash := range s.userTokens[id] {
		s.deleteTokenLocked(s.tokens[hash])
	}
	s.deleteFactorsLocked(id)
	s.unindexUser(u)
	delete(s.users, id)
	s.revokeLocked(id, "")
	return nil
}

// Sessions

// CreateSession implements [authkit.SessionStore].
func (s *Store) CreateSession(_ context.Context, sess authkit.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[sess.ID]; ok {
		return fmt.Errorf("memstore: session id: %w", authkit.ErrDuplicate)
	}
	if _, ok := s.sessionsByHash[sess.TokenHash]; ok {
		return fmt.Errorf("memstore: session token hash: %w", authkit.ErrDuplicate)
	}
	stored := sess
	stored.AccessGroupKeys = nil // the kit's, not the store's
	s.sessions[sess.ID] = &stored
	s.sessionsByHash[sess.TokenHash] = &stored
	ids := s.userSessions[sess.UserID]
	if ids == nil {
		ids = make(map[string]struct{})
		s.userSessions[sess.UserID] = ids
	}
	ids[sess.ID] = struct{}{}
	return nil
}

// errSessionNotFound is returned as is so that the hot path allocates nothing.
var errSessionNotFound = fmt.Errorf("memstore: session: %w", authkit.ErrNotFound)

// SessionByTokenHash implements [authkit.SessionStore]: one map lookup under
// a read lock, no allocation.
func (s *Store) SessionByTokenHash(_ context.Context, tokenHash string) (authkit.Session, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sess, ok := s.sessionsByHash[tokenHash]; ok {
		return *sess, nil
	}
	return authkit.Session{}, errSessionNotFound
}

// SessionAndUser implements [authkit.SessionUserFinder]: both lookups under
// one read lock, so the user is the one of the session found.
func (s *Store) SessionAndUser(_ context.Context, tokenHash string) (authkit.Session, authkit.User, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sess, ok := s.sessionsByHash[tokenHash]
	if !ok {
		return authkit.Session{}, authkit.User{}, errSessionNotFound
	}
	// CreateSession does not check that the user exists, so it may not.
	u, err := s.userLocked(sess.UserID, true)
	if err != nil {
		return authkit.Session{}, authkit.User{}, err
	}
	return *sess, u, nil
}

// ListSessions implements [authkit.SessionStore]: oldest first, ties broken
// by ID.
func (s *Store) ListSessions(_ context.Context, userID string) ([]authkit.Session, error) {
	s.mu.RLock()
	ids := s.userSessions[userID]
	list := make([]authkit.Session, 0, len(ids))
	for id := range ids {
		list = append(list, *s.sessions[id])
	}
	s.mu.RUnlock()
	slices.SortFunc(list, func(a, b authkit.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return list, nil
}

// TouchSession implements [authkit.SessionStore].
func (s *Store) TouchSession(_ context.Context, id string, lastSeen time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sess, ok := s.sessions[id]; ok {
		sess.LastSeenAt = lastSeen
	}
	return nil
}

// DeleteSession implements [authkit.SessionStore].
func (s *Store) DeleteSession(_ context.Context, userID, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[id]
	if !ok || sess.UserID != userID {
		return false, nil
	}
	s.deleteSessionLocked(sess)
	s.revokeLocked(userID, id)
	return true, nil
}

// DeleteUserSessions implements [authkit.SessionStore].
func (s *Store) DeleteUserSessions(_ context.Context, userID, exceptID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.userSessions[userID] {
		if id != exceptID {
			s.deleteSessionLocked(s.sessions[id])
		}
	}
	s.revokeLocked(userID, "")
	return nil
}

// deleteSessionLocked removes sess from every index. The caller holds the
// write lock.
func (s *Store) deleteSessionLocked(sess *authkit.Session) {
	delete(s.sessions, sess.ID)
	delete(s.sessionsByHash, sess.TokenHash)
	ids := s.userSessions[sess.UserID]
	delete(ids, sess.ID)
	if len(ids) == 0 {
		delete(s.userSessions, sess.UserID)
	}
}

// Tokens

// cloneToken returns a copy of t that shares no memory with it: Data is
// copied.
func cloneToken(t authkit.Token) authkit.Token {
	t.Data = bytes.Clone(t.Data) // nil stays nil
	return t
}

// CreateToken implements [authkit.TokenStore]. A token with an empty UserID
// voids no other token.
func (s *Store) CreateToken(_ context.Context, t authkit.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tokens[t.Hash]; ok {
		return fmt.Errorf("memstore: token hash: %w", authkit.ErrDuplicate)
	}
	if t.UserID != "" {
		s.deleteUserTokensLocked(t.UserID, t.Purpose)
	}
	stored := cloneToken(t)
	s.tokens[t.Hash] = &stored
	if t.UserID != "" {
		addToSet(s.userTokens, t.UserID, t.Hash)
	}
	if t.Subject != "" {
		addToSet(s.subjectTokens, subject{t.Purpose, t.Subject}, t.Hash)
	}
	return nil
}

// addToSet adds v to the set m[k], making the set if need be.
func addToSet[K comparable](m map[K]map[string]struct{}, k K, v string) {
	set := m[k]
	if set == nil {
		set = make(map[string]struct{})
		m[k] = set
	}
	set[v] = struct{}{}
}

// removeFromSet removes v from the set m[k], and the set once it is empty.
func removeFromSet[K comparable](m map[K]map[string]struct{}, k K, v string) {
	if set, ok := m[k]; ok {
		delete(set, v)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

var errTokenNotFound = fmt.Errorf("memstore: token: %w", authkit.ErrNotFound)

// TokenByHash implements [authkit.TokenStore].
func (s *Store) TokenByHash(_ context.Context, hash string, now time.Time) (authkit.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tokens[hash]
	if !ok || !t.ExpiresAt.After(now) {
		return authkit.Token{}, errTokenNotFound
	}
	return cloneToken(*t), nil
}

// ConsumeToken implements [authkit.TokenStore]. An expired token it finds is
// dropped on the way. The token it returns is no longer stored, so it is
// not copied.
func (s *Store) ConsumeToken(_ context.Context, purpose authkit.TokenPurpose, hash string, now time.Time) (authkit.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok || t.Purpose != purpose {
		return authkit.Token{}, errTokenNotFound
	}
	s.deleteTokenLocked(t)
	if !t.ExpiresAt.After(now) {
		return authkit.Token{}, fmt.Errorf("memstore: token expired: %w", authkit.ErrNotFound)
	}
	return *t, nil
}

// DeleteUserTokens implements [authkit.TokenStore]. Given no purposes, it
// deletes nothing.
func (s *Store) DeleteUserTokens(_ context.Context, userID string, purposes ...authkit.TokenPurpose) error {
	if userID == "" || len(purposes) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteUserTokensLocked(userID, purposes...)
	return nil
}

// LatestToken implements [authkit.PhoneStore].
func (s *Store) LatestToken(_ context.Context, purpose authkit.TokenPurpose, subj string, now time.Time) (authkit.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var latest *authkit.Token
	for hash := range s.subjectTokens[subject{purpose, subj}] {
		t := s.tokens[hash]
		if !t.ExpiresAt.After(now) {
			continue
		}
		if latest == nil || t.CreatedAt.After(latest.CreatedAt) ||
			t.CreatedAt.Equal(latest.CreatedAt) && t.Hash > latest.Hash {
			latest = t
		}
	}
	if latest == nil {
		return authkit.Token{}, errTokenNotFound
	}
	return cloneToken(*latest), nil
}

// TokensBySubject implements [authkit.TokenStore].
func (s *Store) TokensBySubject(_ context.Context, purpose authkit.TokenPurpose, subj string, now time.Time) ([]authkit.Token, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var found []authkit.Token
	for hash := range s.subjectTokens[subject{purpose, subj}] {
		if t := s.tokens[hash]; t.ExpiresAt.After(now) {
			found = append(found, cloneToken(*t))
		}
	}
	slices.SortFunc(found, func(a, b authkit.Token) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.Hash, a.Hash)
	})
	return found, nil
}

// ClaimAttempt implements [authkit.PhoneStore].
func (s *Store) ClaimAttempt(_ context.Context, hash string, max int, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[hash]
	if !ok || !t.ExpiresAt.After(now) || t.Attempts >= max {
		return false, nil
	}
	t.Attempts++
	return true, nil
}

// deleteUserTokensLocked deletes the user's tokens of the given purposes. The
// caller holds the write lock.
func (s *Store) deleteUserTokensLocked(userID string, purposes ...authkit.TokenPurpose) {
	for hash := range s.userTokens[userID] {
		if t := s.tokens[hash]; slices.Contains(purposes, t.Purpose) {
			s.deleteTokenLocked(t)
		}
	}
}

// deleteTokenLocked removes t from every index. The caller holds the write lock.
func (s *Store) deleteTokenLocked(t *authkit.Token) {
	delete(s.tokens, t.Hash)
	removeFromSet(s.userTokens, t.UserID, t.Hash)
	removeFromSet(s.subjectTokens, subject{t.Purpose, t.Subject}, t.Hash)
}

// Expiry

// DeleteExpired implements [authkit.Cleaner]. It walks every session and
// token under the write lock, and every limit counter under the limits'
// lock, so a host with many of them calls it now and then
// ([authkit.Kit.Cleanup] does), not on every request.
func (s *Store) DeleteExpired(_ context.Context, now, idleSince time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.limits.deleteEnded(now) + s.deleteOldRevocationsLocked(now)
	for _, sess := range s.sessions {
		if !sess.ExpiresAt.After(now) || !sess.LastSeenAt.After(idleSince) {
			s.deleteSessionLocked(sess)
			n++
		}
	}
	for _, t := range s.tokens {
		if !t.ExpiresAt.After(now) {
			s.deleteTokenLocked(t)
			n++
		}
	}
	return n, nil
}
