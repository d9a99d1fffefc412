// Package clientip says who a request to HQ came from: the TCP peer, or — only when the
// peer is a reverse proxy HQ was told to trust (`hq serve --trust-proxy CIDR[,…]`) — the
// client that proxy reports in X-Forwarded-For. Everything at HQ that keys on a client
// (the tracked link's rate limit, the dashboard's sign-in failure limit, audit
// addresses, the addresses a store's token syncs from) asks this one Resolver, so a
// client cannot pick its own address with a forged header, and behind nginx every client
// is not one address.
package clientip

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver resolves client addresses. The zero Resolver trusts no proxy: the peer is
// the client.
type Resolver struct {
	trusted []netip.Prefix
}

// New trusts the given proxies.
func New(trusted ...netip.Prefix) Resolver { return Resolver{trusted: trusted} }

// Parse reads a comma-separated list of CIDRs or single addresses (10.0.0.0/8,
// 127.0.0.1, ::1) — the reverse proxies whose X-Forwarded-For HQ believes.
func Parse(list string) (Resolver, error) {
	var r Resolver
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		var p netip.Prefix
		var err error
		if strings.Contains(f, "/") {
			p, err = netip.ParsePrefix(f)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(f); err == nil {
				a = a.Unmap()
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return Resolver{}, fmt.Errorf("trusted proxy %q: want a CIDR (10.0.0.0/8) or an address", f)
		}
		r.trusted = append(r.trusted, p.Masked())
	}
	return r, nil
}

// Trusted lists the trusted proxies.
func (r Resolver) Trusted() []netip.Prefix { return r.trusted }

func (r Resolver) trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the request's TCP peer address.
func peer(req *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// Addr returns the client's address. When the peer is a trusted proxy, X-Forwarded-For
// (every header line, in order) is read from the right: trusted proxies are skipped and
// the first address that is not one is the client; an entry that is not an address
// stops the walk at the last good one (a client's own header, before the first trusted
// proxy appended, is never believed). Otherwise, or without the header, the peer.
func (r Resolver) Addr(req *http.Request) string {
	p, ok := peer(req)
	if !ok {
		return req.RemoteAddr
	}
	if len(r.trusted) == 0 || !r.trusts(p) {
		return p.String()
	}
	var hops []string
	for _, line := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(line, ",")...)
	}
	client := p
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		client = a.Unmap()
		if !r.trusts(client) {
			break
		}
	}
	return client.String()
}

// Key is what per-client limits key on: an IPv4 address as it is, an IPv6 address by
// its /64 (one subscriber's whole prefix — a phone or an attacker can change the rest at
// will). Text that is not an address is its own key.
func Key(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
