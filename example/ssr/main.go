// Command ssr is a server-rendered app on authkit: html/template pages and
// no JavaScript. Browsers' sessions live in alexedwards/scs sessions
// (scsauth), and every flow is one of the kit's HTML forms
// (POST /_auth/forms/<route>), each carrying the browser's CSRF token.
//
//	go run ./example/ssr -dev
//
// It serves http://localhost:8081: sign-up with email confirmation,
// sign-in with a password or a magic link, reset by link; phone accounts
// with texted codes (sign-up, sign-in with a password or a code, reset by
// code); sign-in with the OAuth providers configured; a second factor (an
// authenticator app, with recovery codes), set up on the account page and
// asked for by every sign-in on its own page (/second-factor, the forms'
// Forms.MFA); and a private page (/account) with the user, the forms that
// change their password, email and phone number, and their sessions, each
// of which can be ended. With
// -dev, mail and texts are printed on the console and listed at
// /dev/outbox, a page a person reads as their inbox; without it, mail
// goes over SMTP configured by AUTHKIT_SMTP_HOST, AUTHKIT_SMTP_PORT,
// AUTHKIT_SMTP_USERNAME, AUTHKIT_SMTP_PASSWORD and AUTHKIT_SMTP_FROM, and
// texts through the provider AUTHKIT_SMS_PROVIDER names (phone accounts
// are off without one). OAuth providers are enabled as for ./example:
// AUTHKIT_<NAME>_CLIENT_ID and AUTHKIT_<NAME>_CLIENT_SECRET.
// AUTHKIT_SECRET (or AUTHKIT_SECRETS) is the kit's secret, as for
// ./example; second factors need one, and are off without it but with
// -dev, which uses a fixed development secret.
//
// Flags:
//
//	-addr   listen address (default localhost:8081)
//	-db     where users and sessions live (default memory): a SQLite file
//	        path, postgres://…, mysql://… or memory
//	-dev    keep mail in the outbox instead of sending it; per-IP limits off
package main

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/appenv"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
	"github.com/authkit/authkit/scsauth"
	"github.com/authkit/authkit/smtpmail"
	"github.com/authkit/authkit/sqlstore"
)

//go:embed pages.html
var pagesFS embed.FS

var pages = template.Must(template.ParseFS(pagesFS, "pages.html"))

type options struct {
	addr, db string
	dev      bool
	// baseURL is the app's origin, http://<addr> when empty.
	baseURL string
	// getenv reads the AUTHKIT_* configuration; nil is os.Getenv.
	getenv func(string) string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "localhost:8081", "listen `address`")
	flag.StringVar(&o.db, "db", "memory", "where users and sessions live: a SQLite file `path`, postgres://…, mysql://… or memory")
	flag.BoolVar(&o.dev, "dev", false, "keep mail in an outbox listed at /dev/outbox instead of sending it; per-IP limits off")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "ssr:", err)
		os.Exit(1)
	}
}

// run serves the app until ctx ends.
func run(ctx context.Context, o options, log io.Writer) error {
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	if o.baseURL == "" {
		// The app's origin, with the real port; a host that listens on
		// every interface is named localhost, which the kit's cookie
		// sessions and forms accept over http.
		host, _, _ := net.SplitHostPort(o.addr)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		o.baseURL = "http://" + net.JoinHostPort(host, port)
	}
	a, err := newApp(o, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer a.close()
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute}
	line := "authkit server-rendered example on " + o.baseURL + "/"
	if o.dev {
		line += " (dev: mail at " + o.baseURL + "/dev/outbox)"
	}
	fmt.Fprintln(log, line)
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
	if cerr := a.kit.Close(shutdown); err == nil {
		err = cerr
	}
	return err
}

// app is the example's handler, its kit, the dev outbox (nil without
// -dev), the OAuth providers it offers, whether it has phone accounts,
// and what closes its store.
type app struct {
	handler   http.Handler
	kit       *authkit.Kit
	box       *outbox.Outbox
	providers []appenv.Provider
	phone     bool
	mfa       bool
	factors   authkit.FactorStore // the store, which says whether a user has an authenticator
	sessions  *scs.SessionManager
	close     func() error
}

