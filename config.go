package authkit

// Config and the checks New runs on it, one step per group of fields.

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/authkit/authkit/internal/password"

	"github.com/authkit/authkit/internal/emailaddr"
)

// Switch turns a feature on or off. Its zero value, Default, keeps the
// feature's documented default.
type Switch uint8

// The values of a Switch.
const (
	Default Switch = iota
	On
	Off
)

func (s Switch) on(byDefault bool) bool {
	switch s {
	case On:
		return true
	case Off:
		return false
	}
	return byDefault
}

// Config is the kit's settings: Altogic's "App settings → Authentication".
// Store, Mailer, PublicURL and RedirectURL are required; every other field
// has the default its comment states.
type Config struct {
	// Store keeps users, sessions and one-time tokens. Required. Features
	// that need more of it say so: PhoneAuth needs a [PhoneStore]; see
	// [Store] for the capabilities the kit looks for.
	Store Store
	// Mailer delivers confirmation, magic-link, reset and notice emails.
	// Required.
	Mailer Mailer

	// PublicURL is the absolute http(s) URL at which users reach the
	// Handler, such as "https://api.example.com" or
	// "https://example.com/auth". Every link in mail is built from it, never
	// from the request's Host. Required.
	PublicURL string
	// RedirectURL is the page of the app where links and sign-ins end: the
	// kit redirects there with access_token, action and status (or error)
	// in the query. Absolute http(s). Required.
	RedirectURL string
	// AllowedOrigins are the browser origins ("https://app.example.com")
	// allowed to call the kit with credentials. Default: none, which suits
	// an app served from the kit's own origin.
	AllowedOrigins []string
	// AppName names the app in messages. Default "authkit".
	AppName string
	// Secret keys what the kit must recognise later without storing it in
	// the clear: the HMACs of SMS codes, the OAuth state cookie and the
	// device cookie. At least 32 random bytes, the same on every instance,
	// kept out of the database. Default: random at New, which suits one
	// process; then codes, OAuth sign-ins in flight and known devices do
	// not survive a restart. To rotate it, use Secrets instead.
	Secret []byte
	// Secrets are the secrets in use while Secret is rotated, the current
	// one first: codes, OAuth state cookies and device cookies are made
	// under the first, and those made under any of them are recognised.
	// Each is at least 32 random bytes. To rotate, put the new secret
	// first on every instance; once what the old one made has expired
	// (codes after CodeLifetime, OAuth sign-ins in flight after 10
	// minutes; a device cookie is made again under the new secret when its
	// browser signs in, and one that is not only stops passing the lockout
	// of its IP), remove the old one. See the README. Set Secret or
	// Secrets, not both: Secrets{s} is Secret s. Default: Secret.
	Secrets [][]byte

	// EmailConfirmation: new email addresses must be confirmed by link
	// before they can sign in. Default On. When Off, sign-up answers with a
	// session at once, changeEmail applies at once, and magic links are
	// refused (as Altogic does).
	EmailConfirmation Switch

	// InternationalEmail accepts addresses whose local part (before the @)
	// is not ASCII (RFC 6531), such as "rené@example.com": compared after
	// width and case folding and NFC, and refused when the local part mixes
	// scripts (Cyrillic "а" among Latin letters). Default Off: local parts
	// are ASCII (RFC 5321), which every mail server takes; domains may be
	// Unicode either way. See the README's "What an email and a phone
	// number must look like".
	InternationalEmail Switch

	// MinPasswordLength is the fewest characters a new password may have.
	// Default 8; at least 6 (Altogic's own minimum).
	MinPasswordLength int

	// PasswordChecker judges new passwords beyond the length rules and the
	// embedded list of the 100,000 commonest breached passwords, which
	// always apply: a password it reports breached is refused with
	// password_too_common. The hibp package checks Have I Been Pwned's
	// range API (k-anonymity: only 5 hex digits of the password's SHA-1
	// leave the server). When it fails, the kit logs a warning and judges
	// the password without it. Default none.
	PasswordChecker PasswordChecker

	// SessionLifetime is how long a session lasts from sign-in, however
	// active. Default 30 days.
	SessionLifetime time.Duration
	// SessionIdleTimeout ends a session unused this long. Default 7 days.
	SessionIdleTimeout time.Duration
	// MeterProvider receives the kit's metrics (OpenTelemetry): sign-ins
	// and sign-ups by method and outcome, limit refusals, messages by
	// channel, provider and event, store and limiter call durations, and
	// the session cache's lookups; see the README's "Metrics". Default:
	// none (a no-op provider).
	MeterProvider metric.MeterProvider
	// SessionCache keeps the sessions requests authenticate with in
	// memory, so that most cost no round trip to the store, and bounds how
	// long another instance may accept a session revoked here. Default
	// off. See [SessionCache].
	SessionCache SessionCache
	// ConfirmEmailLifetime is how long a confirmation link works. Default 24 hours.
	ConfirmEmailLifetime time.Duration
	// ChangeEmailLifetime is how long an email-change link works. Default 24 hours.
	ChangeEmailLifetime time.Duration
	// MagicLinkLifetime is how long a magic link works. Default 15 minutes.
	MagicLinkLifetime time.Duration
	// ResetPasswordLifetime is how long a reset link works. Default 1 hour.
	ResetPasswordLifetime time.Duration
	// GrantLifetime is how long the access_token of a redirect can be
	// exchanged with getAuthGrant. Default 2 minutes.
	GrantLifetime time.Duration

	// EmailTemplates overrides the messages; zero fields keep
	// [DefaultEmailTemplates].
	EmailTemplates EmailTemplates

	// MFA turns on second factors: a TOTP authenticator app with ten
	// recovery codes, which a signed-in user enrols and confirms (the
	// mfa/totp routes, Kit.EnrolTOTP and Kit.ConfirmTOTP). Every sign-in
	// of a user with an active factor, by any method, then answers 401
	// mfa_required with a ticket in its details instead of a session, and
	// mfa/verify (Kit.VerifyMFA) exchanges the ticket and a code for the
	// session. Default Off; while off the mfa routes answer 403
	// feature_disabled and every sign-in needs one factor. When On, Store
	// must be a [FactorStore] (memstore and sqlstore stores are), and
	// Secret or Secrets must be set: the factors' secrets are sealed under
	// it, and with a secret drawn at start every enrolled user would be
	// locked out at the next restart.
	MFA Switch
	// RecentFactor is how long after a session proved a second factor
	// (a sign-in through mfa/verify, or mfa/step-up) the session may
	// change the user's credentials: with MFA on, changing the password,
	// the email or the phone number of a user with a factor from a
	// session without a second factor that recent answers 403
	// mfa_step_up_required. Default 10 minutes.
	RecentFactor time.Duration

	// Passkeys turns on passkeys (WebAuthn) when its RPID is set: a
	// signed-in user registers one or more (the passkeys/register routes),
	// each a second factor like the TOTP authenticator, and signs in with
	// one alone (passkeys/signin, a session of two factors, since a
	// passkey verifies its user). Passkeys need MFA On: they share its
	// recovery codes and its ticket, and a user with a passkey is asked
	// for a second factor at every other sign-in. Store must be a
	// [PasskeyStore] (memstore and sqlstore stores are). Default: off.
	Passkeys Passkeys

	// PhoneAuth turns on phone accounts and SMS codes: signUpWithPhone,
	// signInWithPhone, verifyPhone, resendVerificationCode, sendSignInCode,
	// signInWithCode, sendResetPwdCode, resetPwdWithCode and changePhone.
	// Default Off, as in Altogic; while off those routes answer 403
	// feature_disabled. When On, Store must be a [PhoneStore] too
	// (memstore and sqlstore stores are).
	PhoneAuth Switch
	// SMSSender delivers the texts. Required when PhoneAuth is On (the sms
	// package has Twilio, MessageBird and Vonage senders; outbox.New()
	// records and prints texts in development).
	SMSSender SMSSender
	// PhoneConfirmation: new phone numbers must be confirmed with a texted
	// code (verifyPhone) before they can sign in, and a change of number
	// applies only once the new number confirms. Default On. When Off,
	// sign-up answers with a session at once, changePhone applies at once
	// and resendVerificationCode is refused.
	PhoneConfirmation Switch
	// SignInCodes allows signing in with a texted code (sendSignInCode,
	// signInWithCode). Default On (while PhoneAuth is on).
	SignInCodes Switch
	// CodeLength is the number of digits of an SMS code: 6 to 10. Default 6.
	CodeLength int
	// CodeLifetime is how long an SMS code works: at most 10 minutes.
	// Default 5 minutes.
	CodeLifetime time.Duration
	// CodeMaxAttempts is how many guesses a code takes, the right one
	// included, before it is dead: 1 to 10. Default 5.
	CodeMaxAttempts int
	// CodeResendGap is the least time between two codes texted to one
	// number, by every instance that shares the Store; a send route asked
	// again sooner answers as usual and texts nothing (the code sent before
	// still works; once it is spent, the next may go at once). At most
	// CodeLifetime. Default 60 seconds (or CodeLifetime, if that is
	// shorter).
	CodeResendGap time.Duration
	// CostlyNumbers lists the kinds of phone numbers that cost whoever
	// texts them and that phone accounts may still use: NumberPremiumRate,
	// NumberSharedCost, NumberUAN, NumberVoicemail, NumberSatellite,
	// NumberShortCode. Default: none. A number of another costly kind is
	// answered 400 invalid_phone by every phone route, before any text is
	// sent: sending texts to such numbers is how SMS pumping earns money.
	CostlyNumbers []NumberKind
	// SMSTemplates overrides the text messages; empty fields keep
	// [DefaultSMSTemplates].
	SMSTemplates SMSTemplates

	// Notices turns on the messages that tell an account's owner what was
	// done with it: a password changed or reset, a sign-in from a browser
	// the account had not seen. Each is Off by default; see [Notices]. The
	// notices of a changed email or number, to the old one, are always
	// sent.
	Notices Notices

	// Providers turns on sign-in with OAuth providers (signInWithProvider),
	// keyed by the name the client uses: "google", "apple", "facebook",
	// "twitter" (X), "github", "discord". Default: none. Register
	// <PublicURL>/_auth/<name>/callback as the redirect URI at each.
	Providers map[string]OAuthProvider
	// LinkVerifiedEmails lets an OAuth sign-in whose provider vouches for
	// the email (Google, Apple, GitHub, Discord, X; never Facebook) sign in
	// to the existing account that has that email, if the account confirmed
	// it too; the provider's identity is not stored on that account.
	// Default Off: an OAuth sign-in whose email belongs to another account
	// is refused with account_exists, for an identity is never attached to
	// an account on the email alone.
	LinkVerifiedEmails Switch

	// SessionCookie turns on the kit's own session cookie: every answer
	// that starts a session (sign-in, sign-up without confirmation, grant,
	// verifyPhone, signInWithCode) sets the session_token cookie (HttpOnly,
	// SameSite=Lax, Path=/, Secure; PublicURL must be https, or http on
	// localhost for development), when the
	// request comes from the app's own origin or an allowed one or
	// presents a CSRF token ([Kit.CSRFToken]); a sign-out of that session
	// clears it. [Kit.SaveSession] does the same for the Go API's
	// sign-ins. The kit reads the cookie either way (the Altogic client's
	// helpers set it); a cookie-authenticated POST must pass the same
	// origin check. Default Off.
	SessionCookie Switch
	// SessionCookieHostPrefix names the cookie __Host-session_token, which
	// a browser takes only from this host over https, with Path=/: no
	// sibling subdomain can plant or shadow it. Needs an https PublicURL
	// and SessionCookie on. Default Off.
	SessionCookieHostPrefix Switch
	// SessionCarrier keeps browsers' sessions in a session library of the
	// host's instead of the kit's cookie, with the same rules (see
	// [SessionCarrier]): scsauth.New(sessionManager) for
	// alexedwards/scs, gorillaauth.New(store, name) for gorilla/sessions.
	// Set it or SessionCookie, not both. Default none.
	SessionCarrier SessionCarrier
	// TokenInBody keeps the session token in the JSON answers that start a
	// session, for the Altogic client, which keeps it itself. Off, an
	// answer whose session the cookie or the carrier kept carries no token:
	// scripts on the page never see it. Default On.
	TokenInBody Switch
	// Forms turns on the HTML form routes (/_auth/forms/signin-email and
	// the others, which answer 303 to the app's pages) and
	// [Kit.RequireSignIn], naming the pages; see [Forms]. They need
	// SessionCookie or a SessionCarrier. Default: off (a form body to the
	// REST API is 415, as ever).
	Forms Forms
	// ServeOpenAPI serves the OpenAPI 3.1 document of the kit's routes
	// ([OpenAPI]) at /_api/rest/v1/auth/openapi.json, for API explorers
	// and client generators. Default Off: the routes an app serves are
	// its business to publish.
	ServeOpenAPI Switch

	// ProfileFields are the fields of a user that a client may write
	// (sign-up's nameOrUserData): "name", "profilePicture", or fields of
	// the app's own, kept in User.Profile. A field off the list, and the
	// kit's own fields in any spelling ("emailVerified", "Email_Verified",
	// "accessGroups"), are dropped and logged, or refused (StrictProfile).
	// Keep roles, plans and flags out of it: they belong in access groups
	// and ServerData, which only the app writes. Default: "name" and
	// "profilePicture".
	ProfileFields []string
	// StrictProfile answers a sign-up that writes a field off
	// ProfileFields 400 invalid_user_data, naming the field, instead of
	// dropping it. Default Off: the Altogic client sends whatever the app
	// gives it, and the sign-up goes on without the field.
	StrictProfile Switch
	// PublicServerData names the keys of User.ServerData that answers show
	// among the user's fields (as user.plan for "plan"), for the client to
	// read; it still cannot write them. Default: none: server data stays on
	// the server.
	PublicServerData []string
	// DefaultAccessGroups are the access groups every new account is in,
	// before Hooks.BeforeSignUp (which may change them). Default: none.
	DefaultAccessGroups []string
	// Hooks are the app's code run as flows run; see [Hooks].
	Hooks Hooks

	// Limiter counts the abuse limits of Limits, shared by every instance
	// that uses the same one. Default: the Store, when it implements
	// [Limiter] (memstore and sqlstore stores do, so instances on one
	// database share their limits with no more setup). A Store that does
	// not needs one here: redislimit.New(client, "") counts in Redis,
	// memstore.New() in this process only. New fails without one, rather
	// than let each instance count alone.
	Limiter Limiter
	// Limits are the abuse limits: failed guesses per account, requests
	// per client IP, mails per address, texts per number and per IP, an
	// optional SMS budget and allowed SMS countries. A limit that is passed
	// answers 429 too_many_requests with Retry-After. Default: each field
	// of [Limits] states its own.
	Limits Limits
	// TrustedProxies are the reverse proxies and load balancers in front
	// of the kit. When a request's connection comes from one of them, the
	// client IP (for the per-IP limits, the logs and the sessions) is the
	// rightmost X-Forwarded-For address that is not one of them. Default:
	// none: the client IP is the connection's, and X-Forwarded-For, which
	// any client can write, is ignored.
	TrustedProxies []netip.Prefix
	// MaxPendingSends bounds, when the Store is no [Courier] (and the kit
	// sends from goroutines), the messages being sent in the background at
	// once (each waits at most SendTimeout). Past it, a message asked for
	// is dropped and the drop logged as an error, so a flood of send
	// requests cannot pile up goroutines. Default 1000.
	MaxPendingSends int

	// DeliveryWorkers is how many messages one instance delivers at once.
	// Default 4.
	DeliveryWorkers int
	// DeliveryAttempts is how many times a message is tried before it is
	// given up as a dead letter ([Kit.DeadLetters]); a failure that its
	// sender says will not pass gives it up at once. Default 8.
	DeliveryAttempts int
	// DeliveryBackoff is the wait after a message's first failed try;
	// each later failure doubles it, up to an hour. Default 30 seconds (8
	// tries then span about an hour).
	DeliveryBackoff time.Duration

	// MaxConcurrentHashes bounds how many password hashes run at once, each
	// taking 19 MiB: a flood of sign-ins waits instead of exhausting memory.
	// Default 2 × GOMAXPROCS.
	MaxConcurrentHashes int
	// MaxHashWait bounds how long a request waits for a hashing slot;
	// past it the request answers 503 service_unavailable with
	// Retry-After, rather than queue behind a flood. Default 5 seconds.
	MaxHashWait time.Duration
	// SendTimeout bounds each delivery of a message. Default 30 seconds.
	SendTimeout time.Duration
	// StoreTimeout bounds each call the kit makes to the Store and to the
	// Limiter for a request or a delivery: a call that runs past it is
	// answered 503 service_unavailable with Retry-After (5 seconds), and
	// logged as a timeout, rather than hold the request as long as the
	// database is frozen. It works through the call's context, which the
	// drivers of memstore, sqlstore (pgx, go-sql-driver/mysql,
	// modernc.org/sqlite) and redislimit honour; a store of your own must
	// return once its context ends. The bulk calls of Kit.Cleanup and the
	// listings of UserLister run under the caller's context alone. Default
	// 5 seconds; at least a millisecond; negative: no bound.
	StoreTimeout time.Duration
	// LimiterDown says what a request does when the Limiter fails (an
	// error, or a call past StoreTimeout): by default every route refuses
	// it, 503 service_unavailable with Retry-After, rather than let it
	// through uncounted. See [LimiterDown].
	LimiterDown LimiterDown

	// Logger receives the kit's logs: an Info record per auth event, with
	// the user's id, and, like every record logged while serving a
	// request, the request's ip and userAgent; never a password, token or
	// code. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the source of every token and salt. Default crypto/rand.Reader.
	Rand io.Reader

	// test holds what only the package's own tests set (export_test.go).
	test testHooks
}

