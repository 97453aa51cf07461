package authkit

// Where a browser keeps its session token between requests: the one seam
// the kit's cookie and a host's session library (the scsauth and
// gorillaauth packages) share, so that each gets the same rules. A token a
// carrier returns is one the browser sends by itself: an unsafe request
// authenticated by it must come from the app's own origin or an allowed
// one, or present a CSRF token (csrf.go). A sign-in saves a new token
// under a new identifier (no fixation); a sign-out of the carried session
// clears it; a revoked session is refused wherever it is carried.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SessionCarrier keeps a browser's session token between requests: the
// kit's own cookie ([Config.SessionCookie]), or a host's session library
// ([Config.SessionCarrier]; the scsauth and gorillaauth packages adapt
// alexedwards/scs and gorilla/sessions). The kit calls it from its
// handlers and from [Kit.SaveSession] and [Kit.ClearSession].
type SessionCarrier interface {
	// Token returns the session token r's browser carries, or "" for
	// none. It is called on every request that authenticates: keep it to
	// reading what is at hand.
	Token(r *http.Request) string
	// Save makes token the one r's browser carries from now on, for a
	// session that ends at expires, on the kit's clock (Config.Now). Whatever identifies the browser's
	// session to the carrier (a cookie's value, a session id) must change,
	// so that an identifier planted before the sign-in carries nothing
	// after it.
	Save(w http.ResponseWriter, r *http.Request, token string, expires time.Time) error
	// Clear makes r's browser carry no session token.
	Clear(w http.ResponseWriter, r *http.Request) error
}

// cookieCarrier is the kit's own session cookie. With set false it only
// reads: the cookie the Altogic client's helpers set, which the kit has
// always accepted.
type cookieCarrier struct {
	name   string
	set    bool
	secure bool
	now    func() time.Time // the kit's clock, which expires is on
}

func (c cookieCarrier) Token(r *http.Request) string {
	if ck, err := r.Cookie(c.name); err == nil {
		return ck.Value
	}
	return ""
}

func (c cookieCarrier) Save(w http.ResponseWriter, _ *http.Request, token string, expires time.Time) error {
	if !c.set {
		return nil
	}
	http.SetCookie(w, c.cookie(token, expires, int(expires.Sub(c.now())/time.Second)))
	return nil
}

func (c cookieCarrier) Clear(w http.ResponseWriter, _ *http.Request) error {
	if !c.set {
		return nil
	}
	http.SetCookie(w, c.cookie("", time.Unix(0, 0), -1))
	return nil
}

func (c cookieCarrier) cookie(value string, expires time.Time, maxAge int) *http.Cookie {
	if maxAge == 0 {
		maxAge = -1 // a session that ends within the second: gone
	}
	return &http.Cookie{
		Name: c.name, Value: value, Path: "/", Expires: expires, MaxAge: maxAge,
		HttpOnly: true, Secure: c.secure, SameSite: http.SameSiteLaxMode,
	}
}

// carrierSettings are Config.SessionCookie, SessionCookieHostPrefix,
// SessionCarrier and TokenInBody, checked.
type carrierSettings struct {
	carrier     SessionCarrier
	saves       bool // the carrier keeps sessions (not only reads the Altogic cookie)
	tokenInBody bool
}

// configureCarrier checks and applies SessionCookie,
// SessionCookieHostPrefix, SessionCarrier and TokenInBody.
func (k *Kit) configureCarrier(cfg Config) error {
	cookieOn := cfg.SessionCookie.on(false)
	secure := k.limits.secureCookies
	if cookieOn && !secure && !localhost(k.publicURL) {
		return errors.New("authkit: Config.SessionCookie needs an https PublicURL (or http on localhost, for development): a session cookie sent over plain http is anyone's on the way")
	}
	name := SessionCookie
	if cfg.SessionCookieHostPrefix.on(false) {
		if !cookieOn {
			return errors.New("authkit: Config.SessionCookieHostPrefix names the kit's session cookie: turn Config.SessionCookie on, or leave the prefix off")
		}
		if !secure {
			return errors.New("authkit: Config.SessionCookieHostPrefix needs an https PublicURL: a browser keeps a __Host- cookie only from a secure origin")
		}
		name = "__Host-" + SessionCookie
	}
	switch {
	case cfg.SessionCarrier != nil && cookieOn:
		return errors.New("authkit: set Config.SessionCookie or Config.SessionCarrier, not both: a browser's session lives in one place")
	case cfg.SessionCarrier != nil:
		k.carrier = carrierSettings{carrier: cfg.SessionCarrier, saves: true}
	default:
		k.carrier = carrierSettings{carrier: cookieCarrier{name: name, set: cookieOn, secure: secure, now: k.clock}, saves: cookieOn}
	}
	k.carrier.tokenInBody = cfg.TokenInBody.on(true)
	if !k.carrier.tokenInBody && !k.carrier.saves {
		return errors.New("authkit: Config.TokenInBody is Off, but no session cookie or carrier keeps the token: nobody could use a session")
	}
	return nil
}

