package useragent

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/ua-parser/uap-go/uaparser"
)

// A quiet period short enough for tests, and the time they allow a
// timer that should fire to do so on a loaded machine.
const (
	testQuiet = 30 * time.Millisecond
	testWait  = 5 * time.Second
)

// fakeBuild stands for uap-go's 200 ms compilation.
func fakeBuild() (*uaparser.Parser, error) { return new(uaparser.Parser), nil }

func requireDropped(t *testing.T, l *loader) {
	t.Helper()
	require.Eventually(t, func() bool { held, _ := l.held(); return !held }, testWait, time.Millisecond)
}

// The parser is kept while it is used, however long that lasts, and
// dropped after a quiet period; built again only once it was dropped and
// collected.
func TestLoaderKeepsWhileUsedThenDrops(t *testing.T) {
	t.Parallel()
	l := newLoader(testQuiet, fakeBuild)
	for range 10 { // 10 uses, 3 quiet periods in all
		_, err := l.get()
		require.NoError(t, err)
		held, builds := l.held()
		require.True(t, held)
		require.Equal(t, 1, builds)
		time.Sleep(testQuiet / 3)
	}
	requireDropped(t, l)
	runtime.GC() // nothing else refers to the dropped parser
	_, err := l.get()
	require.NoError(t, err)
	held, builds := l.held()
	require.True(t, held)
	require.Equal(t, 2, builds)
	requireDropped(t, l)
}

// A dropped parser that is still reachable (here from the test; in a
// service, one the collector has not reclaimed yet) is taken back, not
// built again.
func TestLoaderRevivesUncollected(t *testing.T) {
	t.Parallel()
	l := newLoader(testQuiet, fakeBuild)
	p, err := l.get()
	require.NoError(t, err)
	requireDropped(t, l)
	again, err := l.get()
	require.NoError(t, err)
	require.Same(t, p, again)
	_, builds := l.held()
	require.Equal(t, 1, builds)
	requireDropped(t, l)
}

// Concurrent first uses build the parser once.
func TestLoaderConcurrent(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	l := newLoader(testQuiet, func() (*uaparser.Parser, error) {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond)
		return new(uaparser.Parser), nil
	})
	var wg sync.WaitGroup
	got := make([]*uaparser.Parser, 16)
	for i := range got {
		wg.Go(func() {
			p, err := l.get()
			require.NoError(t, err)
			got[i] = p
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), calls.Load())
	for _, p := range got {
		require.Same(t, got[0], p)
	}
	requireDropped(t, l)
}

// Once the parser is dropped no goroutine is left behind: the timer's
// callback has returned and no new timer is armed.
func TestLoaderLeavesNoGoroutine(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	before := runtime.NumGoroutine()
	l := newLoader(testQuiet, fakeBuild)
	for range 5 {
		_, err := l.get()
		require.NoError(t, err)
	}
	requireDropped(t, l)
	// Polled here, not with require.Eventually, whose own goroutine would
	// be counted.
	for deadline := time.Now().Add(testWait); runtime.NumGoroutine() > before && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	require.LessOrEqual(t, runtime.NumGoroutine(), before)
	l.mu.Lock()
	defer l.mu.Unlock()
	require.Nil(t, l.timer)
}