// newApp builds the kit, the scs session manager and the pages.
func newApp(o options, log io.Writer) (*app, error) {
	getenv := o.getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	providers, err := appenv.OAuthFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	store, closeStore, err := openStore(o.db)
	if err != nil {
		return nil, err
	}
	a := &app{close: closeStore}
	var mailer authkit.Mailer
	var texter authkit.SMSSender
	var limits authkit.Limits
	if o.dev {
		a.box = outbox.New()
		a.box.Print = log
		mailer, texter = a.box, a.box
		limits.PerIP = authkit.Rate{Max: -1} // every request comes from one address
	} else {
		port, _ := strconv.Atoi(getenv("AUTHKIT_SMTP_PORT"))
		m, err := smtpmail.New(smtpmail.Config{
			Host:     getenv("AUTHKIT_SMTP_HOST"),
			Port:     port,
			Username: getenv("AUTHKIT_SMTP_USERNAME"),
			Password: getenv("AUTHKIT_SMTP_PASSWORD"),
			From:     getenv("AUTHKIT_SMTP_FROM"),
		})
		if err != nil {
			closeStore()
			return nil, fmt.Errorf("%w (run with -dev to keep mail in an outbox instead)", err)
		}
		mailer = m
		if texter, err = appenv.SMSFromEnv(getenv); err != nil {
			closeStore()
			return nil, err
		}
	}
	phoneAuth := authkit.Off
	if texter != nil {
		phoneAuth, a.phone = authkit.On, true
	}
	for _, p := range appenv.Providers {
		if _, ok := providers[p.Name]; ok {
			a.providers = append(a.providers, p)
		}
	}

	secrets, err := appenv.Secrets(getenv, "openssl rand -base64 32")
	if err != nil {
		closeStore()
		return nil, err
	}
	if secrets == nil && o.dev {
		secrets = [][]byte{[]byte(devSecret)}
	}
	mfa := authkit.Off
	if f, ok := store.(authkit.FactorStore); ok && secrets != nil {
		mfa, a.mfa, a.factors = authkit.On, true, f
	}

	sm := scs.New()
	sm.Lifetime = 30 * 24 * time.Hour
	sm.Cookie.Name = "ssr_session"
	a.sessions = sm
	kit, err := authkit.New(authkit.Config{
		Secrets:        secrets,
		MFA:            mfa,
		Store:          store,
		Mailer:         mailer,
		SMSSender:      texter,
		PhoneAuth:      phoneAuth,
		Providers:      providers,
		PublicURL:      o.baseURL,
		RedirectURL:    o.baseURL + "/link",
		AppName:        "authkit server-rendered example",
		Limits:         limits,
		SessionCarrier: scsauth.New(sm),
		Forms: authkit.Forms{
			SignIn:       "/login",
			AfterSignIn:  "/account",
			AfterSend:    "/check-mail",
			AfterSignUp:  "/check-mail",
			AfterReset:   "/login",
			AfterSignOut: "/login",
			Account:      "/account",
			Error:        "/problem",
			MFA:          "/second-factor",
		},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		closeStore()
		return nil, err
	}
	a.kit = kit

	mux := http.NewServeMux()
	mux.Handle("/_auth/", kit.Handler())
	page := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { a.render(w, r, name, nil) }
	}
	mux.HandleFunc("GET /{$}", page("home"))
	mux.HandleFunc("GET /login", page("login"))
	mux.HandleFunc("GET /signup", page("signup"))
	mux.HandleFunc("GET /phone", page("phone"))
	mux.HandleFunc("GET /signup-phone", page("signup-phone"))
	mux.HandleFunc("GET /magic", page("magic"))
	mux.HandleFunc("GET /reset", page("reset"))
	mux.HandleFunc("GET /check-mail", page("check-mail"))
	mux.HandleFunc("GET /problem", page("problem"))
	mux.HandleFunc("GET /link", page("link"))
	mux.Handle("GET /account", kit.RequireSignIn(http.HandlerFunc(a.account)))
	mux.HandleFunc("GET /second-factor", page("mfa"))
	if a.mfa {
		mux.Handle("POST /account/authenticator", kit.RequireSignIn(http.HandlerFunc(a.enrol)))
		mux.Handle("GET /account/authenticator", kit.RequireSignIn(http.HandlerFunc(a.setup)))
		mux.Handle("POST /account/authenticator/confirm", kit.RequireSignIn(http.HandlerFunc(a.confirm)))
		mux.Handle("POST /account/authenticator/remove", kit.RequireSignIn(http.HandlerFunc(a.remove)))
	}
	if a.box != nil {
		mux.HandleFunc("GET /dev/outbox", a.outbox)
	}
	a.handler = sm.LoadAndSave(mux)
	return a, nil
}

