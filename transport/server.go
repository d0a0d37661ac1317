// Package transport is Switchboard's client-facing server: QUIC (quic-go),
// TLS 1.3, ALPN switchboard/3 (and /2), length-prefixed protobuf frames (package
// wirepb), JWT authentication, and one bidirectional stream per connection
// carrying pipelined requests, their answers and the pushes.
// docs/PROTOCOL.md is the specification.
package transport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/time/rate"

	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/internal/warm"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Server accepts client connections for one node.
type Server struct {
	cfg  Config
	node session.Node
	log  *slog.Logger
	// socks are the UDP sockets of the QUIC port (Config.Sockets), each
	// with its own quic-go Transport and listener.
	socks []*udpSocket
	// warm runs the connections' request workers, writers and cursor
	// stores on goroutines that keep their grown stacks between bursts
	// (internal/warm): started fresh per burst, their stack growth was
	// ~4% of a loaded node's CPU.
	warm *warm.Pool
	// lazy writes the frames that waited for company in vain (lazy.go);
	// nil when Config.CoalesceDelay is off.
	lazy *lazyFlusher

	mu       sync.Mutex
	addrs    map[string]int // connections per source IP
	users    map[string]*userLimit
	conns    map[*conn]struct{}
	expiries expiries // token expiries of the connections being served
	draining bool
	wg       sync.WaitGroup
	done     chan struct{}
	closing  sync.Once
}

// userLimit is the request rate one user's connections on this node
// share, and how many of them hold it.
type userLimit struct {
	conns   int
	limiter *rate.Limiter
}

// Listen binds cfg.Addr and serves connections for node until Close.
func Listen(node session.Node, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if node == nil {
		return nil, errors.New("transport: no running node")
	}
	if cfg.NodeName == "" {
		cfg.NodeName = node.Address()
	}
	socks, err := listenSockets(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, node: node, log: cfg.Logger.With("component", "transport"), socks: socks, warm: warm.New(),
		addrs: map[string]int{}, users: map[string]*userLimit{}, conns: map[*conn]struct{}{}, done: make(chan struct{})}
	if cfg.CoalesceDelay > 0 {
		s.lazy = newLazyFlusher(cfg.CoalesceDelay)
	}
	for _, sock := range socks {
		for range acceptors {
			s.wg.Add(1)
			go s.accept(sock.ln)
		}
	}
	s.log.Info("listening", "addr", s.Addr().String(), "sockets", len(socks), "alpn", wirepb.ALPNs())
	return s, nil
}

// udpSocket is one socket of the QUIC port. An explicit Transport lets
// Drain stop accepting (close the listener) without closing the
// connections still open.
type udpSocket struct {
	udp net.PacketConn
	tr  *quic.Transport
	ln  *quic.Listener
}

// listenSockets binds cfg.Addr with cfg.Sockets sockets: the first picks
// the port (cfg.Addr may say 0), the others share it.
func listenSockets(cfg Config) ([]*udpSocket, error) {
	lc := net.ListenConfig{}
	if cfg.Sockets > 1 {
		lc.Control = reusePort
	}
	var socks []*udpSocket
	closeAll := func() {
		for _, s := range socks {
			_ = s.ln.Close()
			_ = s.tr.Close()
			_ = s.udp.Close()
		}
	}
	addr := cfg.Addr
	if cfg.Sockets > 1 {
		// SO_REUSEPORT would let a second node started on this port by
		// mistake join the group and take part of the clients: bind it
		// alone first, so a port in use fails as without the option.
		probe, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		addr = probe.LocalAddr().String()
		_ = probe.Close()
	}
	for range cfg.Sockets {
		udp, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("listen %s: %w", addr, err)
		}
		addr = udp.LocalAddr().String()
		tr := &quic.Transport{Conn: udp, StatelessResetKey: cfg.StatelessResetKey}
		ln, err := tr.Listen(cfg.TLS, quicConfig(cfg))
		if err != nil {
			_ = udp.Close()
			closeAll()
			return nil, fmt.Errorf("quic listen: %w", err)
		}
		socks = append(socks, &udpSocket{udp: udp, tr: tr, ln: ln})
	}
	return socks, nil
}

// Addr is the bound UDP address.
func (s *Server) Addr() net.Addr { return s.socks[0].udp.LocalAddr() }

// MaxFrame is the largest frame payload the server accepts and sends.
func (s *Server) MaxFrame() int { return s.cfg.MaxFrame }

