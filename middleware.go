package authkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// SessionCookie is the cookie a session token is read from, when it comes
// in neither the Session header nor Authorization. The Altogic client's own
// cookie helpers use this name.
const SessionCookie = "session_token"

type ctxKey struct{}

// SessionFromContext returns the session of a request that passed
// [Kit.RequireSession] or [Kit.LoadSession] with one.
func SessionFromContext(ctx context.Context) (Session, bool) {
	c, ok := ctx.Value(ctxKey{}).(*caller)
	if !ok {
		return Session{}, false
	}
	s := *c.session
	s.AccessGroupKeys = slices.Clone(s.AccessGroupKeys) // c's is shared (the session cache)
	return s, true
}

// UserFromContext returns the signed-in user of a request that passed
// [Kit.RequireSession] or [Kit.LoadSession] with a session. The user was
// read from the store at the start of the request (or from the session
// cache, see [SessionCache]), and is brought up to date by a change of
// credentials the request makes with the Go API (ChangePassword,
// SignOutOthers). It is a copy: changing it changes nothing else.
func UserFromContext(ctx context.Context) (User, bool) {
	c, ok := ctx.Value(ctxKey{}).(*caller)
	if !ok {
		return User{}, false
	}
	u := *c.user
	u.PasswordHash = "" // the Go API never hands it out
	// c's maps and lists are shared (the session cache): the caller gets
	// its own.
	u.Profile, u.ServerData = cloneJSONMap(u.Profile), cloneJSONMap(u.ServerData)
	u.AccessGroups = slices.Clone(u.AccessGroups)
	return u, true
}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(ctxKey{}).(*caller)
	return c
}

// RequireSession lets a request through only with a live session: from the
// Session header, an Authorization Bearer token, or the session_token
// cookie. Otherwise it answers 401 with missing_session_token or
// invalid_session_token, the two codes on which the Altogic client signs
// itself out.
//
// The request's context carries its client too, as [Kit.RequestContext]
// gives it: the Go API's calls inside take r.Context() as it is.
func (k *Kit) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := k.authenticate(r)
		if err != nil {
			writeError(w, k.withClient(r), k.log, err)
			return
		}
		next.ServeHTTP(w, k.signedIn(r, c))
	})
}

