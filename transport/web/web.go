package web

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Paths served: WebSocketPath on the HTTP server (Handler), ConfigPath
// there too, WebTransportPath on the HTTP/3 server.
const (
	WebSocketPath    = "/ws"
	WebTransportPath = "/wt"
	ConfigPath       = "/web.json"
)

// Config configures the browser transports.
type Config struct {
	// Origins that may connect (WebSocket and WebTransport alike).
	Origins Origins
	// TrustedProxies are the HTTP proxies in front of the web listener
	// whose X-Forwarded-For is believed (clientaddr.go); none: the peer
	// is the client.
	TrustedProxies []netip.Prefix
	// WebTransportAddr is the UDP address of the HTTP/3 server carrying
	// WebTransport; empty: no WebTransport (browsers use WebSocket).
	WebTransportAddr string
	// TLS holds the WebTransport certificate (Certificates or
	// GetCertificate); required with WebTransportAddr.
	TLS *tls.Config
	// Cert, when set (dev), is the certificate browsers trust by hash: its
	// hash is published at ConfigPath.
	Cert *HashedCert
	// MaxMessage bounds one WebSocket message (default the transport
	// server's MaxFrame plus its length prefix; a client sends a frame per
	// message, or less).
	MaxMessage int
	// KeepAlive and IdleTimeout of the WebTransport QUIC connections
	// (default 15 s and 60 s, as for raw QUIC).
	KeepAlive   time.Duration
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// Server serves browser connections for a transport.Server.
type Server struct {
	ts  *transport.Server
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
	// visitors: anonymous visitors' tokens are minted (ServeVisitors).
	visitors atomic.Bool

	udp  net.PacketConn
	h3   *http3.Server
	wt   *webtransport.Server
	wtLn *quic.EarlyListener // ours: see listenWebTransport
}

// New starts the WebTransport listener (when configured); mount Handler
// on an HTTP server for WebSocket and the config document.
func New(ts *transport.Server, cfg Config) (*Server, error) {
	if ts == nil {
		return nil, errors.New("web: no transport server")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = ts.MaxFrame() + 16
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 15 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	s := &Server{ts: ts, cfg: cfg, log: cfg.Logger.With("component", "web"), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET "+WebSocketPath, s.serveWebSocket)
	s.mux.HandleFunc("GET "+ConfigPath, s.serveConfig)
	if cfg.WebTransportAddr != "" {
		if err := s.listenWebTransport(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Handler serves WebSocketPath and ConfigPath.
func (s *Server) Handler() http.Handler { return s.mux }

// Mux is the handler's mux, for mounting pages beside the transports.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// WebTransportAddr is the bound UDP address, nil without WebTransport.
func (s *Server) WebTransportAddr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// Close stops the WebTransport listener; the connections themselves end
// with the transport server (Drain, Close).
func (s *Server) Close() error {
	if s.wt == nil {
		return nil
	}
	err := s.wt.Close() // closes the connections while the socket can still say so
	_ = s.wtLn.Close()
	_ = s.udp.Close()
	return err
}

func (s *Server) listenWebTransport() error {
	if s.cfg.TLS == nil || len(s.cfg.TLS.Certificates) == 0 && s.cfg.TLS.GetCertificate == nil {
		return errors.New("web: WebTransport needs a TLS certificate")
	}
	udp, err := net.ListenPacket("udp", s.cfg.WebTransportAddr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.cfg.WebTransportAddr, err)
	}
	mux := http.NewServeMux()
	s.h3 = &http3.Server{
		TLSConfig: http3.ConfigureTLSConfig(s.cfg.TLS.Clone()),
		QUICConfig: &quic.Config{
			KeepAlivePeriod:                  s.cfg.KeepAlive,
			MaxIdleTimeout:                   s.cfg.IdleTimeout,
			EnableDatagrams:                  true,
			EnableStreamResetPartialDelivery: true,
		},
		Handler: mux,
	}
	webtransport.ConfigureHTTP3Server(s.h3)
	s.wt = &webtransport.Server{H3: s.h3, CheckOrigin: s.cfg.Origins.Check}
	mux.HandleFunc(WebTransportPath, s.serveWebTransport)
	s.udp = udp
	// The QUIC listener is ours, not webtransport.Server.Serve's: Serve
	// registers itself with the server (a WaitGroup Add) only once its
	// goroutine runs, so a Close right after New raced with it (-race
	// caught it). Accepting here and handing each connection to
	// ServeQUICConn leaves Close nothing to wait for but the connections.
	qconf := s.h3.QUICConfig.Clone()
	ln, err := quic.ListenEarly(udp, s.h3.TLSConfig, qconf)
	if err != nil {
		_ = udp.Close()
		return fmt.Errorf("web: webtransport listen: %w", err)
	}
	s.wtLn = ln
	go func() {
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return // listener closed
			}
			go func() {
				if err := s.wt.ServeQUICConn(qc); err != nil && !errors.Is(err, http.ErrServerClosed) {
					s.log.Debug("webtransport connection ended", "err", err)
				}
			}()
		}
	}()
	s.log.Info("webtransport listening", "addr", udp.LocalAddr().String())
	return nil
}

// webConfig is what a page fetches before connecting (ConfigPath).
type webConfig struct {
	WebSocket    string     `json:"websocket"`
	WebTransport string     `json:"webtransport,omitempty"`
	CertHashes   []certHash `json:"cert_hashes,omitempty"`
	CertNotAfter string     `json:"cert_not_after,omitempty"`
	// Visitors: VisitorPath mints anonymous visitors' tokens.
	Visitors bool `json:"visitors,omitempty"`
}

// certHash is one entry of WebTransport's serverCertificateHashes.
type certHash struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"value"` // base64 of the 32 hash bytes
}

func (s *Server) serveConfig(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Origins.Allow(w, r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	c := webConfig{WebSocket: WebSocketPath, Visitors: s.visitors.Load()}
	if s.udp != nil {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if bound, _, err := net.SplitHostPort(s.udp.LocalAddr().String()); err == nil {
			if ip := net.ParseIP(bound); ip != nil && !ip.IsUnspecified() {
				host = bound
			}
		}
		port := s.udp.LocalAddr().(*net.UDPAddr).Port
		c.WebTransport = "https://" + net.JoinHostPort(host, strconv.Itoa(port)) + WebTransportPath
		if s.cfg.Cert != nil {
			h, notAfter, err := s.cfg.Cert.Hash()
			if err != nil {
				s.log.Error("certificate rotation failed", "err", err)
				http.Error(w, "certificate unavailable", http.StatusServiceUnavailable)
				return
			}
			c.CertHashes = []certHash{{Algorithm: "sha-256", Value: base64.StdEncoding.EncodeToString(h[:])}}
			c.CertNotAfter = notAfter.UTC().Format(time.RFC3339)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(c)
}

// serveWebSocket upgrades and serves one connection until it ends.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Origins.Check(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	// The origin was checked above, with this package's rules.
	cr, err := acceptWebSocket(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}, s.remoteAddr(r))
	if err != nil {
		s.log.Debug("websocket upgrade failed", "err", err)
		return
	}
	cr.c.SetReadLimit(int64(s.cfg.MaxMessage))
	// The connection goes on without this handler: net/http's state for
	// it (the request, its buffers) is let go, ~10 KiB per connection.
	go func() { _ = s.ts.ServeCarrier(cr) }()
}

// serveWebTransport accepts a session and serves the connection its
// first bidirectional stream carries.
func (s *Server) serveWebTransport(w http.ResponseWriter, r *http.Request) {
	sess, err := s.wt.Upgrade(w, r)
	if err != nil {
		s.log.Debug("webtransport upgrade failed", "err", err)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	_ = s.ts.ServeCarrier(wtCarrier{sess})
}

// wtCarrier is a WebTransport session: its first bidirectional stream is
// the connection, its datagrams carry the server's signals, and its close
// code is the protocol's code. Clients send their signals in band
// (Request.signal, as the TypeScript SDK always did): as on switchboard/3,
// no goroutine per session waits for datagrams.
type wtCarrier struct{ sess *webtransport.Session }

func (w wtCarrier) AcceptStream(ctx context.Context) (transport.Stream, error) {
	return w.sess.AcceptStream(ctx)
}
func (w wtCarrier) Context() context.Context { return w.sess.Context() }
func (w wtCarrier) RemoteAddr() net.Addr     { return w.sess.RemoteAddr() }
func (w wtCarrier) CloseWithError(code wirepb.Code, reason string) error {
	return w.sess.CloseWithError(webtransport.SessionErrorCode(code), reason)
}
func (w wtCarrier) SendSignal(b []byte) error { return w.sess.SendDatagram(b) }
