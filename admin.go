package authkit

// The admin operations: the app's hand on its users, from Go only. The
// kit serves none of them over HTTP.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/authkit/authkit/internal/password"
)

var errUserNotFound = newError(CodeUserNotFound, "There is no such user.")

// ErrNoPhoneStore is in the error of [Kit.FindUser] given a phone number
// when the Store is no [PhoneStore] (test with errors.Is).
var ErrNoPhoneStore = errors.New("authkit: the Store does not implement authkit.PhoneStore")

// NewUser is an account the app makes with [Kit.CreateUser]: one it
// invites, or one it imports from another system.
type NewUser struct {
	Email         string // normalised as sign-up does; "" for none
	EmailVerified bool   // the app vouches for the address: no confirmation is asked
	Phone         string // any form signUpWithPhone takes; stored as E.164
	PhoneVerified bool
	Name          string
	// ProfilePicture is a URL.
	ProfilePicture string
	// Profile holds the app's profile fields, each a JSON value (the app
	// is not held to Config.ProfileFields; the kit's own field names are
	// refused all the same).
	Profile      map[string]json.RawMessage
	AccessGroups []string
	ServerData   map[string]json.RawMessage
	// Password is hashed as a sign-up's is, and must pass the same rules.
	// Or PasswordHash is an existing hash to keep (an import): an argon2id
	// PHC string or a bcrypt hash ($2a$, $2b$, $2y$), which the kit
	// upgrades to its own argon2id at the user's first sign-in. Set one or
	// neither (an account that signs in by link, code or provider).
	Password     string
	PasswordHash string
	// SignUpAt is when the account was made: now when zero (an import
	// keeps the original).
	SignUpAt time.Time
}

// CreateUser makes an account for the app. No hook runs (the app made it)
// and nothing is sent. An email or number that another account has is
// email_taken or phone_taken; an address given unverified can be taken
// by whoever proves it, as a sign-up's can (see the README's "Who owns an
// address").
func (k *Kit) CreateUser(ctx context.Context, n NewUser) (User, error) {
	now := k.clock()
	u := User{
		EmailVerified: n.EmailVerified, PhoneVerified: n.PhoneVerified,
		SignUpAt: now, LastLoginAt: now,
	}
	if !n.SignUpAt.IsZero() {
		u.SignUpAt = n.SignUpAt.UTC().Truncate(time.Millisecond)
	}
	var err error
	if n.Email != "" {
		if u.Email, err = k.normalizeEmail(n.Email); err != nil {
			return User{}, err
		}
	}
	if n.Phone != "" {
		if u.Phone, err = k.normalizePhone(n.Phone); err != nil {
			return User{}, err
		}
	}
	if n.Name != "" {
		if err := setName(&u, n.Name); err != nil {
			return User{}, err
		}
	}
	u.ProfilePicture = n.ProfilePicture
	if u.Profile, err = hostFields("Profile", n.Profile); err != nil {
		return User{}, err
	}
	if u.ServerData, err = hostFields("ServerData", n.ServerData); err != nil {
		return User{}, err
	}
	if u.AccessGroups, err = k.groupsOf(n.AccessGroups); err != nil {
		return User{}, err
	}
	switch {
	case n.Password != "" && n.PasswordHash != "":
		return User{}, newError(CodeBadRequest, "Give a password or a password hash, not both.")
	case n.Password != "":
		if err := k.checkPassword(ctx, n.Password); err != nil {
			return User{}, err
		}
		if err := k.newAccount(ctx, &u, n.Password); err != nil {
			return User{}, err
		}
	default:
		if n.PasswordHash != "" {
			if err := password.Check(n.PasswordHash); err != nil {
				return User{}, &Error{Code: CodeBadRequest, Message: "The password hash is neither an argon2id PHC string nor a bcrypt hash.", Err: err}
			}
		}
		if err := k.newAccount(ctx, &u, ""); err != nil {
			return User{}, err
		}
		u.PasswordHash = n.PasswordHash
	}
	taken := newError(CodeEmailTaken, "An account with this email exists already.")
	if err := k.store.CreateUser(ctx, u); errors.Is(err, ErrDuplicate) {
		if u.Phone != "" && u.Email == "" {
			taken = errPhoneTaken
		} else if u.Phone != "" {
			if _, held, _ := k.holder(ctx, kindEmail, u.Email); !held {
				taken = errPhoneTaken
			}
		}
		return User{}, taken
	} else if err != nil {
		return User{}, internalError(err)
	}
	k.event(ctx, "user created by the app", u.ID)
	u.PasswordHash = ""
	return u, nil
}

