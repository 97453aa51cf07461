package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.SessionStore] and [authkit.SessionUserFinder].

func testSessionRoundTrip(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	want := createSession(t, s, "s1", "u1", at(time.Hour))

	got, err := s.SessionByTokenHash(ctx, want.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, want, got)

	list, err := s.ListSessions(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	requireSameSession(t, want, list[0])

	_, err = s.SessionByTokenHash(ctx, "no-such-hash")
	requireNotFound(t, err)
	_, err = s.SessionByTokenHash(ctx, "")
	requireNotFound(t, err)
}

func testCreateSessionDuplicates(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	orig := createSession(t, s, "s1", "u1", at(0))

	sameHash := newSession("s2", "u1", at(time.Minute))
	sameHash.TokenHash = orig.TokenHash
	requireDuplicate(t, s.CreateSession(ctx, sameHash), "same token hash")

	sameID := newSession("s1", "u1", at(time.Minute))
	sameID.TokenHash = "hash-other"
	requireDuplicate(t, s.CreateSession(ctx, sameID), "same id")
	_, err := s.SessionByTokenHash(ctx, "hash-other")
	requireNotFound(t, err, "token hash of the refused session")

	require.Equal(t, []string{"s1"}, sessionIDs(t, s, "u1"))
	got, err := s.SessionByTokenHash(ctx, orig.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, orig, got)
}

func testListSessions(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	// Created out of order; s-b and s-a share a CreatedAt and sort by ID.
	createSession(t, s, "s-c", "u1", at(3*time.Hour))
	createSession(t, s, "s-b", "u1", at(2*time.Hour))
	createSession(t, s, "other", "u2", at(time.Hour))
	createSession(t, s, "s-a", "u1", at(2*time.Hour))
	createSession(t, s, "s-d", "u1", at(time.Hour+time.Millisecond))

	require.Equal(t, []string{"s-d", "s-a", "s-b", "s-c"}, sessionIDs(t, s, "u1"))
	require.Equal(t, []string{"other"}, sessionIDs(t, s, "u2"))

	list, err := s.ListSessions(ctx, "nobody")
	require.NoError(t, err)
	require.Empty(t, list)
}

func testTouchSession(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	want := createSession(t, s, "s1", "u1", at(0))

	want.LastSeenAt = at(5*time.Hour + 250*time.Millisecond)
	require.NoError(t, s.TouchSession(ctx, "s1", want.LastSeenAt))
	got, err := s.SessionByTokenHash(ctx, want.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, want, got)

	require.NoError(t, s.TouchSession(ctx, "missing", at(time.Hour)), "missing session is a no-op")
	require.Equal(t, []string{"s1"}, sessionIDs(t, s, "u1"))
}

func testDeleteSession(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	sess := createSession(t, s, "s1", "u1", at(0))

	ok, err := s.DeleteSession(ctx, "u2", "s1")
	require.NoError(t, err)
	require.False(t, ok, "another user's session")
	_, err = s.SessionByTokenHash(ctx, sess.TokenHash)
	require.NoError(t, err, "another user's session must stay")

	ok, err = s.DeleteSession(ctx, "u1", "s1")
	require.NoError(t, err)
	require.True(t, ok, "own session")
	_, err = s.SessionByTokenHash(ctx, sess.TokenHash)
	requireNotFound(t, err, "deleted session")
	require.Empty(t, sessionIDs(t, s, "u1"))

	ok, err = s.DeleteSession(ctx, "u1", "s1")
	require.NoError(t, err)
	require.False(t, ok, "deleted twice")
	ok, err = s.DeleteSession(ctx, "u1", "missing")
	require.NoError(t, err)
	require.False(t, ok, "missing session")
}

func testDeleteUserSessions(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	for i, id := range []string{"s1", "s2", "s3"} {
		createSession(t, s, id, "u1", at(time.Duration(i)*time.Minute))
	}
	other := createSession(t, s, "other", "u2", at(0))

	require.NoError(t, s.DeleteUserSessions(ctx, "u1", "s2"))
	require.Equal(t, []string{"s2"}, sessionIDs(t, s, "u1"))
	for _, id := range []string{"s1", "s3"} {
		_, err := s.SessionByTokenHash(ctx, "hash-"+id)
		requireNotFound(t, err, id)
	}
	_, err := s.SessionByTokenHash(ctx, "hash-s2")
	require.NoError(t, err, "the excepted session stays")

	require.NoError(t, s.DeleteUserSessions(ctx, "u1", ""))
	require.Empty(t, sessionIDs(t, s, "u1"))
	_, err = s.SessionByTokenHash(ctx, "hash-s2")
	requireNotFound(t, err)

	require.Equal(t, []string{"other"}, sessionIDs(t, s, "u2"), "another user's sessions stay")
	_, err = s.SessionByTokenHash(ctx, other.TokenHash)
	require.NoError(t, err)

	require.NoError(t, s.DeleteUserSessions(ctx, "nobody", ""), "a user without sessions")
}

func testSessionAndUser(t *testing.T, s sessionUserStore) {
	ctx := context.Background()
	u := createUser(t, s, "u1", "+15550000001")
	createUser(t, s, "u2", "")
	// The session's stamp differs from its user's: a store that reads one
	// for the other shows.
	want := newSession("s1", "u1", at(0))
	want.Stamp = "stamp-before"
	require.NoError(t, s.CreateSession(ctx, want))
	other := createSession(t, s, "s2", "u2", at(0))

	sess, user, err := s.SessionAndUser(ctx, want.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, want, sess)
	requireSameUser(t, u, user)

	// Changing what was returned changes nothing stored.
	user.Name = "changed"
	user.Profile["age"][0] = '9'
	user.Profile["new"] = json.RawMessage(`1`)
	sess.UserID, sess.Stamp = "u2", "changed"
	sess, user, err = s.SessionAndUser(ctx, want.TokenHash)
	require.NoError(t, err)
	requireSameSession(t, want, sess)
	requireSameUser(t, u, user)

	_, _, err = s.SessionAndUser(ctx, "missing")
	requireNotFound(t, err)
	_, err = s.DeleteSession(ctx, "u1", "s1")
	require.NoError(t, err)
	_, _, err = s.SessionAndUser(ctx, want.TokenHash)
	requireNotFound(t, err, "a deleted session")
	require.NoError(t, s.DeleteUser(ctx, "u2"))
	_, _, err = s.SessionAndUser(ctx, other.TokenHash)
	requireNotFound(t, err, "the session of a deleted user")
}
