package smtpmail_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/smtpmail"
	"github.com/stretchr/testify/require"
)

// link is long (quoted-printable wraps it) and has '=' (which it escapes).
const link = "https://app.example.com/_auth/verify?key=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG9mcmVk&x=1"

var email = authkit.Email{
	To:      "bob@example.com",
	Subject: "Confirm your email for Äpp",
	Text:    "Hello Bob,\n\nOpen this link:\n\n" + link + "\n",
	HTML:    `<p>Hello Bob,</p><p><a href="` + link + `">Confirm</a></p>`,
}

func TestSendPlainText(t *testing.T) {
	f := startFake(t, &fakeSMTP{})
	e := email
	e.HTML = ""
	require.NoError(t, mailer(t, f.config(smtpmail.NoTLS)).SendEmail(t.Context(), e))

	d := f.only(t)
	require.Equal(t, "no-reply@example.com", d.from)
	require.Equal(t, []string{"bob@example.com"}, d.to)
	require.False(t, d.tls)
	msg, ctype, parts := read(t, d.data)
	from, err := msg.Header.AddressList("From")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Name: "App", Address: "no-reply@example.com"}}, from)
	to, err := msg.Header.AddressList("To")
	require.NoError(t, err)
	require.Equal(t, []*mail.Address{{Address: "bob@example.com"}}, to)
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, e.Subject, subject)
	require.Regexp(t, `^<\S+@example\.com>$`, msg.Header.Get("Message-Id"))
	require.NotEmpty(t, msg.Header.Get("Date"))
	require.Equal(t, "text/plain", ctype)
	require.Equal(t, e.Text, parts["text/plain"])
}

func TestSendHTMLIsMultipartAlternative(t *testing.T) {
	f := startFake(t, &fakeSMTP{implicitTLS: true})
	require.NoError(t, mailer(t, f.config(smtpmail.ImplicitTLS)).SendEmail(t.Context(), email))

	d := f.only(t)
	require.True(t, d.tls)
	_, ctype, parts := read(t, d.data)
	require.Equal(t, "multipart/alternative", ctype)
	require.Equal(t, map[string]string{"text/plain": email.Text, "text/html": email.HTML}, parts)
}

func TestSubjectCannotAddHeaders(t *testing.T) {
	f := startFake(t, &fakeSMTP{})
	e := email
	e.Subject = "Hi\r\nBcc: eve@example.net"
	require.NoError(t, mailer(t, f.config(smtpmail.NoTLS)).SendEmail(t.Context(), e))

	d := f.only(t)
	require.Equal(t, []string{"bob@example.com"}, d.to)
	msg, _, _ := read(t, d.data)
	require.Empty(t, msg.Header.Get("Bcc"))
}

func TestSTARTTLSWithAuth(t *testing.T) {
	f := startFake(t, &fakeSMTP{startTLS: true, auth: true})
	cfg := f.config(smtpmail.STARTTLS)
	cfg.Username, cfg.Password = "app", "s3cret"
	require.NoError(t, mailer(t, cfg).SendEmail(t.Context(), email))

	d := f.only(t)
	require.True(t, d.tls)
	require.Equal(t, []string{"bob@example.com"}, d.to)
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Equal(t, "app", f.user)
	require.Equal(t, "s3cret", f.pass)
	require.Equal(t, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"}, f.cmds)
}

func TestSTARTTLSRequired(t *testing.T) {
	f := startFake(t, &fakeSMTP{auth: true}) // offers AUTH but no STARTTLS
	cfg := f.config(smtpmail.STARTTLS)
	cfg.Username, cfg.Password = "app", "s3cret"
	err := mailer(t, cfg).SendEmail(t.Context(), email)
	require.ErrorContains(t, err, "STARTTLS")
	require.NotContains(t, err.Error(), link)

	f.mu.Lock()
	defer f.mu.Unlock()
	require.Empty(t, f.mails)
	require.Equal(t, []string{"EHLO"}, f.cmds, "no credentials, no envelope")
}

func TestRejectedRecipientErrorHidesMessageAndAddress(t *testing.T) {
	f := startFake(t, &fakeSMTP{rejectRcpt: true})
	e := email
	e.To = "Bob.Rejected@example.com"
	err := mailer(t, f.config(smtpmail.NoTLS)).SendEmail(t.Context(), e)
	require.Error(t, err)
	require.Contains(t, err.Error(), "550")
	require.Contains(t, err.Error(), "example.com")
	for _, secret := range []string{link, "key=", "Bob", "bob.rejected"} {
		require.NotContains(t, strings.ToLower(err.Error()), strings.ToLower(secret))
	}
	require.Empty(t, f.mails)
}

// A 5xx reply refuses a message for good and a 4xx one only for now: the
// authkit courier dead-letters the first at once and tries the second
// again. An invalid address is refused for good too.
func TestErrorsSayWhetherToRetry(t *testing.T) {
	retryable := func(err error) bool {
		var e *smtpmail.Error
		require.ErrorAs(t, err, &e)
		return e.Retryable()
	}
	rejected := startFake(t, &fakeSMTP{rejectRcpt: true})
	require.False(t, retryable(mailer(t, rejected.config(smtpmail.NoTLS)).SendEmail(t.Context(), email)), "550")
	deferred := startFake(t, &fakeSMTP{deferRcpt: true})
	err := mailer(t, deferred.config(smtpmail.NoTLS)).SendEmail(t.Context(), email)
	require.Contains(t, err.Error(), "451")
	require.True(t, retryable(err), "451")
	require.Empty(t, deferred.mails)

	m, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: 1, From: "a@example.com"})
	require.NoError(t, err)
	require.False(t, retryable(m.SendEmail(t.Context(), authkit.Email{To: "not an address", Text: link})))
	require.True(t, retryable(m.SendEmail(t.Context(), email)), "nobody listens on port 1: maybe later")
}

