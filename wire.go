package authkit

import (
	"bytes"
	"encoding/json"
	"sort"
	"time"
)

// wireTime writes a time as Altogic does: UTC, milliseconds, "Z".
func wireTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// MarshalJSON writes u as the Altogic client expects it:
// {_id, provider, providerUserId, email?, phone?, name?, profilePicture?,
// emailVerified?, phoneVerified?, signUpAt, lastLoginAt} followed by the
// profile fields. The password hash is never written.
func (u User) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	field := func(key string, v any) error {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(key)
		b.Write(kb)
		b.WriteByte(':')
		if raw, ok := v.(json.RawMessage); ok {
			return json.Compact(&b, raw)
		}
		vb, err := json.Marshal(v)
		b.Write(vb)
		return err
	}
	field("_id", u.ID)
	field("provider", u.Provider)
	field("providerUserId", u.ProviderUserID)
	if u.Email != "" {
		field("email", u.Email)
	}
	if u.Phone != "" {
		field("phone", u.Phone)
	}
	if u.Name != "" {
		field("name", u.Name)
	}
	if u.ProfilePicture != "" {
		field("profilePicture", u.ProfilePicture)
	}
	if u.Email != "" {
		field("emailVerified", u.EmailVerified)
	}
	if u.Phone != "" {
		field("phoneVerified", u.PhoneVerified)
	}
	field("signUpAt", wireTime(u.SignUpAt))
	field("lastLoginAt", wireTime(u.LastLoginAt))
	keys := make([]string, 0, len(u.Profile))
	for k := range u.Profile {
		// A profile field never shadows one of the kit's own fields.
		if !reservedFields[foldField(k)] && k != "name" && k != "profilePicture" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := field(k, u.Profile[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// wireSession is a session as the client reads it.
type wireSession struct {
	UserID          string    `json:"userId"`
	Token           string    `json:"token"`
	CreationDtm     string    `json:"creationDtm"`
	UserAgent       UserAgent `json:"userAgent"`
	AccessGroupKeys []string  `json:"accessGroupKeys"`
}

// MarshalJSON writes s as the client expects a listed session. Its token is
// the session's handle (s.ID), which names it to signOut and authenticates
// nothing: the real token is only ever in the answer that created it.
func (s Session) MarshalJSON() ([]byte, error) {
	return json.Marshal(s.wire(s.ID))
}

func (s Session) wire(token string) wireSession {
	return wireSession{
		UserID:          s.UserID,
		Token:           token,
		CreationDtm:     wireTime(s.CreatedAt),
		UserAgent:       s.UserAgent,
		AccessGroupKeys: nonNil(s.AccessGroupKeys),
	}
}

// SignIn is what a flow that signs in, or may, comes to: the user, and
// the session it started with the session's token, or no session (while
// a sign-up waits for its address's confirmation).
type SignIn struct {
	User    User
	Session *Session // nil when no session was started
	// Token authenticates the session: the Session header's value, or the
	// session cookie's. It is the only copy (the store keeps its hash):
	// hand it to the client and keep it nowhere else.
	Token string
}

// MarshalJSON writes a as the Altogic client reads a sign-in:
// {"user": ..., "session": ... or null}, the session with its token.
func (a SignIn) MarshalJSON() ([]byte, error) {
	var s *wireSession
	if a.Session != nil {
		w := a.Session.wire(a.Token)
		s = &w
	}
	return json.Marshal(struct {
		User    User         `json:"user"`
		Session *wireSession `json:"session"`
	}{a.User, s})
}

// nonNil is l, or an empty list for nil: JSON [] rather than null.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
