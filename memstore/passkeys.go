package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.PasskeyStore = (*Store)(nil)

// passkeys are the users' passkeys, under the store's lock (mu), so that
// DeleteUser and DeleteFactors take them with the user's other factors.
type passkeys struct {
	byID     map[string]*authkit.Passkey // by Passkey.ID
	byCredID map[string]string           // credential id -> Passkey.ID
}

func clonePasskey(p authkit.Passkey) authkit.Passkey {
	p.CredentialID = slices.Clone(p.CredentialID)
	p.Credential = slices.Clone(p.Credential)
	return p
}

// CreatePasskey implements [authkit.PasskeyStore].
func (s *Store) CreatePasskey(_ context.Context, p authkit.Passkey, codes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[p.UserID]; !ok {
		return fmt.Errorf("memstore: passkey's user %q: %w", p.UserID, authkit.ErrNotFound)
	}
	if _, ok := s.passkeys.byID[p.ID]; ok {
		return fmt.Errorf("memstore: passkey: %w", authkit.ErrDuplicate)
	}
	if _, ok := s.passkeys.byCredID[string(p.CredentialID)]; ok {
		return fmt.Errorf("memstore: passkey: %w", authkit.ErrDuplicate)
	}
	if s.passkeys.byID == nil {
		s.passkeys.byID = make(map[string]*authkit.Passkey)
		s.passkeys.byCredID = make(map[string]string)
	}
	p = clonePasskey(p)
	s.passkeys.byID[p.ID] = &p
	s.passkeys.byCredID[string(p.CredentialID)] = p.ID
	if codes != nil {
		s.replaceCodesLocked(p.UserID, codes)
	}
	return nil
}

// PasskeyByCredentialID implements [authkit.PasskeyStore].
func (s *Store) PasskeyByCredentialID(_ context.Context, credentialID []byte) (authkit.Passkey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.passkeys.byCredID[string(credentialID)]
	if !ok {
		return authkit.Passkey{}, fmt.Errorf("memstore: passkey: %w", authkit.ErrNotFound)
	}
	return clonePasskey(*s.passkeys.byID[id]), nil
}

// PasskeysOf implements [authkit.PasskeyStore].
func (s *Store) PasskeysOf(_ context.Context, userID string) ([]authkit.Passkey, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []authkit.Passkey{}
	for _, p := range s.passkeys.byID {
		if p.UserID == userID {
			out = append(out, clonePasskey(*p))
		}
	}
	slices.SortFunc(out, func(a, b authkit.Passkey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// mine is the user's passkey with that id, or nil. The caller holds mu.
func (s *Store) mine(userID, id string) *authkit.Passkey {
	p, ok := s.passkeys.byID[id]
	if !ok || p.UserID != userID {
		return nil
	}
	return p
}

// UsePasskey implements [authkit.PasskeyStore].
func (s *Store) UsePasskey(_ context.Context, userID, id string, from, count uint32, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mine(userID, id)
	if p == nil || p.SignCount != from {
		return false, nil
	}
	p.SignCount, p.LastUsedAt = count, at
	return true, nil
}

// RenamePasskey implements [authkit.PasskeyStore].
func (s *Store) RenamePasskey(_ context.Context, userID, id, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mine(userID, id)
	if p == nil {
		return fmt.Errorf("memstore: passkey: %w", authkit.ErrNotFound)
	}
	p.Name = name
	return nil
}

// DeletePasskey implements [authkit.PasskeyStore].
func (s *Store) DeletePasskey(_ context.Context, userID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.mine(userID, id)
	if p == nil {
		return fmt.Errorf("memstore: passkey: %w", authkit.ErrNotFound)
	}
	delete(s.passkeys.byCredID, string(p.CredentialID))
	delete(s.passkeys.byID, id)
	return nil
}

// DeleteFactor implements [authkit.PasskeyStore].
func (s *Store) DeleteFactor(_ context.Context, userID string, kind authkit.FactorKind) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.factors.byUser, factorKey{userID, kind})
	return nil
}

// deletePasskeysLocked deletes the user's passkeys. The caller holds the
// write lock.
func (s *Store) deletePasskeysLocked(userID string) {
	for id, p := range s.passkeys.byID {
		if p.UserID == userID {
			delete(s.passkeys.byCredID, string(p.CredentialID))
			delete(s.passkeys.byID, id)
		}
	}
}