func TestContextAndTimeout(t *testing.T) {
	f := startFake(t, &fakeSMTP{silent: true}) // accepts, never greets

	t.Run("cancelled mid-conversation", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		err := mailer(t, f.config(smtpmail.STARTTLS)).SendEmail(ctx, email)
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := mailer(t, f.config(smtpmail.STARTTLS)).SendEmail(ctx, email)
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("Config.Timeout", func(t *testing.T) {
		cfg := f.config(smtpmail.STARTTLS)
		cfg.Timeout = 100 * time.Millisecond
		start := time.Now()
		err := mailer(t, cfg).SendEmail(t.Context(), email)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.Less(t, time.Since(start), 5*time.Second)
	})
}

func TestNewValidates(t *testing.T) {
	ok := smtpmail.Config{Host: "smtp.example.com", From: "App <no-reply@example.com>"}
	for _, tc := range []struct {
		name  string
		edit  func(*smtpmail.Config)
		field string
	}{
		{"missing host", func(c *smtpmail.Config) { c.Host = "" }, "Config.Host"},
		{"host with port", func(c *smtpmail.Config) { c.Host = "smtp.example.com:587" }, "Config.Host"},
		{"missing from", func(c *smtpmail.Config) { c.From = "" }, "Config.From"},
		{"bad from", func(c *smtpmail.Config) { c.From = "no-reply at example.com" }, "Config.From"},
		{"negative port", func(c *smtpmail.Config) { c.Port = -1 }, "Config.Port"},
		{"port too big", func(c *smtpmail.Config) { c.Port = 65536 }, "Config.Port"},
		{"unknown TLS mode", func(c *smtpmail.Config) { c.TLS = 7 }, "Config.TLS"},
		{"username alone", func(c *smtpmail.Config) { c.Username = "app" }, "Config.Username"},
		{"negative timeout", func(c *smtpmail.Config) { c.Timeout = -time.Second }, "Config.Timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := ok
			tc.edit(&cfg)
			_, err := smtpmail.New(cfg)
			require.ErrorContains(t, err, tc.field)
		})
	}
	_, err := smtpmail.New(ok)
	require.NoError(t, err)
	_, err = smtpmail.New(smtpmail.Config{Host: "::1", Port: 2525, From: "a@b.example"})
	require.NoError(t, err, "an IPv6 address is a host")
}

func TestInvalidRecipient(t *testing.T) {
	m, err := smtpmail.New(smtpmail.Config{Host: "127.0.0.1", Port: 1, From: "a@example.com"})
	require.NoError(t, err)
	err = m.SendEmail(t.Context(), authkit.Email{To: "secret-name@@example.com", Text: link})
	require.EqualError(t, err, "smtpmail: invalid recipient address")
}

func mailer(t *testing.T, cfg smtpmail.Config) *smtpmail.Mailer {
	t.Helper()
	m, err := smtpmail.New(cfg)
	require.NoError(t, err)
	return m
}