// testHooks are the seams the tests use, in place of package variables
// they would swap: a kit's tests can then run in parallel.
type testHooks struct {
	// hashParams replaces the argon2id parameters of new hashes (the fuzz
	// targets hash thousands of times a second).
	hashParams *password.Params
	// verifyPassword replaces password.Verify (a test counts its calls).
	verifyPassword func(stored, pw string, p password.Params) (ok, rehash bool, err error)
	// noCourierLoop keeps New from starting the courier's loop: messages
	// go only when the test calls Flush.
	noCourierLoop bool
}

// bounded is a numeric field of Config: its zero value takes def, any
// other must lie within [lo, hi], which rule says in words.
type bounded[T int | time.Duration] struct {
	name    string
	in, def T
	lo, hi  T
	rule    string
	out     *T
}

// applyBounded checks and applies fields, in order.
func applyBounded[T int | time.Duration](fields ...bounded[T]) error {
	for _, f := range fields {
		switch {
		case f.in == 0:
			*f.out = f.def
		case f.in < f.lo || f.in > f.hi:
			return fmt.Errorf("authkit: Config.%s must be %s", f.name, f.rule)
		default:
			*f.out = f.in
		}
	}
	return nil
}

// forever is the bound of a duration that has none above.
const forever = time.Duration(math.MaxInt64)

