// Package client is the Go SDK of Switchboard's client protocol
// (docs/PROTOCOL.md): it connects over QUIC, reconnects with jittered
// backoff and resyncs from the device cursor, queues sends with
// client_msg_id so a retried send is stored once, and keeps a local,
// deduplicated, seq-ordered list of the newest messages (KeepMessages) per
// conversation.
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Config configures a Client. Zero fields take the defaults given.
type Config struct {
	// Addr is the server's UDP address, host:port.
	Addr string
	// WebSocketURL, when set, connects over WebSocket instead of QUIC
	// (ws://HOST/ws or wss://HOST/ws, a node's --web; docs/PROTOCOL.md
	// §12): for networks that block UDP. Addr and Transport are then not
	// used, nor is a GoAway's reconnect_to (a QUIC address); KeepAlive and
	// IdleTimeout set TCP's keep-alive (probes after KeepAlive idle, the
	// connection ends when the server stays silent through IdleTimeout).
	WebSocketURL string
	// TLS must trust the server's certificate (RootCAs); TLS 1.3 and the
	// ALPN are set by the client.
	TLS *tls.Config
	// Token is the JWT to connect with; TokenSource, when set, is asked
	// for a fresh one at every connect instead.
	Token       string
	TokenSource func(ctx context.Context) (string, error)
	// Device names this install when the token names none: an identity
	// provider's ID token (docs/PROTOCOL.md §8). Keep it for the install's
	// life (its sync cursor and pushes are the device's); a token's dev
	// claim wins over it.
	Device string

	// DialTimeout bounds one connect attempt (default 10 s; Dial tries an
	// attempt that timed out once more). KeepAlive (15 s) and
	// IdleTimeout (60 s) tune QUIC for mobile networks (and TCP's
	// keep-alive over WebSocket).
	DialTimeout time.Duration
	KeepAlive   time.Duration
	IdleTimeout time.Duration
	// RequestTimeout bounds a request when its context has no deadline
	// (default 15 s).
	RequestTimeout time.Duration
	// PathCheckAfter: while requests wait and the server has sent nothing
	// for this long, the client sends a padded ping, so that a server
	// that no longer knows the connection (the node died and a load
	// balancer moved the path) resets it at once (default 1 s; negative:
	// off). See pathcheck.go.
	PathCheckAfter time.Duration
	// MinBackoff and MaxBackoff bound the jittered reconnect delay
	// (default 200 ms and 15 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// SendTimeout: a queued send not acknowledged by then fails (default 2 min).
	SendTimeout time.Duration
	// SendPipeline is how many sends to one conversation may be written
	// before the first is answered (default 16; 1 sends one at a time),
	// within the connection's in-flight limit. Order is kept whatever
	// the server refuses: see docs/PROTOCOL.md, "Pipelined sends".
	SendPipeline int
	// FailOnBusy makes a send the server refused with BUSY fail at once
	// (with that error) instead of being resent after the retry-after: for
	// load generators that count refusals. The sends pipelined behind it
	// come back BUSY and fail too (whatever the refusal they follow), and
	// sends made while the server's retry-after runs fail at once,
	// without being written.
	FailOnBusy bool
	// MaxBusyHold bounds the back-off a BUSY answer puts on all of the
	// client's sends (default 5 s): after the server answers any request
	// BUSY with a retry-after, sends are not written until it has passed
	// (they wait; with FailOnBusy they fail at once with ErrHeldBusy), or
	// until MaxBusyHold has if that is sooner. Negative: no client-wide
	// hold (only the refused send waits, as it always does).
	MaxBusyHold time.Duration
	// MaxFrame bounds the frames sent (default: the server's, which its
	// Welcome tells; set, the smaller of the two). Frames received may be
	// as large as the server's, up to wirepb.MaxMaxFrame.
	MaxFrame int
	// FetchLimit caps the messages pulled per conversation to close a gap
	// on resync (default 1000); older ones are left for History.
	FetchLimit int
	// KeepMessages is how many messages the client holds per conversation
	// (Messages; default 1000; negative: all of them). Past it the oldest
	// are let go, with their edits and reactions: History fetches them
	// again, and returns them without holding them. While a gap is being
	// fetched its conversation may hold up to twice as many; a hole older
	// than that is left for History.
	KeepMessages int
	// ManualAck stops the client from acknowledging pushes and syncs: the
	// device cursor stays where it is (tools that only look).
	ManualAck bool
	// AckDelay is how long acknowledgements wait for a request to ride
	// along with (one stream write, one packet: a chat's acks go with
	// its replies) before they are sent on their own (default 200 ms).
	// The senders' delivered marks wait as long, at most.
	AckDelay time.Duration
	// EventBuffer is the Events channel's capacity (default 1024).
	EventBuffer int
	// OnEvent, when set, is called with every event instead of sending it
	// on Events (which then stays empty): nothing is dropped, at the price
	// of running on the client's own goroutines, so it must return quickly.
	// Load generators and tests that must see every message use it.
	OnEvent func(Event)
	// Protocols are the protocol versions (ALPN) offered, preferred first
	// (default wirepb.ALPNs(): switchboard/3, then /2 for older servers).
	// On switchboard/3 Typing travels in band, on /2 as a datagram.
	Protocols []string
	// Transport, when set, is the QUIC transport (one UDP socket) to dial
	// from; many clients may share one. By default every connection opens
	// its own socket. The caller closes it after the clients.
	Transport *quic.Transport
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if c.Addr == "" && c.WebSocketURL == "" {
		return errors.New("client: no server address")
	}
	if c.TLS == nil {
		return errors.New("client: no TLS configuration")
	}
	if c.Token == "" && c.TokenSource == nil {
		return errors.New("client: no token")
	}
	set := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&c.DialTimeout, 10*time.Second)
	set(&c.KeepAlive, 15*time.Second)
	set(&c.IdleTimeout, 60*time.Second)
	set(&c.RequestTimeout, 15*time.Second)
	if c.KeepMessages == 0 {
		c.KeepMessages = 1000
	}
	if c.PathCheckAfter == 0 {
		c.PathCheckAfter = time.Second
	}
	set(&c.MinBackoff, 200*time.Millisecond)
	set(&c.MaxBackoff, 15*time.Second)
	set(&c.SendTimeout, 2*time.Minute)
	set(&c.AckDelay, 200*time.Millisecond)
	if c.SendPipeline <= 0 {
		c.SendPipeline = DefaultSendPipeline
	}
	if c.MaxBusyHold == 0 {
		c.MaxBusyHold = defaultMaxBusyHold
	}
	if c.MaxFrame < 0 {
		c.MaxFrame = 0
	}
	if c.FetchLimit <= 0 {
		c.FetchLimit = 1000
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 1024
	}
	if c.OnEvent != nil {
		c.EventBuffer = 0 // Events is unused: no buffer to allocate per client
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// DefaultSendPipeline is Config.SendPipeline's default.
const DefaultSendPipeline = 16

// Client is a connection to Switchboard that survives network changes.
type Client struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	store  *store
	events chan Event

	mu      sync.Mutex
	cur     *conn
	changed chan struct{} // closed when cur changes
	welcome *wirepb.Welcome
	fatal   error

	// calls: the calls this device is in, each kept alive (calls.go)
	callsMu sync.Mutex
	calls   map[string]*keptCall

	outMu  sync.Mutex
	outbox map[string]*convQueue

	ackMu        sync.Mutex
	ackSeqs      []uint64
	ackSync      uint64
	ackWake      chan struct{}
	dropped      atomic.Int64
	busy         atomic.Int64 // BUSY refusals of sends
	hold         busyHold     // no sends until the server's retry-after (busy.go)
	wg           sync.WaitGroup
	closeOnce    sync.Once
	ready        chan struct{} // closed after the first sync is applied
	readyOnce    sync.Once
	user, dev    string
	addrOverride string
}