// openStore opens the -db store and brings its schema up to date.
func openStore(db string) (authkit.Store, func() error, error) {
	if db == "memory" {
		return memstore.New(), func() error { return nil }, nil
	}
	s, err := sqlstore.Open(db)
	if err != nil {
		return nil, nil, fmt.Errorf("-db: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("-db: %w", err)
	}
	return s, s.Close, nil
}

// view is what every page's template gets.
type view struct {
	CSRF   string // the browser's CSRF token, for every form
	Form   string // form=: the form that sent the browser here
	Error  string // a sentence for error=, "" without one
	Code   string // error= as the kit wrote it
	Return string // return=: where a sign-in goes back to
	Key    string // access_token= of an email link
	Action string // action= of an email link
	Dev    bool   // the outbox is on
	Data   any    // the page's own
	Phone  bool   // phone accounts are on
	// Providers are the OAuth providers offered, a button each.
	Providers []appenv.Provider
}

// render writes the page name. The CSRF token is asked for before the
// body is written: it may set the browser's CSRF cookie.
func (a *app) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	q := r.URL.Query()
	v := view{
		CSRF:      a.kit.CSRFToken(w, r),
		Phone:     a.phone,
		Providers: a.providers,
		Form:      q.Get("form"),
		Code:      q.Get("error"),
		Error:     sentence(q.Get("error"), q.Get("form"), q.Get("retry_after")),
		Return:    q.Get("return"),
		Key:       q.Get("access_token"),
		Action:    q.Get("action"),
		Dev:       a.box != nil,
		Data:      data,
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		slog.ErrorContext(r.Context(), "ssr: rendering", "page", name, "err", err)
	}
}

// accountData is what the account page shows.
type accountData struct {
	User     authkit.User
	Via      string // the OAuth provider the account signs in with, or ""
	Sessions []sessionRow
	MFA      bool // second factors are on: the authenticator section shows
	TOTP     bool // the user has an authenticator app
}

// sessionRow is one session of the account's, as the page lists it.
type sessionRow struct {
	ID          string
	Browser, IP string
	Since, Seen string
	ThisOne     bool
}

// account is the private page: who is signed in, their sessions, and the
// sign-out form. RequireSignIn lets only a signed-in browser here.
func (a *app) account(w http.ResponseWriter, r *http.Request) {
	u, _ := authkit.UserFromContext(r.Context())
	current, _ := authkit.SessionFromContext(r.Context())
	sessions, err := a.kit.Sessions(r.Context())
	if err != nil {
		http.Error(w, "The sessions could not be listed.", http.StatusInternalServerError)
		return
	}
	d := accountData{User: u, MFA: a.mfa}
	if a.mfa {
		f, err := a.factors.FactorOf(r.Context(), u.ID, authkit.FactorTOTP)
		if err != nil && !errors.Is(err, authkit.ErrNotFound) {
			http.Error(w, "The second factor could not be read.", http.StatusInternalServerError)
			return
		}
		d.TOTP = err == nil && f.Active
	}
	for _, p := range appenv.Providers {
		if p.Name == u.Provider {
			d.Via = p.Label
		}
	}
	for _, s := range sessions {
		browser := strings.TrimSpace(s.UserAgent.Family + " " + s.UserAgent.Major)
		if system := s.UserAgent.OS.Family; system != "" {
			browser += " on " + system
		}
		if browser == "" {
			browser = "an unknown browser"
		}
		d.Sessions = append(d.Sessions, sessionRow{
			ID: s.ID, Browser: browser, IP: s.IP, ThisOne: s.ID == current.ID,
			Since: s.CreatedAt.Format("2 Jan 2006 15:04"), Seen: s.LastSeenAt.Format("2 Jan 2006 15:04"),
		})
	}
	a.render(w, r, "account", d)
}

