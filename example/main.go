// Command example is a small app with the authkit backend mounted at its
// root, so the Altogic client works against it with envUrl set to the app's
// base URL. It serves a demo page at / (page.html): every flow of the kit,
// from sign-up to the list of sessions, in plain JavaScript against the
// REST API, as a person would use them.
//
//	go run ./example -dev
//
// With -dev, mail and texts are printed on the console and listed as JSON
// at /dev/outbox. Without it, the app sends real mail over SMTP, configured
// from the environment:
//
//	AUTHKIT_SMTP_HOST       the server (required)
//	AUTHKIT_SMTP_PORT       default 587 (465 with tls, 25 with none)
//	AUTHKIT_SMTP_USERNAME   AUTHKIT_SMTP_PASSWORD   AUTHKIT_SMTP_FROM
//	AUTHKIT_SMTP_TLS        starttls (default), tls or none
//
// Phone accounts and SMS codes are on. With -dev, texts are printed and
// listed at /dev/outbox like mail; without it, AUTHKIT_SMS_PROVIDER picks
// the provider that sends them, configured from its variables (with none
// named, the app runs without phone accounts):
//
//	AUTHKIT_SMS_PROVIDER    twilio, messagebird, bird or vonage
//	AUTHKIT_TWILIO_ACCOUNT_SID   AUTHKIT_TWILIO_AUTH_TOKEN
//	                        or AUTHKIT_TWILIO_API_KEY_SID  AUTHKIT_TWILIO_API_KEY_SECRET
//	AUTHKIT_TWILIO_FROM     or AUTHKIT_TWILIO_MESSAGING_SERVICE_SID
//	AUTHKIT_MESSAGEBIRD_ACCESS_KEY   AUTHKIT_MESSAGEBIRD_ORIGINATOR
//	AUTHKIT_BIRD_ACCESS_KEY AUTHKIT_BIRD_WORKSPACE_ID   AUTHKIT_BIRD_CHANNEL_ID
//	AUTHKIT_VONAGE_API_KEY  AUTHKIT_VONAGE_API_SECRET   AUTHKIT_VONAGE_FROM
//	AUTHKIT_SMS_BASE_URL    the provider's API at another base URL (a fake)
//
// Sign-in with a provider is enabled by its credentials, and the page shows
// a button for it; NAME is GOOGLE, APPLE, FACEBOOK, TWITTER, GITHUB or
// DISCORD, and each provider's callback is <public-url>/_auth/<name>/callback:
//
//	AUTHKIT_<NAME>_CLIENT_ID  AUTHKIT_<NAME>_CLIENT_SECRET
//	AUTHKIT_APPLE_TEAM_ID  AUTHKIT_APPLE_KEY_ID  AUTHKIT_APPLE_KEY_FILE (Apple, instead of a secret)
//	AUTHKIT_<NAME>_SCOPES     scopes instead of the provider's defaults
//	AUTHKIT_<NAME>_AUTH_URL  AUTHKIT_<NAME>_TOKEN_URL  AUTHKIT_<NAME>_API_URL
//	AUTHKIT_<NAME>_ISSUER  AUTHKIT_<NAME>_JWKS_URL
//	                          endpoints instead of the real provider's: a fake,
//	                          or GitHub Enterprise (API_URL is the base of
//	                          /user and /user/emails: https://HOST/api/v3)
//
// AUTHKIT_SECRET (at least 32 characters) becomes Config.Secret: set it, the
// same everywhere, to run several instances or keep SMS codes and OAuth
// sign-ins in flight across a restart. To rotate it, set AUTHKIT_SECRETS
// instead: the new secret, a comma, the old one (Config.Secrets); once what
// the old one made has expired, set AUTHKIT_SECRET to the new one alone.
//
// Second factors (Config.MFA: an authenticator app, with recovery codes)
// are on when a secret is set, since the apps' secrets are sealed under
// it; with -dev and no secret, under a fixed development secret (devSecret),
// so that an authenticator set up in development still works after a
// restart. Without either, they are off.
//
// Passkeys (Config.Passkeys) are on with second factors, bound to the host
// of -public-url: on a local address (127.0.0.1, localhost) to localhost,
// so the page offers them at http://localhost:<port>/ (browsers bind no
// passkey to an IP address); elsewhere to the URL's host, which must be
// https. AUTHKIT_PASSKEY_RPID binds them to another domain instead, one
// the public URL's host is within (example.com for https://app.example.com).
//
// -admin-email (or AUTHKIT_ADMIN_EMAIL) names the app's administrator: that
// address's account is in the "admin" access group, made so at sign-up or,
// if it exists already, at start. GET /admin/users lists the users, as
// JSON, to the admin group only.
//
// Flags:
//
//	-addr          listen address (default 127.0.0.1:8080)
//	-db            where users and sessions live (default ./authkit.db):
//	               a SQLite file path, postgres://…, mysql://… or memory
//	-redirect-url  where email links end (default the app's own /)
//	-public-url    base of links in mail (default http://<addr>)
//	-dev           print mail and texts instead of sending them, and turn
//	               the per-IP limits off (every request comes from one address)
//	-admin-email   the administrator's address (default $AUTHKIT_ADMIN_EMAIL)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/smtpmail"
	"github.com/authkit/authkit/sqlstore"
	"golang.org/x/net/netutil"
)

