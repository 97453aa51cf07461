package hibp_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/hibp"
)

// fakeRange is the range API for a few passwords, each with its count,
// padded with lines of count 0 as the real one pads. It records the
// prefixes it was asked for.
func fakeRange(t *testing.T, counts map[string]int) (*hibp.Checker, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || r.Header.Get("Add-Padding") != "true" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		asked = append(asked, prefix)
		mu.Unlock()
		fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("0", 35)) // padding
		for pw, n := range counts {
			d := digest(pw)
			if d[:5] == prefix {
				fmt.Fprintf(w, "%s:%d\r\n", d[5:], n)
			}
		}
	}))
	t.Cleanup(srv.Close)
	c := hibp.New()
	c.BaseURL = srv.URL
	return c, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), asked...) }
}

func digest(pw string) string {
	sum := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestBreached(t *testing.T) {
	c, asked := fakeRange(t, map[string]int{"P@ssw0rd": 52256, "seen once": 1, "padding only": 0})
	ctx := context.Background()
	for pw, want := range map[string]bool{"P@ssw0rd": true, "seen once": true, "padding only": false, "a long unbreached passphrase": false} {
		got, err := c.Breached(ctx, pw)
		require.NoError(t, err)
		require.Equal(t, want, got, pw)
	}
	for _, p := range asked() {
		require.Len(t, p, 5, "only a 5-digit prefix leaves the server")
	}
	c.MinCount = 2
	got, err := c.Breached(ctx, "seen once")
	require.NoError(t, err)
	require.False(t, got, "MinCount raises the bar")
}

func TestBreachedSaysWhenItCannotTell(t *testing.T) {
	c, _ := fakeRange(t, nil)
	c.BaseURL += "/nowhere"
	_, err := c.Breached(context.Background(), "anything at all")
	require.Error(t, err)
}
