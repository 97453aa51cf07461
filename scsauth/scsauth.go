// Package scsauth keeps browsers' authkit sessions in alexedwards/scs
// sessions, for an app that has an [scs.SessionManager] already. One line
// in the kit's Config:
//
//	sm := scs.New()
//	kit, err := authkit.New(authkit.Config{
//		// ...
//		SessionCarrier: scsauth.New(sm),
//	})
//	// ...
//	mux.Handle("/_api/", kit.Handler())
//	mux.Handle("/_auth/", kit.Handler())
//	mux.Handle("/account", kit.RequireSession(account))
//	http.ListenAndServe(addr, sm.LoadAndSave(mux))
//
// The kit's sign-ins then put the session token in the browser's scs
// session and [authkit.Kit.RequireSession] reads it from there, with the
// kit's rules for a token the browser sends by itself: an unsafe request
// must come from the app's origin or present a CSRF token. A sign-in
// renews the scs token (the cookie's value), so that an scs cookie planted
// in the browser before it carries nothing after it; a sign-out of the
// carried session removes the token and renews the scs token again.
//
// # What the host does
//
// Wrap every handler that signs in, signs out or authenticates in the
// manager's LoadAndSave: kit.Handler() and the routes behind RequireSession
// alike. A call outside it panics, as scs's own Get does ("scs: no
// session data in context").
//
// LoadAndSave writes the scs cookie before the first byte of the answer:
// the kit saves the token before it writes one, so the answer that signs
// in carries the new cookie.
//
// The session lasts as long as the shorter of the kit's session and the
// manager's Lifetime (and IdleTimeout). The token rests in the manager's
// Store with the host's other values: keep that store as private as the
// kit's own.
package scsauth

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/authkit/authkit"
)

// DefaultKey is the key under which [New]'s carrier keeps the token in an
// scs session.
const DefaultKey = "authkit_session_token"

// Carrier keeps the session token of a browser in its scs session.
type Carrier struct {
	// Sessions is the host's session manager.
	Sessions *scs.SessionManager
	// Key is the key of the token in the scs session. Default DefaultKey;
	// change it before the kit's first request, if at all.
	Key string
}

var _ authkit.SessionCarrier = (*Carrier)(nil)

// New returns a carrier that keeps the token in sm's sessions under
// DefaultKey.
func New(sm *scs.SessionManager) *Carrier {
	return &Carrier{Sessions: sm, Key: DefaultKey}
}

// Token returns the token in r's scs session, or "".
func (c *Carrier) Token(r *http.Request) string {
	return c.Sessions.GetString(r.Context(), c.Key)
}

// Save renews the scs token of r's session and puts token in it. The scs
// session's deadline stays the manager's.
func (c *Carrier) Save(_ http.ResponseWriter, r *http.Request, token string, _ time.Time) error {
	if err := c.Sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	c.Sessions.Put(r.Context(), c.Key, token)
	return nil
}

// Clear removes the token from r's scs session, and renews the scs token
// when there was one. The host's other values stay.
func (c *Carrier) Clear(_ http.ResponseWriter, r *http.Request) error {
	if !c.Sessions.Exists(r.Context(), c.Key) {
		return nil
	}
	c.Sessions.Remove(r.Context(), c.Key)
	return c.Sessions.RenewToken(r.Context())
}
