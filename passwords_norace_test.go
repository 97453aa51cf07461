//go:build !race

package authkit_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit"
)

// The race detector multiplies memory by 5 to 10, so this file is built
// without it, and .ci/run runs its test on its own:
//
//	go test -count=1 -run '^TestSignInFloodMemory$' -v .
//
// Within the whole package's run it re-runs itself in a process of its
// own: the tests before it leave the process tens of MiB of caches (the
// user-agent parser's, the OpenAPI contract's), and the collector, which
// lets the heap grow to twice what it finds live, doubles them.

// The memory a flood of sign-ins may take (DESIGN §3, BENCHMARKS.md): an
// argon2id hash takes 19 MiB while it runs, and at most
// MaxConcurrentHashes (S) run at once; the rest wait for a slot, in a few
// KiB each. The hashes that ended are garbage until the next collection,
// and the collector lets the heap grow to twice what it found live
// (GOGC=100): up to 2 × S hashes. While it collects, the S running may
// finish and S more start, each allocating its 19 MiB at once: up to 2 × S
// more. So the bound is 4 × S × 19 MiB, plus 64 MiB for the rest of the
// process (the test binary, 500 connections with their goroutines and
// buffers, the store). Measured on the CI machine (2 vCPU, S = 4): a peak
// heap of 219 to 330 MiB, most runs 240 to 275; held from the OS 247 to
// 304 MiB. Unbounded, 500 hashes at once would take 9.3 GiB.
const (
	floodSignIns   = 500
	floodSlots     = 4        // MaxConcurrentHashes: the default on the CI machine's 2 vCPUs
	argon2Memory   = 19 << 20 // m=19456 KiB
	floodOverhead  = 64 << 20
	floodHeapBound = 4*floodSlots*argon2Memory + floodOverhead // 368 MiB
)

// floodChild is set in the process TestSignInFloodMemory runs the flood
// in.
const floodChild = "AUTHKIT_FLOOD_CHILD"

// 500 sign-ins at once, right and wrong passwords and unknown accounts,
// keep the process's heap, and the memory the Go runtime holds from the
// OS, under floodHeapBound. Measured by sampling runtime/metrics every
// millisecond while the flood lasts.
func TestSignInFloodMemory(t *testing.T) {
	// Not parallel: it measures the process's memory, which tests running beside it would add to.
	if testing.Short() {
		t.Skip("a flood of 500 argon2id sign-ins takes seconds")
	}
	if os.Getenv(floodChild) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSignInFloodMemory$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), floodChild+"=1")
		out, err := cmd.CombinedOutput()
		t.Logf("in a process of its own:\n%s", out)
		require.NoError(t, err, "the flood in a process of its own failed")
		require.Contains(t, string(out), "--- PASS: TestSignInFloodMemory", "the process of its own ran the flood")
		return
	}
	h := newUncheckedHarness(t, generousLimits, func(c *authkit.Config) {
		c.MaxConcurrentHashes = floodSlots
		c.MaxHashWait = time.Hour // every sign-in waits its turn: the memory of a full queue is what is measured
		c.EmailConfirmation = authkit.Off
	})
	// 50 accounts sharing one password hash (one sign-up hashes; the
	// others would cost 49 more).
	const accounts = 50
	first := h.signUp("flood0@example.com", inputPassword, nil)
	require.Equal(t, http.StatusOK, first.status, "%s", first.raw)
	u, err := h.store.UserByEmail(context.Background(), "flood0@example.com")
	require.NoError(t, err)
	now := h.clock.Now()
	for i := 1; i < accounts; i++ {
		id := strconv.Itoa(i)
		id = strings.Repeat("0", 24-len(id)) + id
		require.NoError(t, h.store.CreateUser(context.Background(), authkit.User{
			ID: id, Provider: authkit.ProviderAltogic, ProviderUserID: id, Email: "flood" + strconv.Itoa(i) + "@example.com",
			EmailVerified: true, PasswordHash: u.PasswordHash, SignUpAt: now, LastLoginAt: now,
		}))
	}

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: floodSignIns, MaxConnsPerHost: 0},
		Timeout:   5 * time.Minute,
	}
	defer client.CloseIdleConnections()
	// Warm the runtime up, then start from a collected heap.
	runtime.GC()
	debug.FreeOSMemory()

	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	read := func() (heap, held uint64) {
		metrics.Read(samples)
		return samples[0].Value.Uint64(), samples[1].Value.Uint64() - samples[2].Value.Uint64()
	}
	baseHeap, baseHeld := read()
	var peakHeap, peakHeld uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			heap, held := read()
			peakHeap, peakHeld = max(peakHeap, heap), max(peakHeld, held)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()

	start := make(chan struct{})
	var wg sync.WaitGroup
	statuses := make([]int, floodSignIns)
	began := time.Now()
	for i := range floodSignIns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email, pw := "flood"+strconv.Itoa(i%accounts)+"@example.com", inputPassword
			switch i % 4 {
			case 1:
				pw = "not the password"
			case 2:
				email = "nobody" + strconv.Itoa(i) + "@example.com"
			}
			body := `{"email":"` + email + `","password":"` + pw + `"}`
			<-start
			r, err := http.NewRequest(http.MethodPost, h.srv.URL+api+"signin-email", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			r.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	took := time.Since(began)
	close(stop)
	<-sampled

	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	require.Equal(t, map[int]int{http.StatusOK: floodSignIns / 2, http.StatusUnauthorized: floodSignIns / 2}, counts, "every sign-in was answered, none refused for load")
	const mib = 1 << 20
	t.Logf("%d sign-ins in %v with %d hashing slots: peak heap %.0f MiB (%.0f MiB before), peak held from the OS %.0f MiB (%.0f MiB before); bound %d MiB",
		floodSignIns, took.Round(time.Millisecond), floodSlots,
		float64(peakHeap)/mib, float64(baseHeap)/mib, float64(peakHeld)/mib, float64(baseHeld)/mib, floodHeapBound/mib)
	require.Less(t, peakHeap, uint64(floodHeapBound), "peak heap")
	require.Less(t, peakHeld, uint64(floodHeapBound), "peak memory held from the OS")
}
