package transport

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Stream is one ordered, reliable, bidirectional byte stream carrying a
// whole client connection: a WebSocket (its binary messages concatenated)
// or a WebTransport bidirectional stream (package transport/web). Frames
// on it are the §2 frames of docs/PROTOCOL.md holding ClientFrame and
// ServerFrame envelopes.
type Stream interface {
	io.Reader
	io.Writer
	// SetWriteDeadline bounds blocked writes (a client that stopped
	// reading). No read deadline is used: an expired one ends a WebSocket.
	SetWriteDeadline(t time.Time) error
	// Close ends the stream and its connection, telling the peer code and
	// reason where the transport can carry them.
	Close(code wirepb.Code, reason string) error
	// RemoteAddr is the peer, for the per-address connection cap.
	RemoteAddr() net.Addr
}

// link is what a one-stream connection changes in conn: where control
// frames and signals go, and how the connection ends.
type link interface {
	writeControl(m *wirepb.ServerControl, d time.Duration) error
	signal(s *wirepb.Signal)
	closeWith(e *wirepb.Error)
}

// outFrame is a frame for the stream's writer; done (when set) is closed
// once it was written or could not be.
type outFrame struct {
	f    *wirepb.ServerFrame
	done chan error
}

// streamConn is a conn whose frames all travel on one Stream: the same
// session, push queue, cursor rules, rate limits and request dispatch as a
// QUIC connection (conn.go, handlers.go), with one reader and one writer.
type streamConn struct {
	*conn
	st     Stream
	r      wirepb.ByteReader
	cancel context.CancelFunc
	out    chan outFrame
	// sem bounds the requests being answered at once (Config.MaxStreams),
	// as the QUIC stream limit does for QUIC connections.
	sem chan struct{}
}

// ErrServerClosed is returned by ServeStream once the server drains or is closed.
var ErrServerClosed = errors.New("transport: server closed")

// ServeStream serves one client connection carried by st until it ends or
// ctx is cancelled, and closes st. It blocks.
func (s *Server) ServeStream(ctx context.Context, st Stream) error {
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		_ = st.Close(wirepb.Code_GOING_AWAY, "server draining")
		return ErrServerClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc := &streamConn{st: st, r: wirepb.NewReader(st), cancel: cancel,
		out: make(chan outFrame, 2*s.cfg.MaxStreams+16), sem: make(chan struct{}, s.cfg.MaxStreams)}
	c := &conn{s: s, ctx: ctx, log: s.log.With("remote", st.RemoteAddr().String(), "transport", "stream"),
		q:          newPushQueue(1, s.cfg.PushQueue, s.cfg.PendingAcks),
		limiter:    rate.NewLimiter(rate.Limit(s.cfg.ConnRate), s.cfg.ConnBurst),
		sigLimiter: rate.NewLimiter(rate.Limit(s.cfg.SignalRate), 2*int(s.cfg.SignalRate)),
		link:       sc}
	sc.conn = c
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		sc.writer()
	}()
	defer func() {
		cancel()
		<-writerDone
		_ = st.Close(wirepb.Code_OK, "")
	}()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("connection handler panicked", "panic", r)
			c.close(wirepb.Errorf(wirepb.Code_INTERNAL, "internal error"))
		}
	}()

	ip := st.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	release, err := s.admitAddr(ip)
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.close(err)
		return err
	}
	defer release()
	id, err := sc.hello()
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.log.Debug("connect refused", "err", err)
		c.close(err)
		return err
	}
	c.id = id
	c.log = c.log.With("user", id.User, "device", id.Device)
	if !s.add(c) {
		metricConnsTotal.WithLabelValues(wirepb.Code_GOING_AWAY.String()).Inc()
		err := wirepb.Errorf(wirepb.Code_GOING_AWAY, "server draining")
		c.close(err)
		return err
	}
	defer s.remove(c)
	defer c.cleanup()
	if err := c.start(); err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.log.Warn("connect failed", "err", err)
		c.close(err)
		return err
	}
	metricConnsTotal.WithLabelValues("ok").Inc()
	c.log.Debug("connected")
	go c.writeResyncs()
	expiry := time.AfterFunc(time.Until(c.id.Expires), func() {
		c.close(wirepb.Errorf(wirepb.Code_TOKEN_EXPIRED, "token expired"))
	})
	defer expiry.Stop()
	sc.read()
	return nil
}

// hello reads the first frame, which must hold Hello, within HelloTimeout
// (past it the connection is closed with TIMEOUT, which ends the read).
func (sc *streamConn) hello() (Identity, error) {
	cfg := sc.s.cfg
	late := time.AfterFunc(cfg.HelloTimeout, func() {
		sc.close(wirepb.Errorf(wirepb.Code_TIMEOUT, "no hello within %s", cfg.HelloTimeout))
	})
	b, err := wirepb.ReadFrame(sc.r, cfg.MaxFrame)
	if !late.Stop() {
		return Identity{}, wirepb.Errorf(wirepb.Code_TIMEOUT, "no hello within %s", cfg.HelloTimeout)
	}
	if err != nil {
		return Identity{}, frameError(err, "hello")
	}
	metricFrames.WithLabelValues("in", "control").Inc()
	f, err := decodeClientFrame(b)
	if err != nil {
		return Identity{}, err
	}
	h := f.GetHello()
	if h == nil {
		return Identity{}, wirepb.Errorf(wirepb.Code_PROTOCOL, "the first frame must be hello")
	}
	if h.Token == "" {
		return Identity{}, wirepb.Errorf(wirepb.Code_UNAUTHENTICATED, "no token in hello")
	}
	return cfg.Auth.Verify(h.Token)
}

