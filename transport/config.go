package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/internal/ice"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// FrameEnvelope is the room a frame needs beside the largest payload it
// carries (a message body, a media chunk): ids, seqs, times and protobuf
// tags of the request or push around it.
const FrameEnvelope = 4 << 10

// MinMaxFrame is the smallest MaxFrame: a media chunk, whose size the
// protocol fixes, must fit one frame.
const MinMaxFrame = storage.MediaChunkBytes + FrameEnvelope

// Config configures a Server. DefaultConfig documents the defaults; zero
// fields take them.
type Config struct {
	// Addr is the UDP address to listen on (default 127.0.0.1:4433).
	Addr string
	// TLS holds the server certificate; MinVersion and NextProtos are set
	// here (TLS 1.3, ALPN switchboard/3 and switchboard/2).
	TLS *tls.Config
	// Auth verifies the connection tokens. Required.
	Auth *Authenticator
	// NodeName is told to clients in Welcome (default the actor address).
	NodeName string
	// StatelessResetKey lets a restarted server (or another node behind the
	// same address) reset connections it no longer knows at once, instead
	// of clients waiting for their idle timeout. Keep it the same across
	// restarts and on every node sharing an address; nil disables resets.
	StatelessResetKey *quic.StatelessResetKey

	// MaxFrame is the largest frame payload accepted and sent (default
	// 256 KiB; MinMaxFrame to wirepb.MaxMaxFrame). Clients learn it from
	// Welcome; the Welcome itself fits the default, which every client
	// reads.
	MaxFrame int
	// Requests bounds the fields of one request (zero fields: the
	// defaults of DefaultRequestLimits).
	Requests RequestLimits
	// ICE names the STUN and TURN servers a call's devices connect
	// through, handed to each client (with TURN credentials for its user)
	// in the answer to a call STATE. Empty: none, host candidates only.
	ICE ice.Config
	// IgnoreTokenProfile: a token's name and picture claims do not set
	// the user's profile (by default they do, at each connect).
	IgnoreTokenProfile bool
	// PushQueue bounds the pushes waiting to be written to one connection;
	// past it the queue is dropped and the client told to resync (default 1024).
	PushQueue int
	// PendingAcks bounds the pushes written but not yet acknowledged; past
	// it the same happens (default 8192).
	PendingAcks int

	// Sockets is how many UDP sockets serve the QUIC port (Linux,
	// SO_REUSEPORT; elsewhere always 1). One socket is one kernel receive
	// buffer and one reading goroutine for every client: a 10,000-member
	// group's acks overflowed it (tens of thousands of datagrams dropped per
	// run, each a retransmission later). The kernel keeps each client's
	// packets on one socket by its address; a client whose NAT rebinds may
	// land on another socket, which resets the connection, and the client
	// reconnects and resyncs: hence off by default (1); 4 suits a node
	// serving 10,000-member groups.
	Sockets int

	// KeepAlive is the server's QUIC keep-alive period; 0 (the default)
	// sends none: clients keep their NAT bindings open (every 15 s), and a
	// server pinging every idle phone would wake it (and itself) twice as
	// often for nothing. IdleTimeout closes a silent connection (default
	// 60 s). HandshakeTimeout bounds the QUIC
	// handshake, HelloTimeout the arrival of the Hello frame (10 s each).
	KeepAlive        time.Duration
	IdleTimeout      time.Duration
	HandshakeTimeout time.Duration
	HelloTimeout     time.Duration
	// RequestTimeout bounds one request: reading its frame and the
	// cluster's answer (default 10 s).
	RequestTimeout time.Duration
	// WriteTimeout closes a connection whose push stream accepts nothing
	// for this long (default 30 s): a client that stopped reading.
	WriteTimeout time.Duration
	// CoalesceDelay is how long a frame no request waits on (the answer
	// to an ack, a DELIVERED signal) may wait for another frame to the
	// same connection, to leave in its packet instead of one of its own
	// (default 100 ms; negative: sent at once). It delays the senders'
	// delivered marks by as much, at most.
	CoalesceDelay time.Duration
	// CloseLinger is how long the server keeps a connection it ends open
	// after its Error frame, for the client to read the frame and close
	// (default 2 s). A client that reads it closes at once, ending the
	// wait; only a client that does not is kept for the whole linger.
	CloseLinger time.Duration
	// MaxConnsPerAddr caps the connections (handshaking or open) from one
	// source IP address; 0, the default, means no cap (carrier NAT puts
	// many phones behind one address: set it to what your clients allow).
	// Past it, a connection is closed with TOO_MANY before its hello.
	MaxConnsPerAddr int
	// MaxInflight is how many requests a client may have unanswered at
	// once (default 64, announced in Welcome); past it a request is
	// refused with BUSY at once.
	MaxInflight int
	// MaxQueueWait bounds how long an admitted request may wait for a
	// worker (behind up to MaxInflight others) once it can run; a send's
	// wait in its lane behind an earlier send to the same conversation is
	// bounded by MaxLaneWait instead (default 500 ms): one that
	// waited longer is answered BUSY, with a retry-after of about this
	// long, instead of being run late — its client has waited long enough
	// and a queue that deep means the node is behind.
	MaxQueueWait time.Duration
	// MaxLaneWait bounds a send's whole wait at the node before it runs,
	// its lane included (default 1 s): pipelined sends to one
	// conversation run one after another, and on a node behind its load
	// the last of a pipeline would otherwise wait for all the others'
	// slow answers. Past it the send is answered BUSY like one past
	// MaxQueueWait, with the sends behind it in its lane.
	MaxLaneWait time.Duration
	// RefusedSends is how many sends refused with a transient code one
	// connection remembers (default 1024), so that a pipelined send
	// written behind one of them (after_client_msg_id) is refused too
	// rather than sequenced before its resend. A client has at most
	// MaxInflight sends unanswered: keep it well above that.
	RefusedSends int
	// Workers is how many goroutines of a connection wait on the cluster
	// for its requests at once (default 8); they exist only while
	// requests wait.
	Workers int
	// ReceiveWindow bounds what a client may have in flight towards the
	// server, per stream and per connection (default 1 MiB; at least
	// MaxFrame plus a little). quic-go allocates it as data arrives, so an
	// idle connection holds none of it.
	ReceiveWindow int

	// ConnRate/ConnBurst limit requests per connection (default 50/s, 100);
	// UserRate/UserBurst per user across its connections on this node
	// (default 100/s, 200). A request that asks about many users takes one
	// more of each per ten of them (requestWeight). SignalRate limits
	// datagrams (default 10/s, burst 20).
	ConnRate   float64
	ConnBurst  int
	UserRate   float64
	UserBurst  int
	SignalRate float64
	// MaxRejected closes a connection that keeps flooding: this many
	// rate-limited requests without an accepted one (default 200).
	MaxRejected int

	// DrainGrace is how long Drain waits for clients to leave after GoAway
	// before closing their connections (default 5 s).
	DrainGrace time.Duration

	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults (without TLS and Auth).
func DefaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:4433",
		MaxFrame:         wirepb.DefaultMaxFrame,
		Requests:         DefaultRequestLimits(),
		PushQueue:        1024,
		PendingAcks:      8192,
		IdleTimeout:      60 * time.Second,
		HandshakeTimeout: 10 * time.Second,
		HelloTimeout:     10 * time.Second,
		RequestTimeout:   10 * time.Second,
		WriteTimeout:     30 * time.Second,
		CloseLinger:      2 * time.Second,
		CoalesceDelay:    100 * time.Millisecond,
		MaxInflight:      64,
		RefusedSends:     1024,
		Sockets:          1,
		MaxQueueWait:     500 * time.Millisecond,
		MaxLaneWait:      time.Second,
		Workers:          8,
		ReceiveWindow:    1 << 20,
		ConnRate:         50,
		ConnBurst:        100,
		UserRate:         100,
		UserBurst:        200,
		SignalRate:       10,
		MaxRejected:      200,
		DrainGrace:       5 * time.Second,
		Logger:           slog.Default(),
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.TLS == nil || len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil {
		return c, errors.New("transport: no TLS certificate")
	}
	if c.Auth == nil {
		return c, errors.New("transport: no authenticator")
	}
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if err := c.ICE.Validate(); err != nil {
		return c, fmt.Errorf("transport: %w", err)
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt(&c.MaxFrame, d.MaxFrame)
	c.Requests = c.Requests.withDefaults()
	setInt(&c.PushQueue, d.PushQueue)
	setInt(&c.Sockets, d.Sockets)
	if !reusePortSupported {
		c.Sockets = 1
	}
	setInt(&c.PendingAcks, d.PendingAcks)
	setInt(&c.MaxInflight, d.MaxInflight)
	setInt(&c.RefusedSends, d.RefusedSends)
	setInt(&c.Workers, d.Workers)
	setInt(&c.ReceiveWindow, d.ReceiveWindow)
	setInt(&c.ConnBurst, d.ConnBurst)
	setInt(&c.UserBurst, d.UserBurst)
	setInt(&c.MaxRejected, d.MaxRejected)
	if c.KeepAlive < 0 {
		c.KeepAlive = 0
	}
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.HandshakeTimeout, d.HandshakeTimeout)
	setDur(&c.HelloTimeout, d.HelloTimeout)
	setDur(&c.RequestTimeout, d.RequestTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setDur(&c.CloseLinger, d.CloseLinger)
	if c.CoalesceDelay == 0 {
		c.CoalesceDelay = d.CoalesceDelay
	}
	setDur(&c.MaxQueueWait, d.MaxQueueWait)
	setDur(&c.MaxLaneWait, d.MaxLaneWait)
	setDur(&c.DrainGrace, d.DrainGrace)
	setF(&c.ConnRate, d.ConnRate)
	setF(&c.UserRate, d.UserRate)
	setF(&c.SignalRate, d.SignalRate)
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	if c.MaxFrame < MinMaxFrame || c.MaxFrame > wirepb.MaxMaxFrame {
		return c, fmt.Errorf("transport: MaxFrame %d: want %d (a media chunk and its envelope) to %d", c.MaxFrame, MinMaxFrame, wirepb.MaxMaxFrame)
	}
	if c.RefusedSends < 4*c.MaxInflight {
		// Every unanswered send of a full window may be refused: the
		// memory of refusals must outlast a window of them.
		c.RefusedSends = 4 * c.MaxInflight
	}
	if c.ReceiveWindow < c.MaxFrame+16<<10 {
		// A whole frame must fit the window, or a large request stalls.
		c.ReceiveWindow = c.MaxFrame + 16<<10
	}
	tc := c.TLS.Clone()
	tc.MinVersion = tls.VersionTLS13
	tc.NextProtos = wirepb.ALPNs()
	c.TLS = tc
	return c, nil
}
