// Package clientip finds the address a request comes from, behind the
// reverse proxies an app trusts.
package clientip

import (
	"net"
	"net/netip"
	"strings"
)

// Resolver finds client addresses behind a set of trusted proxies. The zero
// Resolver trusts no proxy.
type Resolver struct {
	proxies []netip.Prefix
}

// NewResolver returns a Resolver trusting the proxies in prefixes, or false
// if one of them is not a valid prefix.
func NewResolver(prefixes []netip.Prefix) (Resolver, bool) {
	var r Resolver
	for _, p := range prefixes {
		if !p.IsValid() {
			return Resolver{}, false
		}
		r.proxies = append(r.proxies, p.Masked())
	}
	return r, true
}

// IP is the address a request comes from, given its connection's peer
// (http.Request.RemoteAddr) and its X-Forwarded-For header values: the
// peer; or, when the peer is a trusted proxy, the rightmost address of
// X-Forwarded-For that is not a trusted proxy (each proxy appends the peer
// it saw, so that one was seen by a proxy we trust; whatever is left of
// it, the client could have written).
func (r Resolver) IP(remoteAddr string, forwardedFor []string) string {
	peer, ok := parseHop(remoteAddr)
	if !ok {
		host, _, err := net.SplitHostPort(remoteAddr)
		if err != nil {
			return remoteAddr
		}
		return host
	}
	if !r.trusted(peer) {
		return hopString(remoteAddr, peer)
	}
	for i := len(forwardedFor) - 1; i >= 0; i-- {
		list := strings.Split(forwardedFor[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			a, ok := parseHop(strings.TrimSpace(list[j]))
			if !ok {
				return peer.String() // not an address: believe the last hop known
			}
			if !r.trusted(a) {
				return a.String()
			}
			peer = a
		}
	}
	return peer.String() // all proxies: the leftmost
}

func (r Resolver) trusted(a netip.Addr) bool {
	for _, p := range r.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHop reads an address as RemoteAddr or X-Forwarded-For give it:
// "192.0.2.1", "192.0.2.1:1234", "2001:db8::1", "[2001:db8::1]:1234";
// IPv4-mapped IPv6 is read as IPv4, and a zone is dropped.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")); err == nil {
		return a.Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// hopString is a, as hop (an address as parseHop reads it) writes it when
// hop writes it as a.String() would: a part of hop, not a new string, on
// the path of every request ("192.0.2.1:1234" is "192.0.2.1").
func hopString(hop string, a netip.Addr) string {
	var buf [64]byte
	canonical := a.AppendTo(buf[:0])
	host := hop
	if h, _, err := net.SplitHostPort(hop); err == nil {
		host = h
	}
	if host == string(canonical) {
		return host
	}
	return a.String()
}

// Block names the client an address belongs to, for counting requests per
// client: an IPv4 address itself, or the /64 of an IPv6 one (a host is
// usually given a whole /64). It reports false for what is not an address.
func Block(ip string) (string, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	if a.Is6() {
		p, _ := a.WithZone("").Prefix(64)
		return p.String(), true
	}
	return a.String(), true
}

// Network names the network an address belongs to, for counting what is
// asked from one place rather than one host: the /24 of an IPv4 address,
// or the /64 of an IPv6 one. It reports false for what is not an address.
func Network(ip string) (string, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, _ := a.WithZone("").Prefix(bits)
	return p.String(), true
}
