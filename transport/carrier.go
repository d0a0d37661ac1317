package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A connection is one bidirectional byte stream of frames inside a
// carrier. Raw QUIC is one carrier (the client's first bidirectional
// stream, signals as datagrams); the browser transports of package
// transport/web are others: WebTransport (a stream and datagrams of a
// session) and WebSocket (binary messages as one byte stream, signals in
// band). Every carrier runs the same connection code (conn.go): the same
// Hello, authentication, caps, rate limits, session, ordering, resync,
// drain and error codes.

// Stream is a connection's byte stream.
type Stream interface {
	io.Reader
	io.Writer
	SetReadDeadline(t time.Time) error
	SetWriteDeadline(t time.Time) error
	// Close ends the sending side (the client reads what was written).
	Close() error
}

// Carrier is what holds a connection's stream.
type Carrier interface {
	// AcceptStream waits for the client's stream.
	AcceptStream(ctx context.Context) (Stream, error)
	// Context ends when the carrier is gone.
	Context() context.Context
	// RemoteAddr is the client's address (the per-address cap counts it).
	RemoteAddr() net.Addr
	// CloseWithError ends the carrier, telling the client code where the
	// carrier can (QUIC and WebTransport: the application error code;
	// WebSocket: close status 4000 + code).
	CloseWithError(code wirepb.Code, reason string) error
	// SendSignal and ReceiveSignal carry Signal messages (encoded) as
	// datagrams. Carriers without datagrams return ErrNoDatagrams: their
	// signals travel in ServerFrame.signal and Request.signal.
	SendSignal(b []byte) error
	ReceiveSignal(ctx context.Context) ([]byte, error)
}

// ErrNoDatagrams is a carrier's answer when it has no datagrams.
var ErrNoDatagrams = errors.New("transport: no datagrams on this carrier")

// quicCarrier is a raw QUIC connection (ALPN switchboard/2).
type quicCarrier struct{ qc *quic.Conn }

func (q quicCarrier) AcceptStream(ctx context.Context) (Stream, error) { return q.qc.AcceptStream(ctx) }
func (q quicCarrier) Context() context.Context                         { return q.qc.Context() }
func (q quicCarrier) RemoteAddr() net.Addr                             { return q.qc.RemoteAddr() }
func (q quicCarrier) CloseWithError(code wirepb.Code, reason string) error {
	return q.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
}
func (q quicCarrier) SendSignal(b []byte) error { return q.qc.SendDatagram(b) }
func (q quicCarrier) ReceiveSignal(ctx context.Context) ([]byte, error) {
	return q.qc.ReceiveDatagram(ctx)
}

// ServeCarrier serves one client connection held by cr until it ends. It
// blocks; the browser transports call it from their handlers.
func (s *Server) ServeCarrier(cr Carrier) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		_ = cr.CloseWithError(wirepb.Code_GOING_AWAY, "server draining")
		return ErrServerClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	s.serveConn(cr)
	return nil
}

// ErrServerClosed is ServeCarrier's answer once the server drains or is
// closed.
var ErrServerClosed = errors.New("transport: server draining or closed")
