package transport

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// conn is one authenticated client connection: its one bidirectional
// stream (Hello, then pipelined requests in; Welcome, then responses,
// pushes and control frames out), its datagrams, and its session at the
// node (the conn is the session's Sink).
//
// Goroutines: the connection's own (it reads the stream; started fresh
// after the hello, see openConn), on switchboard/2 one reading datagrams,
// a writer that exists only while there is something to write, and at
// most Config.Workers request workers, which exist only while requests
// wait on the cluster. An idle connection holds one of them (two on
// switchboard/2), plus quic-go's two (its run loop and its send queue).
type conn struct {
	s    *Server
	cr   Carrier
	ctx  context.Context
	id   Identity
	sess session.Session
	q    *pushQueue
	st   Stream
	// rd buffers the stream while a frame is being read; between frames
	// (an idle connection) it is back in readers and the reader waits on
	// first, one byte, which pre then hands to the next buffer.
	rd    *bufio.Reader
	first [1]byte
	pre   prefixed

	limiter     *rate.Limiter
	userLimiter *rate.Limiter
	sigLimiter  *rate.Limiter
	rejected    atomic.Int64
	closeOnce   sync.Once

	// The outbound side: frames wait in out (responses, control) and in q
	// (pushes); one writer at a time encodes what waits into one buffer
	// and writes it with one stream write.
	outMu   sync.Mutex
	out     []proto.Message // *wirepb.Response, *Welcome, *Resync, *GoAway
	lazy    []proto.Message // frames waiting for company (lazy.go)
	lazyGen uint64          // counts the times lazy filled from empty
	lazyDue bool            // lazy waited CoalesceDelay: write it now
	ready   bool            // Welcome queued: the writer may run
	writing bool            // a writer goroutine is running
	dirty   bool            // something was queued since the writer last looked
	closed  bool            // closing: the writer writes nothing more
	writeMu sync.Mutex      // held during a stream write
	broken  bool            // a write was cut inside a frame (under writeMu)

	// Requests waiting on the cluster: at most MaxInflight unanswered, run
	// by at most Workers goroutines that exit when none wait.
	reqMu    sync.Mutex
	reqQ     []*wirepb.Request
	inflight map[uint64]inflightReq       // request id → its times
	lanes    map[string][]*wirepb.Request // conversation → sends waiting behind the one running
	refused  *refusedSends                // sends refused transiently, for the sends written behind them
	workers  int
	requests sync.WaitGroup

	expiryIdx  int         // place in Server.expiries (under its lock), -1: none
	cursorBusy atomic.Bool // a cursor store is running
	resyncDue  bool        // Resync asked before the Welcome was queued (under outMu)
}

// inflightReq is when an unanswered request arrived (its latency counts
// from there) and when it could first run: a send waiting in its lane
// behind an earlier one is not waiting for a worker, and MaxQueueWait
// bounds only the wait for a worker.
type inflightReq struct {
	arrived, runnable time.Time
}

var (
	_ session.Sink     = (*conn)(nil)
	_ session.Resyncer = (*conn)(nil)
	_ session.Ender    = (*conn)(nil)
)

