package useragent

import (
	"sync"
	"time"
	"weak"

	"github.com/ua-parser/uap-go/uaparser"
)

// quietPeriod is how long uap-go's parser is kept after the last header
// that needed it.
//
// The trade-off: compiled, the regexes hold 11.7 MiB, which every garbage
// collection marks (and a sign-in's argon2id hash, allocating 19 MiB,
// starts one); compiling them takes about 200 ms of CPU. Kept ten
// minutes after their last use, they cost nothing to a service whose
// clients all take the fast path, cost one compilation per quiet spell
// to one that sees an odd header now and then (at most one per ten
// minutes, whatever the traffic), and stay loaded in one that sees such
// headers all the time, as before. What stays after the parser is let
// go is uap-go's own cache of its parsed YAML definitions, about 270 KiB
// (TestFallbackLiveHeap).
const quietPeriod = 10 * time.Minute

// loader builds a value on first use, keeps it while it is used, and
// drops its strong reference after a quiet period without a use: a
// timer, armed while the value is held, checks the time of the last use.
// A dropped value that the garbage collector has not yet reclaimed is
// taken back through a weak pointer rather than built again. So a value
// is built at most once per quiet period, and no goroutine waits while
// nothing is held (a pending timer is not a goroutine).
type loader struct {
	quiet time.Duration
	build func() (*uaparser.Parser, error)

	mu     sync.Mutex
	strong *uaparser.Parser // nil once dropped
	weak   weak.Pointer[uaparser.Parser]
	last   time.Time   // the last use
	timer  *time.Timer // armed while strong is set
	builds int         // for tests
}

func newLoader(quiet time.Duration, build func() (*uaparser.Parser, error)) *loader {
	return &loader{quiet: quiet, build: build}
}

// get returns the value, building it if needed, and counts a use. The
// caller's reference keeps the value alive while the caller uses it. A
// build happens under the lock, so concurrent callers wait for it rather
// than build their own.
func (l *loader) get() (*uaparser.Parser, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.last = time.Now()
	if l.strong == nil {
		l.strong = l.weak.Value()
	}
	if l.strong == nil {
		p, err := l.build()
		if err != nil {
			return nil, err
		}
		l.builds++
		l.strong, l.weak = p, weak.Make(p)
	}
	if l.timer == nil {
		l.timer = time.AfterFunc(l.quiet, l.expire)
	}
	return l.strong, nil
}

// expire drops the strong reference if the value went unused for the
// quiet period, and otherwise waits for the rest of it.
func (l *loader) expire() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if idle := time.Since(l.last); idle < l.quiet {
		l.timer.Reset(l.quiet - idle)
		return
	}
	l.strong, l.timer = nil, nil
}

// held reports whether the loader holds a strong reference, and how many
// times it built the value.
func (l *loader) held() (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.strong != nil, l.builds
}
