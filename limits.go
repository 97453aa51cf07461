package authkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authkit/authkit/internal/clientip"
	"github.com/authkit/authkit/internal/phonenum"
)

// Abuse limits (SECURITY 9-11, 54-58), counted in Config.Limiter so that
// every instance sharing it shares them:
//
//   - wrong guesses per identifier and source, under a ceiling per
//     identifier (Limits.FailedSignIns, FailedSignInsPerAccount; see
//     lockout.go), counted before the guess is checked, so a limited
//     request costs no hash;
//   - requests per client IP (Limits.PerIP), by the router, the send
//     routes apart from the others;
//   - texts asked per client IP (Limits.SMSPerIP), on the request,
//     whatever the account, so the answer never tells whether one exists;
//   - what only shapes what is sent, never the answer: mails per address
//     and texts per number from one network under a ceiling per address or
//     number (Limits.EmailsPerAddress, SMSPerNumber), repeats of a mail
//     (Limits.EmailRepeats), the SMS budget and the allowed countries.
//
// A limit that is passed answers 429 too_many_requests with Retry-After; a
// cap on what is sent is passed silently: the route answers as usual and
// sends nothing.

// Rate is a limit: at most Max events per Per. Events are counted in fixed
// windows of length Per that start at multiples of Per since the Unix
// epoch, so a limit of 10 per 15 minutes allows 10 from 12:00:00 to
// 12:14:59.999, and 10 more from 12:15. The zero Rate keeps a field's
// default; a negative Max turns the limit off. Otherwise Max is positive
// and Per at least a second, in whole milliseconds.
type Rate struct {
	Max int
	Per time.Duration
}

// Limits are the kit's abuse limits. Every field's zero value keeps the
// default its comment states; a [Rate] with a negative Max turns that limit
// off. Counts live in [Config.Limiter], so instances that share it share
// the limits.
type Limits struct {
	// FailedSignIns caps the wrong guesses at one identifier from one
	// source: passwords given to signInWithEmail and signInWithPhone for an
	// email or number, codes given to signInWithCode and verifyPhone for a
	// number, and the current password given to changePassword,
	// changeEmail and changePhone for the signed-in account. The source is
	// the client IP (IPv6: its /64); for a password, a browser that signed
	// in to the account before is a source of its own, by the device
	// cookie the kit sets on every answer that starts a session (where the
	// app and the kit are same-site; see the README). Past it, those routes
	// answer 429 for that identifier from that source until the window
	// ends, the right password included; other sources are not limited by
	// it. A success clears the count of its source, and so does a completed
	// password reset; resetting by link or code, and magic links, work
	// while limited. An email or number without an account is counted
	// alike, so a limited answer does not tell whether it has one. Default
	// 10 per 15 minutes.
	FailedSignIns Rate
	// FailedSignInsPerAccount caps the wrong guesses at one identifier from
	// every source together, device cookies included: it bounds guessing
	// spread over many addresses, while a single source stops at
	// FailedSignIns long before. Past it, every sign-in with that
	// identifier answers 429 until the window ends. The identifiers of one
	// account (its email, its number) are counted apart, so that a limit
	// never tells that they share an account. A success clears the count,
	// and so does a completed password reset. Default 100 per hour.
	FailedSignInsPerAccount Rate
	// PerIP caps the requests from one client IP (IPv6: one /64) to the
	// sign-up, sign-in, verify, code and send routes, whatever the account
	// asked for: signup-email, signup-phone, signin-email, signin-phone,
	// signin-code, verify-phone, reset-pwd-code, the signed-in change-pwd,
	// change-email and change-phone, and the start of an OAuth sign-in
	// (/_auth/{provider}). The send routes (send-magic, send-reset, resend,
	// send-code, send-reset-code and resend-code) are counted apart, at the
	// same rate, so that failed sign-ins from an address never spend the
	// recovery it asks for. Default 30 per 15 minutes.
	PerIP Rate
	// EmailsPerAddress caps the mails asked for one address by send-magic,
	// send-reset and resend, and by changeEmail for its new address, from
	// one network (IPv4: a /24, IPv6: a /64); the mails sent to it from
	// every network together stop at five times Max. Past either cap the
	// route answers as usual and sends nothing, so a cap tells nothing
	// about the address, and one network cannot spend what the owner needs
	// to recover the account. Default 10 per 24 hours.
	EmailsPerAddress Rate
	// EmailRepeats caps how often one address gets the same message (a
	// magic link, a reset link, a confirmation link) from the send routes.
	// Asked again sooner, a route answers as usual and sends nothing; the
	// link sent before still works. Default 1 per minute.
	EmailRepeats Rate
	// SMSPerNumber caps the texts sent to one number by send-code,
	// send-reset-code, resend-code, signUpWithPhone and changePhone (for
	// its new number), on requests from one network (IPv4: a /24, IPv6: a
	// /64); the texts from every network together stop at five times Max.
	// Only texts that go out are counted: a request for a number that gets
	// no text, or within [Config.CodeResendGap] of the last code, spends
	// nothing. Past either cap the route answers as usual and texts
	// nothing. Default 5 per 24 hours.
	SMSPerNumber Rate
	// SMSPerIP caps the requests that may text (those of SMSPerNumber) from
	// one client IP (IPv6: one /64), whatever the number, with 429. Default
	// 10 per 24 hours.
	SMSPerIP Rate
	// AccountChanges caps the requests of one account to change-pwd,
	// change-email and change-phone, right password or wrong, counted
	// before any hash or lookup: a signed-in account cannot use the kit to
	// mail or text strangers in bulk, ask which addresses have accounts,
	// or spend the server's hashing. Default 10 per hour.
	AccountChanges Rate
	// SMSBudget caps the texts the kit sends in all, to every number: for
	// example {Max: 500, Per: time.Hour}. Past it no text is sent, the
	// routes answer as usual, and the first text dropped in a window is
	// logged as an error. Default: off.
	SMSBudget Rate
	// SMSCountries, when not empty, lists the regions texts may go to, as
	// ISO 3166-1 alpha-2 codes ("US", "GB"). A text to a number of another
	// region is not sent, and the route answers as if it were. A number
	// that no region claims (+1 555 …) counts as the main region of its
	// country code (US). Default: every region.
	SMSCountries []string
}

