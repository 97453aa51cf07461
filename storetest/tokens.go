package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The cases on [authkit.TokenStore].

func testTokenByHash(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	want := createToken(t, s, "h1", "u1", authkit.PurposeGrant)

	for range 3 {
		got, err := s.TokenByHash(ctx, "h1", at(time.Minute))
		require.NoError(t, err)
		requireSameToken(t, want, got)
	}
	got, err := s.ConsumeToken(ctx, authkit.PurposeGrant, "h1", at(time.Minute))
	require.NoError(t, err, "TokenByHash must not spend the token")
	requireSameToken(t, want, got)

	_, err = s.TokenByHash(ctx, "missing", at(time.Minute))
	requireNotFound(t, err)
}

func testConsumeTokenOnce(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	want := createToken(t, s, "h1", "u1", authkit.PurposeMagicLink)

	got, err := s.ConsumeToken(ctx, authkit.PurposeMagicLink, "h1", at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, want, got)

	_, err = s.ConsumeToken(ctx, authkit.PurposeMagicLink, "h1", at(time.Minute))
	requireNotFound(t, err, "spent token")
	_, err = s.TokenByHash(ctx, "h1", at(time.Minute))
	requireNotFound(t, err, "spent token")
	_, err = s.ConsumeToken(ctx, authkit.PurposeMagicLink, "missing", at(time.Minute))
	requireNotFound(t, err, "missing token")
}

func testConsumeTokenWrongPurpose(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createToken(t, s, "h1", "u1", authkit.PurposeResetPassword)

	_, err := s.ConsumeToken(ctx, authkit.PurposeMagicLink, "h1", at(time.Minute))
	requireNotFound(t, err)
	require.True(t, tokenExists(t, s, "h1"), "a token asked for with another purpose stays")

	_, err = s.ConsumeToken(ctx, authkit.PurposeResetPassword, "h1", at(time.Minute))
	require.NoError(t, err)
}

func testTokenExpiry(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	tok := createToken(t, s, "h1", "u1", authkit.PurposeMagicLink)
	exp := tok.ExpiresAt

	_, err := s.TokenByHash(ctx, "h1", exp.Add(-time.Millisecond))
	require.NoError(t, err, "just before expiry")
	_, err = s.TokenByHash(ctx, "h1", exp)
	requireNotFound(t, err, "at expiry")
	_, err = s.TokenByHash(ctx, "h1", exp.Add(time.Hour))
	requireNotFound(t, err, "after expiry")
	_, err = s.TokenByHash(ctx, "h1", base.Add(-time.Hour))
	require.NoError(t, err, "an earlier now")

	_, err = s.ConsumeToken(ctx, authkit.PurposeMagicLink, "h1", exp)
	requireNotFound(t, err, "consumed at expiry")

	createToken(t, s, "h2", "u2", authkit.PurposeMagicLink)
	_, err = s.ConsumeToken(ctx, authkit.PurposeMagicLink, "h2", exp.Add(time.Hour))
	requireNotFound(t, err, "consumed after expiry")

	createToken(t, s, "h3", "u1", authkit.PurposeGrant)
	_, err = s.ConsumeToken(ctx, authkit.PurposeGrant, "h3", exp.Add(-time.Millisecond))
	require.NoError(t, err, "consumed just before expiry")
}

func testCreateTokenVoids(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	createToken(t, s, "old-reset", "u1", authkit.PurposeResetPassword)
	createToken(t, s, "u1-magic", "u1", authkit.PurposeMagicLink)
	createToken(t, s, "u2-reset", "u2", authkit.PurposeResetPassword)

	createToken(t, s, "new-reset", "u1", authkit.PurposeResetPassword)

	require.False(t, tokenExists(t, s, "old-reset"), "older token of the same user and purpose")
	_, err := s.ConsumeToken(ctx, authkit.PurposeResetPassword, "old-reset", at(time.Minute))
	requireNotFound(t, err, "older token of the same user and purpose")
	require.True(t, tokenExists(t, s, "new-reset"), "the new token")
	require.True(t, tokenExists(t, s, "u1-magic"), "same user, other purpose")
	require.True(t, tokenExists(t, s, "u2-reset"), "same purpose, other user")
}

