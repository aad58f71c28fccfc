package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies is the set of trusted reverse proxies (config.HTTP.Proxies). The
// zero value trusts none: every request's client is its TCP peer.
type Proxies struct {
	prefixes []netip.Prefix
}

// NewProxies returns the set of the given prefixes.
func NewProxies(prefixes []netip.Prefix) Proxies {
	return Proxies{prefixes: append([]netip.Prefix(nil), prefixes...)}
}

// Trusted tells whether a is one of the proxies.
func (p Proxies) Trusted(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, pf := range p.prefixes {
		if pf.Contains(a) {
			return true
		}
	}
	return false
}

// ClientIP returns the address of the client that made r. It starts at the
// TCP peer (r.RemoteAddr) and, while the current hop is a trusted proxy,
// steps one hop left in X-Forwarded-For (all its headers, in order, as one
// list): the answer is the right-most hop that is not a trusted proxy. A
// client can put anything at the left of the header, but it cannot forge
// what a trusted proxy appended, so nothing it wrote is believed. An
// unparsable hop stops the walk at the proxy that passed it on; a header
// of trusted proxies only gives its left-most hop. The zero Addr means
// RemoteAddr is not an address (never so for a net/http server).
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	cur, ok := remoteAddr(r.RemoteAddr)
	if !ok {
		return netip.Addr{}
	}
	if !p.Trusted(cur) {
		return cur
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		next, ok := parseHop(hops[i])
		if !ok {
			return cur
		}
		cur = next
		if !p.Trusted(cur) {
			return cur
		}
	}
	return cur
}

// ClientAddr is ClientIP as text, "" when unknown: for logs, the audit
// trail and login throttling.
func (p Proxies) ClientAddr(r *http.Request) string {
	a := p.ClientIP(r)
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// IsHTTPS tells whether the client reached the server over HTTPS: the
// connection itself is TLS, or the TCP peer is a trusted proxy whose
// X-Forwarded-Proto (its last value, the one it set) is "https". Use it
// for Secure cookies and HSTS.
func (p Proxies) IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	peer, ok := remoteAddr(r.RemoteAddr)
	if !ok || !p.Trusted(peer) {
		return false
	}
	var last string
	for _, v := range r.Header.Values("X-Forwarded-Proto") {
		for part := range strings.SplitSeq(v, ",") {
			last = strings.TrimSpace(part)
		}
	}
	return strings.EqualFold(last, "https")
}

// forwardedFor returns the hops of every X-Forwarded-For header, left to
// right.
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for part := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	return hops
}

// remoteAddr parses r.RemoteAddr, "ip:port" (or a bare ip).
func remoteAddr(s string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// parseHop parses one X-Forwarded-For entry: an address, possibly with a
// port ("1.2.3.4:5678", "[2001:db8::1]:443") or in brackets.
func parseHop(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}