// rate is a checked Rate; max 0 means off.
type rate struct {
	max int64
	per time.Duration
}

func (r rate) on() bool { return r.max > 0 }

// limitSettings are the checked Limits, Limiter and TrustedProxies.
type limitSettings struct {
	limiter Limiter
	down    LimiterDown // what requests do while limiter fails
	failed, failedPerAccount, perIP, mailPerAddress, mailRepeats,
	smsPerNumber, smsPerIP, smsBudget, accountChanges rate
	countries map[string]bool   // nil: any
	clients   clientip.Resolver // who a request comes from, behind TrustedProxies

	deviceKeys    [][]byte // sign the device cookie, current first (lockout.go)
	deviceCookie  string   // its name
	secureCookies bool     // PublicURL is https: Secure, and the __Host- prefix
}

// configureLimits checks and applies Config.Limiter, Limits and
// TrustedProxies, and readies the device cookie.
func (k *Kit) configureLimits(cfg Config) error {
	l := &k.limits
	lim := cfg.Limits
	needed := false
	for _, f := range []struct {
		name string
		in   Rate
		def  Rate
		out  *rate
	}{
		{"FailedSignIns", lim.FailedSignIns, Rate{10, 15 * time.Minute}, &l.failed},
		{"FailedSignInsPerAccount", lim.FailedSignInsPerAccount, Rate{100, time.Hour}, &l.failedPerAccount},
		{"PerIP", lim.PerIP, Rate{30, 15 * time.Minute}, &l.perIP},
		{"EmailsPerAddress", lim.EmailsPerAddress, Rate{10, 24 * time.Hour}, &l.mailPerAddress},
		{"EmailRepeats", lim.EmailRepeats, Rate{1, time.Minute}, &l.mailRepeats},
		{"SMSPerNumber", lim.SMSPerNumber, Rate{5, 24 * time.Hour}, &l.smsPerNumber},
		{"SMSPerIP", lim.SMSPerIP, Rate{10, 24 * time.Hour}, &l.smsPerIP},
		{"SMSBudget", lim.SMSBudget, Rate{-1, 0}, &l.smsBudget},
		{"AccountChanges", lim.AccountChanges, Rate{10, time.Hour}, &l.accountChanges},
	} {
		r := f.in
		if r == (Rate{}) {
			r = f.def
		}
		switch {
		case r.Max < 0:
			continue // off
		case r.Max == 0 || r.Per < time.Second || r.Per%time.Millisecond != 0:
			return fmt.Errorf("authkit: Config.Limits.%s must have a positive Max and a Per of at least a second, in whole milliseconds (a negative Max turns it off)", f.name)
		}
		*f.out = rate{max: int64(r.Max), per: r.Per}
		needed = true
	}
	if len(lim.SMSCountries) > 0 {
		l.countries = map[string]bool{}
		for _, c := range lim.SMSCountries {
			up := strings.ToUpper(strings.TrimSpace(c))
			if !phonenum.KnownRegion(up) {
				return fmt.Errorf("authkit: Config.Limits.SMSCountries: %q is not a region code such as US or GB", c)
			}
			l.countries[up] = true
		}
	}
	var ok bool
	if l.clients, ok = clientip.NewResolver(cfg.TrustedProxies); !ok {
		return errors.New("authkit: Config.TrustedProxies holds an invalid prefix")
	}

	l.limiter = cfg.Limiter
	if l.limiter == nil {
		l.limiter, _ = cfg.Store.(Limiter)
	}
	l.limiter = k.bound.limiter(l.limiter)
	for name, p := range map[string]LimiterPolicy{"SignIn": cfg.LimiterDown.SignIn, "SignUp": cfg.LimiterDown.SignUp} {
		if p > FailOpen {
			return fmt.Errorf("authkit: Config.LimiterDown.%s is %d: FailClosed or FailOpen", name, p)
		}
	}
	l.down = cfg.LimiterDown
	k.configureDevices()
	if l.limiter == nil && needed {
		return errors.New("authkit: Config.Limiter is required: the Store does not implement authkit.Limiter, and the abuse limits must be counted somewhere " +
			"(memstore.New() counts in this process, a sqlstore store in its database, redislimit.New(client, \"\") in Redis; " +
			"negative Max in every Config.Limits rate turns them all off)")
	}
	return nil
}