func testCreateTokenDuplicate(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	u1Reset := createToken(t, s, "h1", "u1", authkit.PurposeResetPassword)
	u2Magic := createToken(t, s, "h2", "u2", authkit.PurposeMagicLink)

	// Taken hash: refused, and the voiding of u1's reset token must not
	// happen either.
	dup := newToken("h2", "u1", authkit.PurposeResetPassword)
	requireDuplicate(t, s.CreateToken(ctx, dup))

	got, err := s.TokenByHash(ctx, "h1", at(time.Minute))
	require.NoError(t, err, "a refused token voids nothing")
	requireSameToken(t, u1Reset, got)
	got, err = s.TokenByHash(ctx, "h2", at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, u2Magic, got)
}

func testDeleteUserTokens(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createUser(t, s, "u2", "")
	createToken(t, s, "u1-reset", "u1", authkit.PurposeResetPassword)
	createToken(t, s, "u1-magic", "u1", authkit.PurposeMagicLink)
	createToken(t, s, "u1-confirm", "u1", authkit.PurposeConfirmEmail)
	createToken(t, s, "u2-reset", "u2", authkit.PurposeResetPassword)

	require.NoError(t, s.DeleteUserTokens(ctx, "u1", authkit.PurposeResetPassword, authkit.PurposeMagicLink))
	require.False(t, tokenExists(t, s, "u1-reset"))
	require.False(t, tokenExists(t, s, "u1-magic"))
	require.True(t, tokenExists(t, s, "u1-confirm"), "a purpose not named stays")
	require.True(t, tokenExists(t, s, "u2-reset"), "another user's token stays")

	require.NoError(t, s.DeleteUserTokens(ctx, "nobody", authkit.PurposeGrant), "a user without tokens")
}

func testConsumeTokenRaced(t *testing.T, s authkit.Store) {
	const n = 50
	ctx := context.Background()
	createUser(t, s, "u1", "")
	createToken(t, s, "h1", "u1", authkit.PurposeGrant)

	start := make(chan struct{})
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			_, errs[i] = s.ConsumeToken(ctx, authkit.PurposeGrant, "h1", at(time.Minute))
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()

	wins := 0
	for i, err := range errs {
		if err == nil {
			wins++
			continue
		}
		requireNotFound(t, err, "goroutine %d", i)
	}
	require.Equal(t, 1, wins, "exactly one of %d racing consumers gets the token", n)
}

// The kit spends an OAuth state by creating a token keyed by its hash
// (with no user): CreateToken refusing a taken hash is the single use, so
// of many racing creators of one hash exactly one may succeed, and every
// other must get ErrDuplicate, not another error.
func testCreateTokenRaced(t *testing.T, s authkit.Store) {
	const n = 50
	ctx := context.Background()
	errs := make([]error, n)
	fns := make([]func(), n)
	for i := range n {
		fns[i] = func() {
			tok := newToken("state-hash", "", authkit.PurposeOAuthState)
			tok.Subject = fmt.Sprint("racer-", i)
			errs[i] = s.CreateToken(ctx, tok)
		}
	}
	Race(fns...)
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "racers %d and %d both created the token", winner, i)
			winner = i
			continue
		}
		requireDuplicate(t, err, "racer %d", i)
	}
	require.NotEqual(t, -1, winner, "one of %d racing creators stores the token", n)
	got, err := s.TokenByHash(ctx, "state-hash", at(time.Minute))
	require.NoError(t, err)
	require.Equal(t, fmt.Sprint("racer-", winner), got.Subject, "the token stored is the winner's")
}

