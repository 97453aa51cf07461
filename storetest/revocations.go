package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.RevocationLog]. Each starts from the store's
// LastRevocation rather than from 0, and counts from there: the contract
// numbers revocations densely from wherever the log stands.

// revoked is a revocation as a case expects it: the user and the session.
type revoked struct{ user, session string }

// logSince reads every revocation after after, requires each to follow the
// one before it (Seq after+1, after+2, ...) with an At by the store's real
// clock, and returns them as revoked.
func logSince(t *testing.T, s revocationStore, after int64) []revoked {
	t.Helper()
	list, err := s.Revocations(context.Background(), after, 1000)
	require.NoError(t, err)
	out := []revoked{}
	for i, r := range list {
		require.Equal(t, after+1+int64(i), r.Seq, "revocation %d of those after %d: the numbers have a gap", i, after)
		requireRecent(t, r.At, "At of revocation %d", r.Seq)
		out = append(out, revoked{r.UserID, r.SessionID})
	}
	return out
}

// requireRecent requires t to be a time of the real clock, give or take a
// minute: a store may stamp At with the database server's clock.
func requireRecent(t *testing.T, at time.Time, msgAndArgs ...any) {
	t.Helper()
	require.WithinDuration(t, time.Now(), at, time.Minute, msgAndArgs...)
}

// requireLogged requires the revocations after after to be want, in order,
// numbered from after+1 with no gap, and LastRevocation to be the last of
// them; it returns that Seq.
func requireLogged(t *testing.T, s revocationStore, after int64, step string, want ...revoked) int64 {
	t.Helper()
	if want == nil {
		want = []revoked{}
	}
	require.Equal(t, want, logSince(t, s, after), "the revocations logged by %s", step)
	last, err := s.LastRevocation(context.Background())
	require.NoError(t, err)
	require.Equal(t, after+int64(len(want)), last, "LastRevocation after %s", step)
	return last
}

// lastRevocation returns LastRevocation, which must not be negative.
func lastRevocation(t *testing.T, s revocationStore) int64 {
	t.Helper()
	last, err := s.LastRevocation(context.Background())
	require.NoError(t, err)
	require.GreaterOrEqual(t, last, int64(0))
	return last
}

// Each of the four changes logs what the contract says, and only when it
// changed something; the other writes log nothing.
func testRevocationsLogged(t *testing.T, s revocationStore) {
	ctx := context.Background()
	last := lastRevocation(t, s)

	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	createUser(t, s, "u3", "")
	for _, id := range []string{"s1", "s2", "s3"} {
		createSession(t, s, id, "u1", at(0))
	}
	createSession(t, s, "s4", "u2", at(0))
	createToken(t, s, "t1", "u1", authkit.PurposeMagicLink)
	require.NoError(t, s.TouchSession(ctx, "s1", at(time.Hour)))
	_, err := s.ConsumeToken(ctx, authkit.PurposeMagicLink, "t1", at(time.Minute))
	require.NoError(t, err)
	last = requireLogged(t, s, last, "creating users, sessions and tokens, touching a session, spending a token")

	ok, err := s.DeleteSession(ctx, "u1", "s1")
	require.NoError(t, err)
	require.True(t, ok)
	last = requireLogged(t, s, last, "DeleteSession", revoked{"u1", "s1"})

	for _, c := range []struct{ user, session string }{{"u1", "s1"}, {"u1", "missing"}, {"u1", "s4"}} {
		ok, err := s.DeleteSession(ctx, c.user, c.session)
		require.NoError(t, err)
		require.False(t, ok)
		last = requireLogged(t, s, last, fmt.Sprintf("DeleteSession(%q, %q), which deleted nothing", c.user, c.session))
	}

	require.NoError(t, s.DeleteUserSessions(ctx, "u1", "s3"))
	last = requireLogged(t, s, last, "DeleteUserSessions", revoked{"u1", ""})
	require.NoError(t, s.DeleteUserSessions(ctx, "u3", ""))
	last = requireLogged(t, s, last, "DeleteUserSessions of a user without sessions", revoked{"u3", ""})

	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{Name: ptr("Ann")}})
	require.NoError(t, err)
	last = requireLogged(t, s, last, "UpdateUser of a name", revoked{"u1", ""})
	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{LastLoginAt: ptr(at(5 * time.Hour))}})
	require.NoError(t, err)
	last = requireLogged(t, s, last, "UpdateUser of LastLoginAt alone")
	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{})
	require.NoError(t, err)
	last = requireLogged(t, s, last, "UpdateUser that names no field")
	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
		LastLoginAt: ptr(at(6 * time.Hour)), Stamp: ptr("new"),
	}, KeepSession: "s3"})
	require.NoError(t, err)
	last = requireLogged(t, s, last, "UpdateUser of LastLoginAt and a stamp", revoked{"u1", ""})

	require.NoError(t, s.DeleteUser(ctx, "u2"))
	requireLogged(t, s, last, "DeleteUser", revoked{"u2", ""})
}

