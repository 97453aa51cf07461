// Package authkit gives a net/http app a complete auth backend: sign-up and
// sign-in with email and password, email confirmation, magic links, password
// reset by link, email change, phone accounts with SMS codes (see
// [Config.PhoneAuth]), sign-in with OAuth providers (Google, Apple,
// Facebook, X, GitHub, Discord; see [OAuthProvider]), and sessions that can
// be listed and revoked. It speaks the wire protocol of the Altogic JavaScript client (npm
// altogic@2.3.9), so that client works unchanged against an app that mounts
// the kit.
//
// # Mounting
//
// Build a [Kit] from a [Config] with [New], serve [Kit.Handler] (at the root,
// or at "/_api/" and "/_auth/"), and wrap private routes in
// [Kit.RequireSession]. Inside them, [UserFromContext] and
// [SessionFromContext] tell who is calling.
//
// # Storage and delivery
//
// The kit keeps its data in a [Store], sends mail through a [Mailer] and
// texts through an [SMSSender]; all are small interfaces. The memstore
// package keeps everything in memory, the sqlstore package in SQLite,
// PostgreSQL or MySQL; the outbox package records and prints messages for
// tests and development, smtpmail sends real mail and sms real texts
// (Twilio, MessageBird, Vonage).
//
// # Safety
//
// Passwords are hashed with argon2id under a bound on concurrent hashing;
// session tokens, link tokens and grant keys are stored only as SHA-256
// hashes and spent atomically; SMS codes only as keyed HMACs, with a cap on
// tries; sign-in and send routes answer alike for
// known and unknown accounts; links are built from [Config.PublicURL] and
// end only at [Config.RedirectURL]. Abuse [Limits] on failed sign-ins per
// account, requests per client IP, mails per address and texts per number
// answer 429 with Retry-After; they are counted in a [Limiter] (by default
// the store), so instances that share a database share them.
package authkit

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"
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
	// Store keeps users, sessions and one-time tokens. Required.
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
	// the clear: the HMACs of SMS codes and the OAuth state cookie. At least
	// 32 random bytes, the same on every instance, kept out of the
	// database. Default: random at New, which suits one process; then codes
	// and OAuth sign-ins in flight do not survive a restart.
	Secret []byte

	// EmailConfirmation: new email addresses must be confirmed by link
	// before they can sign in. Default On. When Off, sign-up answers with a
	// session at once, changeEmail applies at once, and magic links are
	// refused (as Altogic does).
	EmailConfirmation Switch

	// MinPasswordLength is the fewest characters a new password may have.
	// Default 8; at least 6 (Altogic's own minimum).
	MinPasswordLength int

	// SessionLifetime is how long a session lasts from sign-in, however
	// active. Default 30 days.
	SessionLifetime time.Duration
	// SessionIdleTimeout ends a session unused this long. Default 7 days.
	SessionIdleTimeout time.Duration
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

	// PhoneAuth turns on phone accounts and SMS codes: signUpWithPhone,
	// signInWithPhone, verifyPhone, resendVerificationCode, sendSignInCode,
	// signInWithCode, sendResetPwdCode, resetPwdWithCode and changePhone.
	// Default Off, as in Altogic; while off those routes answer 403
	// feature_disabled.
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
	// number; a send route asked again sooner answers as usual and texts
	// nothing (the code sent before still works). At most CodeLifetime.
	// Default 60 seconds (or CodeLifetime, if that is shorter).
	CodeResendGap time.Duration
	// SMSTemplates overrides the text messages; empty fields keep
	// [DefaultSMSTemplates].
	SMSTemplates SMSTemplates

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
	// MaxPendingSends bounds the messages being sent in the background at
	// once (each waits at most SendTimeout). Past it, a message asked for
	// is dropped and the drop logged as an error, so a flood of send
	// requests cannot pile up goroutines. Default 1000.
	MaxPendingSends int

	// MaxConcurrentHashes bounds how many password hashes run at once, each
	// taking 19 MiB: a flood of sign-ins waits instead of exhausting memory.
	// Default 2 × GOMAXPROCS.
	MaxConcurrentHashes int
	// SendTimeout bounds each delivery of a message. Default 30 seconds.
	SendTimeout time.Duration

	// Logger receives the kit's logs: an Info record per auth event, with
	// the user's id, and, like every record logged while serving a
	// request, the request's ip and userAgent; never a password, token or
	// code. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand is the source of every token and salt. Default crypto/rand.Reader.
	Rand io.Reader
}

