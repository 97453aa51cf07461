package clientip

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// SECURITY 10: X-Forwarded-For is believed only from a trusted proxy, and
// then only as far as the rightmost address that is not one.
func TestIP(t *testing.T) {
	r, ok := NewResolver([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})
	require.True(t, ok)
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
			require.Equal(t, c.want, r.IP(c.remote, c.xff))
		})
	}
}

func TestNewResolverRefusesInvalidPrefixes(t *testing.T) {
	_, ok := NewResolver([]netip.Prefix{{}})
	require.False(t, ok)
}

func TestBlockGroupsIPv6By64(t *testing.T) {
	b, ok := Block("192.0.2.1")
	require.True(t, ok)
	require.Equal(t, "192.0.2.1", b)
	a, _ := Block("2001:db8:1:2::1")
	same, _ := Block("2001:db8:1:2:ffff::9")
	other, _ := Block("2001:db8:1:3::1")
	require.Equal(t, a, same, "one /64 is one client")
	require.NotEqual(t, a, other)
	_, ok = Block("not an address")
	require.False(t, ok)
}

func TestNetworkGroupsIPv4By24AndIPv6By64(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{"192.0.2.1", "192.0.2.254"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9"},
	} {
		na, ok := Network(c.a)
		require.True(t, ok)
		nb, _ := Network(c.b)
		require.Equal(t, na, nb, "one network")
	}
	n, _ := Network("192.0.2.1")
	require.Equal(t, "192.0.2.0/24", n)
	other, _ := Network("192.0.3.1")
	require.NotEqual(t, n, other)
	v6, _ := Network("2001:db8:1:3::1")
	require.Equal(t, "2001:db8:1:3::/64", v6)
	_, ok := Network("not an address")
	require.False(t, ok)
}
