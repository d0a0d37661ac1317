package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/internal/wsbytes"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// link carries one connection: a QUIC connection with its one
// bidirectional stream, or a WebSocket whose binary messages, concatenated,
// are the same byte stream of frames (docs/PROTOCOL.md §12). Everything
// above it (hello, pipelined requests, pushes, acks, resync, drain) is the
// same on both.
type link interface {
	// open returns the session stream (on QUIC, opens it).
	open(ctx context.Context) (stream, error)
	// Context ends when the link does; its cause says why.
	Context() context.Context
	// closeWith ends the link with a protocol code (Code_OK: a clean close).
	closeWith(code wirepb.Code, reason string)
	// peerError is the server's close code behind err, or behind the end
	// of the link; nil when the server did not close with one.
	peerError(err error) *wirepb.Error
	// protocol is the protocol version spoken (an ALPN of wirepb).
	protocol() string
	sendDatagram(b []byte) error
	receiveDatagram(ctx context.Context) ([]byte, error)
	stats() (quic.ConnectionStats, bool)
}

// stream is the session stream of a link.
type stream interface {
	io.Reader
	io.Writer
	SetDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// errNoDatagrams: a WebSocket has none; signals travel in band.
var errNoDatagrams = errors.New("switchboard: no datagrams on this transport")

// ---- QUIC ---------------------------------------------------------------

type quicLink struct{ qc *quic.Conn }

func dialQUIC(ctx context.Context, cfg *Config, tc *tls.Config) (link, error) {
	tc.NextProtos = cfg.Protocols
	if len(tc.NextProtos) == 0 {
		tc.NextProtos = wirepb.ALPNs()
	}
	qconf := &quic.Config{
		HandshakeIdleTimeout:  cfg.DialTimeout,
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       cfg.KeepAlive,
		MaxIncomingStreams:    -1, // servers open no streams
		MaxIncomingUniStreams: -1,
		EnableDatagrams:       true,
	}
	var qc *quic.Conn
	var err error
	if cfg.Transport != nil {
		qc, err = dialShared(ctx, cfg.Transport, cfg.Addr, tc, qconf)
	} else {
		qc, err = quic.DialAddr(ctx, cfg.Addr, tc, qconf)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Addr, err)
	}
	return quicLink{qc}, nil
}

// dialShared dials from a shared transport, naming the server as DialAddr
// would (the host of addr), so certificates check the same either way.
func dialShared(ctx context.Context, tr *quic.Transport, addr string, tc *tls.Config, qconf *quic.Config) (*quic.Conn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			tc.ServerName = host
		}
	}
	return tr.Dial(ctx, ua, tc, qconf)
}

func (l quicLink) open(ctx context.Context) (stream, error) { return l.qc.OpenStreamSync(ctx) }
func (l quicLink) Context() context.Context                 { return l.qc.Context() }

func (l quicLink) closeWith(code wirepb.Code, reason string) {
	_ = l.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

func (l quicLink) peerError(err error) *wirepb.Error {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		return &wirepb.Error{Code: wirepb.Code(ae.ErrorCode), Message: ae.ErrorMessage}
	}
	if l.qc.Context().Err() != nil {
		if cause := context.Cause(l.qc.Context()); errors.As(cause, &ae) && ae.Remote {
			return &wirepb.Error{Code: wirepb.Code(ae.ErrorCode), Message: ae.ErrorMessage}
		}
	}
	return nil
}

func (l quicLink) protocol() string { return l.qc.ConnectionState().TLS.NegotiatedProtocol }

func (l quicLink) sendDatagram(b []byte) error { return l.qc.SendDatagram(b) }

func (l quicLink) receiveDatagram(ctx context.Context) ([]byte, error) {
	return l.qc.ReceiveDatagram(ctx)
}

func (l quicLink) stats() (quic.ConnectionStats, bool) { return l.qc.ConnectionStats(), true }

// ---- WebSocket ------------------------------------------------------------