// Dial connects (the first connect must succeed, so a bad token or address
// is reported here) and keeps the client connected until Close.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, log: cfg.Logger.With("component", "switchboard-client"), store: newStore(cfg.KeepMessages),
		events: make(chan Event, cfg.EventBuffer), changed: make(chan struct{}), outbox: map[string]*convQueue{},
		ackWake: make(chan struct{}, 1), ready: make(chan struct{}), hold: busyHold{max: cfg.MaxBusyHold}}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	cn, err := c.firstConnect(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.user, c.dev = cn.welcome.User, cn.welcome.Device
	c.store.setUser(c.user)
	c.wg.Add(1)
	go c.run(cn)
	select {
	case <-c.ready:
	case <-ctx.Done():
		_ = c.Close()
		return nil, ctx.Err()
	}
	return c, nil
}

// User and Device are who the token named.
func (c *Client) User() string   { return c.user }
func (c *Client) Device() string { return c.dev }

// Events delivers what happens. It is never closed; read it or not.
func (c *Client) Events() <-chan Event { return c.events }

// BusyRefusals counts sends refused with BUSY: by the server (and then
// retried after its retry-after, unless FailOnBusy), or with FailOnBusy by
// the client itself while that retry-after runs (ErrHeldBusy).
func (c *Client) BusyRefusals() int64 { return c.busy.Load() }

