// Package limitwin holds what every [authkit.Limiter] shares: the checks of
// its arguments and the arithmetic of fixed windows, in Unix milliseconds.
package limitwin

import (
	"fmt"
	"time"

	"github.com/authkit/authkit"
)

// Window is the window of one length that holds a given now.
type Window struct {
	Len   int64 // length, milliseconds
	Start int64 // start, Unix milliseconds: a multiple of Len
}

// Of checks key and window and returns the window of length window that
// holds now, or an error wrapping [authkit.ErrInvalidLimit].
func Of(key string, window time.Duration, now time.Time) (Window, error) {
	if err := CheckKey(key); err != nil {
		return Window{}, err
	}
	if window < time.Second || window%time.Millisecond != 0 {
		return Window{}, fmt.Errorf("%w: window %v: at least a second, in whole milliseconds", authkit.ErrInvalidLimit, window)
	}
	n := window.Milliseconds()
	ms := now.UnixMilli()
	r := ms % n
	if r < 0 { // before the epoch: round down, not toward zero
		r += n
	}
	return Window{Len: n, Start: ms - r}, nil
}

// CheckKey returns an error wrapping [authkit.ErrInvalidLimit] unless key
// holds 1 to [authkit.MaxLimitKey] bytes.
func CheckKey(key string) error {
	if key == "" || len(key) > authkit.MaxLimitKey {
		return fmt.Errorf("%w: a key holds 1 to %d bytes, not %d", authkit.ErrInvalidLimit, authkit.MaxLimitKey, len(key))
	}
	return nil
}

// Time returns the time of a Unix millisecond, in UTC.
func Time(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
