package authkit_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/outbox"
)

// meter is an OpenTelemetry SDK meter provider whose readings a test
// collects on demand.
type meter struct {
	t      *testing.T
	reader *sdkmetric.ManualReader
}

func newMeter(t *testing.T) (*meter, func(*authkit.Config)) {
	m := &meter{t: t, reader: sdkmetric.NewManualReader()}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(m.reader))
	t.Cleanup(func() { mp.Shutdown(context.Background()) })
	return m, func(c *authkit.Config) { c.MeterProvider = mp }
}

// count is the sum of the counter name's points whose attributes include
// every pair of attrs ("key", "value", ...); for a histogram, the count of
// its observations.
func (m *meter) count(name string, attrs ...string) int64 {
	m.t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(m.t, m.reader.Collect(context.Background(), &rm))
	var n int64
	match := func(set attribute.Set) bool {
		for i := 0; i+1 < len(attrs); i += 2 {
			v, ok := set.Value(attribute.Key(attrs[i]))
			if !ok || v.Emit() != attrs[i+1] {
				return false
			}
		}
		return true
	}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if md.Name != name {
				continue
			}
			switch d := md.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += p.Value
					}
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					if match(p.Attributes) {
						n += int64(p.Count)
					}
				}
			}
		}
	}
	return n
}

// Every instrument moves when what it counts happens, with the attributes
// the README lists.
func TestMetrics(t *testing.T) {
	m, withMeter := newMeter(t)
	flaky := &flakySender{}
	h := newPhoneHarness(t, withMeter, func(c *authkit.Config) {
		flaky.Outbox = c.Mailer.(*outbox.Outbox) // the harness's, which it reads
		c.Mailer, c.SMSSender = flaky, flaky
		c.SessionCache = authkit.SessionCache{Size: 10}
		c.DeliveryAttempts, c.DeliveryBackoff = 2, 30*time.Second
		c.Limits.FailedSignIns = authkit.Rate{Max: 3, Per: time.Hour}
	})

	// Sign-ups and sign-ins, and their failures.
	require.Equal(t, http.StatusOK, h.signUp("ann@example.com", inputPassword, nil).status)
	require.EqualValues(t, 1, m.count("authkit.sign_ups", "method", "email", "outcome", "success"))
	bad := h.signUp("bob@example.com", "short", nil)
	require.Equal(t, http.StatusBadRequest, bad.status)
	require.EqualValues(t, 1, m.count("authkit.sign_ups", "method", "email", "outcome", bad.code()))
	h.settle()
	q := h.follow(h.link("ann@example.com"))
	token := h.grant(q.Get("access_token")).token()
	require.EqualValues(t, 1, m.count("authkit.sign_ins", "method", "confirmation", "outcome", "success"))
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "email", "provider", "authkit_test.flakySender", "event", "queued"))
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "email", "event", "sent"))

	require.Equal(t, http.StatusOK, h.signIn("ann@example.com", inputPassword).status)
	require.EqualValues(t, 1, m.count("authkit.sign_ins", "method", "password", "outcome", "success"))
	for range 3 {
		require.Equal(t, http.StatusUnauthorized, h.signIn("ann@example.com", "wrong password!").status)
	}
	require.EqualValues(t, 3, m.count("authkit.sign_ins", "method", "password", "outcome", "invalid_credentials"))
	require.Equal(t, http.StatusTooManyRequests, h.signIn("ann@example.com", "wrong password!").status)
	require.Equal(t, http.StatusTooManyRequests, h.signIn("ann@example.com", "wrong password!").status)
	require.EqualValues(t, 2, m.count("authkit.sign_ins", "method", "password", "outcome", "too_many_requests"))
	require.EqualValues(t, 1, m.count("authkit.limit.refusals", "limit", "FailedSignIns", "lockout", "true"))
	require.EqualValues(t, 1, m.count("authkit.limit.refusals", "limit", "FailedSignIns", "lockout", "false"))
	stale := h.grant("nosuchkey")
	require.Equal(t, http.StatusBadRequest, stale.status)
	require.EqualValues(t, 1, m.count("authkit.sign_ins", "method", "grant", "outcome", stale.code()))

	// A phone sign-up, its code texted; then a mail retried, and dead.
	require.Equal(t, http.StatusOK, h.signUpPhone("+15555555511", inputPassword, nil).status)
	require.EqualValues(t, 1, m.count("authkit.sign_ups", "method", "phone", "outcome", "success"))
	h.settle()
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "sms", "event", "sent"))
	flaky.fails.Store(10)
	require.Equal(t, http.StatusOK, h.post(api+"send-reset?email=ann@example.com", nil, "").status)
	h.settle()
	require.EqualValues(t, 2, m.count("authkit.messages", "channel", "email", "event", "queued"))
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "email", "event", "retried"))
	h.clock.Advance(time.Minute)
	h.settle()
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "email", "event", "dead"))
	// A sign-up whose code, texted during the request, is refused.
	status := rawStatus(t, http.MethodPost, h.srv.URL+api+"signup-phone", `{"phone":"+15555555522","password":"`+inputPassword+`"}`)
	require.Equal(t, http.StatusBadGateway, status)
	require.EqualValues(t, 1, m.count("authkit.messages", "channel", "sms", "event", "failed"))
	require.EqualValues(t, 1, m.count("authkit.sign_ups", "method", "phone", "outcome", "sms_failed"))

	// The store's and the limiter's calls, timed.
	require.Positive(t, m.count("authkit.store.duration", "operation", "UserByEmail", "outcome", "ok"))
	require.Positive(t, m.count("authkit.limiter.duration", "operation", "Hit", "outcome", "ok"))

	// The session cache: a miss, then hits.
	for range 3 {
		require.Equal(t, http.StatusOK, h.get(api+"user", token).status)
	}
	require.EqualValues(t, 1, m.count("authkit.session_cache.lookups", "result", "miss"))
	require.EqualValues(t, 2, m.count("authkit.session_cache.lookups", "result", "hit"))
	require.EqualValues(t, 1, m.count("authkit.store.duration", "operation", "SessionAndUser", "outcome", "ok"), "the miss, looked up")
}