// DroppedEvents counts events dropped because Events was full.
func (c *Client) DroppedEvents() int64 { return c.dropped.Load() }

// Welcome is the last Welcome received (the cursor and sync at connect).
func (c *Client) Welcome() *wirepb.Welcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.welcome
}

// Err is the error that stopped the client, if any.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

// Close disconnects and stops; queued sends fail.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.mu.Lock()
		cn := c.cur
		c.mu.Unlock()
		if cn != nil {
			cn.close()
		}
		c.wg.Wait()
	})
	return nil
}

func (c *Client) token(ctx context.Context) (string, error) {
	if c.cfg.TokenSource != nil {
		return c.cfg.TokenSource(ctx)
	}
	return c.cfg.Token, nil
}

func (c *Client) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
	defer cancel()
	tok, err := c.token(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	cfg := c.cfg
	c.mu.Lock()
	if c.addrOverride != "" {
		cfg.Addr = c.addrOverride
	}
	c.mu.Unlock()
	return dial(ctx, &cfg, tok)
}

// firstConnect connects, retrying with jittered exponential backoff while
// the server refuses for now (a reconnect storm: QUIC CONNECTION_REFUSED,
// BUSY, GOING_AWAY, UNAVAILABLE) until ctx ends. An attempt that timed out
// is tried again timedOutRetries times: QUIC doubles its handshake timer
// at every loss (1, 2, 4, 8 s…), so a few lost datagrams can use up
// DialTimeout on one attempt where a fresh one starts with a fresh timer.
// Any other failure (a bad token or address) is returned at once.
func (c *Client) firstConnect(ctx context.Context) (*conn, error) {
	b := newBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff)
	timeouts := 0
	for {
		cn, err := c.connect(ctx)
		if err == nil {
			return cn, nil
		}
		switch {
		case Refused(err):
		case timedOut(err) && ctx.Err() == nil && timeouts < timedOutRetries:
			timeouts++
		default:
			return nil, err
		}
		wait := b.next()
		var we *wirepb.Error
		if errors.As(err, &we) && we.RetryAfterMs > 0 {
			wait = max(wait, time.Duration(we.RetryAfterMs)*time.Millisecond)
		}
		c.log.Debug("connect refused; retrying", "err", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last attempt: %v)", ctx.Err(), err)
		}
	}
}

// timedOutRetries is how many more attempts a first connect gets after
// attempts that timed out.
const timedOutRetries = 1

// timedOut reports whether a connect attempt ran out of time, or was
// dropped by the node, rather than answered: the handshake, the Welcome
// that did not come before the stream's deadline (a busy node), the
// node's own hello timeout (TIMEOUT: the hello did not reach it in time),
// or a stateless reset of the fresh connection (the node no longer had
// it: it closed it so, and the close was lost).
func timedOut(err error) bool {
	var he *quic.HandshakeTimeoutError
	var ie *quic.IdleTimeoutError
	var re *quic.StatelessResetError
	var we *wirepb.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.As(err, &he) || errors.As(err, &ie) || errors.As(err, &re) ||
		errors.As(err, &we) && we.Code == wirepb.Code_TIMEOUT
}

// Refused reports whether a connect failed because the server turned it
// away for now (retry later, with backoff), not because it is wrong.
func Refused(err error) bool {
	var te *quic.TransportError
	if errors.As(err, &te) && te.ErrorCode == quic.ConnectionRefused {
		return true
	}
	var we *wirepb.Error
	if errors.As(err, &we) {
		switch we.Code {
		case wirepb.Code_BUSY, wirepb.Code_GOING_AWAY, wirepb.Code_UNAVAILABLE:
			return true
		}
	}
	return false
}

