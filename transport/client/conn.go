package client

import (
	"bufio"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// ErrDisconnected: the connection went away before the answer came. A
// request that failed with it may or may not have taken effect; sends are
// safe to retry (the client_msg_id dedupes them).
var ErrDisconnected = errors.New("switchboard: disconnected")

// conn is one connection (a link: QUIC or WebSocket) and its session
// stream: requests go out pipelined, answers come back matched by id,
// interleaved with pushes and control frames (read by Client.readStream).
type conn struct {
	lk          link
	st          stream
	rd          wirepb.ByteReader
	welcome     *wirepb.Welcome
	maxFrame    int // the largest frame sent: ours or the server's, the smaller
	ownMaxFrame int // Config.MaxFrame: 0 follows the server
	readMax     int // the largest frame read: the server's, from Welcome (before it, the default, which a Welcome fits)
	nextID      atomic.Uint64
	slots       chan struct{} // one per request in flight, up to Welcome.max_inflight
	// datagramSignals: the server speaks switchboard/2, where typing goes
	// as a datagram; on /3 (and WebSocket) it goes in band.
	datagramSignals bool

	wmu    sync.Mutex // serializes stream writes
	broken bool       // a write stopped inside a frame (under wmu)

	mu      sync.Mutex
	pending map[uint64]chan *wirepb.Response
	// riders are requests written along with another and not waited on
	// (acks: rider); each holds an in-flight slot until answered.
	riders map[uint64]struct{}
	// rider, when set, gives requests to write in the same stream write
	// as the next one (the pending acks: push.go).
	rider   rider
	done    chan struct{} // closed when the stream can no longer be read
	doneErr error

	// The path check (pathcheck.go): lastRead is when the server last
	// sent a frame (unix nanos); while requests wait and the server stays
	// silent for checkAfter, a padded ping draws a stateless reset from a
	// server that no longer knows the connection.
	lastRead     atomic.Int64
	checkAfter   time.Duration
	check        *time.Timer // armed while requests wait (under mu)
	checkArmed   bool
	pendingSince time.Time // when pending last became non-empty (under mu)
}

// dial connects, says hello and waits for Welcome. A refusal is a
// *wirepb.Error (UNAUTHENTICATED, TOKEN_EXPIRED, GOING_AWAY, BUSY, …).
func dial(ctx context.Context, cfg *Config, token string) (*conn, error) {
	tc := cfg.TLS.Clone()
	tc.MinVersion = tls.VersionTLS13
	var lk link
	var err error
	if cfg.WebSocketURL != "" {
		lk, err = dialWebSocket(ctx, cfg, tc)
	} else {
		lk, err = dialQUIC(ctx, cfg, tc)
	}
	if err != nil {
		return nil, err
	}
	// Until Welcome tells the server's frame, the default bounds both ways
	// (a Hello is small; a Welcome fits it).
	own := cmp.Or(cfg.MaxFrame, wirepb.DefaultMaxFrame)
	c := &conn{lk: lk, maxFrame: own, readMax: max(own, wirepb.DefaultMaxFrame), ownMaxFrame: cfg.MaxFrame, pending: map[uint64]chan *wirepb.Response{},
		riders: map[uint64]struct{}{}, done: make(chan struct{}),
		datagramSignals: lk.protocol() == wirepb.ALPN2, checkAfter: cfg.PathCheckAfter}
	if err := c.hello(ctx, token, cfg.Device); err != nil {
		lk.closeWith(wirepb.Code_OK, "")
		return nil, err
	}
	return c, nil
}

func (c *conn) hello(ctx context.Context, token, device string) error {
	st, err := c.lk.open(ctx)
	if err != nil {
		return c.closedErr(err)
	}
	c.st, c.rd = st, bufio.NewReaderSize(st, 4096)
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if err := wirepb.WriteMsg(st, &wirepb.Hello{Token: token, Client: "switchboard-go/3", Device: device}, c.maxFrame); err != nil {
		return c.closedErr(err)
	}
	var sf wirepb.ServerFrame
	if err := wirepb.ReadMsg(c.rd, &sf, c.readMax); err != nil {
		return c.closedErr(err)
	}
	_ = st.SetDeadline(time.Time{})
	switch m := sf.Msg.(type) {
	case *wirepb.ServerFrame_Welcome:
		c.welcome = m.Welcome
		if f := int(m.Welcome.MaxFrame); f > 0 {
			// The server fits its answers and pushes to its own frame,
			// which may be larger than ours (a raised --max-frame).
			c.readMax = min(f, wirepb.MaxMaxFrame)
			c.maxFrame = c.readMax
			if own := c.ownMaxFrame; own > 0 {
				c.maxFrame = min(own, c.readMax)
			}
		}
		n := int(m.Welcome.MaxInflight)
		if n <= 0 {
			n = defaultMaxInflight
		}
		c.slots = make(chan struct{}, n)
		return nil
	case *wirepb.ServerFrame_Error:
		return m.Error
	}
	return wirepb.Errorf(wirepb.Code_PROTOCOL, "expected Welcome, got %T", sf.Msg)
}

// defaultMaxInflight is used when a Welcome names no limit.
const defaultMaxInflight = 16

// closedErr prefers the code the server closed the connection with.
func (c *conn) closedErr(err error) error {
	if we := c.lk.peerError(err); we != nil {
		return we
	}
	return disconnected(err)
}

// disconnected wraps why a connection ended in ErrDisconnected, keeping
// the cause inspectable: a QUIC CONNECTION_REFUSED after the handshake
// (the server's accept queue was full) is a refusal that Refused sees and
// the first connect retries.
func disconnected(err error) error {
	return fmt.Errorf("%w: %w", ErrDisconnected, err)
}

// request sends one request and waits for its answer. A rejection is a
// *wirepb.Error.
func (c *conn) request(ctx context.Context, req *wirepb.Request) (*wirepb.Response, error) {
	k, err := c.start(ctx, req)
	if err != nil {
		return nil, err
	}
	return k.wait(ctx)
}

// call is a request written to the stream and not yet answered; it holds
// one of the connection's in-flight slots until wait returns.
type call struct {
	c  *conn
	id uint64
	ch chan *wirepb.Response
}

// start writes req (once one of the in-flight slots is free) without
// waiting for the answer: requests started one after another are written
// in that order, which pipelined sends to one conversation rely on.
func (c *conn) start(ctx context.Context, req *wirepb.Request) (*call, error) {
	// Stay within the server's in-flight limit rather than be refused.
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, c.readErr()
	}
	req.Id = c.nextID.Add(1)
	b, err := wirepb.AppendMsg(nil, req, c.maxFrame)
	if err != nil {
		<-c.slots
		if errors.Is(err, wirepb.ErrFrameTooLarge) {
			return nil, wirepb.Errorf(wirepb.Code_TOO_LARGE, "%v", err)
		}
		return nil, err
	}
	k := &call{c: c, id: req.Id, ch: make(chan *wirepb.Response, 1)}
	b, ride := c.withRider(req, b)
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.pendingSince = time.Now()
	}
	c.pending[req.Id] = k.ch
	c.armCheckLocked()
	c.mu.Unlock()
	if err := c.write(ctx, b); err != nil {
		if ride != nil {
			c.answer(&wirepb.Response{Id: ride.Id}) // unsent: its slot back
			c.rider.unride(ride)
		}
		k.release()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.closedErr(err)
	}
	return k, nil
}

