package authkit_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/memstore"
	"github.com/authkit/authkit/outbox"
)

// The resend gap and the caps on texts across instances: SECURITY 69, 70.

// twoInstances starts two phone kits on the store s, as two instances of
// one app behind a load balancer: one database, one Secret, one clock (b's
// is a's), each its own server and outbox.
func twoInstances(t *testing.T, s store, edit ...func(*authkit.Config)) (a, b *harness) {
	t.Helper()
	secret := bytes.Repeat([]byte("s"), 32)
	shared := func(c *authkit.Config) { c.Store, c.Limiter, c.Secret = s, s, secret }
	edit = append([]func(*authkit.Config){shared, authkit.CheapHashing}, edit...)
	a = newPhoneHarness(t, edit...)
	b = newPhoneHarness(t, append(edit, func(c *authkit.Config) { c.Now = a.clock.Now })...)
	b.clock = a.clock
	return a, b
}

// textsTo counts the texts to phone that the instances sent, once their
// background work is done.
func textsTo(phone string, instances ...*harness) int {
	n := 0
	for _, h := range instances {
		h.settle()
		for _, m := range h.box.Messages() {
			if m.Kind == outbox.KindSMS && m.To == phone {
				n++
			}
		}
	}
	return n
}

// newestCode is the code of the last text to phone that the instances
// sent: the courier of either may deliver what the other queued.
func newestCode(t *testing.T, phone string, instances ...*harness) string {
	t.Helper()
	var last outbox.Message
	for _, h := range instances {
		h.settle()
		for _, m := range h.box.Messages() {
			if m.Kind == outbox.KindSMS && m.To == phone && !m.SentAt.Before(last.SentAt) {
				last = m
			}
		}
	}
	c := codePattern.FindString(last.Body)
	require.NotEmpty(t, c, "no code in the texts to %s", phone)
	return c
}

// askAtOnce sends each of paths 4 times at once, split over the instances,
// and checks that every request answers 200.
func askAtOnce(t *testing.T, paths []string, instances ...*harness) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, p := range paths {
		for i := range 4 {
			h := instances[i%len(instances)]
			wg.Go(func() {
				<-start
				if status := rawStatus(t, http.MethodPost, h.srv.URL+p, ""); status != http.StatusOK {
					t.Errorf("%s answered %d", p, status)
				}
			})
		}
	}
	close(start)
	wg.Wait()
}

// numbers are n confirmed numbers, signed up on h.
func numbers(h *harness, n int) []string {
	phones := make([]string, n)
	for i := range phones {
		phones[i] = fmt.Sprintf("+155555555%02d", 10+i)
		h.phoneUser(phones[i], phonePassword)
	}
	return phones
}

// SECURITY 69, issue 14: two instances on one database used to text a
// number twice for requests raced across them, each passing its own
// check of the gap. Now 18 confirmed numbers, each asked a sign-in code 4
// times at once over both instances (past the gap since their
// confirmation codes), get exactly one text each, on every store.
func TestResendGapAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a, b := twoInstances(t, st.open(t), noLimits, logWarningsTo(t))
			phones := numbers(a, 18)
			a.clock.Advance(time.Minute)
			paths := make([]string, len(phones))
			for i, p := range phones {
				paths[i] = phoneQuery("send-code", p, "")
			}
			askAtOnce(t, paths, a, b)
			// Delivery is at least once: a try that failed under load (a
			// busy database) goes again after DeliveryBackoff, still
			// within the gap, so it may not add a second code.
			textsTo(phones[0], a, b)
			a.clock.Advance(30 * time.Second)
			for _, p := range phones {
				require.Equal(t, 2, textsTo(p, a, b), "%s: its confirmation code and one sign-in code", p)
			}
		})
	}
}