// Kit is a configured auth backend. Its methods are safe for concurrent use.
type Kit struct {
	store       Store
	mailer      Mailer
	log         *slog.Logger
	now         func() time.Time
	rand        io.Reader
	appName     string
	publicURL   string   // without a trailing slash
	redirectURL *url.URL // parsed RedirectURL
	origins     map[string]bool
	secret      []byte

	emailConfirmation bool
	minPassword       int

	sessionLifetime, sessionIdle                          time.Duration
	confirmLifetime, changeEmailLifetime, magicLifetime   time.Duration
	resetLifetime, grantLifetime, sendTimeout, touchEvery time.Duration

	templates struct {
		confirm, magic, reset, changeEmail, emailChanged emailTemplate
	}

	phone  phoneSettings
	oauth  oauthKit
	limits limitSettings

	hashSlots chan struct{}
	dummyHash func() string // a real hash, verified for unknown users

	background sync.WaitGroup
	pending    chan struct{} // a slot per message sent in the background
	handler    http.Handler
}

// New checks cfg and builds a Kit. A missing requirement or a bad value is
// an error here, never a failed request later.
func New(cfg Config) (*Kit, error) {
	if cfg.Store == nil {
		return nil, errors.New("authkit: Config.Store is required (memstore.New() keeps everything in memory)")
	}
	if cfg.Mailer == nil {
		return nil, errors.New("authkit: Config.Mailer is required (outbox.New() records and prints mail in development)")
	}
	public, err := absoluteURL("PublicURL", cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if public.RawQuery != "" || public.Fragment != "" {
		return nil, errors.New("authkit: Config.PublicURL must have no query or fragment")
	}
	redirect, err := absoluteURL("RedirectURL", cfg.RedirectURL)
	if err != nil {
		return nil, err
	}
	if redirect.Fragment != "" {
		return nil, errors.New("authkit: Config.RedirectURL must have no fragment")
	}
	k := &Kit{
		store:             cfg.Store,
		mailer:            cfg.Mailer,
		log:               cfg.Logger,
		now:               cfg.Now,
		rand:              cfg.Rand,
		appName:           cfg.AppName,
		publicURL:         strings.TrimSuffix(public.String(), "/"),
		redirectURL:       redirect,
		origins:           map[string]bool{},
		emailConfirmation: cfg.EmailConfirmation.on(true),
		minPassword:       cfg.MinPasswordLength,
	}
	if k.log == nil {
		k.log = slog.Default()
	}
	k.log = slog.New(clientLog{k.log.Handler()}) // see logctx.go
	if k.now == nil {
		k.now = time.Now
	}
	if k.rand == nil {
		k.rand = rand.Reader
	}
	if k.appName == "" {
		k.appName = "authkit"
	}
	switch n := len(cfg.Secret); {
	case n == 0:
		k.secret = make([]byte, 32)
		if _, err := io.ReadFull(k.rand, k.secret); err != nil {
			return nil, fmt.Errorf("authkit: making a secret: %w", err)
		}
	case n < 32:
		return nil, fmt.Errorf("authkit: Config.Secret has %d bytes; it needs at least 32 random bytes", n)
	default:
		k.secret = bytes.Clone(cfg.Secret)
	}
	for _, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return nil, fmt.Errorf("authkit: Config.AllowedOrigins: %q is not an origin such as https://app.example.com", o)
		}
		k.origins[canonicalOrigin(o)] = true
	}
	switch {
	case k.minPassword == 0:
		k.minPassword = 8
	case k.minPassword < 6:
		return nil, errors.New("authkit: Config.MinPasswordLength must be at least 6")
	case k.minPassword > maxPasswordRunes:
		return nil, fmt.Errorf("authkit: Config.MinPasswordLength must be at most %d", maxPasswordRunes)
	}
	for _, d := range []struct {
		name string
		in   time.Duration
		out  *time.Duration
		def  time.Duration
	}{
		{"SessionLifetime", cfg.SessionLifetime, &k.sessionLifetime, 30 * 24 * time.Hour},
		{"SessionIdleTimeout", cfg.SessionIdleTimeout, &k.sessionIdle, 7 * 24 * time.Hour},
		{"ConfirmEmailLifetime", cfg.ConfirmEmailLifetime, &k.confirmLifetime, 24 * time.Hour},
		{"ChangeEmailLifetime", cfg.ChangeEmailLifetime, &k.changeEmailLifetime, 24 * time.Hour},
		{"MagicLinkLifetime", cfg.MagicLinkLifetime, &k.magicLifetime, 15 * time.Minute},
		{"ResetPasswordLifetime", cfg.ResetPasswordLifetime, &k.resetLifetime, time.Hour},
		{"GrantLifetime", cfg.GrantLifetime, &k.grantLifetime, 2 * time.Minute},
		{"SendTimeout", cfg.SendTimeout, &k.sendTimeout, 30 * time.Second},
	} {
		switch {
		case d.in < 0:
			return nil, fmt.Errorf("authkit: Config.%s must not be negative", d.name)
		case d.in == 0:
			*d.out = d.def
		default:
			*d.out = d.in
		}
	}
	// Record activity at most this often: a session used all day costs a
	// write a few times a day, not one per request.
	k.touchEvery = min(k.sessionIdle/20, time.Hour)

	tt := &k.templates
	for _, t := range []struct {
		name    string
		in, def EmailTemplate
		out     *emailTemplate
	}{
		{"ConfirmEmail", cfg.EmailTemplates.ConfirmEmail, DefaultEmailTemplates.ConfirmEmail, &tt.confirm},
		{"MagicLink", cfg.EmailTemplates.MagicLink, DefaultEmailTemplates.MagicLink, &tt.magic},
		{"ResetPassword", cfg.EmailTemplates.ResetPassword, DefaultEmailTemplates.ResetPassword, &tt.reset},
		{"ChangeEmail", cfg.EmailTemplates.ChangeEmail, DefaultEmailTemplates.ChangeEmail, &tt.changeEmail},
		{"EmailChanged", cfg.EmailTemplates.EmailChanged, DefaultEmailTemplates.EmailChanged, &tt.emailChanged},
	} {
		if *t.out, err = parseEmailTemplate(t.name, t.in, t.def); err != nil {
			return nil, err
		}
	}

	slots := cfg.MaxConcurrentHashes
	switch {
	case slots < 0:
		return nil, errors.New("authkit: Config.MaxConcurrentHashes must not be negative")
	case slots == 0:
		slots = 2 * runtime.GOMAXPROCS(0)
	}
	k.hashSlots = make(chan struct{}, slots)
	k.dummyHash = sync.OnceValue(func() string {
		h, err := hashPassword(k.rand, "authkit dummy password, never a real one")
		if err != nil {
			panic("authkit: cannot hash the dummy password: " + err.Error())
		}
		return h
	})
	switch n := cfg.MaxPendingSends; {
	case n < 0:
		return nil, errors.New("authkit: Config.MaxPendingSends must not be negative")
	case n == 0:
		k.pending = make(chan struct{}, 1000)
	default:
		k.pending = make(chan struct{}, n)
	}
	if err := k.configureLimits(cfg); err != nil {
		return nil, err
	}
	if err := k.configurePhone(cfg); err != nil {
		return nil, err
	}
	if err := k.setupOAuth(cfg); err != nil {
		return nil, err
	}
	k.handler = k.routes()
	return k, nil
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