// quicConfig tunes quic-go for many mostly idle mobile connections: one
// stream each, windows bounded (memory is allocated as data arrives, the
// bound caps what one client can make the server hold), no server
// keep-alives by default (the clients send them).
func quicConfig(cfg Config) *quic.Config {
	w := uint64(cfg.ReceiveWindow)
	return &quic.Config{
		HandshakeIdleTimeout:           cfg.HandshakeTimeout,
		MaxIdleTimeout:                 cfg.IdleTimeout,
		KeepAlivePeriod:                cfg.KeepAlive,
		MaxIncomingStreams:             1,  // the session stream
		MaxIncomingUniStreams:          -1, // clients open no unidirectional streams
		InitialStreamReceiveWindow:     min(w, 512<<10),
		MaxStreamReceiveWindow:         w,
		InitialConnectionReceiveWindow: min(w, 512<<10) + 64<<10,
		MaxConnectionReceiveWindow:     w + 64<<10,
		EnableDatagrams:                true,
	}
}

// acceptors is how many goroutines take handshaken connections off each
// socket's accept queue (quic-go's, 32 deep; a full queue refuses new
// handshakes with CONNECTION_REFUSED): under a reconnect storm on busy
// cores one can fall behind.
const acceptors = 2

func (s *Server) accept(ln *quic.Listener) {
	defer s.wg.Done()
	for {
		qc, err := ln.Accept(context.Background())
		if err != nil {
			return // listener closed
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if serve := s.openConn(newQUICCarrier(qc)); serve != nil {
				// The stream reader starts on a fresh, small stack.
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					serve()
				}()
			}
		}()
	}
}

// admitAddr counts a new connection from ip against MaxConnsPerAddr;
// release undoes it when the connection ends.
func (s *Server) admitAddr(ip string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit := s.cfg.MaxConnsPerAddr; limit > 0 && s.addrs[ip] >= limit {
		return nil, wirepb.Errorf(wirepb.Code_TOO_MANY, "%d connections from %s, limit %d", s.addrs[ip], ip, limit)
	}
	s.addrs[ip]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.addrs[ip]--; s.addrs[ip] <= 0 {
			delete(s.addrs, ip)
		}
	}, nil
}

// add registers an authenticated connection; false while draining.
func (s *Server) add(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		return false
	}
	s.conns[c] = struct{}{}
	u := s.users[c.id.User]
	if u == nil {
		u = &userLimit{limiter: rate.NewLimiter(rate.Limit(s.cfg.UserRate), s.cfg.UserBurst)}
		s.users[c.id.User] = u
	}
	u.conns++
	c.userLimiter = u.limiter
	metricConns.Inc()
	return true
}

func (s *Server) remove(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if u := s.users[c.id.User]; u != nil {
		if u.conns--; u.conns == 0 {
			delete(s.users, c.id.User)
		}
	}
	metricConns.Dec()
}

// Connections is the number of authenticated connections open.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Draining reports whether Drain began: the node takes no new connections.
func (s *Server) Draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.draining
}

// Drain stops accepting connections, tells every client to reconnect
// (elsewhere: reconnectTo, when not empty) and waits for them to leave,
// until ctx ends or cfg.DrainGrace passes; then closes what is left.
func (s *Server) Drain(ctx context.Context, reconnectTo string) {
	s.mu.Lock()
	s.draining = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.closeListeners()
	s.log.Info("draining", "connections", len(conns))
	within := uint32(min(s.cfg.DrainGrace, 10*time.Second) / time.Millisecond / 2)
	for _, c := range conns {
		c.goAway(reconnectTo, within)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.DrainGrace)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for s.Connections() > 0 {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			left := make([]*conn, 0, len(s.conns))
			for c := range s.conns {
				left = append(left, c)
			}
			s.mu.Unlock()
			closeAll(left, wirepb.Errorf(wirepb.Code_GOING_AWAY, "server drained"))
			return
		case <-tick.C:
		}
	}
}

// closeAll ends the connections together: each waits up to CloseLinger
// for its client to read the Error frame, so one after the other would
// take that long per connection.
func closeAll(conns []*conn, err error) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() { c.close(err) })
	}
	wg.Wait()
}

// closeListeners stops accepting on every socket.
func (s *Server) closeListeners() {
	for _, sock := range s.socks {
		_ = sock.ln.Close()
	}
}

// Close closes every connection and the listener, and waits for the
// connection handlers to finish their cleanup.
func (s *Server) Close() error {
	s.closing.Do(func() {
		s.mu.Lock()
		s.draining = true
		conns := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.mu.Unlock()
		s.closeListeners()
		closeAll(conns, wirepb.Errorf(wirepb.Code_GOING_AWAY, "server closing"))
		// Give the handlers a moment to send their close frames, then cut
		// whatever is still handshaking or saying hello.
		waited := make(chan struct{})
		go func() { s.wg.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(time.Second):
		}
		for _, sock := range s.socks {
			_ = sock.tr.Close()
			// quic-go closes only a socket it created itself: free the
			// port, so a node can listen on it again in the same process
			// (a cluster member restarted in process).
			_ = sock.udp.Close()
		}
		<-waited
		if s.lazy != nil {
			s.lazy.close()
		}
		close(s.done)
	})
	return nil
}
