// Package outbox records the email and text messages an app sends, for tests
// and development. An [Outbox] is both an [authkit.Mailer] and an
// [authkit.SMSSender]: give it to [authkit.Config] and read what was sent.
//
// # In tests
//
// [Outbox.Next] waits for the next message to an address, so a test reads
// the confirmation link or sign-in code the way a user would:
//
//	box := outbox.New()
//	kit, _ := authkit.New(authkit.Config{Mailer: box, ...})
//	// ... sign up alice@example.com ...
//	m, err := box.Next(ctx, "alice@example.com")
//
// # In development
//
// Set [Outbox.Print] to os.Stderr to see each message on the console as it
// is sent, and mount the Outbox itself (it is an [http.Handler]) to list the
// messages as JSON.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authkit/authkit"
)

var (
	_ authkit.Mailer    = (*Outbox)(nil)
	_ authkit.SMSSender = (*Outbox)(nil)
	_ http.Handler      = (*Outbox)(nil)
)

// The kinds of [Message].
const (
	KindEmail = "email"
	KindSMS   = "sms"
)

// Message is one recorded email or text message.
type Message struct {
	Kind    string    `json:"kind"` // KindEmail or KindSMS
	To      string    `json:"to"`
	Subject string    `json:"subject"` // "" for sms
	Body    string    `json:"body"`    // the email's Text, or the SMS body
	SentAt  time.Time `json:"sentAt"`
}

// Outbox records messages instead of delivering them. Its methods are safe
// for concurrent use; the zero value is not usable, call [New].
type Outbox struct {
	// Print, if non-nil, receives each message in readable form as it is
	// sent. Set it before the first message.
	Print io.Writer

	mu      sync.Mutex
	msgs    []Message
	taken   []bool        // taken[i]: Next has returned msgs[i]
	changed chan struct{} // closed, then replaced, whenever a message arrives
	now     func() time.Time
}

// New returns an empty Outbox.
func New() *Outbox {
	return &Outbox{changed: make(chan struct{}), now: time.Now}
}

// SendEmail records m (its Text as the Body). A done ctx records nothing and
// returns ctx's error.
func (o *Outbox) SendEmail(ctx context.Context, m authkit.Email) error {
	return o.record(ctx, Message{Kind: KindEmail, To: m.To, Subject: m.Subject, Body: m.Text})
}

// SendSMS records m. A done ctx records nothing and returns ctx's error.
func (o *Outbox) SendSMS(ctx context.Context, m authkit.SMS) error {
	return o.record(ctx, Message{Kind: KindSMS, To: m.To, Body: m.Body})
}

func (o *Outbox) record(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	m.SentAt = o.now()
	o.msgs = append(o.msgs, m)
	o.taken = append(o.taken, false)
	close(o.changed)
	o.changed = make(chan struct{})
	if o.Print != nil {
		// Under the lock, so messages printed from many goroutines do not
		// interleave.
		printMessage(o.Print, m)
	}
	return nil
}

func printMessage(w io.Writer, m Message) {
	var b strings.Builder
	fmt.Fprintf(&b, "──── %s to %s at %s ────\n", m.Kind, m.To, m.SentAt.Format(time.TimeOnly))
	if m.Kind == KindEmail {
		fmt.Fprintf(&b, "Subject: %s\n\n", m.Subject)
	}
	b.WriteString(m.Body)
	if !strings.HasSuffix(m.Body, "\n") {
		b.WriteByte('\n')
	}
	b.WriteString("────\n")
	io.WriteString(w, b.String())
}

// Messages returns copies of every recorded message, oldest first.
func (o *Outbox) Messages() []Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Message, len(o.msgs))
	copy(out, o.msgs)
	return out
}

// Next returns the oldest message to to (an email address, compared without
// regard to case, or a phone number) that Next has not returned before,
// waiting until one is sent or ctx ends; then it returns ctx's error.
func (o *Outbox) Next(ctx context.Context, to string) (Message, error) {
	for {
		o.mu.Lock()
		for i, m := range o.msgs {
			if !o.taken[i] && strings.EqualFold(m.To, to) {
				o.taken[i] = true
				o.mu.Unlock()
				return m, nil
			}
		}
		changed := o.changed
		o.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, ctx.Err()
		}
	}
}

// ServeHTTP answers GET (and HEAD) with the JSON array of [Outbox.Messages],
// oldest first, and any other method with 405 and an error body shaped like
// the kit's.
func (o *Outbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]string{{
			"origin":  "client_error",
			"code":    "method_not_allowed",
			"message": "The outbox answers only GET.",
		}}})
		return
	}
	json.NewEncoder(w).Encode(o.Messages()) // never nil: "[]" when empty
}
