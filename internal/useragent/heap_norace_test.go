//go:build !race

package useragent

import (
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The race detector multiplies memory, so the live-heap tests are built
// without it.

// liveHeap returns the bytes the heap holds live after two collections
// (the second frees what the first's finalizers and weak pointers let go).
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

var sink Result

// Parsing only headers the fast path reads neither loads uap-go nor adds
// to the live heap.
func TestFastPathLiveHeap(t *testing.T) {
	// Not parallel: it measures the process's heap.
	var headers []string
	for _, h := range corpus(t) {
		if _, ok := parseFast(h); ok {
			headers = append(headers, h)
		}
	}
	_, builds := regexes.held()
	before := liveHeap()
	for range 10 {
		for _, h := range headers {
			sink = Parse(h)
		}
	}
	added := liveHeap() - before
	t.Logf("live heap added by parsing %d fast-path headers 10 times: %d bytes", len(headers), added)
	require.Less(t, added, int64(1<<20))
	_, after := regexes.held()
	require.Equal(t, builds, after, "a fast-path header loaded uap-go")
}

// uap-go's parser, loaded by a header the fast path leaves to it, holds
// megabytes live until the quiet period ends, and gives them back then.
func TestFallbackLiveHeap(t *testing.T) {
	// Not parallel: it measures the process's heap.
	if testing.Short() {
		t.Skip("compiles uap-go's regexes")
	}
	l := newLoader(100*time.Millisecond, newUAP)
	before := liveHeap()
	sink = l.parse("curl/8.5.0")
	loaded := liveHeap() - before
	requireDropped(t, l)
	dropped := liveHeap() - before
	t.Logf("live heap added by uap-go: %d bytes while loaded, %d once dropped", loaded, dropped)
	require.Greater(t, loaded, int64(4<<20))
	require.Less(t, dropped, int64(1<<20))
}