// An UpdateUser that names any field but LastLoginAt logs the user, one
// field at a time.
func testRevocationsOfEveryField(t *testing.T, s revocationStore) {
	ctx := context.Background()
	u := createUser(t, s, "u1", "+15555550001")
	last := lastRevocation(t, s)
	for _, field := range userFields {
		field.value(&u, 1)
		var set authkit.UserFields
		field.named(&set, u)
		_, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: set})
		require.NoError(t, err, field.name)
		if field.name == "LastLoginAt" {
			last = requireLogged(t, s, last, "UpdateUser of "+field.name)
		} else {
			last = requireLogged(t, s, last, "UpdateUser of "+field.name, revoked{"u1", ""})
		}
	}
}

// A change that fails logs nothing and takes no number: the next one that
// succeeds takes the number after the last.
func testRevocationsOfFailedChanges(t *testing.T, s revocationStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	createSession(t, s, "s1", "u1", at(0))
	last := lastRevocation(t, s)

	_, err := s.UpdateUser(ctx, "missing", authkit.UserUpdate{Set: authkit.UserFields{Name: ptr("x")}})
	requireNotFound(t, err)
	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{
		Set: authkit.UserFields{Stamp: ptr("new")},
		If:  authkit.UserFields{Stamp: ptr("not the stamp")},
	})
	require.ErrorIs(t, err, authkit.ErrConflict)
	_, err = s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{
		Email: ptr("u2@example.com"), Stamp: ptr("new"),
	}, KeepSession: "s1"})
	requireDuplicate(t, err)
	requireNotFound(t, s.DeleteUser(ctx, "missing"))
	last = requireLogged(t, s, last, "UpdateUser and DeleteUser that failed")

	require.NoError(t, s.DeleteUserSessions(ctx, "u1", ""))
	requireLogged(t, s, last, "DeleteUserSessions after failed changes", revoked{"u1", ""})
}

// Revocations reads a page of up to limit, by Seq, after any Seq.
func testRevocationsPaged(t *testing.T, s revocationStore) {
	ctx := context.Background()
	const n = 25
	last := lastRevocation(t, s)
	for i := range n {
		require.NoError(t, s.DeleteUserSessions(ctx, fmt.Sprintf("u%02d", i), ""))
	}
	seqs := func(after int64, limit int) []int64 {
		t.Helper()
		page, err := s.Revocations(ctx, after, limit)
		require.NoError(t, err)
		out := []int64{}
		for _, r := range page {
			require.Equal(t, fmt.Sprintf("u%02d", r.Seq-last-1), r.UserID, "revocation %d", r.Seq)
			require.Empty(t, r.SessionID)
			out = append(out, r.Seq)
		}
		return out
	}
	span := func(from, to int64) []int64 {
		out := []int64{}
		for seq := from; seq <= to; seq++ {
			out = append(out, last+seq)
		}
		return out
	}
	require.Equal(t, span(1, 10), seqs(last, 10))
	require.Equal(t, span(11, 20), seqs(last+10, 10))
	require.Equal(t, span(21, 25), seqs(last+20, 10), "the last page is short")
	require.Empty(t, seqs(last+25, 10), "none after the last")
	require.Empty(t, seqs(last+100, 10), "none after a Seq not yet logged")
	require.Equal(t, span(4, 5), seqs(last+3, 2), "a page from the middle")
	require.Equal(t, span(1, 25), seqs(last, 100), "fewer than the limit")
	require.Empty(t, seqs(last, 0), "a limit of 0")
	got, err := s.LastRevocation(ctx)
	require.NoError(t, err)
	require.Equal(t, last+n, got)
}