// errTooManyRequests is the answer of every limit that is passed. It
// carries when to try again, and nothing about the account.
func errTooManyRequests(wait time.Duration) *Error {
	secs := retrySeconds(wait)
	return &Error{
		Code:       CodeTooManyRequests,
		Message:    "Too many requests. Try again later.",
		Details:    map[string]any{"retryAfter": secs},
		RetryAfter: time.Duration(secs) * time.Second,
	}
}

// retrySeconds is a wait in whole seconds, rounded up, at least 1: what
// Retry-After says.
func retrySeconds(wait time.Duration) int64 {
	secs := int64((wait + time.Second - 1) / time.Second)
	return max(secs, 1)
}

// hit counts one event under key against lim. When the count passes the
// limit it logs the event (who and from where, never the key, which may be
// derived from an address) and returns errTooManyRequests.
func (k *Kit) hit(ctx context.Context, lim rate, name, key, userID string) error {
	return k.hitLimit(ctx, lim, name, key, userID, false)
}

// hitLimit is hit; a limit on sends (sends true) fails closed while the
// limiter is down, whatever the request's policy (LimiterDown).
func (k *Kit) hitLimit(ctx context.Context, lim rate, name, key, userID string, sends bool) error {
	if !lim.on() || (!sends && limiterSkipped(ctx)) {
		return nil
	}
	now := k.clock()
	n, end, err := k.limits.limiter.Hit(ctx, key, lim.per, now)
	if err != nil {
		if sends {
			return sendCapFailed(ctx, name, err)
		}
		return k.limiterFailed(ctx, name, err)
	}
	if n <= lim.max {
		return nil
	}
	k.limitEvent(ctx, n == lim.max+1, name, userID)
	return errTooManyRequests(end.Sub(now))
}

