package transport

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// conn is one authenticated client connection: its control stream, push
// lanes, request streams and datagrams, and its session at the node (the
// conn is the session's Sink).
type conn struct {
	s    *Server
	qc   *quic.Conn
	ctx  context.Context
	log  *slog.Logger
	id   Identity
	sess session.Session
	q    *pushQueue
	ctrl *quic.Stream
	ctrR wirepb.ByteReader

	ctrlMu      sync.Mutex // serializes control stream writes
	cursorMu    sync.Mutex // serializes cursor writes
	limiter     *rate.Limiter
	userLimiter *rate.Limiter
	sigLimiter  *rate.Limiter
	rejected    atomic.Int64
	closeOnce   sync.Once
	requests    sync.WaitGroup
	// link, when set, carries the connection instead of qc: a one-stream
	// connection (stream.go) that shares this session code.
	link link
}

var _ session.Sink = (*conn)(nil)

func (s *Server) serveConn(qc *quic.Conn) {
	c := &conn{s: s, qc: qc, ctx: qc.Context(), log: s.log.With("remote", qc.RemoteAddr().String()),
		q:          newPushQueue(s.cfg.PushLanes, s.cfg.PushQueue, s.cfg.PendingAcks),
		limiter:    rate.NewLimiter(rate.Limit(s.cfg.ConnRate), s.cfg.ConnBurst),
		sigLimiter: rate.NewLimiter(rate.Limit(s.cfg.SignalRate), 2*int(s.cfg.SignalRate))}
	defer func() {
		// A bug in a handler must cost one connection, not the process.
		if r := recover(); r != nil {
			c.log.Error("connection handler panicked", "panic", r)
			c.close(wirepb.Errorf(wirepb.Code_INTERNAL, "internal error"))
		}
	}()
	ip := qc.RemoteAddr().String()
	if ua, ok := qc.RemoteAddr().(*net.UDPAddr); ok {
		ip = ua.IP.String()
	}
	release, err := s.admitAddr(ip)
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.close(err)
		return
	}
	defer release()
	id, err := c.hello()
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.log.Debug("connect refused", "err", err)
		c.close(err)
		return
	}
	c.id = id
	c.log = c.log.With("user", id.User, "device", id.Device)
	if !s.add(c) {
		metricConnsTotal.WithLabelValues(wirepb.Code_GOING_AWAY.String()).Inc()
		c.close(wirepb.Errorf(wirepb.Code_GOING_AWAY, "server draining"))
		return
	}
	defer s.remove(c)
	defer c.cleanup()
	if err := c.start(); err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.log.Warn("connect failed", "err", err)
		c.close(err)
		return
	}
	metricConnsTotal.WithLabelValues("ok").Inc()
	c.log.Debug("connected")
	c.run()
}

// hello reads and verifies the control stream's Hello.
func (c *conn) hello() (Identity, error) {
	cfg := c.s.cfg
	ctx, cancel := context.WithTimeout(c.ctx, cfg.HelloTimeout)
	defer cancel()
	st, err := c.qc.AcceptStream(ctx)
	if err != nil {
		if ctx.Err() != nil && c.ctx.Err() == nil {
			return Identity{}, wirepb.Errorf(wirepb.Code_TIMEOUT, "no control stream within %s", cfg.HelloTimeout)
		}
		return Identity{}, err
	}
	c.ctrl, c.ctrR = st, wirepb.NewReader(st)
	_ = st.SetReadDeadline(time.Now().Add(cfg.HelloTimeout))
	b, err := wirepb.ReadFrame(c.ctrR, cfg.MaxFrame)
	if err != nil {
		return Identity{}, frameError(err, "hello")
	}
	metricFrames.WithLabelValues("in", "control").Inc()
	_ = st.SetReadDeadline(time.Time{})
	h, err := decodeHello(b)
	if err != nil {
		return Identity{}, err
	}
	return cfg.Auth.Verify(h.Token)
}

