package useragent_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authkit/authkit/internal/useragent"
)

const (
	chromeMac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0.4844.51 Safari/537.36"
	iPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	nodeFetch = "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)"
)

func v(family, major, minor, patch string) useragent.Version {
	return useragent.Version{Family: family, Major: major, Minor: minor, Patch: patch}
}

var other = v("Other", "0", "0", "0")

func TestParse(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   useragent.Result
	}{
		{"chrome on mac", chromeMac, useragent.Result{
			Browser: v("Chrome", "99", "0", "4844"),
			Device:  v("Mac", "0", "0", "0"),
			OS:      v("Mac OS X", "10", "15", "7"),
		}},
		{"safari on iphone", iPhone, useragent.Result{
			Browser: v("Mobile Safari", "17", "4", "0"),
			Device:  v("iPhone", "0", "0", "0"),
			OS:      v("iOS", "17", "4", "0"),
		}},
		{"firefox on windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:124.0) Gecko/20100101 Firefox/124.0", useragent.Result{
			Browser: v("Firefox", "124", "0", "0"),
			Device:  other,
			OS:      v("Windows", "10", "0", "0"),
		}},
		{"curl", "curl/8.5.0", useragent.Result{Browser: v("curl", "8", "5", "0"), Device: other, OS: other}},
		{"node-fetch", nodeFetch, useragent.Result{Browser: other, Device: other, OS: other}},
		{"empty", "", useragent.Result{Browser: other, Device: other, OS: other}},
		{"whitespace", " \t ", useragent.Result{Browser: other, Device: other, OS: other}},
		{"chrome on mac after 512 bytes is ignored", strings.Repeat("x", 512) + chromeMac, useragent.Result{Browser: other, Device: other, OS: other}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := useragent.Parse(tt.header)
			require.Equal(t, tt.want, got)
			requireComplete(t, got)
		})
	}
}

func TestParseHostile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 100<<10)
	for i := range garbage {
		garbage[i] = byte(rng.UintN(256))
	}
	tests := map[string]string{
		"random bytes":      string(garbage),
		"repeated tokens":   strings.Repeat("(Mozilla/5.0 x;;", 100<<10/16),
		"long chrome tail":  chromeMac + strings.Repeat(" Safari/537.36", 100<<10/14),
		"truncated in rune": strings.Repeat("x", 511) + "é" + strings.Repeat("é", 1000),
		"nul bytes":         strings.Repeat("\x00", 100<<10),
	}
	for name, header := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			got := useragent.Parse(header)
			// Generous for -race on a loaded machine; unbounded input would
			// take far longer.
			require.Less(t, time.Since(start), 2*time.Second)
			requireComplete(t, got)
		})
	}
}

func TestParseConcurrent(t *testing.T) {
	headers := []string{chromeMac, iPhone, nodeFetch, ""}
	results := make([][]useragent.Result, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			for j := range 10 {
				h := headers[(i+j)%len(headers)]
				if j%2 == 0 {
					h += " n/" + strconv.Itoa(i*100+j) // a cache miss
				}
				results[i] = append(results[i], useragent.Parse(h))
			}
		})
	}
	wg.Wait()
	for _, rs := range results {
		for _, r := range rs {
			requireComplete(t, r)
		}
	}
}

func requireComplete(t *testing.T, r useragent.Result) {
	t.Helper()
	for _, part := range []useragent.Version{r.Browser, r.Device, r.OS} {
		require.NotEmpty(t, part.Family, "%+v", r)
		require.NotEmpty(t, part.Major, "%+v", r)
		require.NotEmpty(t, part.Minor, "%+v", r)
		require.NotEmpty(t, part.Patch, "%+v", r)
	}
	require.Equal(t, "0", r.Device.Major)
	require.Equal(t, "0", r.Device.Minor)
	require.Equal(t, "0", r.Device.Patch)
}

func BenchmarkParse(b *testing.B) {
	b.Run("fast path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			useragent.Parse(chromeMac)
		}
	})
	// Vivaldi's token keeps the header from the fast path.
	vivaldi := chromeMac + " Vivaldi/6.9.3447.54"
	b.Run("uap-go cached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			useragent.Parse(vivaldi)
		}
	})
	b.Run("uap-go uncached", func(b *testing.B) {
		b.ReportAllocs()
		headers := make([]string, 4096) // more than the cache holds
		for i := range headers {
			headers[i] = vivaldi + " build/" + strconv.Itoa(i)
		}
		i := 0
		for b.Loop() {
			useragent.Parse(headers[i%len(headers)])
			i++
		}
	})
}