// SECURITY 69: the gap slides: it is measured from the last text, never
// counted in fixed windows, whichever instance is asked.
func TestResendGapSlides(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t, memstore.New(), noLimits)
	const phone = "+15555555555"
	a.phoneUser(phone, phonePassword) // at 03:04:05
	sent := textsTo(phone, a, b)
	ask := func(h *harness, at string, texted bool) {
		t.Helper()
		require.Equal(t, at, a.clock.Now().Format("15:04:05.000"))
		require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", phone, ""), nil, "").status)
		if texted {
			sent++
		}
		require.Equal(t, sent, textsTo(phone, a, b), "at %s", at)
	}
	a.clock.Advance(time.Minute + 54900*time.Millisecond)
	ask(a, "03:05:59.900", true)
	a.clock.Advance(200 * time.Millisecond)
	ask(b, "03:06:00.100", false) // in the next minute, 0.2 s later
	ask(a, "03:06:00.100", false)
	a.clock.Advance(59700 * time.Millisecond)
	ask(b, "03:06:59.800", false)
	a.clock.Advance(100 * time.Millisecond)
	ask(b, "03:06:59.900", true) // a gap after the last text

	// A code that is spent holds back the next one no more, as before.
	in := a.post(phoneQuery("signin-code", phone, newestCode(t, phone, a, b)), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
	a.clock.Advance(time.Second)
	ask(a, "03:07:00.900", true)
}

// SECURITY 70: the caps on texts are counted in the shared Limiter, so
// they hold across instances: SMSPerNumber for one number asked on both
// in turn, and SMSBudget spent by requests raced over both, on every
// store.
func TestTextCapsAcrossInstances(t *testing.T) {
	t.Parallel()
	for _, st := range raceStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			a, b := twoInstances(t, st.open(t), generousLimits, func(c *authkit.Config) {
				c.Limits.SMSPerNumber = authkit.Rate{Max: 3, Per: 24 * time.Hour}
				c.Limits.SMSBudget = authkit.Rate{Max: 18 + 2 + 7, Per: 24 * time.Hour}
			})
			phones := numbers(a, 18) // 18 texts of the budget
			one := phones[0]
			for i, h := range []*harness{b, a, b, a} {
				a.clock.Advance(time.Minute)
				require.Equal(t, http.StatusOK, h.post(phoneQuery("send-code", one, ""), nil, "").status)
				require.Equal(t, min(3, 2+i), textsTo(one, a, b), "ask %d: 3 texts at most, the confirmation code among them", i+1)
			}
			// 2 texts of the budget went to the first number; 7 are left.
			a.clock.Advance(time.Minute)
			paths := make([]string, 0, len(phones)-1)
			for _, p := range phones[1:] {
				paths = append(paths, phoneQuery("send-code", p, ""))
			}
			askAtOnce(t, paths, a, b)
			total := 0
			for _, p := range phones[1:] {
				n := textsTo(p, a, b)
				require.LessOrEqual(t, n, 2, p)
				total += n - 1
			}
			require.Equal(t, 7, total, "the rest of the budget, spent once across both instances")
		})
	}
}

// SECURITY 69: a request that a cap holds back texts nothing and takes no
// gap: an attacker past his network's SMSPerNumber, asking a code for the
// owner's number every minute, cannot hold back the one she asks for.
func TestTextHeldBackByACapTakesNoGap(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t, memstore.New(), behindProxy, generousLimits, func(c *authkit.Config) {
		c.Limits.SMSPerNumber = authkit.Rate{Max: 1, Per: 24 * time.Hour}
	})
	const phone = "+15555555555"
	a.phoneUser(phone, phonePassword) // from 127.0.0.1, whose network's one text this is
	attacker := &visitor{h: a, ip: "198.51.100.7"}
	owner := &visitor{h: b, ip: "203.0.113.9"}
	a.clock.Advance(time.Minute)
	require.Equal(t, http.StatusOK, attacker.post(phoneQuery("send-code", phone, ""), nil).status)
	require.Equal(t, 2, textsTo(phone, a, b), "the attacker's network's one text")
	for range 3 {
		a.clock.Advance(time.Minute)
		require.Equal(t, http.StatusOK, attacker.post(phoneQuery("send-code", phone, ""), nil).status)
		require.Equal(t, 2, textsTo(phone, a, b), "past his network's cap")
	}
	a.clock.Advance(time.Second)
	require.Equal(t, http.StatusOK, owner.post(phoneQuery("send-code", phone, ""), nil).status)
	require.Equal(t, 3, textsTo(phone, a, b), "her code goes a second after his ask")
	in := b.post(phoneQuery("signin-code", phone, newestCode(t, phone, a, b)), nil, "")
	require.Equal(t, http.StatusOK, in.status, "%s", in.raw)
}

// logWarningsTo makes a kit log its warnings and errors to t, so that a
// failed delivery says why.
func logWarningsTo(t *testing.T) func(*authkit.Config) {
	return func(c *authkit.Config) {
		c.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