// openConn admits cr's client and says hello: it reads and verifies the
// Hello, connects the session and queues the Welcome. It returns the rest
// of the connection's life (reading requests until it ends, then the
// cleanup), or nil when the connection was refused. The caller runs that
// on a fresh goroutine: the hello (grain Connect, the first sync, the
// Welcome) grows the stack of the goroutine that runs it, and the stream
// reader, which lives as long as the connection, would keep that stack.
func (s *Server) openConn(cr Carrier) (serve func()) {
	c := &conn{s: s, cr: cr, ctx: cr.Context(), expiryIdx: -1,
		q:          newPushQueue(s.cfg.PushQueue, s.cfg.PendingAcks),
		limiter:    rate.NewLimiter(rate.Limit(s.cfg.ConnRate), s.cfg.ConnBurst),
		sigLimiter: rate.NewLimiter(rate.Limit(s.cfg.SignalRate), max(1, 2*int(s.cfg.SignalRate))),
		inflight:   map[uint64]inflightReq{}, lanes: map[string][]*wirepb.Request{}, refused: newRefusedSends(s.cfg.RefusedSends)}
	var release func()
	added := false
	defer func() {
		// A bug in a handler must cost one connection, not the process.
		if r := recover(); r != nil {
			c.logger().Error("connection handler panicked", "panic", r)
			c.close(wirepb.Errorf(wirepb.Code_INTERNAL, "internal error"))
			serve = nil
		}
		if serve != nil {
			return
		}
		if added {
			c.cleanup()
			s.remove(c)
		}
		if release != nil {
			release()
		}
	}()
	ip := cr.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(ip); err == nil {
		ip = host
	}
	release, err := s.admitAddr(ip)
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.close(err)
		return nil
	}
	id, err := c.hello()
	if err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.debug("connect refused", "err", err)
		c.close(err)
		return nil
	}
	c.id = id
	if !s.add(c) {
		metricConnsTotal.WithLabelValues(wirepb.Code_GOING_AWAY.String()).Inc()
		c.close(wirepb.Errorf(wirepb.Code_GOING_AWAY, "server draining"))
		return nil
	}
	added = true
	if err := c.start(); err != nil {
		metricConnsTotal.WithLabelValues(wirepb.CodeOf(err).String()).Inc()
		c.logger().Warn("connect failed", "err", err)
		c.close(err)
		return nil
	}
	metricConnsTotal.WithLabelValues("ok").Inc()
	c.debug("connected")
	return func() {
		defer func() {
			if r := recover(); r != nil {
				c.logger().Error("connection handler panicked", "panic", r)
				c.close(wirepb.Errorf(wirepb.Code_INTERNAL, "internal error"))
			}
		}()
		defer release()
		defer s.remove(c)
		defer c.cleanup()
		c.run()
	}
}

// hello accepts the client's stream and reads and verifies its Hello.
func (c *conn) hello() (Identity, error) {
	cfg := c.s.cfg
	ctx, cancel := context.WithTimeout(c.ctx, cfg.HelloTimeout)
	defer cancel()
	st, err := c.cr.AcceptStream(ctx)
	if err != nil {
		if ctx.Err() != nil && c.ctx.Err() == nil {
			return Identity{}, wirepb.Errorf(wirepb.Code_TIMEOUT, "no stream within %s", cfg.HelloTimeout)
		}
		return Identity{}, err
	}
	c.st = st
	c.rd = readers.Get().(*bufio.Reader)
	c.rd.Reset(st)
	_ = st.SetReadDeadline(time.Now().Add(cfg.HelloTimeout))
	b, err := wirepb.ReadFrame(c.rd, cfg.MaxFrame)
	if err != nil {
		return Identity{}, frameError(err, "hello")
	}
	c.releaseReader()
	metricFrames.WithLabelValues("in", "hello").Inc()
	_ = st.SetReadDeadline(time.Time{})
	h, err := decodeHello(b)
	if err != nil {
		return Identity{}, err
	}
	return cfg.Auth.Verify(h.Token, h.Device)
}

// readBuffer is the stream reader's buffer: small, since a connection
// holds it while a frame is read; a large frame is read past it.
const readBuffer = 2048

// readers are the stream buffers of the connections reading a frame; an
// idle connection holds none (2 KiB each, with 100,000 connections 200 MiB).
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBuffer) }}

// releaseReader returns the stream buffer to readers once it holds
// nothing more (the client may have pipelined frames behind this one).
func (c *conn) releaseReader() {
	if c.rd != nil && c.rd.Buffered() == 0 {
		c.rd.Reset(nil)
		readers.Put(c.rd)
		c.rd = nil
	}
}

// prefixed reads one byte already read from the stream, then the stream.
type prefixed struct {
	b   byte
	has bool
	st  Stream
}

