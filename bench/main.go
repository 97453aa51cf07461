// Command bench measures the kit against bare net/http in one run, and
// prints ratios, which hold on a shared machine when absolute figures do
// not:
//
//	go run ./bench                      # memory and a SQLite file, 10³ sessions
//	go run ./bench -sessions 1000000    # 10⁶ sessions, 10⁴ of them in use
//	AUTHKIT_TEST_POSTGRES_DSN=postgres://postgres@127.0.0.1:5432/test \
//	AUTHKIT_TEST_MYSQL_DSN=mysql://root@127.0.0.1:3306/test go run ./bench
//
// For each store it starts a child process serving GET /public (a bare
// handler) and GET /private (the same handler behind RequireSession, the
// token one of the seeded sessions at random), drives each in turn at
// -conns connections for -duration (after a warm-up that sends each
// session in use once, so that a cache is measured warm), and reports the child's CPU time per
// request (read from the child itself, so the load generator's work is not
// in it) and the 99th percentile of latency. With -pin and taskset on
// PATH, the child runs on CPU 0 and the load generator is asked to keep
// off it (GOMAXPROCS=1 is the child's in any case).
//
// Then it measures a sign-in against the bare argon2id hash with the
// kit's parameters, in this process, alternating the two; and the peak
// resident memory of a child under -signins concurrent sign-ins.
//
// Each store is measured twice: as it is, and with the kit's session
// cache (Config.SessionCache) as large as the sessions in use (-active,
// at random among them, of the -sessions stored). The "vs memory" column
// is each row's RequireSession CPU against the memory store's, uncached.
// With PostgreSQL, three children then share one database, each with its
// cache, under the load spread over them; a session signed out on the
// first is timed until the other two refuse it.
//
// PostgreSQL and MySQL runs use a schema or database of their own
// (authkit_bench_ and random hex), dropped at the end.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

type options struct {
	sessions int
	duration time.Duration
	conns    int
	signins  int
	hashes   int
	active   int // the sessions requests use, of those stored
	pin      bool
	postgres string
	mysql    string
	out      io.Writer
}

