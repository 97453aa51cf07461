package useragent

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// corpus returns the headers of testdata/useragents.txt.
func corpus(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/useragents.txt")
	require.NoError(tb, err)
	defer f.Close()
	var headers []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			headers = append(headers, line)
		}
	}
	require.NoError(tb, sc.Err())
	return headers
}

// uap parses header with uap-go alone.
func uap(header string) Result {
	if len(header) > maxLen {
		header = header[:maxLen]
	}
	return regexes.parse(header)
}

// Every header of the corpus the fast path claims parses as uap-go
// parses it; the share it claims is logged (go test -v).
func TestFastPathMatchesUAP(t *testing.T) {
	headers := corpus(t)
	claimed := 0
	for _, h := range headers {
		got, ok := parseFast(h)
		if !ok {
			continue
		}
		claimed++
		require.Equal(t, uap(h), got, "%s", h)
	}
	t.Logf("the fast path reads %d of the corpus's %d headers (%.0f%%)",
		claimed, len(headers), 100*float64(claimed)/float64(len(headers)))
	require.Greater(t, claimed, len(headers)/2, "the fast path should read most of the corpus")
}

// The shapes the fast path is for are claimed: a change that makes it
// give them up silently would undo its point.
func TestFastPathClaims(t *testing.T) {
	for _, h := range []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Safari/605.1.15",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/129.0.6668.81 Mobile Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	} {
		_, ok := parseFast(h)
		require.True(t, ok, "%s", h)
	}
}

// Whatever header the fast path claims, it parses as uap-go parses it.
//
//	go test -run '^$' -fuzz FuzzFastPath ./internal/useragent/
func FuzzFastPath(f *testing.F) {
	for _, h := range corpus(f) {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if len(header) > maxLen {
			header = header[:maxLen]
		}
		if got, ok := parseFast(header); ok {
			require.Equal(t, uap(header), got, "%q", header)
		}
	})
}

// shapes are the headers the fast path reads, with {os}, {model} and {v}
// for FuzzFastPathShapes to fill: the parts where a header differs from
// another of its shape, and where uap-go's regexes might part ways with
// the fast path.
var shapes = []string{
	"Mozilla/5.0 (Linux; Android {os}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android {os}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36",
	"Mozilla/5.0 (Linux; Android {os}; {model} Build/{v}; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.135 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android {os}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/{v} Chrome/125.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Linux; Android {os}; {model}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 {v}",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X {os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v} Safari/605.1.15",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X {os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36 {model}",
	"Mozilla/5.0 (iPhone; CPU iPhone OS {os} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) {model}/{v} Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (iPad; CPU OS {os} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) {model}/{v} Mobile/15E148 Safari/605.1.15",
	"Mozilla/5.0 (X11; CrOS {model} {os}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36",
	"Mozilla/5.0 (Windows NT {os}; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v} Safari/537.36 {model}",
	"Mozilla/5.0 ({model}; rv:{v}) Gecko/20100101 Firefox/{v}",
	"Mozilla/5.0 (Android {os}; {model}; rv:{v}) Gecko/{v} Firefox/{v}",
}

// Whatever the fast path claims among headers of its shapes with fuzzed
// versions and models, it parses as uap-go does.
//
//	go test -run '^$' -fuzz FuzzFastPathShapes ./internal/useragent/
func FuzzFastPathShapes(f *testing.F) {
	seeds := []struct{ os, model, v string }{
		{"10", "K", "131.0.0.0"},
		{"14", "SM-S918B", "25.0"},
		{"14", "SAMSUNG SM-A536B", "UP1A.231005.007"},
		{"15", "Pixel 9 Pro XL", "138.0.7204.63"},
		{"10_15_7", "Edg/131.0.2903.86", "18.1.1"},
		{"10.15", "X11; Ubuntu; Linux x86_64", "133.0"},
		{"17_4_1", "CriOS", "124.0.6367.88"},
		{"18_5", "FxiOS", "141.1"},
		{"14541.0.0", "x86_64", "131.0.0.0"},
		{"10.0", "OPR/116.0.0.0", "131.0.0.0"},
		{"14", "Mobile", "125.0"},
		{"13", "Pixel 7a", "EdgA/124.0.0.0"},
		{"11", "SM-X710", "26.0"},
		{"14", "SAMSUNG SM-T870", "AP2A.240805.005"},
	}
	for _, s := range seeds {
		for i := range shapes {
			f.Add(uint8(i), s.os, s.model, s.v)
		}
	}
	f.Fuzz(func(t *testing.T, shape uint8, os, model, v string) {
		header := strings.NewReplacer("{os}", os, "{model}", model, "{v}", v).
			Replace(shapes[int(shape)%len(shapes)])
		if len(header) > maxLen {
			header = header[:maxLen]
		}
		if got, ok := parseFast(header); ok {
			require.Equal(t, uap(header), got, "%q", header)
		}
	})
}