type options struct {
	addr, db, redirectURL, publicURL string
	dev                              bool
	adminEmail                       string       // its account is in the admin access group
	limits                           serverLimits // zero: defaultServerLimits
	// getenv reads the AUTHKIT_* configuration; nil is os.Getenv. Tests
	// that run in parallel give their own.
	getenv func(string) string
}

// serverLimits bound what one client can hold of the server: a slow
// header or body, an idle keep-alive connection, a huge header, and how
// many connections are open at once. Without them a few thousand idle
// connections from one host exhaust the process's file descriptors.
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes, maxConns      int
}

// defaultServerLimits suit an auth API: its requests are small, its
// slowest answer (a sign-in waiting for a password hash) takes seconds.
var defaultServerLimits = serverLimits{
	readHeader: 10 * time.Second, read: 30 * time.Second, write: 60 * time.Second, idle: 2 * time.Minute,
	maxHeaderBytes: 64 << 10, maxConns: 4096,
}

// newServer is the example's http.Server for h, and ln capped at the
// connections l allows (a connection past the cap waits to be accepted).
func newServer(h http.Handler, ln net.Listener, l serverLimits) (*http.Server, net.Listener) {
	if l == (serverLimits{}) {
		l = defaultServerLimits
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeaderBytes,
	}
	return srv, netutil.LimitListener(ln, l.maxConns)
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen `address`")
	flag.StringVar(&o.db, "db", "./authkit.db", "where users and sessions live: a SQLite file `path`, postgres://…, mysql://… or memory")
	flag.StringVar(&o.redirectURL, "redirect-url", "", "where email links end (default the app's own /)")
	flag.StringVar(&o.publicURL, "public-url", "", "base `URL` of links in mail (default http://<addr>)")
	flag.BoolVar(&o.dev, "dev", false, "print mail and texts on the console and list them at /dev/outbox instead of sending them; per-IP limits off")
	flag.StringVar(&o.adminEmail, "admin-email", os.Getenv("AUTHKIT_ADMIN_EMAIL"), "the `address` whose account is in the admin access group, which GET /admin/users needs")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx ends, then shuts it down gracefully.
func run(ctx context.Context, o options, log io.Writer) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if _, port, _ := net.SplitHostPort(o.addr); port == "0" {
		o.addr = ln.Addr().String() // so default URLs name the real port
	}
	h, kit, err := newApp(o, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer h.Close()
	reportIdentifiers(ctx, kit, log)
	janitor, stopJanitor := context.WithCancel(ctx)
	defer stopJanitor()
	go kit.RunJanitor(janitor, time.Hour)
	srv, ln := newServer(h, ln, o.limits)
	base := baseURL(o.addr)
	line := "authkit example listening on " + base + "/"
	if o.dev {
		line += " (dev: mail printed here and listed at " + base + "/dev/outbox)"
	}
	fmt.Fprintln(log, line)
	fmt.Fprintln(log, "users, sessions, pending links and queued messages are kept in "+o.db)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	// The kit's courier (started by New) delivers what is due, then stops;
	// what it cannot finish in time waits in the database for the next
	// start, or for another instance.
	if cerr := kit.Close(shutdown); err == nil {
		err = cerr
	}
	return err
}

// app is the example's handler and the store it must close.
type app struct {
	http.Handler
	close func() error
}

// Close closes the app's database, once the server and the kit are done.
func (a *app) Close() error { return a.close() }

// reportIdentifiers prints the accounts whose stored email or number the
// kit would store otherwise today, or that now share one (see
// Kit.CheckIdentifiers): an operator should look, and nothing is changed.
func reportIdentifiers(ctx context.Context, kit *authkit.Kit, log io.Writer) {
	problems, err := kit.CheckIdentifiers(ctx)
	if err != nil {
		fmt.Fprintln(log, "checking stored emails and numbers:", err)
		return
	}
	for _, p := range problems {
		line := fmt.Sprintf("warning: user %s: %s %q", p.UserID, p.Field, p.Stored)
		switch {
		case p.Unvouched:
			line += " was never vouched for by the account's provider: the account's next sign-in drops it, and its owner takes it by proving it"
		case p.Canonical == "":
			line += " is refused by today's rules: the user cannot sign in with it"
		case p.Canonical != p.Stored:
			line += fmt.Sprintf(" is %q today: the user cannot sign in with it until it is rewritten", p.Canonical)
		}
		if len(p.SameAs) > 0 {
			line += fmt.Sprintf("; the same as the one of %s", strings.Join(p.SameAs, ", "))
		}
		fmt.Fprintln(log, line)
	}
}

// newApp builds the example app. log receives the dev console output (printed mail) and startup lines.
func newApp(o options, log io.Writer) (*app, *authkit.Kit, error) {
	store, closeStore, err := openStore(o.db)
	if err != nil {
		return nil, nil, err
	}
	h, kit, err := newHandler(o, store, log)
	if err != nil {
		closeStore()
		return nil, nil, err
	}
	return &app{Handler: h, close: closeStore}, kit, nil
}

// openStore opens the -db store and brings its schema up to date.
func openStore(db string) (authkit.Store, func() error, error) {
	if db == "memory" {
		return memstore.New(), func() error { return nil }, nil
	}
	if db == "" {
		return nil, nil, errors.New("-db is empty: give a SQLite file path, postgres://…, mysql://… or memory")
	}
	s, err := sqlstore.Open(db)
	if err != nil {
		return nil, nil, fmt.Errorf("-db: %w (give a SQLite file path, postgres://…, mysql://… or memory)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("-db: %w", err)
	}
	return s, s.Close, nil
}

// newHandler builds the kit on store and the routes around it.
func newHandler(o options, store authkit.Store, log io.Writer) (http.Handler, *authkit.Kit, error) {
	base := baseURL(o.addr)
	if o.publicURL == "" {
		o.publicURL = base
	}
	if o.redirectURL == "" {
		o.redirectURL = base + "/"
	}

	var mailer authkit.Mailer
	var texter authkit.SMSSender
	var box *outbox.Outbox
	var limits authkit.Limits // the defaults
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.dev {
		box = outbox.New()
		box.Print = log
		mailer, texter = box, box
		// In development every request comes from one address, and a test
		// suite sends hundreds: the per-IP limits are off. The others keep
		// their defaults.
		limits.PerIP = authkit.Rate{Max: -1}
		limits.SMSPerIP = authkit.Rate{Max: -1}
	} else {
		m, err := smtpFromEnv(getenv)
		if err != nil {
			return nil, nil, err
		}
		mailer = m
		if texter, err = appenv.SMSFromEnv(getenv); err != nil {
			return nil, nil, err
		}
		if texter == nil {
			fmt.Fprintln(log, "phone accounts off: no SMS provider configured (set AUTHKIT_SMS_PROVIDER, or run with -dev)")
		}
	}
	phoneAuth := authkit.Off
	if texter != nil {
		phoneAuth = authkit.On
	}
	providers, err := appenv.OAuthFromEnv(getenv)
	if err != nil {
		return nil, nil, err
	}

	secrets, err := appenv.Secrets(getenv, "openssl rand -base64 32")
	if err != nil {
		return nil, nil, err
	}
	mfa := authkit.On
	switch {
	case secrets != nil:
	case o.dev:
		secrets = [][]byte{[]byte(devSecret)}
	default:
		mfa = authkit.Off
		fmt.Fprintln(log, "second factors off (passkeys too): set AUTHKIT_SECRET (openssl rand -base64 32), under which authenticator apps' secrets are sealed")
	}
	var passkeys authkit.Passkeys
	if mfa == authkit.On {
		var line string
		if passkeys, line, err = passkeysFor(o.publicURL, strings.TrimSpace(getenv("AUTHKIT_PASSKEY_RPID"))); err != nil {
			return nil, nil, err
		}
		fmt.Fprintln(log, line)
	}
	var adminEmail string // -admin-email as the kit writes it; set by makeAdmin
	kit, err := authkit.New(authkit.Config{
		Secrets:     secrets,
		Store:       store,
		Mailer:      mailer,
		PublicURL:   o.publicURL,
		RedirectURL: o.redirectURL,
		AppName:     "authkit example",
		Providers:   providers,
		PhoneAuth:   phoneAuth,
		SMSSender:   texter,
		MFA:         mfa,
		Passkeys:    passkeys,
		Limits:      limits,
		Hooks:       adminHooks(&adminEmail),
		Logger:      slog.New(slog.NewTextHandler(os.Stderr, nil)),
		// The API's OpenAPI document, at /_api/rest/v1/auth/openapi.json.
		ServeOpenAPI: authkit.On,
	})
	if err != nil && passkeys.RPID != "" && strings.Contains(err.Error(), "Config.Passkeys") {
		return nil, nil, fmt.Errorf("%w (the example binds passkeys to %q, from -public-url %s or AUTHKIT_PASSKEY_RPID)", err, passkeys.RPID, o.publicURL)
	}
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := makeAdmin(ctx, kit, o.adminEmail, &adminEmail, log); err != nil {
		kit.Close(ctx)
		return nil, nil, err
	}

	mux := http.NewServeMux()
	// The kit answers every path the page and the outbox do not, so an
	// unknown path gets the kit's JSON 404, which the client can read.
	mux.Handle("/", kit.Handler())
	body := pageWith(pageSettings{providers: providers, phone: phoneAuth == authkit.On, outbox: box != nil, mfa: mfa == authkit.On, rpID: passkeys.RPID})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { servePage(w, r, body) })
	if factors, ok := store.(authkit.FactorStore); ok && mfa == authkit.On {
		mux.Handle("GET /account/authenticator", kit.RequireSession(authenticator(factors)))
	}
	mux.Handle("GET /admin/users", kit.RequireAccessGroup(adminGroup)(listUsers(kit)))
	if box != nil {
		// Every method, so that the Outbox answers others with its JSON 405.
		mux.Handle("/dev/outbox", box)
	}
	return mux, kit, nil
}

// devSecret is the secret of a -dev app started without AUTHKIT_SECRET:
// fixed, so that what is sealed under it (authenticator apps' secrets)
// outlives a restart, and public, so never for an app that others use.
const devSecret = "authkit example -dev secret: never use it in production"

// authenticator answers the signed-in user's second factor, as
// {"enrolled": true|false}: whether an authenticator app is set up, for
// the page to offer setting one up or removing it. The kit's wire user
// does not say; the app asks the store, as a host may.
func authenticator(factors authkit.FactorStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := authkit.UserFromContext(r.Context())
		f, err := factors.FactorOf(r.Context(), u.ID, authkit.FactorTOTP)
		if err != nil && !errors.Is(err, authkit.ErrNotFound) {
			http.Error(w, "cannot read the second factor", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]bool{"enrolled": err == nil && f.Active})
	})
}

