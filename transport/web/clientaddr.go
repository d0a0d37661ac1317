package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Behind an HTTP reverse proxy (a load balancer that ends TLS, nginx) every
// request comes from the proxy's address; the client's is in
// X-Forwarded-For, which anyone can write. The proxies listed in
// Config.TrustedProxies are believed: the client is the last address of
// the chain that is not one of them. The per-address caps (connections,
// visitor tokens) then count clients, not the proxy.

// clientAddr is the address r came from: its peer, or, when the peer is a
// trusted proxy, the first untrusted hop of X-Forwarded-For read from the
// right (the proxies append; what the client sent comes first and is not
// believed).
func (s *Server) clientAddr(r *http.Request) netip.AddrPort {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
	}
	peer = netip.AddrPortFrom(peer.Addr().Unmap(), peer.Port())
	if !s.trusted(peer.Addr()) {
		return peer
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		list := strings.Split(hops[i], ",")
		for j := len(list) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(list[j]))
			if err != nil {
				return peer // a hop that is no address: believe nothing past it
			}
			if a = a.Unmap(); !s.trusted(a) {
				return netip.AddrPortFrom(a, 0)
			}
		}
	}
	return peer
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr is clientAddr as a net.Addr, for the transport's caps.
func (s *Server) remoteAddr(r *http.Request) net.Addr {
	return net.TCPAddrFromAddrPort(s.clientAddr(r))
}
