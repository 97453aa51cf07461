package authkit

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The store stubs of the internal tests (oneUserStore, failingStore) are
// limiters that never limit: every event is the first of its window.

func (oneUserStore) Hit(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 1, now.Add(w), nil
}

func (oneUserStore) Count(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 0, now.Add(w), nil
}

func (oneUserStore) Reset(context.Context, string) error { return nil }

func (failingStore) Hit(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 1, now.Add(w), nil
}

func (failingStore) Count(_ context.Context, _ string, w time.Duration, now time.Time) (int64, time.Time, error) {
	return 0, now.Add(w), nil
}

func (failingStore) Reset(context.Context, string) error { return nil }

// SECURITY 10: X-Forwarded-For is believed only from a trusted proxy, and
// then only as far as the rightmost address that is not one.
func TestClientIP(t *testing.T) {
	k := &Kit{limits: limitSettings{proxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"),
	}}}
	for _, c := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"no proxy", "192.0.2.7:5555", nil, "192.0.2.7"},
		{"untrusted peer, spoofed header", "192.0.2.7:5555", []string{"198.51.100.1"}, "192.0.2.7"},
		{"trusted peer", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-written entries left of the real one", "10.1.2.3:80", []string{"1.1.1.1, 2.2.2.2, 198.51.100.1"}, "198.51.100.1"},
		{"a chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"only proxies", "10.1.2.3:80", []string{"10.5.5.5"}, "10.5.5.5"},
		{"no header from a proxy", "10.1.2.3:80", nil, "10.1.2.3"},
		{"garbage stops at the last known hop", "10.1.2.3:80", []string{"198.51.100.1, nonsense, 10.4.4.4"}, "10.4.4.4"},
		{"ports and brackets", "[fd00::1]:443", []string{"[2001:db8::5]:1234"}, "2001:db8::5"},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.9]:1", nil, "192.0.2.9"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			require.Equal(t, c.want, k.clientIP(r))
		})
	}
}

func TestIPKeyGroupsIPv6By64(t *testing.T) {
	require.Equal(t, "192.0.2.1", ipKey("192.0.2.1"))
	require.Equal(t, ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:2:ffff::9"), "one /64 is one client")
	require.NotEqual(t, ipKey("2001:db8:1:2::1"), ipKey("2001:db8:1:3::1"))
	require.LessOrEqual(t, len(ipKey(string(make([]byte, 1000)))), 100)
}

func TestRetrySecondsRoundUp(t *testing.T) {
	for wait, want := range map[time.Duration]int64{
		0: 1, time.Millisecond: 1, time.Second: 1, time.Second + time.Millisecond: 2, 15 * time.Minute: 900, -time.Second: 1,
	} {
		require.Equal(t, want, retrySeconds(wait), "%v", wait)
	}
}

func TestPhoneRegion(t *testing.T) {
	require.Equal(t, "GB", phoneRegion("+442079460958"))
	require.Equal(t, "US", phoneRegion("+15555555555"), "a number no region claims is its country code's main region")
	require.Equal(t, "JM", phoneRegion("+18765550123"), "+1 876 is Jamaica, not the US")
}
