// Package sms delivers authkit's text messages through Twilio, MessageBird,
// Bird or Vonage. Each sender is a plain struct that implements
// [authkit.SMSSender] over the provider's REST API with the standard
// library alone.
//
// # Usage
//
//	sender := &sms.Twilio{
//		AccountSID: os.Getenv("TWILIO_ACCOUNT_SID"),
//		AuthToken:  os.Getenv("TWILIO_AUTH_TOKEN"),
//		From:       "+15017122661",
//	}
//	if err := sender.Check(); err != nil {
//		log.Fatal(err) // a missing or malformed field, at start-up
//	}
//	// give sender to authkit as its SMSSender
//
// [MessageBird], [Bird] and [Vonage] work the same way. [MessageBird] is
// for accounts with a legacy MessageBird API key (rest.messagebird.com);
// [Bird] for accounts on Bird's current platform, which send through a
// workspace's SMS channel with an access key (api.bird.com). SendSMS runs
// Check too, so
// a sender nobody checked still fails with a clear error, but calling
// [Twilio.Check] at start-up moves that failure out of the first sign-in.
//
// # Behaviour
//
// One SendSMS is one POST to the provider, bounded by the sender's Timeout
// (default 10s) and by ctx, whichever ends first. A sender holds no state
// besides its fields: it is safe for concurrent use as long as nobody
// changes them.
//
// The recipient must be in E.164 form: "+", then 7 to 15 digits. Twilio
// and Bird get it as is; MessageBird and Vonage get the digits without the
// "+", as their APIs ask. MessageBird and Vonage are also told the body's
// encoding: GSM-7 when every character is in the GSM 03.38 alphabet,
// Unicode otherwise (Twilio and Bird choose by themselves).
//
// The default HTTP client follows no redirect: a provider API that answers a
// POST with one is misconfigured, and following would send the credentials
// on. BaseURL must be https, except on a loopback host (tests, a local
// fake). At most 64 KiB of any answer is read.
//
// # Errors
//
// A message the provider did not take, or a request that got no answer,
// returns an [*Error]: the provider, the HTTP status, the provider's own
// error code, whether trying later may help, and the provider's explanation
// with everything that looks like a phone number or a code cut out. Its text
// never holds the message body (it carries sign-in codes), the recipient or
// a credential, so it can be logged. A timeout or a cancelled ctx stays
// visible to errors.Is (context.DeadlineExceeded, context.Canceled).
//
// Vonage answers HTTP 200 even when it refuses a message; the sender reads
// the status of each part and reports the first non-zero one, never as
// temporary once another part went out (a retry would send that part
// twice). A 2xx answer from Twilio, MessageBird or Bird counts as sent
// even if its body cannot be read, so a caller that retries on error does
// not send the message twice.
//
// A bad configuration, recipient or empty body is a plain error, returned
// before any request is made.
package sms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authkit/authkit"
)

// DefaultTimeout bounds one SendSMS of a sender whose Timeout is zero.
const DefaultTimeout = 10 * time.Second

const (
	maxAnswerBytes = 64 << 10 // read at most this much of any answer
	formType       = "application/x-www-form-urlencoded"
	jsonType       = "application/json"
)

// defaultClient serves senders whose Client is nil. Each send's deadline
// comes from its context, so the client itself needs no timeout.
var defaultClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// endpoint is a sender's checked BaseURL, Client and Timeout.
type endpoint struct {
	provider string
	baseURL  string
	client   *http.Client
	timeout  time.Duration
}

func newEndpoint(provider, typ, baseURL, defaultBaseURL string, client *http.Client, timeout time.Duration) (endpoint, error) {
	ep := endpoint{provider: provider, baseURL: defaultBaseURL, client: client, timeout: timeout}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		loopback := err == nil && isLoopback(u.Hostname())
		switch {
		case err != nil || u.Host == "" || u.Opaque != "":
			return endpoint{}, fmt.Errorf("sms: %s.BaseURL must be an absolute URL such as %q", typ, defaultBaseURL)
		case u.Scheme != "https" && !(u.Scheme == "http" && loopback):
			return endpoint{}, fmt.Errorf("sms: %s.BaseURL must be https (http only on a loopback host)", typ)
		case u.User != nil || u.RawQuery != "" || u.Fragment != "":
			return endpoint{}, fmt.Errorf("sms: %s.BaseURL must hold no user info, query or fragment", typ)
		}
		ep.baseURL = strings.TrimSuffix(u.String(), "/")
	}
	if ep.client == nil {
		ep.client = defaultClient
	}
	switch {
	case timeout < 0:
		return endpoint{}, fmt.Errorf("sms: %s.Timeout %v is negative", typ, timeout)
	case timeout == 0:
		ep.timeout = DefaultTimeout
	}
	return ep, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// request is one message for a provider's API.
