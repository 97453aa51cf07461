package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// altogicVersion is the published client the suite in ../compat runs.
const altogicVersion = "2.3.9"

// TestAltogicClient runs the client compatibility suite (../compat): the
// unchanged npm package altogic@2.3.9, driven by node's test runner, against
// this example app served in-process with dev mail and the memory store.
//
// It needs node and npm. Without them, or when npm cannot install the
// client, it skips, unless AUTHKIT_TEST_CLIENT=1 (as in CI) makes that a
// failure.
func TestAltogicClient(t *testing.T) {
	node, dir := altogicSuite(t)

	base := serveClientApp(t, "memory")
	runNode(t, node, dir, "client.test.mjs", "AUTHKIT_URL="+base)
}

// serveClientApp serves the example in development mode on db for a client
// suite, and returns its URL; a failed test logs the app's console (the
// mail it printed).
func serveClientApp(t *testing.T, db string) string {
	t.Helper()
	// The server's URL must be known before the app is built: links in mail
	// and the redirect URL are absolute.
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	console := new(consoleBuffer)
	h, kit, err := newApp(options{
		addr:        srv.Listener.Addr().String(),
		db:          db,
		redirectURL: base + "/",
		publicURL:   base,
		dev:         true,
	}, console)
	if err != nil {
		srv.Close()
		t.Fatalf("newApp: %v", err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// The courier stops before the database closes.
		if err := kit.Close(ctx); err != nil {
			t.Errorf("kit.Close: %v", err)
		}
		h.Close()
		if t.Failed() {
			t.Logf("the app's console (mail it printed):\n%s", console)
		}
	})
	return base
}

// runNode runs node's test runner on the file script of dir, with env
// added to the environment, and logs what it prints.
func runNode(t *testing.T, node, dir, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", script)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr) // drain whatever a too long line left
	}()
	err := cmd.Run()
	pw.Close()
	<-streamed
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Fatalf("node --test %s did not finish within the time limit: %v", script, err)
	case err != nil:
		t.Fatalf("node --test %s (in %s, %s) failed: %v", script, dir, env, err)
	}
}

// installedAltogic is the version of compat/node_modules/altogic, or "".
func installedAltogic(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "altogic", "package.json"))
	if err != nil {
		return ""
	}
	var p struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}

// consoleBuffer keeps the app's console output (printed mail) for the log
// of a failed run; mail sent in the background may outlive the test.
type consoleBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (c *consoleBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf.Len() < 4<<20 {
		c.buf.Write(p)
	}
	return len(p), nil
}

func (c *consoleBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// altogicSuite finds node and the client suite's directory (../compat),
// with altogic@2.3.9 installed there by npm when it is not. Without node or
// npm, or when npm cannot install the client, the test skips, unless
// AUTHKIT_TEST_CLIENT=1 (as in CI) makes that a failure.
func altogicSuite(t *testing.T) (node, dir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skipping the Altogic client suite, which runs node")
	}
	required := os.Getenv("AUTHKIT_TEST_CLIENT") == "1"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(format+" (AUTHKIT_TEST_CLIENT=1 requires the client suite)", args...)
		}
		t.Skipf(format+"; skipping the Altogic client suite (set AUTHKIT_TEST_CLIENT=1 to make this a failure)", args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not on PATH: %v", err)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		unavailable("npm is not on PATH: %v", err)
	}
	if dir, err = filepath.Abs(filepath.Join("..", "compat")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "client.test.mjs")); err != nil {
		t.Fatalf("the client suite is missing: %v", err)
	}

	if v := installedAltogic(dir); v != altogicVersion {
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--no-package-lock", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Logf("npm install in %s:\n%s", dir, out)
			unavailable("npm install in %s failed: %v", dir, err)
		}
		if v := installedAltogic(dir); v != altogicVersion {
			t.Fatalf("after npm install, compat/node_modules/altogic is version %q, want %s", v, altogicVersion)
		}
	}
	return node, dir
}
