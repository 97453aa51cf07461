package memstore

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.Courier = (*Store)(nil)

// intents are the messages the kit promised, under their own lock.
type intents struct {
	byID map[string]*authkit.Intent
}

func cloneIntent(i authkit.Intent) authkit.Intent {
	i.Data = bytes.Clone(i.Data)
	return i
}

// CreateIntent implements [authkit.Courier].
func (s *Store) CreateIntent(_ context.Context, i authkit.Intent) error {
	s.imu.Lock()
	defer s.imu.Unlock()
	if s.intents.byID == nil {
		s.intents.byID = make(map[string]*authkit.Intent)
	}
	if _, ok := s.intents.byID[i.ID]; ok {
		return fmt.Errorf("memstore: intent id %q: %w", i.ID, authkit.ErrDuplicate)
	}
	stored := cloneIntent(i)
	s.intents.byID[i.ID] = &stored
	return nil
}

// due reports whether i may be claimed at now.
func due(i *authkit.Intent, now time.Time) bool {
	switch i.State {
	case authkit.IntentPending:
		return !i.NextAt.After(now)
	case authkit.IntentLeased:
		return !i.LeaseUntil.After(now)
	}
	return false
}

// ClaimIntents implements [authkit.Courier]: under the lock, so racing
// claimers never claim one intent twice.
func (s *Store) ClaimIntents(_ context.Context, owner string, now, until time.Time, max int) ([]authkit.Intent, error) {
	s.imu.Lock()
	defer s.imu.Unlock()
	var found []*authkit.Intent
	for _, i := range s.intents.byID {
		if due(i, now) {
			found = append(found, i)
		}
	}
	slices.SortFunc(found, func(a, b *authkit.Intent) int {
		return cmp.Or(a.NextAt.Compare(b.NextAt), cmp.Compare(a.ID, b.ID))
	})
	out := []authkit.Intent{}
	for _, i := range found[:min(len(found), max)] {
		i.State, i.LeaseOwner, i.LeaseUntil = authkit.IntentLeased, owner, until
		i.Tries++
		out = append(out, cloneIntent(*i))
	}
	return out, nil
}

// FinishIntent implements [authkit.Courier].
func (s *Store) FinishIntent(_ context.Context, id, owner string, out authkit.IntentOutcome) error {
	s.imu.Lock()
	defer s.imu.Unlock()
	i, ok := s.intents.byID[id]
	if !ok {
		return fmt.Errorf("memstore: intent %q: %w", id, authkit.ErrNotFound)
	}
	if i.State != authkit.IntentLeased || i.LeaseOwner != owner {
		return fmt.Errorf("memstore: intent %q is not leased to %q: %w", id, owner, authkit.ErrConflict)
	}
	i.State, i.NextAt, i.LastError, i.UpdatedAt = out.State, out.NextAt, out.LastError, out.At
	i.LeaseOwner, i.LeaseUntil = "", time.Time{}
	if out.State == authkit.IntentDelivered {
		i.Data = nil
	}
	return nil
}

// DeadIntents implements [authkit.Courier].
func (s *Store) DeadIntents(_ context.Context) ([]authkit.Intent, error) {
	s.imu.Lock()
	defer s.imu.Unlock()
	out := []authkit.Intent{}
	for _, i := range s.intents.byID {
		if i.State == authkit.IntentDead {
			out = append(out, cloneIntent(*i))
		}
	}
	slices.SortFunc(out, func(a, b authkit.Intent) int {
		return cmp.Or(a.UpdatedAt.Compare(b.UpdatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// RetryIntent implements [authkit.Courier].
func (s *Store) RetryIntent(_ context.Context, id string, now time.Time) error {
	s.imu.Lock()
	defer s.imu.Unlock()
	i, ok := s.intents.byID[id]
	if !ok || i.State != authkit.IntentDead {
		return fmt.Errorf("memstore: dead intent %q: %w", id, authkit.ErrNotFound)
	}
	i.State, i.Tries, i.NextAt, i.UpdatedAt = authkit.IntentPending, 0, now, now
	return nil
}

// DeleteFinishedIntents implements [authkit.Courier].
func (s *Store) DeleteFinishedIntents(_ context.Context, deliveredBefore, deadBefore time.Time) (int64, error) {
	s.imu.Lock()
	defer s.imu.Unlock()
	return s.deleteFinishedLocked(deliveredBefore, deadBefore), nil
}

func (s *Store) deleteFinishedLocked(deliveredBefore, deadBefore time.Time) int64 {
	var n int64
	for id, i := range s.intents.byID {
		if (i.State == authkit.IntentDelivered && !i.UpdatedAt.After(deliveredBefore)) ||
			(i.State == authkit.IntentDead && !i.UpdatedAt.After(deadBefore)) {
			delete(s.intents.byID, id)
			n++
		}
	}
	return n
}