// Writers that race on many users get distinct numbers with no gap, and a
// reader that reads the log meanwhile never finds a gap that a later read
// fills: a revocation shows once every one before it does.
func testRevocationsRaced(t *testing.T, s revocationStore) {
	const n = 20
	ctx := context.Background()
	for i := range n {
		createUser(t, s, fmt.Sprintf("u%02d", i), "")
		createSession(t, s, fmt.Sprintf("s%02d", i), fmt.Sprintf("u%02d", i), at(0))
	}
	start := lastRevocation(t, s)

	errs := make([]error, 2*n)
	writers := make([]func(), n)
	for i := range n {
		user := fmt.Sprintf("u%02d", i)
		writers[i] = func() {
			errs[2*i] = s.DeleteUserSessions(ctx, user, "")
			_, errs[2*i+1] = s.UpdateUser(ctx, user, authkit.UserUpdate{Set: authkit.UserFields{Stamp: ptr("raced")}})
		}
	}
	// The reader polls while the writers run, keeping what it saw.
	var (
		seen      []authkit.Revocation
		readErr   error
		done      = make(chan struct{})
		readerEnd sync.WaitGroup
	)
	readerEnd.Go(func() {
		after := start
		for {
			select {
			case <-done:
				return
			default:
			}
			page, err := s.Revocations(ctx, after, 1000)
			if err != nil {
				readErr = err
				return
			}
			seen = append(seen, page...)
			if len(page) > 0 {
				after = page[len(page)-1].Seq
			}
		}
	})
	Race(writers...)
	close(done)
	readerEnd.Wait()
	for i, err := range errs {
		require.NoError(t, err, "writer %d", i/2)
	}
	require.NoError(t, readErr)
	rest, err := s.Revocations(ctx, start+int64(len(seen)), 1000)
	require.NoError(t, err)
	seen = append(seen, rest...)

	perUser := map[string]int{}
	for i, r := range seen {
		require.Equal(t, start+1+int64(i), r.Seq, "the reader saw the revocations in order, none skipped, none twice")
		require.Empty(t, r.SessionID)
		perUser[r.UserID]++
	}
	require.Len(t, seen, 2*n)
	for i := range n {
		require.Equal(t, 2, perUser[fmt.Sprintf("u%02d", i)], "u%02d", i)
	}
	got, err := s.LastRevocation(ctx)
	require.NoError(t, err)
	require.Equal(t, start+2*n, got)
}

// A Cleaner deletes the revocations older than RevocationRetention by the
// store's real clock, and counts them; LastRevocation stays, and the
// numbers go on from it.
func testRevocationsExpire(t *testing.T, s revocationStore) {
	c, ok := s.(authkit.Cleaner)
	if !ok {
		t.Skip("the store is no authkit.Cleaner")
	}
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	last := lastRevocation(t, s)
	require.NoError(t, s.DeleteUserSessions(ctx, "u1", ""))
	_, err := s.UpdateUser(ctx, "u1", authkit.UserUpdate{Set: authkit.UserFields{Name: ptr("Ann")}})
	require.NoError(t, err)
	require.NoError(t, s.DeleteUser(ctx, "u2"))
	requireLogged(t, s, last, "the changes", revoked{"u1", ""}, revoked{"u1", ""}, revoked{"u2", ""})

	now := time.Now()
	n, err := c.DeleteExpired(ctx, now, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "revocations logged within RevocationRetention stay")
	require.Len(t, logSince(t, s, last), 3)

	later := time.Now().Add(2 * authkit.RevocationRetention)
	n, err = c.DeleteExpired(ctx, later, later.Add(-time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 3, n, "the revocations are counted with the records deleted")
	list, err := s.Revocations(ctx, last, 100)
	require.NoError(t, err)
	require.Empty(t, list, "revocations logged before now minus RevocationRetention are deleted")
	got, err := s.LastRevocation(ctx)
	require.NoError(t, err)
	require.Equal(t, last+3, got, "LastRevocation is the newest ever logged, deleted or not")

	require.NoError(t, s.DeleteUserSessions(ctx, "u1", ""))
	list, err = s.Revocations(ctx, last, 100)
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, authkit.Revocation{Seq: last + 4, UserID: "u1", At: list[0].At}, list[0],
		"the numbers go on after the deleted ones")
	requireRecent(t, list[0].At)
}