// hostFields checks fields the app sets (Profile, ServerData): each key a
// field name an app would use and none of the kit's own, each value JSON.
func hostFields(what string, m map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for key, v := range m {
		if !validProfileKey(key) || reservedFields[foldField(key)] || (what == "Profile" && (key == "name" || key == "profilePicture")) {
			return nil, newError(CodeInvalidUserData, fmt.Sprintf("%s cannot have a field named %q.", what, key))
		}
		if !json.Valid(v) {
			return nil, newError(CodeInvalidUserData, fmt.Sprintf("%s field %q is not JSON.", what, key))
		}
		out[key] = append(json.RawMessage(nil), v...)
	}
	return out, nil
}

// groupsOf checks access group keys the app gives.
func (k *Kit) groupsOf(keys []string) ([]string, error) {
	groups, err := accessGroups(keys)
	if err != nil {
		return nil, newError(CodeBadRequest, err.Error())
	}
	if len(groups) == 0 {
		return nil, nil
	}
	return groups, nil
}

// userByID is the user with that id, or user_not_found.
func (k *Kit) userByID(ctx context.Context, id string) (User, error) {
	u, err := k.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, internalError(err)
	}
	return u, nil
}

// User returns the user with that id, or user_not_found.
func (k *Kit) User(ctx context.Context, id string) (User, error) {
	u, err := k.userByID(ctx, id)
	u.PasswordHash = ""
	return u, err
}

// FindUser returns the user with that email or phone number, written in
// any form sign-in takes, or user_not_found.
func (k *Kit) FindUser(ctx context.Context, emailOrPhone string) (User, error) {
	var (
		u   User
		err error
	)
	if strings.Contains(emailOrPhone, "@") {
		email, nerr := k.normalizeEmail(emailOrPhone)
		if nerr != nil {
			return User{}, nerr
		}
		u, err = k.store.UserByEmail(ctx, email)
	} else {
		ps, ok := k.raw.(PhoneStore)
		if !ok {
			return User{}, internalError(ErrNoPhoneStore)
		}
		phone, nerr := k.normalizePhone(emailOrPhone)
		if nerr != nil {
			return User{}, nerr
		}
		u, err = k.bound.phoneStore(ps).UserByPhone(ctx, phone)
	}
	if errors.Is(err, ErrNotFound) {
		return User{}, errUserNotFound
	}
	if err != nil {
		return User{}, internalError(err)
	}
	u.PasswordHash = ""
	return u, nil
}

// MaxUsersPage is the most users one call of [Kit.ListUsers] returns.
const MaxUsersPage = 1000

// ListUsers returns a page of users, by id: up to limit (1 to
// MaxUsersPage) whose id sorts after after; "" starts at the first, and
// the last id of a page starts the next. Fewer than limit means the list
// ended. The Store must be a [UserLister] (memstore and sqlstore stores
// are), else the error wraps [ErrNoUserLister].
func (k *Kit) ListUsers(ctx context.Context, after string, limit int) ([]User, error) {
	l, ok := k.raw.(UserLister)
	if !ok {
		return nil, internalError(ErrNoUserLister)
	}
	if limit < 1 || limit > MaxUsersPage {
		return nil, newError(CodeBadRequest, fmt.Sprintf("A page holds 1 to %d users.", MaxUsersPage))
	}
	users, err := l.ListUsers(ctx, after, limit)
	if err != nil {
		return nil, internalError(err)
	}
	for i := range users {
		users[i].PasswordHash = ""
	}
	return users, nil
}

// SetPassword sets a user's password, as a reset does, without the old
// one: every session of the user ends, every link and code sent before
// is void, and Hooks.AfterPasswordChange runs (reset true). The new
// password must pass the password rules.
func (k *Kit) SetPassword(ctx context.Context, userID, newPassword string) error {
	if err := k.checkPassword(ctx, newPassword); err != nil {
		return err
	}
	h, err := k.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	u, err := k.endEverything(ctx, userID, UserFields{PasswordHash: &h})
	if err != nil {
		return err
	}
	k.event(ctx, "password set by the app", userID)
	k.noticePasswordChanged(ctx, u)
	k.afterPasswordChange(ctx, u, true)
	return nil
}

// endEverything writes set to the user with a new credential stamp, and
// deletes the user's sessions and outstanding links and codes, which the
// new stamp killed.
func (k *Kit) endEverything(ctx context.Context, userID string, set UserFields) (User, error) {
	stamp, err := k.newID()
	if err != nil {
		return User{}, internalError(err)
	}
	set.Stamp = &stamp
	u, err := k.updateUser(ctx, userID, UserUpdate{Set: set}, nil, errUserNotFound)
	if err != nil {
		return User{}, err
	}
	if err := k.endSessionsAndTokens(ctx, userID, ""); err != nil {
		return User{}, err
	}
	return u, nil
}