// localhost reports whether the URL's host is this machine.
func localhost(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost", "127.0.0.1", "::1":
		return true
	default:
		return strings.HasSuffix(h, ".localhost")
	}
}

// SaveSession makes the session of in the one w's browser carries, as the
// kit's own sign-in answers do when [Config.SessionCookie] or a
// [Config.SessionCarrier] is on: for a session the app started with the
// Go API (StartSession, SignInWithEmail...). It refuses, with
// origin_not_allowed, a request that neither comes from the app's own
// origin or an allowed one nor presents a CSRF token ([Kit.CSRFToken]):
// a foreign site must not sign a browser in to an account of its choice.
// It remembers the browser as a device of the account too (the device
// cookie). Without SessionCookie or a SessionCarrier it keeps no
// session: it only checks the request and remembers the device.
func (k *Kit) SaveSession(w http.ResponseWriter, r *http.Request, in SignIn) error {
	if in.Session == nil || in.Token == "" {
		return errors.New("authkit: SaveSession of a SignIn without a session")
	}
	if k.foreign(r) || (!k.sameSite(r) && !k.csrfOK(r)) {
		return errForeignSignIn
	}
	return k.carry(w, r, in)
}

var errForeignSignIn = newError(CodeOriginNotAllowed, "A sign-in from a page this app does not allow was refused.")

// carry saves in's session in the carrier and the browser as a device of
// the account. A browser carries one session: the one it carried before
// is ended, or it would live on where nobody can present it to sign it
// out (a confirmed email change, a second sign-in, a switch of account).
func (k *Kit) carry(w http.ResponseWriter, r *http.Request, in SignIn) error {
	k.rememberDevice(w, r, in.User.ID)
	if !k.carrier.saves {
		return nil
	}
	replaced := k.carrier.carrier.Token(r)
	if err := k.carrier.carrier.Save(w, r, in.Token, in.Session.ExpiresAt); err != nil {
		return internalError(err)
	}
	if replaced != "" && replaced != in.Token && len(replaced) <= maxTokenLen {
		k.endReplaced(r.Context(), replaced)
	}
	return nil
}

// endReplaced ends the session of token, which a browser carried until a
// new sign-in replaced it. A failure is logged, not answered: the sign-in
// holds, and the replaced session ends at its expiry as before.
func (k *Kit) endReplaced(ctx context.Context, token string) {
	s, err := k.store.SessionByTokenHash(ctx, hashToken(token))
	if errors.Is(err, ErrNotFound) {
		return
	}
	if err == nil {
		_, err = k.store.DeleteSession(ctx, s.UserID, s.ID)
	}
	if err != nil {
		k.log.ErrorContext(ctx, "authkit: ending the session a sign-in replaced", "err", err)
		return
	}
	k.event(ctx, "session replaced by a new sign-in in the same browser", s.UserID)
}

// ClearSession makes w's browser carry no session, as the kit's sign-out
// does for the session it carries. It ends no session: sign out first
// (Kit.SignOut) to end it everywhere.
func (k *Kit) ClearSession(w http.ResponseWriter, r *http.Request) error {
	if err := k.carrier.carrier.Clear(w, r); err != nil {
		return internalError(err)
	}
	return nil
}

// clearIfEnded clears the carried session when it no longer exists: after
// a sign-out, which may have ended it (signOut of the current session, of
// the one named, signOutAll) or not (another device's).
func (k *Kit) clearIfEnded(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	token := k.carrier.carrier.Token(r)
	if token == "" || len(token) > maxTokenLen {
		return nil
	}
	s, err := k.store.SessionByTokenHash(ctx, hashToken(token))
	if err == nil {
		u, err := k.store.UserByID(ctx, s.UserID)
		if err == nil && k.alive(&s, &u, k.clock()) {
			return nil
		}
	} else if !errors.Is(err, ErrNotFound) {
		return internalError(err)
	}
	return k.ClearSession(w, r)
}