// decodeClientFrame decodes one client frame of a one-stream connection:
// the envelope, and the request or signal in it validated as on QUIC. The
// fuzz target FuzzClientFrame covers it.
func decodeClientFrame(b []byte) (*wirepb.ClientFrame, error) {
	var f wirepb.ClientFrame
	if err := wirepb.Unmarshal(b, &f); err != nil {
		return nil, wirepb.Errorf(wirepb.Code_BAD_FRAME, "%v", err)
	}
	switch m := f.Msg.(type) {
	case *wirepb.ClientFrame_Hello:
	case *wirepb.ClientFrame_Request:
		if m.Request == nil {
			return &f, wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "empty request")
		}
		return &f, validateRequest(m.Request)
	case *wirepb.ClientFrame_Signal:
		s := m.Signal
		if s.GetKind() != wirepb.Signal_TYPING && s.GetKind() != wirepb.Signal_STOP_TYPING {
			return nil, wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "signal kind %d not accepted from clients", s.GetKind())
		}
		if err := checkConv(s.GetConv()); err != nil {
			return nil, err
		}
	default:
		return nil, wirepb.Errorf(wirepb.Code_UNKNOWN_TYPE, "client frame of no known kind")
	}
	return &f, nil
}

// read handles the client's frames until the stream ends. A frame that
// does not decode ends the connection (BAD_FRAME): on one stream there is
// no way to skip it.
func (sc *streamConn) read() {
	cfg := sc.s.cfg
	for {
		b, err := wirepb.ReadFrame(sc.r, cfg.MaxFrame)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			if e := frameError(err, "stream"); wirepb.CodeOf(e) != wirepb.Code_INTERNAL {
				sc.close(e)
			}
			return
		}
		f, err := decodeClientFrame(b)
		switch {
		case f == nil:
			metricErrors.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
			if wirepb.CodeOf(err) == wirepb.Code_BAD_FRAME {
				sc.close(err)
				return
			}
			continue // an unknown frame kind or a bad signal: dropped like a bad datagram
		case f.GetHello() != nil:
			sc.close(wirepb.Errorf(wirepb.Code_PROTOCOL, "hello after hello"))
			return
		case f.GetSignal() != nil:
			metricFrames.WithLabelValues("in", "datagram").Inc()
			if !sc.sigLimiter.Allow() {
				metricErrors.WithLabelValues(wirepb.Code_RATE_LIMITED.String()).Inc()
				continue
			}
			sc.sess.Typing(f.GetSignal().Conv, f.GetSignal().Kind == wirepb.Signal_STOP_TYPING)
			continue
		}
		metricFrames.WithLabelValues("in", "request").Inc()
		req := f.GetRequest()
		if req == nil {
			continue
		}
		select {
		case sc.sem <- struct{}{}:
		case <-sc.ctx.Done():
			return
		}
		sc.requests.Add(1)
		go func() {
			defer sc.requests.Done()
			defer func() { <-sc.sem }()
			sc.serve(req, err)
		}()
	}
}

// serve answers one request (invalid: its validation error) with a
// Response frame carrying its id.
func (sc *streamConn) serve(req *wirepb.Request, invalid error) {
	start := time.Now()
	op, code := opName(req), wirepb.Code_OK
	defer func() {
		if r := recover(); r != nil {
			sc.log.Error("request handler panicked", "op", op, "panic", r)
			code = wirepb.Code_INTERNAL
			sc.respond(&wirepb.Response{Id: req.Id, Error: wirepb.Errorf(code, "internal error")})
		}
		metricRequests.WithLabelValues(op, code.String()).Observe(time.Since(start).Seconds())
		if code != wirepb.Code_OK {
			metricErrors.WithLabelValues(code.String()).Inc()
		}
	}()
	err := invalid
	if err == nil {
		err = sc.admit()
	}
	var res *wirepb.Response
	if err != nil {
		res = &wirepb.Response{Error: wireErr(err)}
	} else {
		ctx, cancel := context.WithTimeout(sc.ctx, sc.s.cfg.RequestTimeout)
		res = sc.dispatch(ctx, req)
		cancel()
	}
	res.Id = req.Id
	code = res.GetError().GetCode()
	sc.respond(res)
}