// devSecret is the kit's secret of a -dev app started without
// AUTHKIT_SECRET: fixed, so that authenticators set up in development
// outlive a restart with -db, and public, so never for an app others use.
const devSecret = "authkit ssr example -dev secret: never use it in production"

// The keys of the enrolment in progress in the browser's scs session:
// the key and QR code to show until the first code confirms it.
const sessionTOTPSecret, sessionTOTPQR = "totp-secret", "totp-qr"

// enrol starts setting up an authenticator app: the kit draws its key,
// which the browser's session keeps (on the server) for the setup page.
// RequireSignIn refused the post already if another site's page sent it.
func (a *app) enrol(w http.ResponseWriter, r *http.Request) {
	e, err := a.kit.EnrolTOTP(r.Context())
	if err != nil {
		a.accountError(w, r, err)
		return
	}
	a.sessions.Put(r.Context(), sessionTOTPSecret, e.Secret)
	a.sessions.Put(r.Context(), sessionTOTPQR, e.QRCode)
	http.Redirect(w, r, "/account/authenticator", http.StatusSeeOther)
}

// setupData is what the setup page shows: the key, grouped by four for
// typing, and its QR code, a data: URL the kit made.
type setupData struct {
	Secret string
	QR     template.URL
}

// setup is the page of the enrolment in progress: the QR code, the key
// and the field for the app's first code.
func (a *app) setup(w http.ResponseWriter, r *http.Request) {
	secret := a.sessions.GetString(r.Context(), sessionTOTPSecret)
	qr := a.sessions.GetString(r.Context(), sessionTOTPQR)
	if secret == "" || !strings.HasPrefix(qr, "data:image/png;base64,") {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return
	}
	var grouped strings.Builder
	for i, c := range secret {
		if i > 0 && i%4 == 0 {
			grouped.WriteByte(' ')
		}
		grouped.WriteRune(c)
	}
	// template.URL: the kit's own PNG, which html/template would refuse as
	// a data: URL of unknown origin.
	a.render(w, r, "authenticator", setupData{Secret: grouped.String(), QR: template.URL(qr)})
}

// confirm turns the authenticator on with its first code, and shows the
// recovery codes, once: they are written into this answer only.
func (a *app) confirm(w http.ResponseWriter, r *http.Request) {
	codes, err := a.kit.ConfirmTOTP(r.Context(), r.PostFormValue("code"))
	var e *authkit.Error
	if errors.As(err, &e) && e.Code == authkit.CodeInvalidCode {
		http.Redirect(w, r, "/account/authenticator?form=authenticator&error=invalid_code", http.StatusSeeOther)
		return
	}
	if err != nil {
		a.accountError(w, r, err)
		return
	}
	a.sessions.Remove(r.Context(), sessionTOTPSecret)
	a.sessions.Remove(r.Context(), sessionTOTPQR)
	a.render(w, r, "recovery-codes", codes)
}