func (p *prefixed) Read(b []byte) (int, error) {
	if p.has && len(b) > 0 {
		b[0], p.has = p.b, false
		return 1, nil
	}
	return p.st.Read(b)
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
// user grain) and queues Welcome with the first sync page.
func (c *conn) start() error {
	cfg := c.s.cfg
	ctx, cancel := context.WithTimeout(c.ctx, cfg.RequestTimeout)
	defer cancel()
	sess, err := c.s.node.Connect(ctx, c.id.User, c.id.Device, c)
	if err != nil {
		return wireErr(err)
	}
	c.sess = sess
	if c.id.Name != nil || c.id.Picture != nil {
		if !cfg.IgnoreTokenProfile {
			c.applyTokenProfile(ctx, &pb.SetProfile{Name: c.id.Name, AvatarUrl: c.id.Picture})
		}
		c.id.Name, c.id.Picture = nil, nil // a connection keeps no more of them
	}
	sr, err := sess.Sync(ctx, sess.Cursor(), 0)
	if err != nil {
		return wireErr(err)
	}
	first := wireSync(sr)
	w := &wirepb.Welcome{User: c.id.User, Device: c.id.Device, Cursor: sess.Cursor(), Sync: first,
		MaxFrame: uint32(cfg.MaxFrame), ServerTimeMs: time.Now().UnixMilli(), Node: cfg.NodeName,
		IdleTimeoutMs: uint32(cfg.IdleTimeout / time.Millisecond), MaxInflight: uint32(cfg.MaxInflight)}
	// The client reads its Welcome before it learns MaxFrame: it fits the
	// default frame, which every client accepts. 16: the ServerFrame field
	// and length around the Welcome.
	welcomeFrame := min(cfg.MaxFrame, wirepb.DefaultMaxFrame)
	if err := fitSync(first, welcomeFrame-16-proto.Size(w)+proto.Size(first)); err != nil {
		return err
	}
	c.q.start(sess.Cursor(), first)
	// Welcome goes first: pushes queued since Connect wait behind it.
	wm := c.q.watermark()
	c.outMu.Lock()
	c.out = append(c.out, w)
	if c.resyncDue {
		c.out = append(c.out, &wirepb.Resync{Cursor: wm})
	}
	c.ready = true
	c.outMu.Unlock()
	c.kick()
	return nil
}

// applyTokenProfile sets the user's profile from their token's claims
// before the Welcome, so the client reads them as its profile from its
// first request; the node writes only when they changed. A claim it
// refuses (a picture that is no http(s) URL), or a store that fails, is
// logged, not held against the connection or the other claim.
func (c *conn) applyTokenProfile(ctx context.Context, change *pb.SetProfile) {
	_, err := c.sess.Profile(ctx, change)
	if session.CodeOf(err) == pb.Code_INVALID && change.Name != nil && change.AvatarUrl != nil {
		_, errName := c.sess.Profile(ctx, &pb.SetProfile{Name: change.Name})
		_, errPicture := c.sess.Profile(ctx, &pb.SetProfile{AvatarUrl: change.AvatarUrl})
		err = errors.Join(errName, errPicture)
	}
	if err != nil {
		c.s.log.Warn("a token's profile claims were not applied", "user", c.id.User, "err", err)
	}
}

// run reads the client's requests until the stream or connection ends.
func (c *conn) run() {
	if sr, ok := c.cr.(SignalReceiver); ok {
		go c.datagrams(sr) // switchboard/2: typing may come as datagrams
	}
	c.s.expiries.add(c)
	defer c.s.expiries.remove(c)
	for {
		b, err := c.readFrame()
		if err != nil {
			if errors.Is(err, io.EOF) {
				// The client ended its side: no more requests, but it
				// still reads answers and pushes until it closes.
				<-c.ctx.Done()
				return
			}
			if e := frameError(err, "request"); wirepb.CodeOf(e) != wirepb.Code_INTERNAL {
				// The framing is lost: nothing after this can be read.
				c.close(e)
			}
			return
		}
		framesInRequest.Inc()
		c.handle(b)
	}
}

// readFrame reads the next request frame. Waiting for a frame has no
// deadline and holds no buffer; a frame once begun must arrive within
// RequestTimeout.
func (c *conn) readFrame() ([]byte, error) {
	if c.rd == nil {
		_ = c.st.SetReadDeadline(time.Time{})
		for {
			n, err := c.st.Read(c.first[:])
			if n == 1 {
				break // an error comes again with the next read
			}
			if err != nil {
				return nil, err
			}
		}
		c.pre = prefixed{b: c.first[0], has: true, st: c.st}
		c.rd = readers.Get().(*bufio.Reader)
		c.rd.Reset(&c.pre)
	}
	_ = c.st.SetReadDeadline(time.Now().Add(c.s.cfg.RequestTimeout))
	b, err := wirepb.ReadFrame(c.rd, c.s.cfg.MaxFrame)
	if err == nil {
		c.releaseReader()
	}
	return b, err
}

// logger is the connection's logger, made when something is logged: an
// idle connection keeps none (a slog handler with attributes is ~0.5 KiB).
func (c *conn) logger() *slog.Logger {
	l := c.s.log.With("remote", c.cr.RemoteAddr().String())
	if c.id.User != "" {
		l = l.With("user", c.id.User, "device", c.id.Device)
	}
	return l
}

func (c *conn) debug(msg string, args ...any) {
	if c.s.log.Enabled(context.Background(), slog.LevelDebug) {
		c.logger().Debug(msg, args...)
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
	c.debug("disconnected")
}

// storeCursor writes the device cursor if acknowledgements moved it.
func (c *conn) storeCursor(ctx context.Context) {
	w, ok := c.q.toStore()
	if !ok {
		return
	}
	if err := c.sess.AckCursor(ctx, w); err != nil {
		c.logger().Warn("store cursor", "cursor", w, "err", err)
	}
}

// storeCursorLater stores the cursor off the reading goroutine; acks that
// arrive while a store runs are covered by the next one (one store at a
// time, each writing the latest cursor).
func (c *conn) storeCursorLater() {
	if !c.cursorBusy.CompareAndSwap(false, true) {
		return
	}
	c.requests.Add(1)
	c.s.warm.Go(func() {
		defer c.requests.Done()
		for {
			ctx, cancel := context.WithTimeout(c.ctx, c.s.cfg.RequestTimeout)
			c.storeCursor(ctx)
			cancel()
			c.cursorBusy.Store(false)
			// An ack that came during the store found it busy: go again.
			if w, stored := c.q.storedCursor(); w <= stored || !c.cursorBusy.CompareAndSwap(false, true) {
				return
			}
		}
	})
}

// close ends the connection with err's code (INTERNAL for a non-protocol
// error), telling the client with an Error frame first when it can.
func (c *conn) close(err error) {
	c.closeOnce.Do(func() {
		e := wireErr(err)
		metricErrors.WithLabelValues(e.Code.String()).Inc()
		c.outMu.Lock()
		c.closed = true
		c.outMu.Unlock()
		if c.st != nil && c.ctx.Err() == nil {
			// A writer blocked on a client that does not read gives up
			// now and leaves the stream to us.
			_ = c.st.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
			c.writeMu.Lock()
			sent := false
			if !c.broken {
				if b, err := wirepb.AppendServerFrame(nil, e, 0); err == nil {
					_ = c.st.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
					_, err = c.st.Write(b)
					sent = err == nil
				}
			}
			if sent {
				// Closing the connection at once would discard the frame
				// still in flight: end the stream and wait for the client
				// to read it and close (CloseLinger at most).
				_ = c.st.Close()
			}
			c.writeMu.Unlock()
			if sent {
				metricFrames.WithLabelValues("out", "error").Inc()
				select {
				case <-c.ctx.Done():
				case <-time.After(c.s.cfg.CloseLinger):
				}
			}
		}
		_ = c.cr.CloseWithError(e.Code, e.Message)
	})
}