// SetAccessGroups makes the user a member of exactly these access groups.
// It takes effect on the user's next request: sessions read their user's
// groups as they authenticate.
func (k *Kit) SetAccessGroups(ctx context.Context, userID string, groups ...string) (User, error) {
	g, err := k.groupsOf(groups)
	if err != nil {
		return User{}, err
	}
	if g == nil {
		g = []string{}
	}
	u, err := k.updateUser(ctx, userID, UserUpdate{Set: UserFields{AccessGroups: &g}}, nil, errUserNotFound)
	if err != nil {
		return User{}, err
	}
	k.event(ctx, "access groups set by the app", userID)
	u.PasswordHash = ""
	return u, nil
}

// AddAccessGroups adds the user to these access groups, keeping the
// others; RemoveAccessGroups takes the user out of them. Each is one
// conditional write, so two apps' changes that race are both kept.
func (k *Kit) AddAccessGroups(ctx context.Context, userID string, groups ...string) (User, error) {
	return k.editGroups(ctx, userID, groups, func(have, g []string) []string { return append(have, g...) })
}

// RemoveAccessGroups takes the user out of these access groups; see
// AddAccessGroups.
func (k *Kit) RemoveAccessGroups(ctx context.Context, userID string, groups ...string) (User, error) {
	return k.editGroups(ctx, userID, groups, func(have, g []string) []string {
		return slices.DeleteFunc(have, func(x string) bool { return slices.Contains(g, x) })
	})
}

// editGroups writes edit(the user's groups, groups) if the user's groups
// are still the ones read, reading again when another write got there
// first.
func (k *Kit) editGroups(ctx context.Context, userID string, groups []string, edit func(have, g []string) []string) (User, error) {
	g, err := k.groupsOf(groups)
	if err != nil {
		return User{}, err
	}
	u, err := k.rewrite(ctx, userID, func(u User) (UserUpdate, error) {
		next, err := accessGroups(edit(slices.Clone(u.AccessGroups), g))
		if err != nil {
			return UserUpdate{}, internalError(err)
		}
		return UserUpdate{Set: UserFields{AccessGroups: &next}, If: UserFields{AccessGroups: &u.AccessGroups}}, nil
	})
	if err == nil {
		k.event(ctx, "access groups changed by the app", userID)
	}
	return u, err
}

// rewrite writes to the user what edit makes of the user as read, in a
// write whose If holds only while what edit read is unchanged; when
// another write got there first, it reads again (at most maxRaces
// times), so that no write undoes another.
func (k *Kit) rewrite(ctx context.Context, userID string, edit func(u User) (UserUpdate, error)) (User, error) {
	for range maxRaces {
		u, err := k.userByID(ctx, userID)
		if err != nil {
			return User{}, err
		}
		up, err := edit(u)
		if err != nil {
			return User{}, err
		}
		u, err = k.store.UpdateUser(ctx, userID, up)
		switch {
		case errors.Is(err, ErrConflict):
			continue
		case errors.Is(err, ErrNotFound):
			return User{}, errUserNotFound
		case err != nil:
			return User{}, internalError(err)
		}
		u.PasswordHash = ""
		return u, nil
	}
	return User{}, internalError(fmt.Errorf("authkit: user %s changed under %d writes in a row", userID, maxRaces))
}

// maxRaces bounds how often rewrite reads again.
const maxRaces = 10

// SetServerData replaces the user's server data: the app's data about the
// user, which no client can write (see [User.ServerData]).
func (k *Kit) SetServerData(ctx context.Context, userID string, data map[string]json.RawMessage) (User, error) {
	d, err := hostFields("ServerData", data)
	if err != nil {
		return User{}, err
	}
	if d == nil {
		d = map[string]json.RawMessage{}
	}
	u, err := k.updateUser(ctx, userID, UserUpdate{Set: UserFields{ServerData: &d}}, nil, errUserNotFound)
	u.PasswordHash = ""
	return u, err
}

