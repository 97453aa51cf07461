package memstore

import (
	"context"
	"time"

	"github.com/authkit/authkit"
)

var _ authkit.RevocationLog = (*Store)(nil)

// revocations is the store's [authkit.RevocationLog], under the store's
// lock (mu): each change that logs appends in the same critical section,
// so the order of Seq is the order of the changes.
type revocations struct {
	log  []authkit.Revocation // oldest first; log[i].Seq == first+i
	last int64                // the Seq of the newest ever logged
}

// appendLocked logs a revocation of userID's session id ("" for any of
// theirs). The caller holds the write lock.
func (s *Store) revokeLocked(userID, sessionID string) {
	s.revs.last++
	s.revs.log = append(s.revs.log, authkit.Revocation{Seq: s.revs.last, UserID: userID, SessionID: sessionID, At: time.Now()})
}

// Revocations implements [authkit.RevocationLog].
func (s *Store) Revocations(_ context.Context, after int64, limit int) ([]authkit.Revocation, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	log := s.revs.log
	if len(log) == 0 || limit <= 0 {
		return nil, nil
	}
	i := max(after+1-log[0].Seq, 0)
	if i >= int64(len(log)) {
		return nil, nil
	}
	out := log[i:min(i+int64(limit), int64(len(log)))]
	return append([]authkit.Revocation(nil), out...), nil
}

// LastRevocation implements [authkit.RevocationLog].
func (s *Store) LastRevocation(context.Context) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revs.last, nil
}

// deleteOldRevocationsLocked drops the revocations logged before
// now−RevocationRetention, and reports how many. The caller holds the
// write lock.
func (s *Store) deleteOldRevocationsLocked(now time.Time) int64 {
	cut := now.Add(-authkit.RevocationRetention)
	n := 0
	for n < len(s.revs.log) && s.revs.log[n].At.Before(cut) {
		n++
	}
	s.revs.log = append(s.revs.log[:0:0], s.revs.log[n:]...)
	return int64(n)
}
