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
// (Twilio, MessageBird, Vonage). A message a route promises is recorded
// in the store first and delivered after the answer by the kit's courier,
// with retries, once across instances; see [Kit.Flush], [Kit.Close] and
// [Kit.DeadLetters].
//
// # Safety
//
// Passwords are hashed with argon2id under a bound on concurrent hashing;
// session tokens, link tokens and grant keys are stored only as SHA-256
// hashes and spent atomically; SMS codes only as keyed HMACs, with a cap on
// tries; sign-in and send routes answer alike for
// known and unknown accounts; links are built from [Config.PublicURL] and
// end only at [Config.RedirectURL]. Abuse [Limits] on failed sign-ins per
// identifier and source and requests per client IP answer 429 with
// Retry-After; caps on mails per address and texts per number hold back
// what is sent without changing the answer. An attacker's failures lock
// his own addresses, not the owner's, nor her known browser (a device
// cookie). They are counted in a [Limiter] (by default the store), so
// instances that share a database share them.
package authkit

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/authkit/authkit/internal/password"

	"github.com/authkit/authkit/internal/emailaddr"
)

// Kit is a configured auth backend. Its methods are safe for concurrent use.
type Kit struct {
	store       Store         // raw, or wrapped by the session cache
	raw         Store         // Config.Store: where the kit finds its capabilities
	bound       storeBound    // Config.StoreTimeout: the bound on each store and limiter call
	cache       *sessionCache // nil when Config.SessionCache is off
	mailer      Mailer
	log         *slog.Logger
	now         func() time.Time
	rand        io.Reader
	appName     string
	publicURL   string   // without a trailing slash
	redirectURL *url.URL // parsed RedirectURL
	origins     map[string]bool
	secrets     [][]byte // current first (see subkeys)

	emailConfirmation bool
	emailPolicy       emailaddr.Policy // what an email must look like, and its canonical form
	minPassword       int
	passwordChecker   PasswordChecker // nil: none

	sessionLifetime, sessionIdle                          time.Duration
	confirmLifetime, changeEmailLifetime, magicLifetime   time.Duration
	resetLifetime, grantLifetime, sendTimeout, touchEvery time.Duration

	templates struct {
		confirm, magic, reset, changeEmail, emailChanged, addressInUse emailTemplate
	}

	phone   phoneSettings
	mfa     mfaSettings
	passkey passkeySettings
	oauth   oauthKit
	profile profileSettings
	carrier carrierSettings
	forms   formSettings
	hooks   Hooks

	serveOpenAPI bool // Config.ServeOpenAPI

	defaultGroups []string // Config.DefaultAccessGroups, checked
	limits        limitSettings
	notices       noticeSettings

	hashSlots      chan struct{}
	hashWait       time.Duration   // the longest wait for a slot
	hashParams     password.Params // of new hashes; weaker stored ones are upgraded
	verifyPassword func(stored, pw string, p password.Params) (ok, rehash bool, err error)
	dummyHash      func() string // a real hash, verified for unknown users

	metrics    metrics
	courier    courier
	background sync.WaitGroup
	pending    chan struct{} // a slot per message sent in the background
	handler    http.Handler
}

// New checks cfg and builds a Kit. A missing requirement or a bad value is
// an error here, never a failed request later.
func New(cfg Config) (*Kit, error) {
	k := &Kit{}
	// Each step checks and applies some fields of cfg; a step may use what
	// the steps before it set.
	for _, step := range []func(*Kit, Config) error{
		(*Kit).configureDependencies, // Store, Mailer, Logger, Now, Rand
		(*Kit).configureMetrics,      // MeterProvider
		(*Kit).configureStoreBound,   // StoreTimeout; wraps the store, so before anything else does
		(*Kit).configureURLs,         // PublicURL, RedirectURL
		(*Kit).configureSecret,       // Secret, Secrets
		(*Kit).configureOrigins,      // AllowedOrigins
		(*Kit).configureAccounts,     // AppName, EmailConfirmation, lifetimes, SendTimeout, MaxPendingSends
		(*Kit).configurePasswords,    // MinPasswordLength, MaxConcurrentHashes
		(*Kit).configureEmails,       // EmailTemplates
		(*Kit).configureLimits,       // Limiter, Limits, TrustedProxies
		(*Kit).configurePhone,        // PhoneAuth and the SMS fields
		(*Kit).configureMFA,          // MFA; needs Secret
		(*Kit).configurePasskeys,     // Passkeys; needs MFA
		(*Kit).configureNotices,      // Notices and their templates
		(*Kit).configureOAuth,        // Providers, LinkVerifiedEmails
		(*Kit).configureCarrier,      // SessionCookie, SessionCookieHostPrefix, SessionCarrier, TokenInBody
		(*Kit).configureForms,        // Forms; needs the carrier
		(*Kit).configureProfile,      // ProfileFields, StrictProfile, PublicServerData
		(*Kit).configureHooks,        // Hooks, DefaultAccessGroups
		(*Kit).configureOpenAPI,      // ServeOpenAPI
		(*Kit).configureSessionCache, // SessionCache; starts its poll
		(*Kit).configureCourier,      // DeliveryWorkers, DeliveryAttempts, DeliveryBackoff; starts the courier, so last
	} {
		if err := step(k, cfg); err != nil {
			k.cache.close() // a step after the cache's refused: its poll stops
			return nil, err
		}
	}
	k.handler = k.routes()
	return k, nil
}

// Handler serves the Altogic REST v1 auth API under /_api/rest/v1/auth/ and
// the email links and OAuth sign-in under /_auth/. Mount it at the root, or
// at both prefixes.
func (k *Kit) Handler() http.Handler { return k.handler }

// Close delivers the messages that are due (see [Kit.Flush]) and stops
// the kit's courier; if ctx ends first, the deliveries in flight are cut
// short and their messages left due, for another instance or the next
// start to deliver. It waits for the messages sent from goroutines too.
// Call it once the server has stopped serving the Handler (after
// http.Server.Shutdown), so that no request starts new work meanwhile.
func (k *Kit) Close(ctx context.Context) error {
	defer k.cache.close()
	if r := k.metrics.observing; r != nil {
		defer r.Unregister()
	}
	if err := k.closeCourier(ctx); err != nil {
		return err
	}
	return k.waitBackground(ctx)
}

// waitBackground waits for the work of goBackground, or for ctx.
func (k *Kit) waitBackground(ctx context.Context) error {
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

// clock is the kit's time, at the millisecond precision every store keeps.
func (k *Kit) clock() time.Time {
	return k.now().UTC().Truncate(time.Millisecond)
}