// passkeysFor is the Config.Passkeys of an app whose pages are at
// publicURL, bound to rpID if it is not "", and a line for the console
// that says where the page offers them, or why it does not. An rpID whose
// origins New refuses is New's error; a public URL that cannot have
// passkeys (http but on localhost, an IP address) turns them off.
func passkeysFor(publicURL, rpID string) (authkit.Passkeys, string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return authkit.Passkeys{}, "", fmt.Errorf("-public-url %q is not a URL", publicURL)
	}
	host := strings.ToLower(u.Hostname())
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() && (rpID == "" || rpID == "localhost") {
		// The page at 127.0.0.1 cannot have passkeys: at localhost, the
		// same server, it can.
		origin := u.Scheme + "://localhost"
		if u.Port() != "" {
			origin += ":" + u.Port()
		}
		return authkit.Passkeys{RPID: "localhost", Origins: []string{origin}},
			"passkeys on at " + origin + "/ (browsers bind none to " + host + ")", nil
	}
	if rpID != "" {
		return authkit.Passkeys{RPID: rpID}, "passkeys on, bound to " + rpID + " (AUTHKIT_PASSKEY_RPID)", nil
	}
	local := host == "localhost" || strings.HasSuffix(host, ".localhost")
	switch {
	case ip != nil:
		return authkit.Passkeys{}, "passkeys off: browsers bind none to an IP address; set -public-url to a https URL of the app's domain", nil
	case u.Scheme != "https" && !local:
		return authkit.Passkeys{}, "passkeys off: -public-url " + publicURL + " is not https, and browsers offer passkeys only to https pages (and http://localhost)", nil
	}
	return authkit.Passkeys{RPID: host}, "passkeys on, bound to " + host, nil
}