// remove removes the authenticator with a code from it or a recovery code.
func (a *app) remove(w http.ResponseWriter, r *http.Request) {
	if err := a.kit.RemoveTOTP(r.Context(), r.PostFormValue("code")); err != nil {
		a.accountError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?form=authenticator-removed", http.StatusSeeOther)
}

// accountError sends the browser back to the account page with the
// error's code, as the kit's forms do.
func (a *app) accountError(w http.ResponseWriter, r *http.Request, err error) {
	var e *authkit.Error
	if !errors.As(err, &e) || e.HTTPStatus() >= 500 {
		slog.ErrorContext(r.Context(), "ssr: authenticator", "err", err)
		http.Error(w, "Something went wrong. Try again.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/account?"+url.Values{"form": {"authenticator"}, "error": {string(e.Code)}}.Encode(), http.StatusSeeOther)
}

// linkPattern finds the links in a message's text.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// codePattern finds the code in a text message.
var codePattern = regexp.MustCompile(`\b\d{6,10}\b`)

// outboxMessage is a mail of the dev outbox, with its links to click, or
// a text with its code.
type outboxMessage struct {
	outbox.Message
	Links []string
	Code  string
}

// outbox lists the mail and texts sent so far, newest first: the dev
// inbox and phone.
func (a *app) outbox(w http.ResponseWriter, r *http.Request) {
	msgs := a.box.Messages()
	out := make([]outboxMessage, 0, len(msgs))
	for i := len(msgs) - 1; i >= 0; i-- {
		m := outboxMessage{Message: msgs[i]}
		if m.Kind == outbox.KindSMS {
			m.Code = codePattern.FindString(m.Body)
		} else {
			m.Links = linkPattern.FindAllString(m.Body, -1)
		}
		out = append(out, m)
	}
	a.render(w, r, "outbox", out)
}

// sentence is the page's words for an error code of the kit's forms,
// of the form named form.
func sentence(code, form, retryAfter string) string {
	switch authkit.Code(code) {
	case "":
		return ""
	case authkit.CodeInvalidCredentials:
		if form == "signin-phone" {
			return "That phone number and password do not match an account."
		}
		return "That email and password do not match an account."
	case authkit.CodeEmailNotVerified:
		return "Confirm your email address first: follow the link we sent you."
	case authkit.CodePhoneNotVerified:
		return "Confirm your phone number first: enter the code we texted you."
	case authkit.CodeInvalidEmail:
		return "That does not look like an email address."
	case authkit.CodeInvalidPhone:
		return "That does not look like a phone number. Write it with its country code, like +44 7700 900123."
	case authkit.CodeEmailTaken:
		return "An account with that email exists already. Sign in, or reset its password."
	case authkit.CodePhoneTaken:
		return "An account with that phone number exists already. Sign in, or reset its password."
	case authkit.CodeEmailUnchanged:
		return "That is your address already."
	case authkit.CodePhoneUnchanged:
		return "That is your number already."
	case authkit.CodePasswordTooShort:
		return "That password is too short."
	case authkit.CodePasswordTooLong:
		return "That password is too long."
	case authkit.CodePasswordTooCommon:
		return "That password is among the most common ones, which attackers try first. Choose another."
	case authkit.CodeWrongPassword:
		return "Your current password is not right. Nothing was changed."
	case authkit.CodeInvalidToken:
		if form == "mfa" {
			return "The sign-in took too long, or its code was asked for already. Sign in again."
		}
		return "That link has expired or was used already. Ask for a new one."
	case authkit.CodeMFARequired:
		return "One more step: this account has an authenticator app. Enter the code it shows now, or one of your recovery codes."
	case authkit.CodeMFAStepUpRequired:
		return "That change needs a code from your authenticator app first: enter one below, then try again."
	case authkit.CodeMFAEnrolled:
		return "An authenticator app is set up already. Remove it first to set up another."
	case authkit.CodeMFANotEnrolled:
		if form == "mfa" {
			return "The account's authenticator app was removed meanwhile. Sign in again."
		}
		return "No authenticator app is set up, or its setup was not started."
	case authkit.CodeInvalidCode:
		if form == "mfa" || form == "authenticator" || form == "step-up" {
			return "That code is not right, or was used already. Enter the code your app shows now, or a recovery code you have not used."
		}
		return "That code is not right, has expired, or was used already. Ask for a new one if it keeps failing."
	case authkit.CodeSessionNotFound:
		return "That session has ended already."
	case authkit.CodeMissingSessionToken, authkit.CodeInvalidSessionToken:
		return "You are not signed in any more. Sign in again."
	case authkit.CodeUserDisabled:
		return "This account is disabled."
	case authkit.CodeOriginNotAllowed:
		return "That form came from another site, so it was refused. Nothing was done."
	case authkit.CodeAccessDenied:
		return "You declined the sign-in at the provider. Nothing was done."
	case authkit.CodeAccountExists:
		return "An account with the provider's email address exists already. Sign in to it with its password or a link."
	case authkit.CodeInvalidState, authkit.CodeOAuthFailed:
		return "The sign-in with the provider did not complete. Try again."
	case authkit.CodeSMSFailed:
		return "The text could not be sent. Try again in a little while."
	case authkit.CodeTooManyRequests:
		if retryAfter != "" {
			return "Too many attempts. Try again in " + retryAfter + " seconds."
		}
		return "Too many attempts. Try again later."
	case authkit.CodeFeatureDisabled:
		return "That is turned off in this app."
	case authkit.CodeReauthenticationRequired:
		return "Setting up an authenticator needs a recent sign-in: sign out, sign in again, then set it up."
	default:
		return "Something went wrong (" + code + "). Try again."
	}
}