func (c *Client) setConn(cn *conn) {
	c.mu.Lock()
	c.cur = cn
	if cn != nil {
		c.welcome = cn.welcome
	}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

// ConnStats returns the QUIC statistics (bytes, packets, RTT) of the
// current connection; false while disconnected or on WebSocket.
func (c *Client) ConnStats() (quic.ConnectionStats, bool) {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn == nil {
		return quic.ConnectionStats{}, false
	}
	return cn.lk.stats()
}

// Connected reports whether a connection is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// waitConn returns the current connection, waiting for one.
func (c *Client) waitConn(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, ch, fatal := c.cur, c.changed, c.fatal
		c.mu.Unlock()
		if cn != nil {
			return cn, nil
		}
		if fatal != nil {
			return nil, fatal
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// ErrClosed: the client was closed.
var ErrClosed = errors.New("switchboard: client closed")

// do runs one request on the current connection (waiting for one). A
// send waits first for the back-off of an earlier BUSY (busy.go).
func (c *Client) do(ctx context.Context, req *wirepb.Request) (*wirepb.Response, error) {
	if req.GetSend() != nil {
		if err := c.hold.wait(ctx, c.ctx.Done(), c.cfg.FailOnBusy); err != nil {
			return nil, err
		}
	}
	cn, err := c.waitConn(ctx)
	if err != nil {
		return nil, err
	}
	// One request never waits longer than RequestTimeout, whatever the
	// caller's deadline: a connection that stopped answering is found out
	// (and probed, by senders) instead of waited on.
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	res, err := cn.request(rctx, req)
	c.hold.note(err)
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: no answer within %s", ErrDisconnected, c.cfg.RequestTimeout)
		go c.probe(c.ctx)
	}
	return res, err
}

// run keeps the client connected: serve a connection until it ends, then
// reconnect after a jittered, growing delay.
func (c *Client) run(cn *conn) {
	defer c.wg.Done()
	b := newBackoff(c.cfg.MinBackoff, c.cfg.MaxBackoff)
	for {
		var wait time.Duration
		if cn != nil {
			b.reset()
			wait = c.serve(cn)
			if err := cn.readErr(); wirepb.CodeOf(err) == wirepb.Code_REPLACED {
				// The device connected again elsewhere (another app with
				// this device id): reconnecting would take it back, and
				// the other would do the same.
				c.stop(err)
				return
			}
		}
		if c.ctx.Err() != nil {
			return
		}
		if wait == 0 {
			wait = b.next()
		}
		select {
		case <-time.After(wait):
		case <-c.ctx.Done():
			return
		}
		var err error
		cn, err = c.connect(c.ctx)
		if err != nil {
			c.log.Debug("reconnect failed", "err", err)
			code := wirepb.CodeOf(err)
			// A suspended user stays suspended whatever the token: the
			// operator lifts it, and the app makes a new client then.
			refusedForGood := code == wirepb.Code_SUSPENDED ||
				(code == wirepb.Code_UNAUTHENTICATED || code == wirepb.Code_TOKEN_EXPIRED) && c.cfg.TokenSource == nil
			if refusedForGood {
				c.stop(err)
				return
			}
		}
	}
}

// stop ends the reconnecting for good with err (Err): requests waiting
// for a connection fail with it.
func (c *Client) stop(err error) {
	c.mu.Lock()
	c.fatal = err
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.emit(Event{Kind: EventError, Err: err})
}

// serve runs one connection until it ends; it returns how long to wait
// before reconnecting when the server said (GoAway), else 0.
func (c *Client) serve(cn *conn) time.Duration {
	ctx, cancel := context.WithCancel(cn.lk.Context())
	defer cancel()
	var wg sync.WaitGroup
	var goAway atomic.Int64
	goAway.Store(-1)
	start := func(f func()) {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	if !c.cfg.ManualAck {
		cn.rider = ackRider{c} // before any goroutine may write a request
	}
	start(func() { c.readStream(ctx, cn, &goAway) })
	start(func() { c.readDatagrams(ctx, cn) })
	if !c.cfg.ManualAck {
		start(func() { c.ackLoop(ctx, cn) })
	}
	c.setConn(cn)
	if err := c.resync(ctx, cn, cn.welcome.Sync); err != nil && ctx.Err() == nil {
		c.log.Debug("resync after connect failed", "err", err)
	}
	c.readyOnce.Do(func() { close(c.ready) })
	c.recheckCalls()
	c.emit(Event{Kind: EventConnected})
	select {
	case <-ctx.Done():
	case <-c.ctx.Done():
		cn.close()
	}
	c.setConn(nil)
	cancel()
	wg.Wait()
	c.emit(Event{Kind: EventDisconnected, Err: context.Cause(cn.lk.Context())})
	if w := goAway.Load(); w >= 0 {
		return time.Duration(w) + time.Millisecond
	}
	return 0
}

// backoff is exponential with full jitter.
type backoff struct{ min, max, cur time.Duration }

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi, cur: lo} }

func (b *backoff) reset() { b.cur = b.min }

func (b *backoff) next() time.Duration {
	d := b.cur/2 + rand.N(b.cur/2+1)
	b.cur = min(b.cur*2, b.max)
	return d
}

// Reconnect drops the current connection; the client reconnects at once
// and resyncs. Call it when the device's network changed.
func (c *Client) Reconnect() {
	c.mu.Lock()
	cn := c.cur
	c.mu.Unlock()
	if cn != nil {
		cn.close()
	}
}