func (sc *streamConn) respond(res *wirepb.Response) {
	f := &wirepb.ServerFrame{Msg: &wirepb.ServerFrame_Response{Response: res}}
	if proto.Size(f) > sc.s.cfg.MaxFrame {
		// Handlers fit their answers to the frame; this is a bug.
		sc.log.Error("response larger than the maximum frame", "id", res.Id)
		f.Msg = &wirepb.ServerFrame_Response{Response: &wirepb.Response{Id: res.Id, Error: wirepb.Errorf(wirepb.Code_TOO_LARGE, "answer too large")}}
	}
	// The semaphore bounds the answers in flight below the queue's room,
	// so this waits only for a writer that is already failing.
	select {
	case sc.out <- outFrame{f: f}:
	case <-sc.ctx.Done():
	}
}

// writeControl queues a control frame and waits until it is written.
func (sc *streamConn) writeControl(m *wirepb.ServerControl, d time.Duration) error {
	done := make(chan error, 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case sc.out <- outFrame{f: &wirepb.ServerFrame{Msg: &wirepb.ServerFrame_Control{Control: m}}, done: done}:
	case <-t.C:
		return fmt.Errorf("control frame: %w", os.ErrDeadlineExceeded)
	case <-sc.ctx.Done():
		return sc.ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("control frame: %w", os.ErrDeadlineExceeded)
	case <-sc.ctx.Done():
		return sc.ctx.Err()
	}
}

// signal queues a signal for the client; best effort, like a datagram.
func (sc *streamConn) signal(s *wirepb.Signal) {
	select {
	case sc.out <- outFrame{f: &wirepb.ServerFrame{Msg: &wirepb.ServerFrame_Signal{Signal: s}}}:
	default:
		metricErrors.WithLabelValues(wirepb.Code_SLOW_CONSUMER.String()).Inc()
	}
}

// closeWith tells the client why (when the writer still works), then ends
// the stream.
func (sc *streamConn) closeWith(e *wirepb.Error) {
	if sc.ctx.Err() == nil {
		if sc.writeControl(&wirepb.ServerControl{Msg: &wirepb.ServerControl_Error{Error: e}}, 200*time.Millisecond) == nil {
			// Give the client a moment to read it (and to close first).
			select {
			case <-sc.ctx.Done():
			case <-time.After(closeLinger):
			}
		}
	}
	_ = sc.st.Close(e.Code, e.Message)
	sc.cancel()
}

// writer is the connection's only writer: it coalesces whatever is queued
// (answers, control frames, signals, pushes) into one flush. Pushes wait
// until Welcome is written, so Welcome is always the first frame.
func (sc *streamConn) writer() {
	cfg := sc.s.cfg
	w := bufio.NewWriterSize(writerFunc(sc.st.Write), 16<<10)
	welcomed := false
	var buf []byte
	write := func(f *wirepb.ServerFrame) error {
		b, err := proto.MarshalOptions{}.MarshalAppend(buf[:0], f)
		if err != nil {
			return err
		}
		buf = b
		if len(b) > cfg.MaxFrame {
			return fmt.Errorf("%w: %d bytes, limit %d", wirepb.ErrFrameTooLarge, len(b), cfg.MaxFrame)
		}
		var pre [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(pre[:], uint64(len(b)))
		if _, err := w.Write(pre[:n]); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	fail := func(err error) {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			go sc.close(wirepb.Errorf(wirepb.Code_SLOW_CONSUMER, "stream blocked for %s", cfg.WriteTimeout))
		} else {
			sc.cancel()
		}
	}
	for {
		var first outFrame
		select {
		case first = <-sc.out:
		case <-sc.q.wake[0]:
		case <-sc.ctx.Done():
			return
		}
		_ = sc.st.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		var dones []chan error
		var err error
		handle := func(o outFrame) {
			if o.f == nil {
				return
			}
			if err == nil {
				if err = write(o.f); errors.Is(err, wirepb.ErrFrameTooLarge) {
					sc.log.Error("frame larger than the maximum dropped", "err", err)
					err = nil
				} else if err == nil {
					kind := "request"
					switch o.f.Msg.(type) {
					case *wirepb.ServerFrame_Control:
						kind = "control"
						if o.f.GetControl().GetWelcome() != nil {
							welcomed = true
						}
					case *wirepb.ServerFrame_Signal:
						kind = "datagram"
					}
					metricFrames.WithLabelValues("out", kind).Inc()
				}
			}
			if o.done != nil {
				dones = append(dones, o.done)
			}
		}
		handle(first)
	drain:
		for err == nil {
			select {
			case o := <-sc.out:
				handle(o)
				continue
			default:
			}
			if !welcomed {
				break drain
			}
			p, ok := sc.q.pop(0)
			if !ok {
				break drain
			}
			if err = write(&wirepb.ServerFrame{Msg: &wirepb.ServerFrame_Push{Push: p}}); errors.Is(err, wirepb.ErrFrameTooLarge) {
				// Cannot happen with grain limits below MaxFrame; the
				// client learns of the message at its next sync.
				sc.log.Error("push larger than the maximum frame dropped", "inbox_seq", p.InboxSeq)
				err = nil
			} else if err == nil {
				metricFrames.WithLabelValues("out", "push").Inc()
				metricPushes.Inc()
			}
		}
		if err == nil {
			err = w.Flush()
		}
		for _, d := range dones {
			d <- err
		}
		if err != nil {
			fail(err)
			return
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