// frameError turns a read failure into the code the peer is told.
func frameError(err error, what string) error {
	switch {
	case errors.Is(err, wirepb.ErrFrameTooLarge):
		return wirepb.Errorf(wirepb.Code_FRAME_TOO_LARGE, "%s: %v", what, err)
	case errors.Is(err, wirepb.ErrBadFrame):
		return wirepb.Errorf(wirepb.Code_BAD_FRAME, "%s: %v", what, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return wirepb.Errorf(wirepb.Code_TIMEOUT, "%s: not received in time", what)
	case errors.Is(err, io.EOF):
		return wirepb.Errorf(wirepb.Code_PROTOCOL, "%s: stream ended before a frame", what)
	}
	return err // the stream or connection is gone: nobody to tell
}

// start connects the device's session (the node registers it with its
// user grain) and sends Welcome with the first sync page.
func (c *conn) start() error {
	cfg := c.s.cfg
	ctx, cancel := context.WithTimeout(c.ctx, cfg.RequestTimeout)
	defer cancel()
	sess, err := c.s.node.Connect(ctx, c.id.User, c.id.Device, c)
	if err != nil {
		return wireErr(err)
	}
	c.sess = sess
	sr, err := sess.Sync(ctx, sess.Cursor(), 0)
	if err != nil {
		return wireErr(err)
	}
	first := wireSync(sr)
	w := &wirepb.Welcome{User: c.id.User, Device: c.id.Device, Cursor: sess.Cursor(), Sync: first,
		MaxFrame: uint32(cfg.MaxFrame), PushLanes: uint32(len(c.q.wake)), ServerTimeMs: time.Now().UnixMilli(),
		Node: cfg.NodeName, IdleTimeoutMs: uint32(cfg.IdleTimeout / time.Millisecond)}
	msg := &wirepb.ServerControl{Msg: &wirepb.ServerControl_Welcome{Welcome: w}}
	if err := fitSync(first, cfg.MaxFrame-proto.Size(msg)+proto.Size(first)); err != nil {
		return err
	}
	c.q.start(sess.Cursor(), first)
	return c.writeControl(msg)
}

func (c *conn) run() {
	cfg := c.s.cfg
	for i := range cfg.PushLanes {
		go c.lane(i)
	}
	go c.readControl()
	go c.writeResyncs()
	go c.datagrams()
	expiry := time.AfterFunc(time.Until(c.id.Expires), func() {
		c.close(wirepb.Errorf(wirepb.Code_TOKEN_EXPIRED, "token expired"))
	})
	defer expiry.Stop()
	for {
		st, err := c.qc.AcceptStream(c.ctx)
		if err != nil {
			return
		}
		c.requests.Add(1)
		go func() {
			defer c.requests.Done()
			c.serveRequest(st)
		}()
	}
}

// cleanup runs once the connection is gone: the last cursor is stored and
// the device marked offline.
func (c *conn) cleanup() {
	c.q.close()
	c.requests.Wait()
	if c.sess != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.s.cfg.RequestTimeout)
		defer cancel()
		c.storeCursor(ctx)
		c.sess.Close()
	}
	c.log.Debug("disconnected")
}

// storeCursor writes the device cursor if acknowledgements moved it.
func (c *conn) storeCursor(ctx context.Context) {
	c.cursorMu.Lock()
	defer c.cursorMu.Unlock()
	w, ok := c.q.toStore()
	if !ok {
		return
	}
	if err := c.sess.AckCursor(ctx, w); err != nil {
		c.log.Warn("store cursor", "cursor", w, "err", err)
	}
}

// closeLinger is how long a closing connection waits, after its Error
// frame, for the client to read it before the connection is closed.
const closeLinger = 250 * time.Millisecond

// close ends the connection with err's code (INTERNAL for a non-protocol
// error), telling the client on the control stream first when it can.
func (c *conn) close(err error) {
	c.closeOnce.Do(func() {
		e := wireErr(err)
		metricErrors.WithLabelValues(e.Code.String()).Inc()
		if c.link != nil {
			c.link.closeWith(e)
			return
		}
		if c.ctrl != nil && c.ctx.Err() == nil {
			if c.writeControlTimeout(&wirepb.ServerControl{Msg: &wirepb.ServerControl_Error{Error: e}}, 200*time.Millisecond) == nil {
				// Closing the connection at once would discard the frame
				// still in flight: end the control stream and give the
				// client a moment to read it (and to close first).
				_ = c.ctrl.Close()
				select {
				case <-c.ctx.Done():
				case <-time.After(closeLinger):
				}
			}
		}
		_ = c.qc.CloseWithError(quic.ApplicationErrorCode(e.Code), e.Message)
	})
}

func (c *conn) writeControl(m *wirepb.ServerControl) error {
	return c.writeControlTimeout(m, c.s.cfg.WriteTimeout)
}

