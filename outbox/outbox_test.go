package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func newTestOutbox() *Outbox {
	o := New()
	o.now = func() time.Time { return t0 }
	return o
}

func TestRecordsInOrder(t *testing.T) {
	o := newTestOutbox()
	ctx := context.Background()
	if err := o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "Hi", Text: "text body", HTML: "<p>html</p>"}); err != nil {
		t.Fatal(err)
	}
	if err := o.SendSMS(ctx, authkit.SMS{To: "+15555555555", Body: "code 123456"}); err != nil {
		t.Fatal(err)
	}
	if err := o.SendEmail(ctx, authkit.Email{To: "b@example.com", Subject: "Second", Text: "two"}); err != nil {
		t.Fatal(err)
	}
	want := []Message{
		{Kind: KindEmail, To: "a@example.com", Subject: "Hi", Body: "text body", SentAt: t0},
		{Kind: KindSMS, To: "+15555555555", Body: "code 123456", SentAt: t0},
		{Kind: KindEmail, To: "b@example.com", Subject: "Second", Body: "two", SentAt: t0},
	}
	got := o.Messages()
	if len(got) != len(want) {
		t.Fatalf("Messages() = %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestMessagesAreCopies(t *testing.T) {
	o := newTestOutbox()
	o.SendEmail(context.Background(), authkit.Email{To: "a@example.com", Subject: "Hi", Text: "x"})
	got := o.Messages()
	got[0].To = "changed"
	if o.Messages()[0].To != "a@example.com" {
		t.Fatal("changing the result of Messages changed the outbox")
	}
	if n := len(New().Messages()); n != 0 {
		t.Fatalf("new outbox has %d messages", n)
	}
}

func TestSendHonoursContext(t *testing.T) {
	o := newTestOutbox()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.SendEmail(ctx, authkit.Email{To: "a@example.com"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SendEmail with a cancelled ctx = %v, want context.Canceled", err)
	}
	if err := o.SendSMS(ctx, authkit.SMS{To: "+15555555555"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SendSMS with a cancelled ctx = %v, want context.Canceled", err)
	}
	if n := len(o.Messages()); n != 0 {
		t.Errorf("cancelled sends recorded %d messages", n)
	}
}

func TestNextReturnsEachMessageOnce(t *testing.T) {
	o := newTestOutbox()
	ctx := context.Background()
	o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "1"})
	o.SendEmail(ctx, authkit.Email{To: "b@example.com", Subject: "other"})
	o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "2"})

	for _, want := range []string{"1", "2"} {
		m, err := o.Next(ctx, "A@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != want {
			t.Fatalf("Next = %q, want %q", m.Subject, want)
		}
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := o.Next(short, "a@example.com"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing left = %v, want context.DeadlineExceeded", err)
	}
	if m, err := o.Next(ctx, "b@example.com"); err != nil || m.Subject != "other" {
		t.Fatalf("Next(b) = %+v, %v", m, err)
	}
	if n := len(o.Messages()); n != 3 {
		t.Fatalf("Next removed messages: %d left, want 3", n)
	}
}

func TestNextWaitsForLaterMessage(t *testing.T) {
	o := newTestOutbox()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	type result struct {
		m   Message
		err error
	}
	got := make(chan result, 1)
	go func() {
		m, err := o.Next(ctx, "+15555555555")
		got <- result{m, err}
	}()
	// Messages to someone else do not wake Next with a wrong answer.
	o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "not this"})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		o.SendSMS(ctx, authkit.SMS{To: "+15555555555", Body: "your code is 123456"})
	}()
	wg.Wait()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.m.Kind != KindSMS || r.m.Body != "your code is 123456" {
		t.Fatalf("Next = %+v", r.m)
	}
}

func TestNextCancelled(t *testing.T) {
	o := newTestOutbox()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Next(ctx, "a@example.com"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled ctx = %v, want context.Canceled", err)
	}

	// Cancelling while Next waits releases it.
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := o.Next(ctx, "a@example.com")
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next did not return after its ctx was cancelled")
	}
}

func TestConcurrentSendsAndNext(t *testing.T) {
	o := New()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			o.SendEmail(ctx, authkit.Email{To: "a@example.com", Text: "x"})
		}()
		go func() {
			defer wg.Done()
			o.Messages()
		}()
	}
	seen := 0
	for range n {
		if _, err := o.Next(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		seen++
	}
	wg.Wait()
	if seen != n || len(o.Messages()) != n {
		t.Fatalf("saw %d, recorded %d, want %d", seen, len(o.Messages()), n)
	}
}

func TestServeHTTP(t *testing.T) {
	o := newTestOutbox()

	rec := httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/outbox", nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("empty outbox: %d %q, want 200 []", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	ctx := context.Background()
	o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "Hi", Text: "body"})
	o.SendSMS(ctx, authkit.SMS{To: "+15555555555", Body: "code"})
	rec = httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/outbox", nil))
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d messages, want 2", len(got))
	}
	want := map[string]any{"kind": "email", "to": "a@example.com", "subject": "Hi", "body": "body", "sentAt": t0.Format(time.RFC3339)}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("first message %s = %v, want %v", k, got[0][k], v)
		}
	}
	if got[1]["kind"] != "sms" || got[1]["subject"] != "" {
		t.Errorf("second message = %v", got[1])
	}

	rec = httptest.NewRecorder()
	o.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/dev/outbox", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: status %d, want 405", rec.Code)
	}
	var e struct {
		Errors []struct{ Origin, Code, Message string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("POST body %q: %v", rec.Body, err)
	}
	if len(e.Errors) != 1 || e.Errors[0].Origin != "client_error" || e.Errors[0].Code != "method_not_allowed" || e.Errors[0].Message == "" {
		t.Fatalf("POST body = %q", rec.Body)
	}
}

func TestPrint(t *testing.T) {
	o := newTestOutbox()
	var buf bytes.Buffer
	o.Print = &buf
	ctx := context.Background()
	o.SendEmail(ctx, authkit.Email{To: "a@example.com", Subject: "Confirm", Text: "Open https://x.test/_auth/verify?key=abc\n", HTML: "<b>no</b>"})
	o.SendSMS(ctx, authkit.SMS{To: "+15555555555", Body: "code 123456"})
	out := buf.String()
	for _, want := range []string{
		"email to a@example.com at 15:04:05",
		"Subject: Confirm\n",
		"https://x.test/_auth/verify?key=abc\n",
		"sms to +15555555555",
		"code 123456\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("printed output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "<b>") {
		t.Errorf("printed the HTML body:\n%s", out)
	}
}