// limitEvent logs a request refused by a limit: the first refusal of a
// window as a warning (a lockout), the others, which an attack may send by
// the million, at debug level.
func (k *Kit) limitEvent(ctx context.Context, first bool, name, userID string) {
	k.metrics.refused(ctx, name, first)
	level := slog.LevelDebug
	if first {
		level = slog.LevelWarn
	}
	k.log.Log(ctx, level, "authkit: too many requests", "limit", name, "user", userID)
}

// limitDigest names an address or number in a limit key without spelling
// it out, in a bounded length.
func limitDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// changeAsked counts a request of the signed-in user u to change a
// credential or contact (AccountChanges), before anything else is done.
func (k *Kit) changeAsked(ctx context.Context, userID string) error {
	return k.hit(ctx, k.limits.accountChanges, "AccountChanges", "change:"+limitDigest(userID), userID)
}

// ipAsked counts a request from the client toward PerIP.
func (k *Kit) ipAsked(ctx context.Context) error {
	return k.hit(ctx, k.limits.perIP, "PerIP", "ip:"+ipKey(clientOf(ctx).ip), "")
}

// sendAsked counts a request of a send route from the client toward PerIP,
// apart from the other routes: failed sign-ins from an address cannot
// spend the recovery asked from it.
func (k *Kit) sendAsked(ctx context.Context) error {
	return k.hit(ctx, k.limits.perIP, "PerIP", "ip-send:"+ipKey(clientOf(ctx).ip), "")
}

// ipKey is the part of a limit key that names a client: an IPv4 address,
// or the /64 of an IPv6 one (a host is usually given a whole /64).
func ipKey(ip string) string {
	if b, ok := clientip.Block(ip); ok {
		return b
	}
	return otherKey(ip)
}

// networkKey is the part of a limit key that names where a request comes
// from, for the caps on what is sent: the /24 of an IPv4 address, or the
// /64 of an IPv6 one.
func networkKey(ip string) string {
	if n, ok := clientip.Network(ip); ok {
		return n
	}
	return otherKey(ip)
}

// otherKey names a client whose address does not parse.
func otherKey(ip string) string {
	if len(ip) > 64 || ip == "" {
		return "other:" + limitDigest(ip)
	}
	return "other:" + ip
}

// sendCapCeiling is how many times a send cap's Max the sends to one
// address or number from every network together may reach.
const sendCapCeiling = 5

// underCap counts one event under key against lim and reports whether it
// is within it. A cap passed changes no answer: the first event past it in
// a window is logged as a warning, the others at debug level.
func (k *Kit) underCap(ctx context.Context, lim rate, name, key, userID string) (bool, error) {
	if !lim.on() {
		return true, nil
	}
	n, _, err := k.limits.limiter.Hit(ctx, key, lim.per, k.clock())
	if err != nil {
		return false, sendCapFailed(ctx, name, err)
	}
	if n <= lim.max {
		return true, nil
	}
	level := slog.LevelDebug
	if n == lim.max+1 {
		level = slog.LevelWarn
	}
	k.log.Log(ctx, level, "authkit: message not sent: a send cap is reached", "limit", name, "user", userID)
	return false, nil
}

