package memstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/authkit/authkit"
)

var _ authkit.FactorStore = (*Store)(nil)

// factorKey is a user's factor of one kind.
type factorKey struct {
	userID string
	kind   authkit.FactorKind
}

// factors are the users' second factors and recovery codes, under the
// store's lock (mu), so that DeleteUser takes them with the user.
type factors struct {
	byUser   map[factorKey]*authkit.Factor
	recovery map[string]map[string]struct{} // user ID -> code hashes
}

func cloneFactor(f authkit.Factor) authkit.Factor {
	f.Secret = slices.Clone(f.Secret)
	return f
}

// PutPendingFactor implements [authkit.FactorStore].
func (s *Store) PutPendingFactor(_ context.Context, f authkit.Factor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := factorKey{f.UserID, f.Kind}
	if cur, ok := s.factors.byUser[key]; ok && cur.Active {
		return fmt.Errorf("memstore: factor: %w", authkit.ErrDuplicate)
	}
	if s.factors.byUser == nil {
		s.factors.byUser = make(map[factorKey]*authkit.Factor)
	}
	f = cloneFactor(f)
	f.Active = false
	s.factors.byUser[key] = &f
	return nil
}

// FactorOf implements [authkit.FactorStore].
func (s *Store) FactorOf(_ context.Context, userID string, kind authkit.FactorKind) (authkit.Factor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.factors.byUser[factorKey{userID, kind}]
	if !ok {
		return authkit.Factor{}, fmt.Errorf("memstore: factor: %w", authkit.ErrNotFound)
	}
	return cloneFactor(*f), nil
}

// ActivateFactor implements [authkit.FactorStore].
func (s *Store) ActivateFactor(_ context.Context, userID string, kind authkit.FactorKind, secret []byte, step int64, codes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.factors.byUser[factorKey{userID, kind}]
	if !ok || f.Active || !bytes.Equal(f.Secret, secret) {
		return fmt.Errorf("memstore: pending factor: %w", authkit.ErrNotFound)
	}
	f.Active, f.LastStep = true, step
	s.replaceCodesLocked(userID, codes)
	return nil
}

// AcceptStep implements [authkit.FactorStore].
func (s *Store) AcceptStep(_ context.Context, userID string, kind authkit.FactorKind, step int64) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.factors.byUser[factorKey{userID, kind}]
	if !ok || !f.Active || step <= f.LastStep {
		return false, nil
	}
	f.LastStep = step
	return true, nil
}

// DeleteFactors implements [authkit.FactorStore].
func (s *Store) DeleteFactors(_ context.Context, userID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteFactorsLocked(userID)
	return nil
}

// deleteFactorsLocked deletes the user's factors, passkeys and recovery
// codes. The caller holds the write lock.
func (s *Store) deleteFactorsLocked(userID string) {
	for key := range s.factors.byUser {
		if key.userID == userID {
			delete(s.factors.byUser, key)
		}
	}
	delete(s.factors.recovery, userID)
	s.deletePasskeysLocked(userID)
}

// ReplaceRecoveryCodes implements [authkit.FactorStore].
func (s *Store) ReplaceRecoveryCodes(_ context.Context, userID string, codes []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replaceCodesLocked(userID, codes)
	return nil
}

// replaceCodesLocked makes codes the user's recovery codes. The caller
// holds the write lock.
func (s *Store) replaceCodesLocked(userID string, codes []string) {
	if s.factors.recovery == nil {
		s.factors.recovery = make(map[string]map[string]struct{})
	}
	set := make(map[string]struct{}, len(codes))
	for _, c := range codes {
		set[c] = struct{}{}
	}
	s.factors.recovery[userID] = set
}

// ConsumeRecoveryCode implements [authkit.FactorStore].
func (s *Store) ConsumeRecoveryCode(_ context.Context, userID, code string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.factors.recovery[userID]
	if _, ok := set[code]; !ok {
		return false, nil
	}
	delete(set, code)
	return true, nil
}