type request struct {
	path        string
	contentType string
	body        []byte
	auth        func(*http.Request)
	secrets     []string // cut out of the provider's explanation
	// needBody is set when a 2xx answer means nothing until its body is
	// read (Vonage).
	needBody bool
	// answer reads the provider's answer: nil if it took the message.
	answer func(status int, body []byte) *refusal
}

// refusal is what an answer says about a message the provider did not take.
type refusal struct {
	code      string
	message   string // the provider's explanation, not yet redacted
	temporary bool
	cause     error
}

func (ep endpoint) send(ctx context.Context, r request) error {
	if err := ctx.Err(); err != nil {
		return ep.failure(ctx, 0, err)
	}
	ctx, cancel := context.WithTimeout(ctx, ep.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.baseURL+r.path, bytes.NewReader(r.body))
	if err != nil {
		return &Error{Provider: ep.provider, err: errors.New("cannot build the request")}
	}
	req.Header.Set("Content-Type", r.contentType)
	req.Header.Set("Accept", jsonType)
	r.auth(req)
	resp, err := ep.client.Do(req)
	if err != nil {
		return ep.failure(ctx, 0, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if err != nil && (!ok || r.needBody) {
		return ep.failure(ctx, resp.StatusCode, err)
	}
	no := r.answer(resp.StatusCode, body)
	if no == nil {
		return nil
	}
	return &Error{
		Provider:  ep.provider,
		Status:    resp.StatusCode,
		Code:      no.code,
		Message:   redact(no.message, r.secrets),
		Temporary: no.temporary,
		err:       no.cause,
	}
}

// failure is the error of a request that got no (whole) answer. The
// cause's text loses its URL: what the client says about the connection
// is enough, and a URL is no place to show in logs.
func (ep endpoint) failure(ctx context.Context, status int, cause error) *Error {
	e := &Error{Provider: ep.provider, Status: status, Temporary: status == 0 || temporaryStatus(status)}
	if err := ctx.Err(); err != nil {
		e.err = err
		e.Temporary = e.Temporary && !errors.Is(err, context.Canceled)
		return e
	}
	var ue *url.Error
	if errors.As(cause, &ue) {
		cause = ue.Err
	}
	e.err = cause
	return e
}

func temporaryStatus(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// checkMessage checks m and returns its recipient without the "+".
func checkMessage(provider string, m authkit.SMS) (string, error) {
	digits, ok := strings.CutPrefix(m.To, "+")
	if !ok || len(digits) < 7 || len(digits) > 15 || digits[0] == '0' || strings.Trim(digits, "0123456789") != "" {
		// The number itself stays out of the text.
		return "", fmt.Errorf("sms: %s: the recipient must be an E.164 number: + and 7 to 15 digits", provider)
	}
	if strings.TrimSpace(m.Body) == "" {
		return "", fmt.Errorf("sms: %s: the message body is empty", provider)
	}
	return digits, nil
}

// checkSender checks a sender number or alphanumeric sender ID. The GSM
// network carries at most 11 characters of an alphanumeric one.
func checkSender(field, from string) error {
	switch {
	case strings.TrimSpace(from) == "":
		return fmt.Errorf("sms: %s is required", field)
	case strings.IndexFunc(from, unicode.IsControl) >= 0:
		return fmt.Errorf("sms: %s holds a control character", field)
	case strings.Trim(strings.TrimPrefix(from, "+"), "0123456789") != "" && utf8.RuneCountInString(from) > 11:
		return fmt.Errorf("sms: %s: an alphanumeric sender ID has at most 11 characters", field)
	}
	return nil
}

// gsm7 is the GSM 03.38 default alphabet and its extension table (whose
// characters take two septets), without the escape character itself.
const gsm7 = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà" +
	"\f^{}\\[~]|€"

// isGSM7 reports whether s can be sent in GSM-7; if not, it needs Unicode
// (UCS-2), which fits 70 characters in a part instead of 160.
func isGSM7(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune(gsm7, r) {
			return false
		}
	}
	return true
}