// configureDependencies checks and applies Store and Mailer (required), and
// Logger, Now and Rand.
func (k *Kit) configureDependencies(cfg Config) error {
	if cfg.Store == nil {
		return errors.New("authkit: Config.Store is required (memstore.New() keeps everything in memory)")
	}
	if cfg.Mailer == nil {
		return errors.New("authkit: Config.Mailer is required (outbox.New() records and prints mail in development)")
	}
	k.store, k.raw, k.mailer = cfg.Store, cfg.Store, cfg.Mailer
	k.log, k.now, k.rand = cmp.Or(cfg.Logger, slog.Default()), cfg.Now, cmp.Or(cfg.Rand, io.Reader(rand.Reader))
	k.log = slog.New(clientLog{k.log.Handler()}) // see logctx.go
	if k.now == nil {
		k.now = time.Now
	}
	return nil
}

// configureURLs checks and applies PublicURL and RedirectURL.
func (k *Kit) configureURLs(cfg Config) error {
	public, err := absoluteURL("PublicURL", cfg.PublicURL)
	if err != nil {
		return err
	}
	if public.RawQuery != "" || public.Fragment != "" {
		return errors.New("authkit: Config.PublicURL must have no query or fragment")
	}
	redirect, err := absoluteURL("RedirectURL", cfg.RedirectURL)
	if err != nil {
		return err
	}
	if redirect.Fragment != "" {
		return errors.New("authkit: Config.RedirectURL must have no fragment")
	}
	k.publicURL, k.redirectURL = strings.TrimSuffix(public.String(), "/"), redirect
	return nil
}

func absoluteURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("authkit: Config.%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("authkit: Config.%s must be an absolute http(s) URL without user info, not %q", field, raw)
	}
	return u, nil
}

// configureSecret checks and applies Secret or Secrets, or draws a secret.
func (k *Kit) configureSecret(cfg Config) error {
	switch {
	case len(cfg.Secret) > 0 && len(cfg.Secrets) > 0:
		return errors.New("authkit: set Config.Secret or Config.Secrets, not both (Secrets lists every secret in use, the current one first)")
	case len(cfg.Secrets) > 0:
		for i, s := range cfg.Secrets {
			if len(s) < 32 {
				return fmt.Errorf("authkit: Config.Secrets[%d] has %d bytes; each needs at least 32 random bytes", i, len(s))
			}
			for j := range i {
				if bytes.Equal(s, cfg.Secrets[j]) {
					return fmt.Errorf("authkit: Config.Secrets[%d] repeats Config.Secrets[%d]", i, j)
				}
			}
			k.secrets = append(k.secrets, bytes.Clone(s))
		}
	case len(cfg.Secret) > 0:
		if n := len(cfg.Secret); n < 32 {
			return fmt.Errorf("authkit: Config.Secret has %d bytes; it needs at least 32 random bytes", n)
		}
		k.secrets = [][]byte{bytes.Clone(cfg.Secret)}
	default:
		s := make([]byte, 32)
		if _, err := io.ReadFull(k.rand, s); err != nil {
			return fmt.Errorf("authkit: making a secret: %w", err)
		}
		k.secrets = [][]byte{s}
	}
	return nil
}