// sendCaps counts a message about to go to an address or number (kind
// "mail" or "sms") against lim: first from the client's network, then,
// when repeat allows it (nil: always), from every network, at
// sendCapCeiling times lim. A message refused by the network's cap
// reaches neither repeat nor the ceiling, so one network spends no more
// than its own share of them. It reports whether the message may go.
func (k *Kit) sendCaps(ctx context.Context, lim rate, name, kind, to, userID string, repeat func() (bool, error)) (bool, error) {
	dest := limitDigest(to)
	if ok, err := k.underCap(ctx, lim, name, kind+":"+dest+":"+networkKey(clientOf(ctx).ip), userID); !ok {
		return false, err
	}
	if repeat != nil {
		if ok, err := repeat(); !ok {
			return false, err
		}
	}
	ceiling := rate{max: math.MaxInt64, per: lim.per}
	if lim.max <= math.MaxInt64/sendCapCeiling {
		ceiling.max = lim.max * sendCapCeiling
	}
	return k.underCap(ctx, ceiling, name, kind+"-all:"+dest, userID)
}

// mailAllowed says whether a mail may go to an address now: within
// EmailsPerAddress and, for a message kind of the send routes (kind not
// ""), not sent to it a moment ago (EmailRepeats). It shapes what is sent,
// never the answer.
func (k *Kit) mailAllowed(ctx context.Context, kind, email, userID string) (bool, error) {
	var repeat func() (bool, error)
	if kind != "" {
		repeat = func() (bool, error) { return k.mailRepeat(ctx, kind, email, userID) }
	}
	return k.sendCaps(ctx, k.limits.mailPerAddress, "EmailsPerAddress", "mail", email, userID, repeat)
}

// mailRepeat says whether the message kind may go to an address again now
// (EmailRepeats).
func (k *Kit) mailRepeat(ctx context.Context, kind, email, userID string) (bool, error) {
	lim := k.limits.mailRepeats
	if !lim.on() {
		return true, nil
	}
	n, _, err := k.limits.limiter.Hit(ctx, "mail-repeat:"+kind+":"+limitDigest(email), lim.per, k.clock())
	if err != nil {
		return false, sendCapFailed(ctx, "EmailRepeats", err)
	}
	if n > lim.max {
		k.log.InfoContext(ctx, "authkit: mail not sent: the address got the same message a moment ago", "user", userID, "kind", kind)
		return false, nil
	}
	return true, nil
}

// textAsked counts a request that may text toward SMSPerIP, on the
// request, whatever the number and the account.
func (k *Kit) textAsked(ctx context.Context, userID string) error {
	return k.hitLimit(ctx, k.limits.smsPerIP, "SMSPerIP", "sms-ip:"+ipKey(clientOf(ctx).ip), userID, true)
}

// textsAllowed says whether a code may be texted to phone now, within
// SMSPerNumber. It runs where a text is about to go (past the resend gap),
// so requests that text nothing spend nothing.
func (k *Kit) textsAllowed(ctx context.Context, phone, userID string) (bool, error) {
	return k.sendCaps(ctx, k.limits.smsPerNumber, "SMSPerNumber", "sms", phone, userID, nil)
}

// textAllowed says whether a text may go to phone: its region is allowed.
// A refused one is logged, and the caller answers as if it went.
func (k *Kit) textAllowed(ctx context.Context, phone, userID string) bool {
	if k.limits.countries == nil || k.limits.countries[phonenum.Region(phone)] {
		return true
	}
	k.log.InfoContext(ctx, "authkit: text not sent: the number's region is not in Limits.SMSCountries", "user", userID, "region", phonenum.Region(phone))
	return false
}

// textBudget spends one text of SMSBudget and says whether it may be
// sent. The first text dropped in a window is logged as an error: someone
// should look.
func (k *Kit) textBudget(ctx context.Context, userID string) (bool, error) {
	lim := k.limits.smsBudget
	if !lim.on() {
		return true, nil
	}
	n, end, err := k.limits.limiter.Hit(ctx, "sms-budget", lim.per, k.clock())
	if err != nil {
		return false, sendCapFailed(ctx, "SMSBudget", err)
	}
	if n <= lim.max {
		return true, nil
	}
	level := slog.LevelDebug
	if n == lim.max+1 {
		level = slog.LevelError
	}
	k.log.Log(ctx, level, "authkit: text not sent: Limits.SMSBudget is spent", "user", userID, "until", end)
	return false, nil
}

// LimiterPolicy is what a kind of route does while the [Limiter] fails.
type LimiterPolicy uint8

