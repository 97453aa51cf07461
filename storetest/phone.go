package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.PhoneStore]: users found by phone, and codes found
// by the number they were sent to and tried a bounded number of times.

// newCode returns a phone code token sent to phone, created at created.
func newCode(hash, userID, phone string, purpose authkit.TokenPurpose, created time.Time) authkit.Token {
	return authkit.Token{
		Hash:      hash,
		Purpose:   purpose,
		UserID:    userID,
		Subject:   phone,
		Stamp:     "stamp-" + userID,
		CreatedAt: created,
		ExpiresAt: created.Add(5 * time.Minute),
	}
}

func testUserByPhone(t *testing.T, s phoneStore) {
	ctx := context.Background()
	want := createUser(t, s, "u1", "+15555550001")
	createUser(t, s, "u2", "")

	got, err := s.UserByPhone(ctx, "+15555550001")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	// Changing what was returned changes nothing stored.
	got.Name = "changed"
	got.Phone = "+15555550009"
	got.Profile["age"][0] = '9'
	got.Profile["new"] = json.RawMessage(`1`)
	got, err = s.UserByPhone(ctx, "+15555550001")
	require.NoError(t, err)
	requireSameUser(t, want, got)

	_, err = s.UserByPhone(ctx, "+15555550002")
	requireNotFound(t, err, "a phone no one has")
	_, err = s.UserByPhone(ctx, "")
	requireNotFound(t, err, "empty phone, which u2 has")
}

func testLatestToken(t *testing.T, s phoneStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	createUser(t, s, "u2", "+15550000002")
	const phone = "+15555555555"

	_, err := s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(0))
	requireNotFound(t, err, "no token yet")

	// Two users' pending changes to one number: the newest wins the lookup.
	first := newCode("c1", "u1", phone, authkit.PurposeChangePhone, at(0))
	first.ExpiresAt = at(10 * time.Minute) // outlives the newer one
	require.NoError(t, s.CreateToken(ctx, first))
	second := newCode("c2", "u2", phone, authkit.PurposeChangePhone, at(time.Second))
	require.NoError(t, s.CreateToken(ctx, second))
	other := newCode("c3", "u1", phone, authkit.PurposeSignInCode, at(2*time.Second))
	require.NoError(t, s.CreateToken(ctx, other))

	got, err := s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, second, got)
	got, err = s.LatestToken(ctx, authkit.PurposeSignInCode, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, other, got)
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, "+15550000009", at(time.Minute))
	requireNotFound(t, err, "another subject")

	// Expired tokens are passed over.
	got, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, second.ExpiresAt)
	require.NoError(t, err)
	requireSameToken(t, first, got)
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, first.ExpiresAt)
	requireNotFound(t, err, "both expired")

	// Spent: the next newest is found.
	_, err = s.ConsumeToken(ctx, authkit.PurposeChangePhone, "c2", at(time.Minute))
	require.NoError(t, err)
	got, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, first, got)

	// Voided by a newer token of its user: gone from the lookup too.
	require.NoError(t, s.CreateToken(ctx, newCode("c4", "u1", "+15550000003", authkit.PurposeChangePhone, at(3*time.Second))))
	_, err = s.LatestToken(ctx, authkit.PurposeChangePhone, phone, at(time.Minute))
	requireNotFound(t, err, "voided token")
}

func testLatestTokenData(t *testing.T, s phoneStore) {
	ctx := context.Background()
	for i, c := range tokenData() {
		t.Run(c.name, func(t *testing.T) {
			user, phone := fmt.Sprint("u", i), fmt.Sprintf("+155555500%02d", i)
			createUser(t, s, user, phone)
			in := slices.Clone(c.data)
			code := newCode("c-"+user, user, phone, authkit.PurposeSignInCode, at(0))
			code.Data = in
			require.NoError(t, s.CreateToken(ctx, code))
			code.Data = c.data
			scribble(in)

			got, err := s.LatestToken(ctx, authkit.PurposeSignInCode, phone, at(time.Minute))
			require.NoError(t, err)
			requireSameToken(t, code, got)
			scribble(got.Data)
			got, err = s.LatestToken(ctx, authkit.PurposeSignInCode, phone, at(time.Minute))
			require.NoError(t, err)
			requireSameToken(t, code, got)
		})
	}
}

func testClaimAttempt(t *testing.T, s phoneStore) {
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	code := newCode("c1", "u1", "+15550000001", authkit.PurposeSignInCode, at(0))
	require.NoError(t, s.CreateToken(ctx, code))

	for i := 1; i <= 3; i++ {
		ok, err := s.ClaimAttempt(ctx, "c1", 3, at(time.Minute))
		require.NoError(t, err)
		require.True(t, ok, "attempt %d of 3", i)
		got, err := s.TokenByHash(ctx, "c1", at(time.Minute))
		require.NoError(t, err)
		require.Equal(t, i, got.Attempts, "attempts counted")
	}
	ok, err := s.ClaimAttempt(ctx, "c1", 3, at(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "a fourth attempt with max 3")
	ok, err = s.ClaimAttempt(ctx, "c1", 4, at(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "the bound is the caller's")

	require.NoError(t, s.CreateToken(ctx, newCode("c2", "", "+15550000002", authkit.PurposeSignInCode, at(0))))
	ok, err = s.ClaimAttempt(ctx, "c2", 5, at(5*time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "an expired token")
	ok, err = s.ClaimAttempt(ctx, "missing", 5, at(time.Minute))
	require.NoError(t, err)
	require.False(t, ok, "a missing token")

	// The count survives a consume attempt of another purpose.
	got, err := s.TokenByHash(ctx, "c1", at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 4, got.Attempts)
}

func testClaimAttemptRaced(t *testing.T, s phoneStore) {
	const n, max = 50, 5
	ctx := context.Background()
	createUser(t, s, "u1", "+15550000001")
	require.NoError(t, s.CreateToken(ctx, newCode("c1", "u1", "+15550000001", authkit.PurposeSignInCode, at(0))))

	start := make(chan struct{})
	var wins atomic.Int32
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	errs := make([]error, n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			ok, err := s.ClaimAttempt(ctx, "c1", max, at(time.Minute))
			errs[i] = err
			if ok {
				wins.Add(1)
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	for i, err := range errs {
		require.NoError(t, err, "goroutine %d", i)
	}
	require.EqualValues(t, max, wins.Load(), "exactly max of %d racing claims win", n)
}
