package authkit

import (
	"context"
	"errors"
	"time"
)

// MaxLimitKey is the length, in bytes, of the longest key a [Limiter] takes.
const MaxLimitKey = 255

// ErrInvalidLimit: a [Limiter] was given an empty key, a key longer than
// [MaxLimitKey] bytes, or a window shorter than a second or not a whole
// number of milliseconds. Nothing was counted.
var ErrInvalidLimit = errors.New("authkit: invalid limit key or window")

// Limiter counts events per key in fixed windows, shared by every instance
// that uses the same backend. The memstore and sqlstore stores implement it,
// and so does the redislimit package; the storetest package checks an
// implementation against the contract written here.
//
// Hit and Reset return once their context ends: the kit bounds each call
// by [Config.StoreTimeout] through it. A Limiter that fails (an error, or
// a call past the bound) is down, and [Config.LimiterDown] says what
// requests do then.
//
// A key is an opaque string of 1 to [MaxLimitKey] bytes, compared byte for
// byte ("ip:signin:192.0.2.1", "signin-fail:acct:<user id>"). A window is a
// duration of at least a second, in whole milliseconds; windows of one length
// start at multiples of it since the Unix epoch, and every time is the
// caller's now, never the backend's clock. A key keeps one count per window
// length: the same key counted in minutes and in hours holds two independent
// counts. Anything else is [ErrInvalidLimit].
//
// A key's window only moves forward. A caller whose clock lags behind the
// newest window counted for a key and length (an instance a little behind
// the others, at a window boundary) is counted in that newest window and
// told its count and end, so instances that disagree on the time can never
// reset each other's counts.
type Limiter interface {
	// Hit counts one event for key in the window of length window that
	// holds now and returns the count in that window, this event included,
	// and the window's end. It is atomic: N concurrent Hits on one key in
	// one window return N distinct counts 1..N, across instances too.
	Hit(ctx context.Context, key string, window time.Duration, now time.Time) (count int64, resetAt time.Time, err error)
	// Reset forgets every count of key, in every window length (a
	// successful sign-in clears its failures). An unknown key is a no-op
	// and returns nil.
	Reset(ctx context.Context, key string) error
}
