package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// Cases of authkit.UserLister.

// Every user is yielded once, as stored, across as many pages as a store
// reads them in; a deleted one is not, and the store may be used while the
// caller handles a user.
func testAllUsers(t *testing.T, s listerStore) {
	ctx := t.Context()
	for range s.AllUsers(ctx) {
		t.Fatal("an empty store yields no user")
	}
	want := map[string]authkit.User{}
	for i := range 300 {
		u := newUser(fmt.Sprintf("u%03d", i), fmt.Sprintf("u%03d@example.com", i), "")
		require.NoError(t, s.CreateUser(ctx, u))
		want[u.ID] = u
	}
	require.NoError(t, s.DeleteUser(ctx, "u150"))
	delete(want, "u150")
	seen := map[string]bool{}
	for u, err := range s.AllUsers(ctx) {
		require.NoError(t, err)
		require.False(t, seen[u.ID], "%s yielded twice", u.ID)
		require.Contains(t, want, u.ID)
		seen[u.ID] = true
		requireSameUser(t, want[u.ID], u)
		again, err := s.UserByID(ctx, u.ID) // the store works meanwhile
		require.NoError(t, err)
		requireSameUser(t, again, u)
	}
	require.Len(t, seen, len(want))
}

// A caller that stops early stops the sequence.
func testAllUsersStops(t *testing.T, s listerStore) {
	ctx := t.Context()
	for _, id := range []string{"a", "b", "c"} {
		createUser(t, s, id, "")
	}
	n := 0
	for _, err := range s.AllUsers(ctx) {
		require.NoError(t, err)
		n++
		if n == 2 {
			break
		}
	}
	require.Equal(t, 2, n)
}

// listIDs returns the ids of the page ListUsers(after, limit) returns,
// after requiring each user as stored.
func listIDs(t *testing.T, s listerStore, want map[string]authkit.User, after string, limit int) []string {
	t.Helper()
	page, err := s.ListUsers(t.Context(), after, limit)
	require.NoError(t, err, "ListUsers(%q, %d)", after, limit)
	ids := []string{}
	for _, u := range page {
		require.Contains(t, want, u.ID, "ListUsers(%q, %d)", after, limit)
		requireSameUser(t, want[u.ID], u)
		ids = append(ids, u.ID)
	}
	return ids
}

// A listing goes by id, byte for byte (upper case before lower, a prefix
// before what it prefixes, ASCII before the rest), a page at a time: a page
// ends at limit, the last id of a page continues it, and after may be an
// id that no user has.
func testListUsers(t *testing.T, s listerStore) {
	ctx := t.Context()
	want := map[string]authkit.User{}
	for _, after := range []string{"", "a", "\U0010FFFF"} {
		require.Empty(t, listIDs(t, s, want, after, 10), "an empty store, after %q", after)
	}

	// Created out of order; in byte order they are U1 a a1 a10 a2 b é.
	for _, id := range []string{"b", "a10", "é", "U1", "a", "a2", "a1", "gone"} {
		want[id] = createUser(t, s, id, "")
	}
	require.NoError(t, s.DeleteUser(ctx, "gone"))
	delete(want, "gone")

	require.Equal(t, []string{"U1", "a", "a1"}, listIDs(t, s, want, "", 3), "the first page")
	require.Equal(t, []string{"a10", "a2", "b"}, listIDs(t, s, want, "a1", 3), "the second page")
	require.Equal(t, []string{"é"}, listIDs(t, s, want, "b", 3), "the last page, short")
	require.Empty(t, listIDs(t, s, want, "é", 3), "after the last")

	require.Equal(t, []string{"U1", "a", "a1", "a10", "a2", "b", "é"}, listIDs(t, s, want, "", 100), "a page bigger than the listing")
	require.Equal(t, []string{"U1"}, listIDs(t, s, want, "", 1))
	require.Equal(t, []string{"a", "a1"}, listIDs(t, s, want, "Z", 2), "after no user's id, between U1 and a")
	require.Equal(t, []string{"a1", "a10"}, listIDs(t, s, want, "a0", 2), "after no user's id, between a and a1")
	require.Equal(t, []string{"a2", "b"}, listIDs(t, s, want, "a15", 2), "after no user's id, between a10 and a2")
	require.Equal(t, []string{"é"}, listIDs(t, s, want, "gone", 2), "after a deleted user's id")

	// Changing what was returned changes nothing stored.
	page, err := s.ListUsers(ctx, "", 2)
	require.NoError(t, err)
	for i := range page {
		page[i].Name = "changed"
		page[i].Profile["age"][0] = '9'
		changeHostFields(&page[i])
	}
	require.Equal(t, []string{"U1", "a"}, listIDs(t, s, want, "", 2))
}