func main() {
	if raw := os.Getenv(childEnv); raw != "" {
		if err := serveChild(raw); err != nil {
			fmt.Fprintln(os.Stderr, "bench child:", err)
			os.Exit(1)
		}
		return
	}
	o := options{out: os.Stdout}
	flag.IntVar(&o.sessions, "sessions", 1000, "sessions stored before the requests")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "how long each phase drives the server")
	flag.IntVar(&o.conns, "conns", 32, "concurrent connections")
	flag.IntVar(&o.signins, "signins", 500, "concurrent sign-ins for the memory peak")
	flag.IntVar(&o.hashes, "hashes", 20, "sign-ins and bare hashes timed, each")
	flag.IntVar(&o.active, "active", 10000, "the sessions requests use (at random), of those stored; the size of the session cache")
	flag.BoolVar(&o.pin, "pin", false, "run the server on CPU 0 with taskset")
	flag.StringVar(&o.postgres, "postgres", os.Getenv("AUTHKIT_TEST_POSTGRES_DSN"), "a PostgreSQL server `DSN` (default $AUTHKIT_TEST_POSTGRES_DSN)")
	flag.StringVar(&o.mysql, "mysql", os.Getenv("AUTHKIT_TEST_MYSQL_DSN"), "a MySQL or MariaDB server `DSN` (default $AUTHKIT_TEST_MYSQL_DSN)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run does every measurement of o and prints them.
func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "authkit-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stores := []struct{ name, dsn string }{
		{"memory", "memory"},
		{"sqlite", dir + "/bench.db"},
	}
	if o.postgres != "" {
		dsn, drop, err := postgresSchema(ctx, o.postgres)
		if err != nil {
			return err
		}
		defer drop()
		stores = append(stores, struct{ name, dsn string }{"postgres", dsn})
	}
	if o.mysql != "" {
		dsn, drop, err := mysqlDatabase(ctx, o.mysql)
		if err != nil {
			return err
		}
		defer drop()
		stores = append(stores, struct{ name, dsn string }{"mysql", dsn})
	}

	active := min(o.active, o.sessions)
	fmt.Fprintf(o.out, "GET /private behind RequireSession vs GET /public, %d sessions stored, %d of them in use, %d connections, %v a phase\n\n", o.sessions, active, o.conns, o.duration)
	tw := tabwriter.NewWriter(o.out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tno-auth CPU/req\tRequireSession CPU/req\tvs no-auth\tvs memory\tno-auth p99\tRequireSession p99\t")
	var memory time.Duration
	for _, st := range stores {
		seed := randomSeed()
		for _, cached := range []bool{false, true} {
			sp := spec{Store: st.dsn, Sessions: o.sessions, Active: active, Seed: seed}
			name := st.name
			if cached {
				// The database the uncached child seeded; memory
				// is the child's own.
				sp.Cache, sp.Seeded, name = active, st.name != "memory", st.name+" cached"
			}
			r, err := compare(ctx, o, sp)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if name == "memory" {
				memory = r.private.cpuPerReq()
			}
			fmt.Fprintf(tw, "%s\t%v\t%v\t%.2f×\t%.2f×\t%v\t%v\t\n", name, r.bare.cpuPerReq(), r.private.cpuPerReq(),
				ratio(r.private.cpuPerReq(), r.bare.cpuPerReq()), ratio(r.private.cpuPerReq(), memory), r.bare.p99, r.private.p99)
		}
	}
	tw.Flush()

	if o.postgres != "" {
		if err := threeInstances(ctx, o, stores[2].dsn, active); err != nil {
			return fmt.Errorf("three instances: %w", err)
		}
	}

	hash, signIn, err := signInVsHash(ctx, o.hashes)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "\nsign-in vs the bare argon2id hash (%d each, alternating): %v vs %v, %.3f×\n", o.hashes, signIn, hash, float64(signIn)/float64(hash))

	peak, err := signInPeak(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.out, "peak resident memory under %d concurrent sign-ins (memory store): %.0f MiB\n", o.signins, float64(peak)/(1<<20))
	return nil
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func randomSeed() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// child is a running child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	base  string
}

// startChild starts a child serving sp.
func startChild(o options, sp spec) (*child, error) {
	raw, err := json.Marshal(sp)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	name, args := exe, []string(nil)
	if o.pin {
		if ts, err := exec.LookPath("taskset"); err == nil {
			name, args = ts, []string{"-c", "0", exe}
		}
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw), "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stdin.Close()
		cmd.Wait()
		return nil, fmt.Errorf("the child did not start: %w", err)
	}
	return &child{cmd: cmd, stdin: stdin, base: "http://" + strings.TrimSpace(line)}, nil
}

func (c *child) stop() error {
	c.stdin.Close()
	return c.cmd.Wait()
}

func (c *child) usage(client *http.Client) (usage, error) {
	var u usage
	resp, err := client.Get(c.base + "/_bench/usage")
	if err != nil {
		return u, err
	}
	defer resp.Body.Close()
	return u, json.NewDecoder(resp.Body).Decode(&u)
}

// phase is what one phase of load measured.
type phase struct {
	requests int
	cpu      time.Duration
	p99      time.Duration
}

func (p phase) cpuPerReq() time.Duration {
	if p.requests == 0 {
		return 0
	}
	return (p.cpu / time.Duration(p.requests)).Round(10 * time.Nanosecond)
}

type comparison struct{ bare, private phase }

// compare drives /public, then /private, on one child.
func compare(ctx context.Context, o options, sp spec) (comparison, error) {
	c, err := startChild(o, sp)
	if err != nil {
		return comparison{}, err
	}
	defer c.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	// A short warm-up of each, then the phases.
	cs := []*child{c}
	if _, err := drive(ctx, client, cs, "/public", sp, o.conns, o.duration/5); err != nil {
		return comparison{}, err
	}
	if _, err := drive(ctx, client, cs, "/private", sp, o.conns, o.duration/5); err != nil {
		return comparison{}, err
	}
	if err := warmAll(ctx, client, cs, sp, o.conns); err != nil {
		return comparison{}, err
	}
	bare, err := drive(ctx, client, cs, "/public", sp, o.conns, o.duration)
	if err != nil {
		return comparison{}, err
	}
	private, err := drive(ctx, client, cs, "/private", sp, o.conns, o.duration)
	if err != nil {
		return comparison{}, err
	}
	return comparison{bare, private}, nil
}

