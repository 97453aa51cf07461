package limitwin

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authkit/authkit"
)

func TestOf(t *testing.T) {
	for _, c := range []struct {
		now    int64 // Unix ms
		window time.Duration
		start  int64
	}{
		{0, time.Second, 0},
		{999, time.Second, 0},
		{1000, time.Second, 1000},
		{1_893_553_445_123, time.Minute, 1_893_553_440_000},
		{-1, time.Second, -1000}, // before the epoch: down, not toward zero
		{-1000, time.Second, -1000},
		{-1001, time.Second, -2000},
	} {
		w, err := Of("k", c.window, time.UnixMilli(c.now))
		if err != nil || w.Start != c.start || w.Len != c.window.Milliseconds() {
			t.Errorf("Of(%d ms, %v) = %+v, %v; want start %d", c.now, c.window, w, err, c.start)
		}
	}
}

func TestOfRefuses(t *testing.T) {
	for _, c := range []struct {
		key    string
		window time.Duration
	}{
		{"", time.Minute},
		{strings.Repeat("k", authkit.MaxLimitKey+1), time.Minute},
		{"k", 0},
		{"k", 999 * time.Millisecond},
		{"k", time.Second + time.Microsecond},
	} {
		if _, err := Of(c.key, c.window, time.Now()); !errors.Is(err, authkit.ErrInvalidLimit) {
			t.Errorf("Of(%d-byte key, %v): %v, want ErrInvalidLimit", len(c.key), c.window, err)
		}
	}
}