// The values of a LimiterPolicy.
const (
	// FailClosed refuses the request: 503 service_unavailable with
	// Retry-After. The default.
	FailClosed LimiterPolicy = iota
	// FailOpen lets the request through as if the limits that failed had
	// counted it and found it within them, and logs each such request as
	// an error.
	FailOpen
)

// LimiterDown is what requests do while the [Limiter] fails: Redis is
// down, or a count runs past Config.StoreTimeout. By default every route
// that counts a limit refuses the request with 503 service_unavailable and
// Retry-After, rather than let it through uncounted.
//
// The routes that send a mail or a text (send-magic, send-reset, resend,
// send-code, send-reset-code, resend-code, and the texts of signup-phone
// and change-phone) always do: each message costs money, and a flood of
// them is what the limits stop. A message due after the answer (a
// confirmation, a notice) waits, and the courier tries it again later.
//
// A host that would rather keep its users signing in while its limiter is
// down may let sign-ins, sign-ups or both through. Passwords and codes are
// checked as always, but no failure is counted: credential stuffing is
// unlimited while the limiter is down (see SECURITY.md).
type LimiterDown struct {
	// SignIn is the policy of signin-email, signin-phone and signin-code
	// (their forms and Go methods too) and of the start of an OAuth
	// sign-in: the per-IP limit and the failed-guess limits. Default
	// FailClosed.
	SignIn LimiterPolicy
	// SignUp is the policy of signup-email and signup-phone (their forms
	// and Go methods too): the per-IP limit. A signup-phone that texts a
	// code still needs the SMS limits counted, and answers 503 without
	// them. Default FailClosed.
	SignUp LimiterPolicy
}

// The kinds of route of LimiterDown.
const (
	routeSignIn = "sign-in"
	routeSignUp = "sign-up"
)

// failOpen marks a request of a kind that goes through while the limiter
// is down; it rides in the request's context. Once a count failed, the
// request's other counts are skipped: a limiter that hangs holds a
// request for one StoreTimeout, not one per limit.
type failOpen struct {
	kind   string
	failed atomic.Bool
}

// failOpenKey is the context key of a *failOpen.
type failOpenKey struct{}

// limiterPolicy is ctx marked as a request of that kind of route, when
// the host lets the kind through while the limiter is down (p FailOpen).
func limiterPolicy(ctx context.Context, p LimiterPolicy, kind string) context.Context {
	if p != FailOpen {
		return ctx
	}
	return context.WithValue(ctx, failOpenKey{}, &failOpen{kind: kind})
}

// limiterSkipped reports whether the request goes through uncounted: it
// fails open, and a count of it failed already.
func limiterSkipped(ctx context.Context) bool {
	f, ok := ctx.Value(failOpenKey{}).(*failOpen)
	return ok && f.failed.Load()
}

// limiterFailed is the outcome of a request whose count of name failed
// with err: let through, logged as an error, when its kind fails open,
// else refused with 503. A request whose client went away keeps err.
func (k *Kit) limiterFailed(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	if f, ok := ctx.Value(failOpenKey{}).(*failOpen); ok {
		if !f.failed.Swap(true) {
			k.log.ErrorContext(ctx, "authkit: the limiter failed: a "+f.kind+" goes through uncounted (Config.LimiterDown)",
				"limit", name, "err", err)
		}
		return nil
	}
	return errLimiterDown(name, err)
}

// sendCapFailed is the error of a send cap whose count failed: sends fail
// closed whatever the route.
func sendCapFailed(ctx context.Context, name string, err error) error {
	if ctx.Err() != nil {
		return err
	}
	return errLimiterDown(name, err)
}

// errLimiterDown answers a request whose limit could not be counted.
func errLimiterDown(name string, err error) *Error {
	return &Error{
		Code:       CodeUnavailable,
		Message:    "The server cannot count its abuse limits right now; try again in a moment.",
		RetryAfter: unavailableRetry,
		Err:        fmt.Errorf("authkit: the limiter failed counting %s: %w", name, err),
	}
}