// RequireAccessGroup returns a middleware that lets a request through only
// with a live session (as RequireSession does) whose user is in at least
// one of the access groups keys names; another session is answered 403
// forbidden. The user's groups are read as the request authenticates, so
// a change of groups ([Kit.SetAccessGroups]) holds from the user's next
// request. Inside RequireSession or LoadSession it checks the session
// already found rather than look it up again.
func (k *Kit) RequireAccessGroup(keys ...string) func(http.Handler) http.Handler {
	keys = slices.Clone(keys)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, r, ok := k.callerOrAuthenticate(w, r)
			if !ok {
				return
			}
			if !isMember(c.user.AccessGroups, keys) {
				writeError(w, r, k.log, newError(CodeForbidden, "This needs an access group the account is not in."))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// callerOrAuthenticate is the caller of r, found by RequireSession or
// LoadSession already, or authenticated now (and r signed in with it);
// when it cannot be, the error is answered on w and ok is false.
func (k *Kit) callerOrAuthenticate(w http.ResponseWriter, r *http.Request) (_ *caller, _ *http.Request, ok bool) {
	if c := callerFrom(r.Context()); c != nil {
		return c, r, true
	}
	c, err := k.authenticate(r)
	if err != nil {
		writeError(w, k.withClient(r), k.log, err)
		return nil, r, false
	}
	return c, k.signedIn(r, c), true
}

// RequireMFA returns a middleware that lets a request through only with
// a live session (as RequireSession does) that proved a second factor,
// no longer than maxAge ago (0: at any time in the session's life).
// Another session is answered 403 mfa_step_up_required, whose details say
// whether the user has a factor to prove (enrolled) and the maxAge in
// seconds: the client then sends a code to mfa/step-up (Kit.StepUp) and
// retries with the session it answers. Inside RequireSession or
// LoadSession it checks the session already found. It panics when
// Config.MFA is off: no session could ever pass.
func (k *Kit) RequireMFA(maxAge time.Duration) func(http.Handler) http.Handler {
	if !k.mfa.on {
		panic("authkit: RequireMFA needs Config.MFA on")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, r, ok := k.callerOrAuthenticate(w, r)
			if !ok {
				return
			}
			if !k.recentFactor(c.session, maxAge) {
				has, err := k.hasActiveFactor(r.Context(), c.user.ID)
				if err != nil {
					writeError(w, r, k.log, internalError(err))
					return
				}
				writeError(w, r, k.log, stepUpRequired(has, maxAge))
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// LoadSession is RequireSession's non-enforcing twin: a request with a live
// session gets it in its context, any other goes through as anonymous. It
// still refuses a session cookie sent cross-site on an unsafe request, and
// answers 500 when the store fails rather than guess.
func (k *Kit) LoadSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := k.authenticate(r)
		var e *Error
		switch {
		case err == nil:
			r = k.signedIn(r, c)
		case errors.As(err, &e) && (e.Code == CodeMissingSessionToken || e.Code == CodeInvalidSessionToken):
			r = k.withClient(r)
		default:
			writeError(w, k.withClient(r), k.log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxUserAgent bounds the user agent the kit keeps of a request, in its
// logs and in the sessions it stores: the header may take a megabyte, a log
// line or a session row should not. Real browsers send a few hundred bytes.
const maxUserAgent = 512

// cappedUserAgent is r's User-Agent as the kit keeps it, at most
// maxUserAgent bytes: every log record and every stored session takes it
// from here, through the request's context (clientOf).
func cappedUserAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return ua
}

// RequestContext is r's context with r's client in it, as the kit's own
// handler sees it: the IP (through Config.TrustedProxies), the user agent
// and the device cookie (which lets its browser through a lockout of its
// IP). Pass it to the Go API's calls made for r.
func (k *Kit) RequestContext(r *http.Request) context.Context {
	return k.withClient(r).Context()
}

// withClient notes in r's context where r comes from, and the device
// cookie it carries, which the flows check (deviceOf).
func (k *Kit) withClient(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, k.clientFor(r)))
}

// clientFor is where r comes from.
func (k *Kit) clientFor(r *http.Request) client {
	c := client{ip: k.limits.clients.IP(r.RemoteAddr, r.Header.Values("X-Forwarded-For")), userAgent: cappedUserAgent(r)}
	if dc, err := r.Cookie(k.limits.deviceCookie); err == nil && len(dc.Value) <= maxDeviceCookie {
		c.device = dc.Value
	}
	return c
}

// signedIn puts the caller c of r, with r's client, in r's context: one
// context value for both.
func (k *Kit) signedIn(r *http.Request, c *caller) *http.Request {
	if _, ok := clientIn(r.Context()); !ok {
		c.hasClient, c.from, c.kit = true, r, k
	}
	return r.WithContext(c.attach(r.Context()))
}

// sessionToken finds the token a request carries, and whether the browser
// carried it by itself (the session cookie, or a host's session: see
// carrier.go), which needs a CSRF check.
func (k *Kit) sessionToken(r *http.Request) (token string, carried bool) {
	if t := r.Header.Get("Session"); t != "" {
		return t, false
	}
	if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "Bearer ") {
		return strings.TrimSpace(a[7:]), false
	}
	if t := k.carrier.carrier.Token(r); t != "" {
		return t, true
	}
	return "", false
}

// authenticate finds the request's live session and its user: from the
// Session header, an Authorization Bearer token or the session the browser
// carries (its cookie, or the host's session), which a browser sends by
// itself and so is refused on an unsafe request from another site, and
// on one that says nothing of where it comes from without a CSRF token.
func (k *Kit) authenticate(r *http.Request) (*caller, error) {
	token, carried := k.sessionToken(r)
	if token == "" {
		return nil, errMissingSession
	}
	if len(token) > maxTokenLen {
		return nil, errInvalidSession
	}
	if carried && !safeMethod(r.Method) && !k.sameSite(r) && (k.foreign(r) || !k.csrfOK(r)) {
		return nil, newError(CodeOriginNotAllowed, "A session cookie was sent from an origin this app does not allow.")
	}
	return k.callerOf(r.Context(), token)
}

// foreign reports whether a browser says r comes from a site that is
// neither the app's own origin nor an allowed one: by Origin, or failing
// that by Sec-Fetch-Site ("none" is a URL the user typed or a bookmark).
func (k *Kit) foreign(r *http.Request) bool {
	if r.Header.Get("Origin") != "" {
		return !k.sameSite(r)
	}
	sfs := r.Header.Get("Sec-Fetch-Site")
	return sfs != "" && sfs != "same-origin" && sfs != "none"
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameSite reports whether a browser request comes from this app's own
// origin or an allowed one, by Origin or, failing that, Sec-Fetch-Site.
func (k *Kit) sameSite(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" {
		return k.allowedOrigin(o) || canonicalOrigin(o) == canonicalOrigin(k.publicURL)
	}
	return r.Header.Get("Sec-Fetch-Site") == "same-origin"
}

// configureOrigins checks and applies AllowedOrigins.
func (k *Kit) configureOrigins(cfg Config) error {
	k.origins = map[string]bool{}
	for _, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("authkit: Config.AllowedOrigins: %q is not an origin such as https://app.example.com", o)
		}
		k.origins[canonicalOrigin(o)] = true
	}
	return nil
}

func (k *Kit) allowedOrigin(o string) bool {
	return len(k.origins) > 0 && k.origins[canonicalOrigin(o)]
}

// canonicalOrigin is the origin of an absolute URL as a browser writes it
// in Origin: scheme and host in lower case, without the scheme's default
// port ("https://API.example.com:443/auth" is "https://api.example.com").
// What does not parse as such a URL is returned as it is, to match nothing.
func canonicalOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	if port := u.Port(); scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		host = strings.TrimSuffix(host, ":"+port)
	}
	return scheme + "://" + host
}