// drive sends requests to path from conns goroutines for d, spread over
// the children cs, each /private one with the token of one of the
// sessions in use at random, and reads the children's CPU time before and
// after.
func drive(ctx context.Context, client *http.Client, cs []*child, path string, sp spec, conns int, d time.Duration) (phase, error) {
	before, err := usageOf(client, cs)
	if err != nil {
		return phase{}, err
	}
	deadline := time.Now().Add(d)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	for g := range conns {
		wg.Go(func() {
			var mine []time.Duration
			n := g
			c := cs[g%len(cs)]
			for time.Now().Before(deadline) && ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
				if sp.Active > 0 {
					n = (n*1103515245 + 12345) & 0x7fffffff
					req.Header.Set("Session", token(sp.Seed, n%sp.Active))
				}
				start := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("GET %s: %s", path, resp.Status)
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return phase{}, firstErr
	}
	after, err := usageOf(client, cs)
	if err != nil {
		return phase{}, err
	}
	return phase{requests: len(latencies), cpu: after.CPU - before.CPU, p99: percentile(latencies, 0.99)}, nil
}

// warmAll asks each child for /private once with each session in use,
// so that the phases measure a warm cache (a miss costs a round trip: the
// sessions a timed phase met for the first time would weigh on it).
func warmAll(ctx context.Context, client *http.Client, cs []*child, sp spec, conns int) error {
	next := make(chan int)
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for i := range next {
				status, err := get(ctx, client, cs[i%len(cs)], token(sp.Seed, i/len(cs)))
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("warming up: GET /private: %d", status)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	func() {
		defer close(next)
		for i := range sp.Active * len(cs) {
			select {
			case next <- i:
			case err := <-errs:
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	return <-errs
}

// usageOf is the resource use of the children cs, summed.
func usageOf(client *http.Client, cs []*child) (usage, error) {
	var sum usage
	for _, c := range cs {
		u, err := c.usage(client)
		if err != nil {
			return usage{}, err
		}
		sum.CPU += u.CPU
		sum.MaxRSS = max(sum.MaxRSS, u.MaxRSS)
	}
	return sum, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// percentile is the p-th quantile of ds, rounded to the microsecond.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(math.Ceil(p*float64(len(ds)))) - 1
	return ds[max(0, i)].Round(time.Microsecond)
}

// signInPeak is the peak resident memory of a child on memory under
// o.signins sign-ins at once.
func signInPeak(ctx context.Context, o options) (int64, error) {
	sp := spec{Store: "memory", Seed: randomSeed(), Password: "correct horse battery staple"}
	c, err := startChild(o, sp)
	if err != nil {
		return 0, err
	}
	defer c.stop()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.signins}, Timeout: 5 * time.Minute}
	defer client.CloseIdleConnections()
	body := fmt.Sprintf(`{"email":%q,"password":%q}`, userEmail(sp.Seed, 0), sp.Password)
	var wg sync.WaitGroup
	errs := make(chan error, o.signins)
	for range o.signins {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/_api/rest/v1/auth/signin-email", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// 503 is the kit's answer to a sign-in that waited too long
			// for a hashing slot: memory bounded, as designed.
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
				errs <- fmt.Errorf("sign-in: %s", resp.Status)
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := errors.Join(slices.Collect(chanValues(errs))...); err != nil {
		return 0, err
	}
	u, err := c.usage(client)
	return u.MaxRSS, err
}

func chanValues[T any](ch <-chan T) func(func(T) bool) {
	return func(yield func(T) bool) {
		for v := range ch {
			if !yield(v) {
				return
			}
		}
	}
}
