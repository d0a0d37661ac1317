// Package web carries the client protocol to browsers: over WebSocket
// (github.com/coder/websocket, on an HTTP server) and over WebTransport
// (github.com/quic-go/webtransport-go, HTTP/3 on its own UDP port). Both
// hand one byte stream per connection to transport.Server.ServeStream, so
// authentication, rate limits, caps, ordering and resync are the QUIC
// server's own. docs/PROTOCOL.md §12 is the specification.
package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Origins decides which web origins may open a connection. A browser
// always sends Origin; a request without one is not from a page and is
// let through (its token is what authorizes it).
type Origins struct {
	// Allowed lists exact origins ("https://desk.example.com"); "*" allows
	// every origin.
	Allowed []string
	// Localhost allows any page served from localhost or a loopback
	// address (serve --dev).
	Localhost bool
}

// Check reports whether r's Origin may connect: no Origin, the same host
// as the request, a listed origin, or a loopback one when Localhost.
func (o Origins) Check(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range o.Allowed {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "/"), origin) {
			return true
		}
	}
	if o.Localhost {
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") {
			return true
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return true
		}
	}
	return false
}

// Allow checks r's origin, as Check, and lets a page of another allowed
// origin read the answer (CORS: Access-Control-Allow-Origin). It answers
// false, having written nothing, for an origin not allowed.
func (o Origins) Allow(w http.ResponseWriter, r *http.Request) bool {
	if !o.Check(r) {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Add("Vary", "Origin")
	}
	return true
}