// UpdateProfile writes profile fields of the user as a client would: only
// the fields Config.ProfileFields allows (the others are dropped and
// logged, or refused with StrictProfile), so that an app may pass on what
// its user typed. A field set to null is removed. Other profile fields are
// kept.
func (k *Kit) UpdateProfile(ctx context.Context, userID string, data map[string]any) (User, error) {
	var removed []string
	set := map[string]any{}
	for key, v := range data {
		if v == nil {
			removed = append(removed, key)
		} else {
			set[key] = v
		}
	}
	raw, err := userData(set)
	if err != nil {
		return User{}, err
	}
	return k.rewrite(ctx, userID, func(u User) (UserUpdate, error) {
		next := User{Name: u.Name, ProfilePicture: u.ProfilePicture, Profile: maps.Clone(u.Profile)}
		if err := k.applyUserData(ctx, &next, raw); err != nil {
			return UserUpdate{}, err
		}
		for _, key := range removed {
			switch {
			case !k.profile.fields[key]:
				if err := k.offList(ctx, key); err != nil {
					return UserUpdate{}, err
				}
			case key == "name":
				next.Name = ""
			case key == "profilePicture":
				next.ProfilePicture = ""
			default:
				delete(next.Profile, key)
			}
		}
		return UserUpdate{
			Set: UserFields{Name: &next.Name, ProfilePicture: &next.ProfilePicture, Profile: &next.Profile},
			If:  UserFields{Name: &u.Name, ProfilePicture: &u.ProfilePicture, Profile: &u.Profile},
		}, nil
	})
}

// DisableUser disables the user: their sessions end at once, on every
// instance that shares the Store, their links and codes are void, and
// they cannot sign in by any method (user_disabled, told only to whoever
// gives the right password, link or code) until EnableUser.
func (k *Kit) DisableUser(ctx context.Context, userID string) error {
	disabled := true
	if _, err := k.endEverything(ctx, userID, UserFields{Disabled: &disabled}); err != nil {
		return err
	}
	k.event(ctx, "user disabled by the app", userID)
	return nil
}

// EnableUser lets a disabled user sign in again. The sessions they had
// stay ended.
func (k *Kit) EnableUser(ctx context.Context, userID string) error {
	enabled := false
	if _, err := k.updateUser(ctx, userID, UserUpdate{Set: UserFields{Disabled: &enabled}}, nil, errUserNotFound); err != nil {
		return err
	}
	k.event(ctx, "user enabled by the app", userID)
	return nil
}

// DeleteUser deletes the user, their sessions and their links and codes,
// in one step: their sessions stop working at once on every instance.
// Hooks.BeforeDeleteUser may stop it; Hooks.AfterDeleteUser runs after.
// The user's email and number are free for a new sign-up at once.
func (k *Kit) DeleteUser(ctx context.Context, userID string) error {
	u, err := k.userByID(ctx, userID)
	if err != nil {
		return err
	}
	u.PasswordHash = ""
	if h := k.hooks.BeforeDeleteUser; h != nil {
		if err := h(ctx, u); err != nil {
			return k.refused(ctx, "BeforeDeleteUser", err)
		}
	}
	if err := k.store.DeleteUser(ctx, userID); errors.Is(err, ErrNotFound) {
		return errUserNotFound
	} else if err != nil {
		return internalError(err)
	}
	k.event(ctx, "user deleted by the app", userID)
	if h := k.hooks.AfterDeleteUser; h != nil {
		k.after(ctx, "AfterDeleteUser", userID, func() error { return h(ctx, u) })
	}
	return nil
}

// UserSessions lists the user's live sessions, oldest first.
func (k *Kit) UserSessions(ctx context.Context, userID string) ([]Session, error) {
	u, err := k.userByID(ctx, userID)
	if err != nil {
		return nil, err
	}
	return k.listSessions(ctx, &caller{user: &u})
}

// EndSession ends one session of the user, named by its ID (as
// UserSessions lists it): session_not_found when the user has none such.
func (k *Kit) EndSession(ctx context.Context, userID, sessionID string) error {
	deleted, err := k.store.DeleteSession(ctx, userID, sessionID)
	if err != nil {
		return internalError(err)
	}
	if !deleted {
		return newError(CodeSessionNotFound, "The user has no such session.")
	}
	k.event(ctx, "session ended by the app", userID)
	return nil
}

// EndSessions ends every session of the user and voids the links, grants
// and codes sent before, as a sign-out everywhere does.
func (k *Kit) EndSessions(ctx context.Context, userID string) error {
	if _, err := k.endEverything(ctx, userID, UserFields{}); err != nil {
		return err
	}
	k.event(ctx, "sessions ended by the app", userID)
	return nil
}

// HashPassword hashes a password as the kit stores it: an argon2id PHC
// string with the kit's parameters (OWASP's: 19 MiB, 2 passes), for
// [NewUser.PasswordHash] when an app prepares an import ahead of time,
// with no Kit at hand. It checks no password rule, and is not held to
// Config.MaxConcurrentHashes: each call takes 19 MiB and about as long as
// a sign-in, so bound the calls you run at once. (NewUser.Password is
// hashed within the Kit's bound.)
func HashPassword(pw string) (string, error) {
	return password.Hash(rand.Reader, pw, password.Default)
}

// isMember reports whether groups has one of keys.
func isMember(groups []string, keys []string) bool {
	for _, key := range keys {
		if slices.Contains(groups, key) {
			return true
		}
	}
	return false
}