// rider gives a request to write along with another one (ride: nil
// when none waits), and takes back one that was not written.
type rider interface {
	ride() *wirepb.Request
	unride(*wirepb.Request)
}

// withRider puts the rider's request (the pending acks) ahead of req's
// frame b, so both leave in one stream write, and one packet, instead of
// two; it returns the request that rode, or nil when none did (none
// pending, no in-flight slot free, req is itself an ack). Its answer is
// not waited on: an ack the server does not take is repeated by the next
// sync.
func (c *conn) withRider(req *wirepb.Request, b []byte) ([]byte, *wirepb.Request) {
	if c.rider == nil || req.GetAck() != nil {
		return b, nil
	}
	select {
	case c.slots <- struct{}{}:
	default:
		return b, nil
	}
	r := c.rider.ride()
	if r == nil {
		<-c.slots
		return b, nil
	}
	r.Id = c.nextID.Add(1)
	rb, err := wirepb.AppendMsg(nil, r, c.maxFrame)
	if err != nil {
		<-c.slots
		c.rider.unride(r)
		return b, nil
	}
	c.mu.Lock()
	c.riders[r.Id] = struct{}{}
	c.mu.Unlock()
	return append(rb, b...), r
}

// wait waits for the call's answer. A rejection is a *wirepb.Error.
func (k *call) wait(ctx context.Context) (*wirepb.Response, error) {
	defer k.release()
	select {
	case res := <-k.ch:
		if res.Error != nil && res.Error.Code != wirepb.Code_OK {
			return res, res.Error
		}
		return res, nil
	case <-k.c.done:
		return nil, k.c.readErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release gives the call's slot back and stops waiting for its answer.
func (k *call) release() {
	k.c.mu.Lock()
	delete(k.c.pending, k.id)
	k.c.mu.Unlock()
	<-k.c.slots
}

// write writes one whole frame; a write cut inside it (the deadline
// passed) leaves the stream unusable, so the connection is closed.
func (c *conn) write(ctx context.Context, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.broken {
		return ErrDisconnected
	}
	dl, _ := ctx.Deadline()
	_ = c.st.SetWriteDeadline(dl)
	n, err := c.st.Write(b)
	if err != nil && n > 0 {
		c.broken = true
		go c.close()
	}
	return err
}

// answer hands a response to the request waiting for it; an answer
// nobody waits for (the caller gave up) is dropped.
func (c *conn) answer(res *wirepb.Response) {
	c.mu.Lock()
	ch := c.pending[res.Id]
	delete(c.pending, res.Id)
	_, rider := c.riders[res.Id]
	delete(c.riders, res.Id)
	c.mu.Unlock()
	if ch != nil {
		ch <- res
	}
	if rider {
		<-c.slots
	}
}

// ended records why the stream can no longer be read and fails the
// requests waiting.
func (c *conn) ended(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
	default:
		var we *wirepb.Error
		if errors.As(err, &we) {
			c.doneErr = we // the server's Error frame: its code
		} else {
			c.doneErr = c.closedErr(err)
		}
		close(c.done)
	}
}

func (c *conn) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneErr
}

// signal sends a datagram (switchboard/2); best effort.
func (c *conn) signal(s *wirepb.Signal) error {
	b, err := proto.Marshal(s)
	if err != nil {
		return err
	}
	return c.lk.sendDatagram(b)
}

func (c *conn) close() { c.lk.closeWith(wirepb.Code_OK, "client closed") }
