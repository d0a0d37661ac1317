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
// stream, server signals as datagrams); the browser transports of package
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
	// SendSignal sends a Signal message (encoded) as a datagram. Carriers
	// without datagrams return ErrNoDatagrams: their signals travel in
	// ServerFrame.signal.
	SendSignal(b []byte) error
}

// SignalReceiver is a carrier whose client may send its signals as
// datagrams (raw QUIC on switchboard/2): the connection spends a goroutine
// reading them. On every other carrier clients send signals in band
// (Request.signal) and no goroutine waits for datagrams.
type SignalReceiver interface {
	ReceiveSignal(ctx context.Context) ([]byte, error)
}

// ErrNoDatagrams is a carrier's answer when it has no datagrams.
var ErrNoDatagrams = errors.New("transport: no datagrams on this carrier")

// quicCarrier is a raw QUIC connection on switchboard/3: the client sends
// signals in band; datagrams it sends anyway are not read (quic-go keeps
// at most 128 of them, then drops).
type quicCarrier struct{ qc *quic.Conn }

func (q quicCarrier) AcceptStream(ctx context.Context) (Stream, error) { return q.qc.AcceptStream(ctx) }
func (q quicCarrier) Context() context.Context                         { return q.qc.Context() }
func (q quicCarrier) RemoteAddr() net.Addr                             { return q.qc.RemoteAddr() }
func (q quicCarrier) CloseWithError(code wirepb.Code, reason string) error {
	return q.qc.CloseWithError(quic.ApplicationErrorCode(code), reason)
}
func (q quicCarrier) SendSignal(b []byte) error { return q.qc.SendDatagram(b) }

// quicCarrier2 is a raw QUIC connection on switchboard/2, whose clients
// send typing as datagrams.
type quicCarrier2 struct{ quicCarrier }

func (q quicCarrier2) ReceiveSignal(ctx context.Context) ([]byte, error) {
	return q.qc.ReceiveDatagram(ctx)
}

// newQUICCarrier picks the carrier for the protocol version the handshake
// agreed on.
func newQUICCarrier(qc *quic.Conn) Carrier {
	if qc.ConnectionState().TLS.NegotiatedProtocol == wirepb.ALPN2 {
		return quicCarrier2{quicCarrier{qc}}
	}
	return quicCarrier{qc}
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
	// The hello runs on a goroutine of its own (see openConn), the
	// connection on the caller's.
	opened := make(chan func(), 1)
	go func() { opened <- s.openConn(cr) }()
	if serve := <-opened; serve != nil {
		serve()
	}
	return nil
}

// ErrServerClosed is ServeCarrier's answer once the server drains or is
// closed.
var ErrServerClosed = errors.New("transport: server draining or closed")
