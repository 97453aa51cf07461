package sms

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageLen is how many runes of the provider's explanation
// Error.Message keeps.
const maxMessageLen = 200

// Error is a message a provider did not take, or a request that got no
// answer. Its text names the provider, the HTTP status and the provider's
// code, with the provider's explanation: never the message body, the
// recipient or a credential.
type Error struct {
	Provider string // "twilio", "messagebird", "bird" or "vonage"
	Status   int    // the HTTP status; 0 when no answer came
	// Code is the provider's error code as text, such as "21211" (Twilio),
	// "2" (MessageBird), "InvalidPayload" (Bird) or "4" (Vonage's message
	// status); empty when the answer had none.
	Code string
	// Message is the provider's explanation with everything that looks like
	// a phone number or a code replaced by "***", on one line and cut to 200
	// characters: "The 'To' number *** is not a valid phone number.".
	Message string
	// Temporary reports whether the same message may go through later: a
	// rate limit (429), a server error (5xx), a provider code that means
	// throttled or an internal error, a timeout, a network failure. A
	// network failure can also come after the provider took the message,
	// so trying again may send it twice. A cancelled ctx is not temporary.
	Temporary bool

	err error // without an answer: a context error, or a network error without its URL
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sms: ")
	b.WriteString(e.Provider)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(": code ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.err != nil {
		b.WriteString(": ")
		b.WriteString(e.err.Error())
	}
	return b.String()
}

// Retryable reports e.Temporary: the authkit courier tries a message again
// later after an error whose Retryable method says so, and gives it up as
// a dead letter at once after one that says not.
func (e *Error) Retryable() bool { return e.Temporary }

// Unwrap returns the cause of a request that got no answer, such as
// context.DeadlineExceeded.
func (e *Error) Unwrap() error { return e.err }

// code is a provider's error code, which arrives as a JSON number or string.
type code string

func (c *code) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*c = code(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*c = code(n.String())
	}
	return nil // anything else: no code
}

// numberLike matches runs of digits, perhaps formatted: "+1 (555) 123-4567".
var numberLike = regexp.MustCompile(`\+?[0-9][0-9 ().\-]*[0-9]`)

// redact makes a provider's explanation safe to log: the secrets and every
// run of four or more digits (a phone number, a code) become "***", control
// characters spaces, and the text is cut to maxMessageLen runes.
func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if len(x) >= 4 {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	s = numberLike.ReplaceAllStringFunc(s, func(run string) string {
		if countDigits(run) >= 4 {
			return "***"
		}
		return run
	})
	s = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s))
	if utf8.RuneCountInString(s) > maxMessageLen {
		s = string([]rune(s)[:maxMessageLen-1]) + "…"
	}
	return s
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