// read parses a delivered message: its header, its Content-Type and its
// text parts by media type, transfer encoding undone.
func read(t *testing.T, data string) (*mail.Message, string, map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	require.NoError(t, err)
	ctype, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	parts := map[string]string{}
	if !strings.HasPrefix(ctype, "multipart/") {
		parts[ctype] = decode(t, msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		return msg, ctype, parts
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart() // undoes quoted-printable itself
		if err == io.EOF {
			return msg, ctype, parts
		}
		require.NoError(t, err)
		pt, _, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		require.NoError(t, err)
		parts[pt] = decode(t, p, p.Header.Get("Content-Transfer-Encoding"))
	}
}

func decode(t *testing.T, r io.Reader, cte string) string {
	t.Helper()
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}

// fakeSMTP is an SMTP server that records what it is sent.
type fakeSMTP struct {
	startTLS    bool // offer STARTTLS
	implicitTLS bool // speak TLS from the first byte
	auth        bool // offer AUTH PLAIN LOGIN (only PLAIN works)
	rejectRcpt  bool // answer 550 to every RCPT
	deferRcpt   bool // answer 451 to every RCPT
	silent      bool // accept connections and say nothing

	port  int
	tls   *tls.Config
	roots *x509.CertPool // trusts the server's certificate

	mu         sync.Mutex
	cmds       []string // verbs in the order received
	mails      []delivery
	user, pass string // from AUTH PLAIN
}

type delivery struct {
	from string
	to   []string
	data string
	tls  bool
}

func startFake(t *testing.T, f *fakeSMTP) *fakeSMTP {
	t.Helper()
	f.tls, f.roots = testCert(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f.port = ln.Addr().(*net.TCPAddr).Port
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { f.serve(c) })
		}
	})
	return f
}

func (f *fakeSMTP) config(mode smtpmail.TLSMode) smtpmail.Config {
	return smtpmail.Config{
		Host:      "127.0.0.1",
		Port:      f.port,
		From:      "App <no-reply@example.com>",
		TLS:       mode,
		TLSConfig: &tls.Config{RootCAs: f.roots},
	}
}

func (f *fakeSMTP) only(t *testing.T) delivery {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	require.Len(t, f.mails, 1)
	return f.mails[0]
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if f.silent {
		_, _ = io.Copy(io.Discard, c)
		return
	}
	isTLS := f.implicitTLS
	if isTLS {
		c = tls.Server(c, f.tls)
	}
	tc := textproto.NewConn(c)
	reply := func(format string, args ...any) { _ = tc.PrintfLine(format, args...) }
	reply("220 fake ESMTP")
	var d delivery
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		f.mu.Lock()
		f.cmds = append(f.cmds, verb)
		f.mu.Unlock()
		switch verb {
		case "EHLO", "HELO":
			ext := []string{"fake", "8BITMIME"}
			if f.startTLS && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if f.auth {
				ext = append(ext, "AUTH PLAIN LOGIN")
			}
			for i, x := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				reply("250%s%s", sep, x)
			}
		case "STARTTLS":
			reply("220 ready")
			c = tls.Server(c, f.tls)
			tc, isTLS = textproto.NewConn(c), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			if mech != "PLAIN" {
				reply("504 unsupported")
				continue
			}
			if resp == "" {
				reply("334 ")
				resp, _ = tc.ReadLine()
			}
			b, _ := base64.StdEncoding.DecodeString(resp)
			p := strings.Split(string(b), "\x00")
			if len(p) != 3 {
				reply("501 malformed")
				continue
			}
			f.mu.Lock()
			f.user, f.pass = p[1], p[2]
			f.mu.Unlock()
			reply("235 2.7.0 ok")
		case "MAIL":
			d = delivery{from: between(arg, "<", ">"), tls: isTLS}
			reply("250 ok")
		case "RCPT":
			to := between(arg, "<", ">")
			if f.rejectRcpt {
				reply("550 5.1.1 <%s>: Recipient address rejected: User unknown", to)
				continue
			}
			if f.deferRcpt {
				reply("451 4.7.1 <%s>: Greylisted, try again later", to)
				continue
			}
			d.to = append(d.to, to)
			reply("250 ok")
		case "DATA":
			reply("354 go on")
			b, err := tc.ReadDotBytes()
			if err != nil {
				return
			}
			d.data = string(b)
			f.mu.Lock()
			f.mails = append(f.mails, d)
			f.mu.Unlock()
			reply("250 queued")
		case "RSET":
			d = delivery{}
			reply("250 ok")
		case "NOOP":
			reply("250 ok")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 unknown command")
		}
	}
}

func between(s, open, close string) string {
	_, s, _ = strings.Cut(s, open)
	s, _, _ = strings.Cut(s, close)
	return s
}

// testCert makes a self-signed certificate for 127.0.0.1: the server's
// config and a pool that trusts it.
func testCert(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "fake smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}
