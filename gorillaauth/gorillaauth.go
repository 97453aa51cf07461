// Package gorillaauth keeps browsers' authkit sessions in gorilla/sessions
// sessions, for an app that has a [sessions.Store] already. One line in
// the kit's Config:
//
//	store := sessions.NewCookieStore(hashKey, encryptionKey)
//	kit, err := authkit.New(authkit.Config{
//		// ...
//		SessionCarrier: gorillaauth.New(store, "app"),
//	})
//
// The kit's sign-ins then put the session token in the browser's session
// of that name and [authkit.Kit.RequireSession] reads it from there, with
// the kit's rules for a token the browser sends by itself: an unsafe
// request must come from the app's origin or present a CSRF token. A
// sign-out of the carried session removes the token.
//
// # Fixation
//
// A sign-in changes what identifies the browser's session, so that a
// session cookie planted in the browser before it carries nothing after
// it. A [sessions.CookieStore] keeps the values in the cookie itself: the
// cookie planted holds no token, and the new one is another value
// altogether. A store that keeps the values on the server and an id in
// the cookie (FilesystemStore, the Redis and SQL stores) has the session
// under the old id deleted (saved with MaxAge -1, the gorilla way of
// deleting one) and saved again under a new id: the carrier empties
// Session.ID, for which such a store makes a new one, as FilesystemStore
// and the common third-party stores do.
//
// # The cookie
//
// The carrier saves the session with HttpOnly set, SameSite Lax (or the
// store's Strict) and a MaxAge no longer than the kit's session. The
// host's own saves of the session take the store's Options: give the
// store HttpOnly and SameSite Lax too, since gorilla's defaults are
// neither, or the cookie that holds the session loses them the next time
// the host saves it:
//
//	store.Options.HttpOnly = true
//	store.Options.SameSite = http.SameSiteLaxMode
//
// With a CookieStore the token rides in the cookie, as it does in the
// kit's own session cookie: give the store an encryption key, so that
// only the server can read it.
//
// Each save calls the session's Save, which writes a Set-Cookie: the kit
// saves before it writes its answer, and the carrier reads and writes the
// session of the request's [sessions.Registry], the one a host's handler
// gets from store.Get in the same request.
package gorillaauth

import (
	"net/http"
	"time"

	"github.com/gorilla/sessions"

	"github.com/authkit/authkit"
)

// DefaultKey is the key under which [New]'s carrier keeps the token in a
// gorilla session's Values.
const DefaultKey = "authkit_session_token"

// Carrier keeps the session token of a browser in its gorilla session.
type Carrier struct {
	// Store is the host's session store.
	Store sessions.Store
	// Name is the session's name: its cookie's.
	Name string
	// Key is the key of the token in the session's Values. Default
	// DefaultKey; change it before the kit's first request, if at all.
	Key string
	// Now is the kit's clock (Config.Now), which a session's end is on:
	// set it when that is not the wall clock. Default time.Now.
	Now func() time.Time
}

var _ authkit.SessionCarrier = (*Carrier)(nil)

// New returns a carrier that keeps the token in the session name of
// store, under DefaultKey.
func New(store sessions.Store, name string) *Carrier {
	return &Carrier{Store: store, Name: name, Key: DefaultKey}
}

// Token returns the token in r's session, or "" when there is none or the
// session cannot be read (a cookie that does not decode, a session the
// store no longer has).
func (c *Carrier) Token(r *http.Request) string {
	s, err := c.Store.Get(r, c.Name)
	if err != nil || s == nil {
		return ""
	}
	t, _ := s.Values[c.Key].(string)
	return t
}

// Save puts token in r's session under a new identifier and saves it on
// w, with a MaxAge that ends no later than expires.
func (c *Carrier) Save(w http.ResponseWriter, r *http.Request, token string, expires time.Time) error {
	s, err := c.Store.Get(r, c.Name)
	if s == nil {
		// A session that cannot be read comes with a new one, which
		// replaces it; no session at all is the store's failure.
		return err
	}
	if !s.IsNew && s.ID != "" {
		// Delete the session under its old id: whoever holds the old
		// cookie finds nothing there, not even a token of an earlier
		// sign-in.
		keep := *s.Options
		s.Options.MaxAge = -1
		if err := s.Save(r, w); err != nil {
			return err
		}
		*s.Options = keep
	}
	s.ID = "" // the store makes a new one
	s.Values[c.Key] = token
	s.Options.HttpOnly = true
	if s.Options.SameSite != http.SameSiteStrictMode {
		s.Options.SameSite = http.SameSiteLaxMode
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if age := int(expires.Sub(now()) / time.Second); s.Options.MaxAge <= 0 || age < s.Options.MaxAge {
		s.Options.MaxAge = age
		if age <= 0 {
			s.Options.MaxAge = -1 // a session that ends within the second: gone
		}
	}
	return s.Save(r, w)
}

// Clear removes the token from r's session and saves it on w, under the
// same identifier: the session the store keeps under it holds no token
// from now on. A session without a token is left as it is.
func (c *Carrier) Clear(w http.ResponseWriter, r *http.Request) error {
	s, err := c.Store.Get(r, c.Name)
	if err != nil || s == nil {
		return nil // nothing the kit could read: no token carried
	}
	if _, ok := s.Values[c.Key]; !ok {
		return nil
	}
	delete(s.Values, c.Key)
	return s.Save(r, w)
}