func (c *conn) writeControlTimeout(m *wirepb.ServerControl, d time.Duration) error {
	if c.link != nil {
		return c.link.writeControl(m, d)
	}
	c.ctrlMu.Lock()
	defer c.ctrlMu.Unlock()
	_ = c.ctrl.SetWriteDeadline(time.Now().Add(d))
	if err := wirepb.WriteMsg(c.ctrl, m, c.s.cfg.MaxFrame); err != nil {
		return err
	}
	metricFrames.WithLabelValues("out", "control").Inc()
	return nil
}

// readControl watches the control stream: after Hello the client may only
// close its side.
func (c *conn) readControl() {
	_, err := wirepb.ReadFrame(c.ctrR, c.s.cfg.MaxFrame)
	switch {
	case err == nil:
		c.close(wirepb.Errorf(wirepb.Code_PROTOCOL, "no frames after hello on the control stream"))
	case errors.Is(err, io.EOF):
	default:
		if e := frameError(err, "control stream"); wirepb.CodeOf(e) != wirepb.Code_INTERNAL {
			c.close(e)
		}
	}
}

// writeResyncs tells the client to resync each time its queue overflowed.
func (c *conn) writeResyncs() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.q.overflow:
			c.log.Info("push queue overflow; client told to resync")
			metricErrors.WithLabelValues(wirepb.Code_SLOW_CONSUMER.String()).Inc()
			if err := c.writeControl(&wirepb.ServerControl{Msg: &wirepb.ServerControl_Resync{Resync: &wirepb.Resync{Cursor: c.q.watermark()}}}); err != nil {
				c.close(wirepb.Errorf(wirepb.Code_SLOW_CONSUMER, "the client does not read its control stream"))
				return
			}
		}
	}
}

func (c *conn) goAway(reconnectTo string, withinMS uint32) {
	if err := c.writeControl(&wirepb.ServerControl{Msg: &wirepb.ServerControl_GoAway{GoAway: &wirepb.GoAway{
		Reason: "server draining", ReconnectTo: reconnectTo, ReconnectWithinMs: withinMS}}}); err != nil {
		c.close(wirepb.Errorf(wirepb.Code_GOING_AWAY, "server draining"))
	}
}

// lane writes the pushes of one lane to its own unidirectional stream,
// opened at the first push.
func (c *conn) lane(i int) {
	var st *quic.SendStream
	for {
		p, ok := c.q.pop(i)
		if !ok {
			select {
			case <-c.q.wake[i]:
				continue
			case <-c.ctx.Done():
				return
			}
		}
		if st == nil {
			var err error
			if st, err = c.qc.OpenUniStreamSync(c.ctx); err != nil {
				return
			}
		}
		_ = st.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		err := wirepb.WriteMsg(st, p, c.s.cfg.MaxFrame)
		switch {
		case errors.Is(err, wirepb.ErrFrameTooLarge):
			// Cannot happen with grain limits below MaxFrame; the client
			// learns of the message at its next sync.
			c.log.Error("push larger than the maximum frame dropped", "inbox_seq", p.InboxSeq)
		case errors.Is(err, os.ErrDeadlineExceeded):
			c.close(wirepb.Errorf(wirepb.Code_SLOW_CONSUMER, "push stream blocked for %s", c.s.cfg.WriteTimeout))
			return
		case err != nil:
			return
		default:
			metricFrames.WithLabelValues("out", "push").Inc()
			metricPushes.Inc()
		}
	}
}

// Push queues an event from the node for the client. It never blocks: a
// full queue makes the client resync (pushq.go).
func (c *conn) Push(p *pb.Push) {
	w, conv, ok := wirePush(p)
	if !ok {
		return
	}
	var ref *msgRef
	if m := p.GetMessage(); m != nil && m.Sender != c.id.User && m.Kind == pb.MessageKind_NORMAL && strings.HasPrefix(conv, "d:") {
		ref = &msgRef{conv: conv, sender: m.Sender, seq: m.Seq}
	}
	c.q.enqueue(w, conv, ref)
}

// Signal sends a best-effort signal to the client as a datagram.
func (c *conn) Signal(sig *pb.Signal) {
	w := &wirepb.Signal{Kind: wirepb.Signal_Kind(sig.Kind), Conv: sig.Conv, User: sig.User, Seq: sig.Seq}
	if c.link != nil {
		c.link.signal(w)
		return
	}
	b, err := proto.Marshal(w)
	if err != nil {
		return
	}
	if c.qc.SendDatagram(b) == nil {
		metricFrames.WithLabelValues("out", "datagram").Inc()
	}
}