// Handler serves the Altogic REST v1 auth API under /_api/rest/v1/auth/ and
// the email links and OAuth sign-in under /_auth/. Mount it at the root, or
// at both prefixes.
func (k *Kit) Handler() http.Handler { return k.handler }

// Close waits for messages still being sent in the background, or for ctx.
// Call it once the server has stopped serving the Handler (after
// http.Server.Shutdown), so that no request starts new work meanwhile.
func (k *Kit) Close(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		k.background.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// goBackground runs f off the request path, so that what f does for a real
// account (look it up, issue a token, send mail) costs the answer no time.
// At most MaxPendingSends run at once; past that f is dropped, and logged.
func (k *Kit) goBackground(ctx context.Context, what string, f func(ctx context.Context) error) {
	ctx = context.WithoutCancel(ctx)
	select {
	case k.pending <- struct{}{}:
	default:
		k.log.ErrorContext(ctx, "authkit: "+what+" dropped: Config.MaxPendingSends messages are being sent already")
		return
	}
	k.background.Add(1)
	go func() {
		defer k.background.Done()
		defer func() { <-k.pending }()
		ctx, cancel := context.WithTimeout(ctx, k.sendTimeout)
		defer cancel()
		if err := f(ctx); err != nil {
			k.log.ErrorContext(ctx, "authkit: "+what+" failed", "err", err)
		}
	}()
}
