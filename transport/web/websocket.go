package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// wsCarrier is a WebSocket as a transport.Carrier: its binary messages,
// concatenated, are the connection's byte stream (a frame may span
// messages, a message may hold several frames); signals travel in band;
// the close status is 4000 + the protocol's code.
//
// Its own reader goroutine feeds Read, so that a read deadline interrupts
// only the read (websocket.NetConn closes the connection instead, and the
// connection code needs a hello or request timeout to say TIMEOUT).
type wsCarrier struct {
	c      *websocket.Conn
	remote net.Addr
	ctx    context.Context
	cancel context.CancelFunc
	st     *wsStream
	once   sync.Once
}

func newWSCarrier(c *websocket.Conn, remote net.Addr) *wsCarrier {
	ctx, cancel := context.WithCancel(context.Background())
	w := &wsCarrier{c: c, remote: remote, ctx: ctx, cancel: cancel}
	w.st = &wsStream{w: w, msgs: make(chan []byte, 1)}
	w.st.wctx, w.st.wcancel = context.WithCancelCause(ctx)
	go w.st.pump()
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
	// Close waits for the client's close frame (read by pump): not on
	// the caller's time. Cancelling first would cut the connection
	// without the status.
	go func() {
		_ = w.c.Close(status, reason)
		w.cancel()
	}()
	return nil
}

// SendSignal: WebSocket has no datagrams; signals go in band both ways.
func (w *wsCarrier) SendSignal([]byte) error { return transport.ErrNoDatagrams }

// wsStream reads messages through pump and writes each Write as one
// binary message.
type wsStream struct {
	w    *wsCarrier
	msgs chan []byte
	rerr error // why pump stopped; set before msgs is closed
	cur  []byte

	mu  sync.Mutex
	rdl time.Time
	// Writes share one context, which wtimer cancels when the write
	// deadline passes during a write: a context and a timer per write cost
	// ~2 % of a busy node's CPU. A write cut so ends the connection
	// (coder/websocket closes it), as a frame cut on a QUIC stream does.
	wdl      time.Time
	wctx     context.Context
	wcancel  context.CancelCauseFunc
	wtimer   *time.Timer
	writing  bool
	wexpired bool // the deadline passed between writes: the next one fails
}

func (s *wsStream) pump() {
	defer close(s.msgs)
	defer s.w.cancel()
	for {
		typ, b, err := s.w.c.Read(s.w.ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusGoingAway:
				s.rerr = errEOF
			default:
				s.rerr = err
			}
			return
		}
		if typ != websocket.MessageBinary {
			s.rerr = fmt.Errorf("%w: a text message", wirepb.ErrBadFrame)
			return
		}
		select {
		case s.msgs <- b:
		case <-s.w.ctx.Done():
			s.rerr = s.w.ctx.Err()
			return
		}
	}
}

func (s *wsStream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		s.mu.Lock()
		dl := s.rdl
		s.mu.Unlock()
		var expired <-chan time.Time
		if !dl.IsZero() {
			t := time.NewTimer(time.Until(dl))
			defer t.Stop()
			expired = t.C
		}
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return 0, s.rerr
			}
			s.cur = m
		case <-expired:
			return 0, os.ErrDeadlineExceeded
		}
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

func (s *wsStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	if s.wexpired {
		s.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	s.writing = true
	s.mu.Unlock()
	err := s.w.c.Write(s.wctx, websocket.MessageBinary, p)
	s.mu.Lock()
	s.writing = false
	if s.wtimer != nil {
		// Every write sets its deadline first: an idle connection keeps
		// no timer armed (each would cost the runtime's timer heap).
		s.wtimer.Stop()
	}
	s.mu.Unlock()
	if err != nil {
		if errors.Is(context.Cause(s.wctx), os.ErrDeadlineExceeded) {
			return 0, fmt.Errorf("%w: %v", os.ErrDeadlineExceeded, err)
		}
		return 0, err
	}
	return len(p), nil
}

// writeDeadlinePassed runs when wtimer fires: it cuts the write in
// progress, or fails the next one (until the deadline is set again).
func (s *wsStream) writeDeadlinePassed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wdl.IsZero() || time.Now().Before(s.wdl) {
		return // moved (a timer that fired as it was reset)
	}
	s.wexpired = true
	if s.writing {
		s.wcancel(os.ErrDeadlineExceeded)
	}
}

func (s *wsStream) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.rdl = t
	s.mu.Unlock()
	return nil
}

func (s *wsStream) SetWriteDeadline(t time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wdl, s.wexpired = t, false
	switch {
	case t.IsZero():
		if s.wtimer != nil {
			s.wtimer.Stop()
		}
	case s.wtimer == nil:
		s.wtimer = time.AfterFunc(time.Until(t), s.writeDeadlinePassed)
	default:
		s.wtimer.Reset(time.Until(t))
	}
	return nil
}

// Close: a WebSocket has no half-close; CloseWithError ends it.
func (s *wsStream) Close() error { return nil }
