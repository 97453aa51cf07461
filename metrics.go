package authkit

// Metrics: what operators watch, through OpenTelemetry. No-op unless the
// host passes a MeterProvider (Config.MeterProvider).

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// meterName is the instrumentation scope of the kit's instruments.
const meterName = "github.com/authkit/authkit"

// metrics are the kit's instruments. The names and attributes are listed
// in the README ("Metrics").
type metrics struct {
	signIns  metric.Int64Counter     // authkit.sign_ins{method, outcome}
	signUps  metric.Int64Counter     // authkit.sign_ups{method, outcome}
	refusals metric.Int64Counter     // authkit.limit.refusals{limit, lockout}
	messages metric.Int64Counter     // authkit.messages{channel, provider, event}
	store    metric.Float64Histogram // authkit.store.duration{operation, outcome}, seconds
	limiter  metric.Float64Histogram // authkit.limiter.duration{operation, outcome}, seconds

	// The session cache's lookups, counted without allocating on the
	// request's path and read when the meter collects.
	cacheHits, cacheMisses, cacheBypassed atomic.Int64

	mailProvider, smsProvider string
	// observing is the callback that reads the cache's counts, which
	// Close unregisters, so that the provider lets go of the kit.
	observing metric.Registration
	// on: a MeterProvider was given. Without one the kit skips the
	// clock readings and attribute sets of the durations altogether.
	on bool
}

// configureMetrics checks and applies MeterProvider.
func (k *Kit) configureMetrics(cfg Config) error {
	mp := cfg.MeterProvider
	m := &k.metrics
	m.on = mp != nil
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	meter := mp.Meter(meterName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, err := meter.Int64Counter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	histogram := func(name, desc string) metric.Float64Histogram {
		h, err := meter.Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
		errs = append(errs, err)
		return h
	}
	m.signIns = counter("authkit.sign_ins", "{sign-in}", "Sign-ins, by method and outcome (success, or the error code answered).")
	m.signUps = counter("authkit.sign_ups", "{sign-up}", "Sign-ups, by method and outcome (success, or the error code answered).")
	m.refusals = counter("authkit.limit.refusals", "{request}", "Requests refused by an abuse limit, by limit; lockout is true for the first refusal of a window.")
	m.messages = counter("authkit.messages", "{message}", "Messages by channel, provider and event: queued (promised to the courier), sent (taken by the provider), retried, dead, or failed (a text sent during its request, refused).")
	m.store = histogram("authkit.store.duration", "How long the store's calls took, by operation and outcome.")
	m.limiter = histogram("authkit.limiter.duration", "How long the limiter's calls took, by operation and outcome.")
	lookups, err := meter.Int64ObservableCounter("authkit.session_cache.lookups",
		metric.WithDescription("Sessions looked up in the session cache, by result: hit, miss, or bypassed (the cache was not trusted)."),
		metric.WithUnit("{lookup}"))
	errs = append(errs, err)
	if err == nil {
		hit := metric.WithAttributes(attribute.String("result", "hit"))
		miss := metric.WithAttributes(attribute.String("result", "miss"))
		bypassed := metric.WithAttributes(attribute.String("result", "bypassed"))
		m.observing, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
			if k.cache == nil {
				return nil
			}
			o.ObserveInt64(lookups, m.cacheHits.Load(), hit)
			o.ObserveInt64(lookups, m.cacheMisses.Load(), miss)
			o.ObserveInt64(lookups, m.cacheBypassed.Load(), bypassed)
			return nil
		}, lookups)
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("authkit: Config.MeterProvider: %w", err)
	}
	m.mailProvider = senderName(cfg.Mailer)
	m.smsProvider = senderName(cfg.SMSSender)
	return nil
}

// senderName names a mailer or SMS sender by its type, such as
// "sms.Twilio" or "smtpmail.Mailer".
func senderName(v any) string {
	if v == nil {
		return "none"
	}
	return strings.TrimLeft(fmt.Sprintf("%T", v), "*")
}

// outcome is what a call came to, as a metric's attribute: success, or
// the code of the error it answered.
func outcome(err error) string {
	if err == nil {
		return "success"
	}
	var e *Error
	if errors.As(err, &e) {
		return string(e.Code)
	}
	return string(CodeInternal)
}

// methodGrant is the method of a failed exchange of a grant key
// ([Kit.ExchangeGrant]), whose flow is unknown when the key is.
const methodGrant SignInMethod = "grant"

// signedIn counts a sign-in that started a session.
func (m *metrics) signedIn(ctx context.Context, method SignInMethod, provider string) {
	m.signIns.Add(ctx, 1, metric.WithAttributes(attribute.String("method", string(method)), attribute.String("outcome", "success"), attribute.String("provider", provider)))
}

// signInFailed counts a sign-in that *err ended, if it did.
func (m *metrics) signInFailed(ctx context.Context, method SignInMethod, provider string, err *error) {
	if *err != nil {
		m.signIns.Add(ctx, 1, metric.WithAttributes(attribute.String("method", string(method)), attribute.String("outcome", outcome(*err)), attribute.String("provider", provider)))
	}
}

// signedUp counts a sign-up by method (email, phone or oauth) that came
// to err.
func (m *metrics) signedUp(ctx context.Context, method string, err error) {
	m.signUps.Add(ctx, 1, metric.WithAttributes(attribute.String("method", method), attribute.String("outcome", outcome(err))))
}

// refused counts a request refused by the limit name.
func (m *metrics) refused(ctx context.Context, name string, first bool) {
	m.refusals.Add(ctx, 1, metric.WithAttributes(attribute.String("limit", name), attribute.Bool("lockout", first)))
}

// message counts an event (queued, sent, retried, dead) of a message to
// to: a phone number goes by SMS, anything else by email.
func (m *metrics) message(ctx context.Context, to, event string) {
	channel, provider := "email", m.mailProvider
	if strings.HasPrefix(to, "+") {
		channel, provider = "sms", m.smsProvider
	}
	m.messages.Add(ctx, 1, metric.WithAttributes(attribute.String("channel", channel), attribute.String("provider", provider), attribute.String("event", event)))
}

// handedOver counts a message to to that a provider took (sent), or
// refused outside a delivery of the courier (failed): the courier counts
// its own failures, as retried or dead.
func (m *metrics) handedOver(ctx context.Context, to string, err error) {
	if err == nil {
		m.message(ctx, to, "sent")
	} else if _, ok := intentOf(ctx); !ok {
		m.message(ctx, to, "failed")
	}
}

// start is the time a store or limiter call starts, when durations are
// recorded.
func (m *metrics) start() time.Time {
	if m == nil || !m.on {
		return time.Time{}
	}
	return time.Now()
}

// timed records how long the store or limiter call what ("UserByEmail",
// "Limiter.Hit") took since start, and how it ended; nothing when start
// is zero.
func (m *metrics) timed(ctx context.Context, what string, start time.Time, err error) {
	if start.IsZero() {
		return
	}
	h := m.store
	if op, ok := strings.CutPrefix(what, "Limiter."); ok {
		h, what = m.limiter, op
	}
	result := "ok"
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrDuplicate), errors.Is(err, ErrConflict):
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		result = "timeout"
	default:
		result = "error"
	}
	h.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("operation", what), attribute.String("outcome", result)))
}

// isTimeout reports whether err is the store bound's answer.
func isTimeout(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeUnavailable
}
