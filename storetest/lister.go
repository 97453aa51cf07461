package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
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
	want := map[string]bool{}
	for i := range 300 {
		u := newUser(fmt.Sprintf("u%03d", i), fmt.Sprintf("u%03d@example.com", i), "")
		require.NoError(t, s.CreateUser(ctx, u))
		want[u.ID] = true
	}
	require.NoError(t, s.DeleteUser(ctx, "u150"))
	delete(want, "u150")
	seen := map[string]bool{}
	for u, err := range s.AllUsers(ctx) {
		require.NoError(t, err)
		require.False(t, seen[u.ID], "%s yielded twice", u.ID)
		seen[u.ID] = true
		again, err := s.UserByID(ctx, u.ID) // the store works meanwhile
		require.NoError(t, err)
		requireSameUser(t, again, u)
	}
	require.Equal(t, want, seen)
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
