// Package smtpmail delivers authkit's email over SMTP. It implements
// [authkit.Mailer] on top of github.com/wneessen/go-mail.
//
// # Usage
//
//	mailer, err := smtpmail.New(smtpmail.Config{
//		Host:     "smtp.example.com", // port 587, STARTTLS required
//		Username: "apikey",
//		Password: os.Getenv("SMTP_PASSWORD"),
//		From:     "App <no-reply@example.com>",
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	kit, err := authkit.New(authkit.Config{Mailer: mailer, ...})
//
// For a development catcher such as MailHog on localhost:1025:
//
//	smtpmail.New(smtpmail.Config{Host: "localhost", Port: 1025, TLS: smtpmail.NoTLS, From: "dev@localhost"})
//
// # Behaviour
//
// Each [Mailer.SendEmail] opens a new connection, sends one message and
// closes the connection. Auth mail is rare and small, so the mailer keeps no
// pool: there is nothing to go stale, and a Mailer is safe for concurrent
// use.
//
// A message with HTML is sent as multipart/alternative (text and HTML), one
// without as plain text; both are UTF-8, quoted-printable.
//
// Errors name the step that failed and the server's reply, but never the
// message (it carries one-time links) nor the recipient's full address:
// only its domain. A message the server has accepted counts as sent even if
// the goodbye (QUIT) fails afterwards, so a caller that retries on error
// does not send it twice.
package smtpmail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/authkit/authkit"
	gomail "github.com/wneessen/go-mail"
)

// TLSMode says how the connection to the server is encrypted.
type TLSMode int

const (
	STARTTLS    TLSMode = iota // default: upgrade with STARTTLS, refuse to send if the server cannot
	ImplicitTLS                // TLS from the first byte (port 465)
	NoTLS                      // plain text; only for a local relay or a development catcher such as MailHog
)

// DefaultTimeout is the Config.Timeout used when it is zero.
const DefaultTimeout = 15 * time.Second

// Config configures a [Mailer]. Host and From are required.
type Config struct {
	Host     string // required: the server's host name or IP address, without port
	Port     int    // default 587 (465 with ImplicitTLS, 25 with NoTLS)
	Username string // with Password: SMTP AUTH (PLAIN/LOGIN as the server offers, never over plain text unless NoTLS)
	Password string
	From     string // required: the sender address, e.g. "App <no-reply@example.com>"
	TLS      TLSMode
	// Timeout bounds one SendEmail: dialling, the TLS handshake and the
	// whole SMTP conversation on its connection. Default 15s.
	Timeout time.Duration
	// TLSConfig optionally overrides the TLS settings (tests use it to trust
	// a test certificate). It is copied; an empty ServerName becomes Host
	// and a zero MinVersion TLS 1.2.
	TLSConfig *tls.Config
}

// Mailer sends email over SMTP. Create one with [New]; it is safe for
// concurrent use.
type Mailer struct {
	host       string
	port       int
	username   string
	password   string
	from       *mail.Address
	fromDomain string
	tlsMode    TLSMode
	timeout    time.Duration
	tlsConfig  *tls.Config
}

var _ authkit.Mailer = (*Mailer)(nil)

// New checks cfg and returns a Mailer. It does not connect: a server that is
// down or refuses the credentials shows in the first SendEmail.
func New(cfg Config) (*Mailer, error) {
	host := strings.TrimSpace(cfg.Host)
	switch {
	case host == "":
		return nil, errors.New("smtpmail: Config.Host is required")
	case strings.ContainsAny(host, " /") || (strings.Contains(host, ":") && net.ParseIP(host) == nil):
		return nil, fmt.Errorf("smtpmail: Config.Host %q must be a host name or IP address, without port (set Config.Port)", cfg.Host)
	}
	if cfg.TLS < STARTTLS || cfg.TLS > NoTLS {
		return nil, fmt.Errorf("smtpmail: Config.TLS %d is not a TLSMode", cfg.TLS)
	}
	port := cfg.Port
	switch {
	case port < 0 || port > 65535:
		return nil, fmt.Errorf("smtpmail: Config.Port %d is out of range 1-65535", cfg.Port)
	case port == 0 && cfg.TLS == ImplicitTLS:
		port = 465
	case port == 0 && cfg.TLS == NoTLS:
		port = 25
	case port == 0:
		port = 587
	}
	if cfg.From == "" {
		return nil, errors.New("smtpmail: Config.From is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtpmail: Config.From %q is not a valid address: %w", cfg.From, err)
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("smtpmail: Config.Username and Config.Password must be set together")
	}
	timeout := cfg.Timeout
	switch {
	case timeout < 0:
		return nil, fmt.Errorf("smtpmail: Config.Timeout %v is negative", cfg.Timeout)
	case timeout == 0:
		timeout = DefaultTimeout
	}
	tlsConfig := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	return &Mailer{
		host:       host,
		port:       port,
		username:   cfg.Username,
		password:   cfg.Password,
		from:       from,
		fromDomain: domainOf(from.Address),
		tlsMode:    cfg.TLS,
		timeout:    timeout,
		tlsConfig:  tlsConfig,
	}, nil
}

