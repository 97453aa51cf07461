package authkit

import (
	"context"
	"errors"
	"time"
)

// The helpers that the internal tests (package authkit) share: stub
// stores, limiters and senders.

// oneUserStore is enough of a Store for a sign-in by email: one user.
type oneUserStore struct {
	Store
	user User
}

func (s oneUserStore) UserByEmail(_ context.Context, email string) (User, error) {
	if email == s.user.Email {
		return s.user, nil
	}
	return User{}, ErrNotFound
}

func (oneUserStore) TokensBySubject(context.Context, TokenPurpose, string, time.Time) ([]Token, error) {
	return nil, nil
}

// oneUserStore and failingStore are limiters that never limit: every
// event is the first of its window.
func (oneUserStore) Hit(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 1, now.Add(w), nil
}

func (oneUserStore) Reset(context.Context, string) error { return nil }

// failingStore fails every user lookup by id, as a database that is down.
type failingStore struct {
	Store
}

func (failingStore) TokenByHash(context.Context, string, time.Time) (Token, error) {
	return Token{Purpose: PurposeMagicLink, UserID: "u1", Subject: "a@example.com"}, nil
}

func (failingStore) UserByID(context.Context, string) (User, error) {
	return User{}, errors.New("database is down")
}

func (failingStore) Hit(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 1, now.Add(w), nil
}

func (failingStore) Reset(context.Context, string) error { return nil }

// accountsStore is enough of a Store for a sign-in: users found by email
// and phone, and writes that succeed.
type accountsStore struct {
	Store
	PhoneStore
	users []User
}

func (s accountsStore) UserByEmail(_ context.Context, email string) (User, error) {
	for _, u := range s.users {
		if u.Email != "" && u.Email == email {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (s accountsStore) UserByPhone(_ context.Context, phone string) (User, error) {
	for _, u := range s.users {
		if u.Phone != "" && u.Phone == phone {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (s accountsStore) UpdateUser(_ context.Context, id string, up UserUpdate) (User, error) {
	for _, u := range s.users {
		if u.ID == id {
			up.Set.ApplyTo(&u)
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (accountsStore) CreateSession(context.Context, Session) error { return nil }

func (accountsStore) TokensBySubject(context.Context, TokenPurpose, string, time.Time) ([]Token, error) {
	return nil, nil
}

// neverLimited is a Limiter under which nothing is ever limited.
type neverLimited struct{}

func (neverLimited) Hit(_ context.Context, _ string, window time.Duration, now time.Time) (int64, time.Time, error) {
	return 1, now.Add(window), nil
}

func (neverLimited) Reset(context.Context, string) error { return nil }

// nopMailer takes every email and sends none.
type nopMailer struct{}

func (nopMailer) SendEmail(context.Context, Email) error { return nil }

// nopTexter takes every text and sends none.
type nopTexter struct{}

func (nopTexter) SendSMS(context.Context, SMS) error { return nil }