// The headers a browser may send with a cross-origin call of the client.
const corsAllowHeaders = "Session, X-Client, X-Client-Key, Content-Type, Authorization, X-CSRF-Token"

// The methods a preflight may ask for: of the kit's own routes, and of the
// host's routes behind Kit.CORS.
const (
	kitMethods  = "GET, POST"
	hostMethods = "GET, POST, PUT, PATCH, DELETE"
)

// CORS lets the browsers of Config.AllowedOrigins call a route of the
// host's as they call the kit's: with credentials and the headers the
// Altogic client sends (Session, X-Client, X-Client-Key, Authorization,
// Content-Type, X-CSRF-Token); and by the methods GET, POST, PUT, PATCH
// and DELETE, where the kit's own routes take GET and POST. It answers a
// preflight itself, before
// anything it wraps runs: wrap the auth inside it,
// kit.CORS(kit.RequireSession(h)), so that a preflight, which carries no
// session, passes, and the 401 of a call without one is readable by the
// app. A preflight from another origin is answered 403
// origin_not_allowed, with no CORS header; a call from one goes through
// without them, so its browser reads nothing of the answer.
func (k *Kit) CORS(next http.Handler) http.Handler {
	return k.cors(hostMethods, next)
}

// cors answers preflights for methods and marks answers readable, with
// credentials, by the configured origins, and by no others.
func (k *Kit) cors(methods string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := origin != "" && k.allowedOrigin(origin)
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Expose-Headers", "Retry-After") // of a 429, for the app to read
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if !allowed {
				writeError(w, r, k.log, newError(CodeOriginNotAllowed, "This origin may not call the API."))
				return
			}
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// cloneJSONMap is a deep copy of m: nil stays nil, and costs nothing.
func cloneJSONMap(m map[string]json.RawMessage) map[string]json.RawMessage {
	if m == nil {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = bytes.Clone(v)
	}
	return out
}