// wsLink is a WebSocket (docs/PROTOCOL.md §12): the close status is 4000 +
// the protocol's code; signals travel in band both ways.
type wsLink struct {
	c      *websocket.Conn
	tcp    net.Conn // under c: the stream's deadlines (and tests read its socket options)
	st     *wsStream
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// wsKeepAliveProbes is how many unanswered TCP keep-alive probes end a
// WebSocket's connection.
const wsKeepAliveProbes = 3

func dialWebSocket(ctx context.Context, cfg *Config, tc *tls.Config) (link, error) {
	// TCP's keep-alive stands in for QUIC's: probes start once the
	// connection has been idle for KeepAlive, and a server silent through
	// IdleTimeout ends it (the kernel's defaults take minutes), so a dead
	// path is found as soon as over QUIC. The kernel sends the probes.
	d := &net.Dialer{KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: cfg.KeepAlive,
		Interval: max((cfg.IdleTimeout-cfg.KeepAlive)/wsKeepAliveProbes, time.Second), Count: wsKeepAliveProbes}}
	var raw net.Conn
	tr := &http.Transport{TLSClientConfig: tc, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		raw = c
		return c, err
	}}
	c, _, err := websocket.Dial(ctx, cfg.WebSocketURL, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.WebSocketURL, err)
	}
	// No read limit per message: the stream hands a message's bytes to
	// the frame reader, which bounds each frame by MaxFrame, as on QUIC.
	c.SetReadLimit(-1)
	lctx, cancel := context.WithCancelCause(context.Background())
	l := &wsLink{c: c, tcp: raw, ctx: lctx, cancel: cancel}
	l.st = &wsStream{l: l, rd: wsbytes.Reader{C: c}}
	return l, nil
}

func (l *wsLink) open(context.Context) (stream, error) { return l.st, nil }
func (l *wsLink) Context() context.Context             { return l.ctx }

func (l *wsLink) closeWith(code wirepb.Code, reason string) {
	status := websocket.StatusNormalClosure
	if code != wirepb.Code_OK {
		status = websocket.StatusCode(4000 + int(code))
	}
	cause := fmt.Errorf("%w: closed by the client", net.ErrClosed)
	// Close writes the close frame and waits for the server's: not on the
	// caller's time, and not cut short by a deadline that passed (the
	// library bounds both steps itself).
	_ = l.tcp.SetDeadline(time.Time{})
	go func() {
		_ = l.c.Close(status, reason)
		l.cancel(cause)
	}()
}

func (l *wsLink) peerError(err error) *wirepb.Error {
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		if cause := context.Cause(l.ctx); cause == nil || !errors.As(cause, &ce) {
			return nil
		}
	}
	if ce.Code < 4000 {
		return nil
	}
	return &wirepb.Error{Code: wirepb.Code(ce.Code - 4000), Message: ce.Reason}
}

func (l *wsLink) protocol() string                                { return wirepb.ALPN }
func (l *wsLink) sendDatagram([]byte) error                       { return errNoDatagrams }
func (l *wsLink) receiveDatagram(context.Context) ([]byte, error) { return nil, errNoDatagrams }
func (l *wsLink) stats() (quic.ConnectionStats, bool)             { return quic.ConnectionStats{}, false }

// wsStream is the WebSocket's byte stream: the binary messages read in
// turn, each write one message. Its deadlines are the TCP connection's,
// and the library gets a context that never ends, so it arms nothing per
// read or write (coder/websocket's NetConn arms a context per call). A
// failed read or write ends the link's context (the client reads for as
// long as the link lives).
type wsStream struct {
	l  *wsLink
	rd wsbytes.Reader
}

func (s *wsStream) Read(p []byte) (int, error) {
	n, err := s.rd.Read(p)
	if err != nil {
		s.l.cancel(err)
	}
	return n, err
}

// Write: a failed write leaves the library's buffered writer failed for
// good, so it ends the connection (the reader then ends the link).
func (s *wsStream) Write(p []byte) (int, error) {
	if err := s.l.c.Write(context.Background(), websocket.MessageBinary, p); err != nil {
		s.l.cancel(err)
		_ = s.l.c.CloseNow()
		return 0, err
	}
	return len(p), nil
}

func (s *wsStream) SetDeadline(t time.Time) error      { return s.l.tcp.SetDeadline(t) }
func (s *wsStream) SetWriteDeadline(t time.Time) error { return s.l.tcp.SetWriteDeadline(t) }