// configureAccounts checks and applies AppName, EmailConfirmation,
// InternationalEmail, PasswordChecker, the
// lifetimes of sessions and links, SendTimeout and MaxPendingSends.
func (k *Kit) configureAccounts(cfg Config) error {
	k.appName = cmp.Or(cfg.AppName, "authkit")
	k.emailConfirmation = cfg.EmailConfirmation.on(true)
	k.emailPolicy = emailaddr.Policy{UnicodeLocal: cfg.InternationalEmail.on(false)}
	k.passwordChecker = cfg.PasswordChecker
	const rule = "positive (or zero, for the default)"
	err := applyBounded(
		bounded[time.Duration]{"SessionLifetime", cfg.SessionLifetime, 30 * 24 * time.Hour, 1, forever, rule, &k.sessionLifetime},
		bounded[time.Duration]{"SessionIdleTimeout", cfg.SessionIdleTimeout, 7 * 24 * time.Hour, 1, forever, rule, &k.sessionIdle},
		bounded[time.Duration]{"ConfirmEmailLifetime", cfg.ConfirmEmailLifetime, 24 * time.Hour, 1, forever, rule, &k.confirmLifetime},
		bounded[time.Duration]{"ChangeEmailLifetime", cfg.ChangeEmailLifetime, 24 * time.Hour, 1, forever, rule, &k.changeEmailLifetime},
		bounded[time.Duration]{"MagicLinkLifetime", cfg.MagicLinkLifetime, 15 * time.Minute, 1, forever, rule, &k.magicLifetime},
		bounded[time.Duration]{"ResetPasswordLifetime", cfg.ResetPasswordLifetime, time.Hour, 1, forever, rule, &k.resetLifetime},
		bounded[time.Duration]{"GrantLifetime", cfg.GrantLifetime, 2 * time.Minute, 1, forever, rule, &k.grantLifetime},
		bounded[time.Duration]{"SendTimeout", cfg.SendTimeout, 30 * time.Second, 1, forever, rule, &k.sendTimeout},
	)
	if err != nil {
		return err
	}
	// Record activity at most this often: a session used all day costs a
	// write a few times a day, not one per request.
	k.touchEvery = min(k.sessionIdle/20, time.Hour)
	var pending int
	if err := applyBounded(bounded[int]{"MaxPendingSends", cfg.MaxPendingSends, 1000, 1, math.MaxInt, "positive (or zero, for the default)", &pending}); err != nil {
		return err
	}
	k.pending = make(chan struct{}, pending)
	return nil
}
