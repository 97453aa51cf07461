//go:build unix

package authkit_test

import (
	"context"
	"crypto/rand"
	"runtime/metrics"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"

	"github.com/authkit/authkit"
	"github.com/authkit/authkit/internal/password"
)

// What a sign-in costs beyond its argon2id hash (BENCHMARKS.md): the bare
// hash at the kit's parameters, then SignInWithEmail on memstore with real
// hashing, from a browser whose User-Agent the fast path of
// internal/useragent reads, then from one it leaves to uap-go.
//
// Besides the wall time, each reports cpu-ns/op, the CPU time the whole
// process spent per operation (getrusage: unix only), and gc-cpu-ns/op,
// the runtime's estimate of the garbage collector's share of it. Each
// hash allocates 19 MiB and so starts a collection, which marks the live
// heap: gc-cpu-ns/op is where the heap uap-go holds shows.
//
// Run "signin-fallback" in a process of its own, or last: the regexes it
// loads stay loaded for ten minutes, and would weigh on a "signin" run
// after it (-count runs the sub-benchmarks in turn, count times).
//
//	go test -run '^$' -bench 'SignInVsHash/(hash|signin)$' -benchmem -count 6 .
//	go test -run '^$' -bench 'SignInVsHash' -benchmem -count 1 .
func BenchmarkSignInVsHash(b *testing.B) {
	const (
		email = "bench@example.com"
		// Chrome 131 on Windows 10: read by the fast path.
		browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
		// The same with Vivaldi's token: left to uap-go.
		fallbackUA = browserUA + " Vivaldi/6.9.3447.54"
	)
	b.Run("hash", func(b *testing.B) {
		p := password.Default
		salt := make([]byte, p.SaltLen)
		rand.Read(salt)
		hash := func() { argon2.IDKey([]byte(inputPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen) }
		warmUp(hash)
		b.ReportAllocs()
		start := measure()
		for b.Loop() {
			argon2.IDKey([]byte(inputPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
		start.report(b)
	})
	for _, bench := range []struct{ name, userAgent string }{
		{"signin", browserUA},
		{"signin-fallback", fallbackUA},
	} {
		b.Run(bench.name, func(b *testing.B) {
			cfg := validConfig()
			cfg.EmailConfirmation = authkit.Off
			generousLimits(&cfg)
			kit, err := authkit.New(cfg)
			require.NoError(b, err)
			b.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				require.NoError(b, kit.Close(ctx))
			})
			ctx := authkit.WithClient(b.Context(), authkit.Client{IP: hostIP, UserAgent: bench.userAgent})
			_, err = kit.SignUpWithEmail(ctx, email, inputPassword, nil)
			require.NoError(b, err)
			warmUp(func() {
				_, err := kit.SignInWithEmail(ctx, email, inputPassword)
				require.NoError(b, err)
			})
			b.ReportAllocs()
			start := measure()
			for b.Loop() {
				in, err := kit.SignInWithEmail(ctx, email, inputPassword)
				if err != nil || in.Session == nil {
					b.Fatal(in, err)
				}
			}
			start.report(b)
		})
	}
}

// counters are the process's CPU time and the collector's share of it at
// the start of a measure.
type counters struct{ cpu, gc time.Duration }

func measure() counters { return counters{cpuTime(), gcCPUTime()} }

// report reports the CPU time per operation since c.
func (c counters) report(b *testing.B) {
	b.ReportMetric(float64(cpuTime()-c.cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(gcCPUTime()-c.gc)/float64(b.N), "gc-cpu-ns/op")
}

// cpuTime is the CPU time the process has used, in all its threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPUTime is the runtime's estimate of the CPU time its garbage
// collector has used.
func gcCPUTime() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// warmUp runs op a few times before a measure, so that the first
// sub-benchmark does not alone pay for growing the heap (the page faults
// of fresh memory) and the later ones do not alone reuse it.
func warmUp(op func()) {
	for range 5 {
		op()
	}
}