// SendEmail delivers e over a new connection. It gives up when ctx is done
// or Config.Timeout has passed, whichever comes first.
func (m *Mailer) SendEmail(ctx context.Context, e authkit.Email) error {
	to, err := mail.ParseAddress(e.To)
	if err != nil {
		// The parser's message can quote the address: leave it out.
		return &Error{msg: "smtpmail: invalid recipient address", Permanent: true}
	}
	fail := newFailer(to.Address)
	if err := ctx.Err(); err != nil {
		return fail(ctx, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(m.from)
	msg.ToMailAddress(to)
	msg.Subject(e.Subject) // go-mail encodes CR and LF: no header injection
	msg.SetDate()
	msg.SetMessageIDWithValue(rand.Text() + "@" + m.fromDomain)
	switch {
	case e.HTML == "":
		msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	case e.Text == "":
		msg.SetBodyString(gomail.TypeTextHTML, e.HTML)
	default:
		msg.SetBodyString(gomail.TypeTextPlain, e.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}

	// Dial ourselves so that cancelling ctx closes the connection whatever
	// step go-mail is in (it applies ctx to the dial only), and so that the
	// connection is closed even where go-mail returns without closing it.
	var conn net.Conn
	var stopWatch func() bool
	dial := func(dctx context.Context, _, _ string) (net.Conn, error) {
		addr := net.JoinHostPort(m.host, strconv.Itoa(m.port))
		d := &net.Dialer{}
		var c net.Conn
		var err error
		if m.tlsMode == ImplicitTLS {
			c, err = (&tls.Dialer{NetDialer: d, Config: m.tlsConfig}).DialContext(dctx, "tcp", addr)
		} else {
			c, err = d.DialContext(dctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		conn = c
		stopWatch = context.AfterFunc(ctx, func() { _ = c.Close() })
		return c, nil
	}
	defer func() {
		if conn != nil {
			stopWatch()
			_ = conn.Close()
		}
	}()

	client, err := gomail.NewClient(m.host, m.clientOptions(dial)...)
	if err != nil {
		return fail(ctx, err)
	}
	sc, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fail(ctx, err)
	}
	sendErr := client.SendWithSMTPClient(sc, msg)
	_ = client.CloseWithSMTPClient(sc) // QUIT; the deferred Close ends the connection either way
	if sendErr != nil && !msg.IsDelivered() {
		return fail(ctx, sendErr)
	}
	return nil
}

func (m *Mailer) clientOptions(dial gomail.DialContextFunc) []gomail.Option {
	opts := []gomail.Option{
		gomail.WithPort(m.port),
		gomail.WithTimeout(m.timeout),
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(m.tlsConfig),
		gomail.WithoutNoop(), // a fresh connection needs no probe
		gomail.WithoutRset(), // nor a reset after its only message
	}
	switch m.tlsMode {
	case STARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case ImplicitTLS:
		opts = append(opts, gomail.WithSSL()) // our dialer does the TLS
	case NoTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.username != "" {
		// PLAIN and LOGIN refuse to send credentials over an unencrypted
		// connection (to a host other than localhost); the -NOENC variants
		// are for NoTLS, where the operator asked for plain text.
		mechs := []gomail.SMTPAuthType{gomail.SMTPAuthPlain, gomail.SMTPAuthLogin}
		if m.tlsMode == NoTLS {
			mechs = []gomail.SMTPAuthType{gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc}
		}
		opts = append(opts,
			gomail.WithUsername(m.username),
			gomail.WithPassword(m.password),
			gomail.WithOpportunisticSMTPAuth(mechs...))
	}
	return opts
}

// newFailer returns the function that turns a failure to send to addr into
// the error SendEmail returns. Its text names the recipient's domain only:
// the full address is cut out of whatever the server or go-mail said. The
// cause is kept as text, not wrapped, because go-mail's SendError holds the
// whole message; only a context error stays reachable with errors.Is.
func newFailer(addr string) func(ctx context.Context, err error) error {
	domain := domainOf(addr)
	full := regexp.MustCompile("(?i)" + regexp.QuoteMeta(addr))
	return func(ctx context.Context, err error) error {
		ctxErr := ctx.Err()
		if dl, ok := ctx.Deadline(); ok && ctxErr == nil && !time.Now().Before(dl) {
			// go-mail's own connection deadline, a hair later than ctx's,
			// can fire before the context's timer has run.
			ctxErr = context.DeadlineExceeded
		}
		if ctxErr != nil {
			return &Error{msg: fmt.Sprintf("smtpmail: sending to %s: %v", domain, ctxErr), err: ctxErr}
		}
		// A 5xx reply refuses the message for good (RFC 5321 4.2.1); a 4xx
		// one, or a failure with no reply at all, may pass later.
		var se *gomail.SendError
		permanent := errors.As(err, &se) && se.ErrorCode()/100 == 5
		return &Error{msg: fmt.Sprintf("smtpmail: sending to %s: %s", domain, full.ReplaceAllLiteralString(err.Error(), "***@"+domain)), Permanent: permanent}
	}
}

// Error is a failed send. Its text names the recipient's domain, never the
// address or the message.
type Error struct {
	msg string
	err error // the context's error, when it ended the send
	// Permanent is true when the server refused the message for good (a
	// 5xx reply, such as an unknown mailbox) or the address is invalid:
	// sending it again fails again.
	Permanent bool
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the context's error when the send was cut by ctx.
func (e *Error) Unwrap() error { return e.err }

// Retryable reports whether the same message may go through later: the
// authkit courier tries a message again only then, and otherwise keeps it
// as a dead letter at once.
func (e *Error) Retryable() bool { return !e.Permanent }

func domainOf(addr string) string {
	return addr[strings.LastIndexByte(addr, '@')+1:]
}
