package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/internal/wsbytes"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// wsCarrier is a WebSocket as a transport.Carrier: its binary messages,
// concatenated, are the connection's byte stream (a frame may span
// messages, a message may hold several frames); signals travel in band;
// the close status is 4000 + the protocol's code.
//
// The connection's reader goroutine reads the WebSocket itself: no
// goroutine of the carrier's own waits for messages, and a message's
// bytes go from the library's buffer into the frame reader's without a
// copy of their own. Deadlines are the TCP connection's (a passed read
// deadline fails the read; the connection code then closes with TIMEOUT,
// so the library's half-read state is never read again).
type wsCarrier struct {
	c      *websocket.Conn
	nc     net.Conn // under c, for the deadlines
	remote net.Addr
	ctx    context.Context
	cancel context.CancelFunc
	st     *wsStream
	once   sync.Once
}

// Buffers the WebSocket library reads and writes through. net/http's are
// 4 KiB each and an idle connection would hold both for its life; a
// frame header is at most 14 bytes, a larger read bypasses the buffer,
// and a write larger than it costs a second write call, rare for the
// small batches of a chat connection.
const (
	wsReadBuffer  = 1 << 10
	wsWriteBuffer = 2 << 10
)

// acceptWebSocket upgrades r to a WebSocket carrier. The caller's handler
// may return at once (and should: net/http's connection state, the
// request and its buffers, then go).
func acceptWebSocket(w http.ResponseWriter, r *http.Request, opts *websocket.AcceptOptions, remote net.Addr) (*wsCarrier, error) {
	h := &leanHijack{ResponseWriter: w}
	c, err := websocket.Accept(h, r, opts)
	if err != nil {
		return nil, err
	}
	return newWSCarrier(c, h.conn, remote), nil
}

// leanHijack hands the WebSocket library buffers of wsReadBuffer and
// wsWriteBuffer bytes instead of net/http's.
type leanHijack struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *leanHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil { // the 101 is written by now; to be sure
		_ = conn.Close()
		return nil, nil, fmt.Errorf("flush the upgrade: %w", err)
	}
	// Bytes the client sent right behind its upgrade request are in
	// net/http's buffer: the new one starts with them (the library
	// takes them from the buffer, not from its reader).
	early := brw.Reader.Buffered()
	var src io.Reader = conn
	if early > 0 {
		b, _ := brw.Reader.Peek(early)
		src = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	rd := bufio.NewReaderSize(src, max(wsReadBuffer, early))
	if early > 0 {
		if _, err := rd.Peek(early); err != nil {
			_ = conn.Close()
			return nil, nil, fmt.Errorf("carry the early bytes over: %w", err)
		}
	}
	h.conn = conn
	return conn, bufio.NewReadWriter(rd, bufio.NewWriterSize(conn, wsWriteBuffer)), nil
}

func newWSCarrier(c *websocket.Conn, nc net.Conn, remote net.Addr) *wsCarrier {
	ctx, cancel := context.WithCancel(context.Background())
	w := &wsCarrier{c: c, nc: nc, remote: remote, ctx: ctx, cancel: cancel}
	w.st = &wsStream{w: w, rd: wsbytes.Reader{C: c}}
	return w
}

func (w *wsCarrier) AcceptStream(ctx context.Context) (transport.Stream, error) {
	var st transport.Stream
	w.once.Do(func() { st = w.st })
	if st != nil {
		return st, nil
	}
	select { // there is one stream only
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-w.ctx.Done():
		return nil, w.ctx.Err()
	}
}

func (w *wsCarrier) Context() context.Context { return w.ctx }
func (w *wsCarrier) RemoteAddr() net.Addr     { return w.remote }

func (w *wsCarrier) CloseWithError(code wirepb.Code, reason string) error {
	status := websocket.StatusNormalClosure
	if code != wirepb.Code_OK {
		status = websocket.StatusCode(4000 + int(code))
	}
	if len(reason) > 120 { // a close frame's reason is at most 123 bytes
		reason = reason[:120]
	}
	// Close writes the close frame and waits for the client's: not on
	// the caller's time, and not cut short by a deadline that passed (the
	// one that may be why the connection closes; the library bounds both
	// steps itself). Cancelling first would cut the connection without
	// the status.
	_ = w.nc.SetDeadline(time.Time{})
	go func() {
		_ = w.c.Close(status, reason)
		w.cancel()
	}()
	return nil
}

// SendSignal: WebSocket has no datagrams; signals go in band both ways.
func (w *wsCarrier) SendSignal([]byte) error { return transport.ErrNoDatagrams }

// wsStream reads the carrier's binary messages in turn and writes each
// Write as one binary message.
type wsStream struct {
	w *wsCarrier
	// rmu: the connection's reader and drain take turns (a message is
	// read to its end by whichever began it).
	rmu sync.Mutex
	rd  wsbytes.Reader

	// wdl is the write deadline (Unix nanoseconds, 0: none). It is the TCP
	// connection's as well: a write it cuts leaves coder/websocket's
	// buffered writer failed for good, which ends the connection, as a
	// frame cut on a QUIC stream does; one that passed before a write
	// begins fails that write without touching the connection.
	wdl atomic.Int64
}

func (s *wsStream) Read(p []byte) (int, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	n, err := s.rd.Read(p)
	if err != nil {
		return n, s.readFailed(err)
	}
	return n, nil
}

// readFailed says why a read failed: EOF when the client closed normally,
// a deadline error when one passed (the connection code closes with
// TIMEOUT); anything else ends the carrier.
func (s *wsStream) readFailed(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
	}
	s.w.cancel()
	switch websocket.CloseStatus(err) {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway:
		return errEOF
	}
	return err
}

func (s *wsStream) Write(p []byte) (int, error) {
	if dl := s.wdl.Load(); dl != 0 && time.Now().UnixNano() >= dl {
		return 0, os.ErrDeadlineExceeded
	}
	// A context that never ends: the library arms nothing for it.
	if err := s.w.c.Write(context.Background(), websocket.MessageBinary, p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
		}
		return 0, err
	}
	return len(p), nil
}

func (s *wsStream) SetReadDeadline(t time.Time) error { return s.w.nc.SetReadDeadline(t) }

func (s *wsStream) SetWriteDeadline(t time.Time) error {
	var dl int64
	if !t.IsZero() {
		dl = t.UnixNano()
	}
	s.wdl.Store(dl)
	return s.w.nc.SetWriteDeadline(t)
}

// Close: a WebSocket has no half-close. The server has said its last
// frame and waits for the client to close (CloseWithError ends it
// later): the client's close frame, or whatever it still sends, is read
// here, since the connection's reader may have stopped (a refused hello).
func (s *wsStream) Close() error {
	go s.drain()
	return nil
}

// drain reads and drops what the client still sends until it closes (or
// CloseWithError ends the connection): the end of the carrier's Context.
// A request's read deadline no longer matters.
func (s *wsStream) drain() {
	defer s.w.cancel()
	buf := make([]byte, 512)
	for {
		_ = s.w.nc.SetReadDeadline(time.Time{})
		if _, err := s.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
	}
}