// Many users asking for links at once (a wave of sign-ups) must all get
// them: the voiding of older tokens must not make concurrent creations
// fail or deadlock one another.
func testCreateTokensConcurrently(t *testing.T, s authkit.Store) {
	const n = 30
	ctx := context.Background()
	for i := range n {
		createUser(t, s, fmt.Sprintf("u%02d", i), "")
	}
	errs := make([]error, n)
	start := make(chan struct{})
	var done sync.WaitGroup
	for i := range n {
		done.Go(func() {
			<-start
			user := fmt.Sprintf("u%02d", i)
			for round := range 3 {
				tok := newToken(fmt.Sprintf("%s-%d", user, round), user, authkit.PurposeConfirmEmail)
				if err := s.CreateToken(ctx, tok); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	close(start)
	done.Wait()
	for i, err := range errs {
		require.NoError(t, err, "user %d", i)
		require.True(t, tokenExists(t, s, fmt.Sprintf("u%02d-2", i)), "user %d's newest token", i)
		require.False(t, tokenExists(t, s, fmt.Sprintf("u%02d-1", i)), "user %d's older token", i)
	}
}

// dataCase is a Data a token round-trips.
type dataCase struct {
	name string
	data []byte
}

// tokenData returns the Data the cases round-trip: none, a few bytes that
// are no text (a store must not keep them as a string), and the most a
// store must keep, with every byte value in it.
func tokenData() []dataCase {
	largest := make([]byte, authkit.MaxTokenData)
	for i := range largest {
		largest[i] = byte(i * 7)
	}
	return []dataCase{
		{"nil", nil},
		{"empty", []byte{}},
		{"some bytes", []byte("\x00{\"next\":\"/after\"}\xff\xfe")},
		{"MaxTokenData bytes", largest},
	}
}

// scribble changes every byte of b: a store that kept or handed out b's
// memory, rather than a copy, shows the change.
func scribble(b []byte) {
	for i := range b {
		b[i]++
	}
}

func testTokenData(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	for i, c := range tokenData() {
		t.Run(c.name, func(t *testing.T) {
			user := fmt.Sprint("u", i)
			createUser(t, s, user, "")
			in := slices.Clone(c.data)
			want := newToken("h-"+user, user, authkit.PurposeMagicLink)
			want.Data = in
			require.NoError(t, s.CreateToken(ctx, want))
			want.Data = c.data
			// Changing the slice passed in changes nothing stored.
			scribble(in)

			got, err := s.TokenByHash(ctx, want.Hash, at(time.Minute))
			require.NoError(t, err)
			requireSameToken(t, want, got)
			// Nor does changing the one returned.
			scribble(got.Data)
			got, err = s.TokenByHash(ctx, want.Hash, at(time.Minute))
			require.NoError(t, err)
			requireSameToken(t, want, got)

			got, err = s.ConsumeToken(ctx, authkit.PurposeMagicLink, want.Hash, at(time.Minute))
			require.NoError(t, err)
			requireSameToken(t, want, got)
		})
	}
}

func testTokensBySubject(t *testing.T, s authkit.Store) {
	ctx := context.Background()
	const email = "ann@example.com"
	got, err := s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, at(0))
	require.NoError(t, err)
	require.Empty(t, got, "none yet")

	// Three waiting sign-ups of one address (of no user yet: their user id
	// is empty), one of them with a later expiry; a token of another
	// purpose, and one of another subject.
	first := newCode("p1", "", email, authkit.PurposeConfirmEmail, at(0))
	first.ExpiresAt, first.Data = at(time.Hour), []byte(`{"first":true}`)
	second := newCode("p2", "", email, authkit.PurposeConfirmEmail, at(time.Second))
	tie := newCode("p3", "", email, authkit.PurposeConfirmEmail, at(time.Second))
	for _, tok := range []authkit.Token{first, second, tie,
		newCode("m1", "", email, authkit.PurposeMagicLink, at(2*time.Second)),
		newCode("o1", "", "bob@example.com", authkit.PurposeConfirmEmail, at(2*time.Second)),
	} {
		require.NoError(t, s.CreateToken(ctx, tok))
	}

	got, err = s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, at(time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 3)
	// Newest first; a tie in time goes to the greater hash.
	requireSameToken(t, tie, got[0])
	requireSameToken(t, second, got[1])
	requireSameToken(t, first, got[2])

	// Expired ones are left out; spent ones are gone.
	got, err = s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, second.ExpiresAt)
	require.NoError(t, err)
	require.Len(t, got, 1)
	requireSameToken(t, first, got[0])
	_, err = s.ConsumeToken(ctx, authkit.PurposeConfirmEmail, "p1", at(time.Minute))
	require.NoError(t, err)
	got, err = s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, second.ExpiresAt)
	require.NoError(t, err)
	require.Empty(t, got)

	// Changing what was returned changes nothing stored.
	got, err = s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, at(time.Minute))
	require.NoError(t, err)
	got[0].Subject = "changed"
	again, err := s.TokensBySubject(ctx, authkit.PurposeConfirmEmail, email, at(time.Minute))
	require.NoError(t, err)
	requireSameToken(t, tie, again[0])
}