// baseURL is the http URL of a listen address, without a trailing slash. An
// address that listens on every interface is named as localhost.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// smtpHelp says how to configure mail; it ends every SMTP configuration error.
const smtpHelp = "run with -dev to print mail on the console, or configure SMTP in the environment: " +
	"AUTHKIT_SMTP_HOST (required), AUTHKIT_SMTP_PORT (default 587; 465 with tls, 25 with none), AUTHKIT_SMTP_USERNAME, " +
	"AUTHKIT_SMTP_PASSWORD, AUTHKIT_SMTP_FROM, AUTHKIT_SMTP_TLS (starttls default | tls | none)"

// smtpFromEnv builds the SMTP mailer from the AUTHKIT_SMTP_* variables.
func smtpFromEnv(getenv func(string) string) (*smtpmail.Mailer, error) {
	cfg := smtpmail.Config{
		Host:     strings.TrimSpace(getenv("AUTHKIT_SMTP_HOST")),
		Username: getenv("AUTHKIT_SMTP_USERNAME"),
		Password: getenv("AUTHKIT_SMTP_PASSWORD"),
		From:     getenv("AUTHKIT_SMTP_FROM"),
	}
	if cfg.Host == "" {
		return nil, errors.New("no mail delivery configured: " + smtpHelp)
	}
	if p := strings.TrimSpace(getenv("AUTHKIT_SMTP_PORT")); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("AUTHKIT_SMTP_PORT=%q is not a port; %s", p, smtpHelp)
		}
		cfg.Port = n
	}
	// An unset port stays 0: smtpmail picks 587, 465 for tls, 25 for none.
	switch t := strings.ToLower(strings.TrimSpace(getenv("AUTHKIT_SMTP_TLS"))); t {
	case "", "starttls":
		cfg.TLS = smtpmail.STARTTLS
	case "tls":
		cfg.TLS = smtpmail.ImplicitTLS
	case "none":
		cfg.TLS = smtpmail.NoTLS
	default:
		return nil, fmt.Errorf("AUTHKIT_SMTP_TLS=%q is not starttls, tls or none; %s", t, smtpHelp)
	}
	m, err := smtpmail.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w; %s", err, smtpHelp)
	}
	return m, nil
}
