package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// ErrDisconnected: the connection went away before the answer came. A
// request that failed with it may or may not have taken effect; sends are
// safe to retry (the client_msg_id dedupes them).
var ErrDisconnected = errors.New("switchboard: disconnected")

// conn is one QUIC connection: the control stream and the request
// streams. The Client runs its push lanes and datagrams.
type conn struct {
	qc       *quic.Conn
	ctrl     *quic.Stream
	ctrR     wirepb.ByteReader
	welcome  *wirepb.Welcome
	maxFrame int
	nextID   atomic.Uint64
}

// dial connects, says hello and waits for Welcome. A refusal is a
// *wirepb.Error (UNAUTHENTICATED, TOKEN_EXPIRED, GOING_AWAY, …).
func dial(ctx context.Context, cfg *Config, token string) (*conn, error) {
	tc := cfg.TLS.Clone()
	tc.MinVersion = tls.VersionTLS13
	tc.NextProtos = []string{wirepb.ALPN}
	qconf := &quic.Config{
		HandshakeIdleTimeout:  cfg.DialTimeout,
		MaxIdleTimeout:        cfg.IdleTimeout,
		KeepAlivePeriod:       cfg.KeepAlive,
		MaxIncomingStreams:    -1, // servers open no bidirectional streams
		MaxIncomingUniStreams: 64, // push lanes
		EnableDatagrams:       true,
	}
	var qc *quic.Conn
	var err error
	if cfg.Transport != nil {
		qc, err = dialShared(ctx, cfg.Transport, cfg.Addr, tc, qconf)
	} else {
		qc, err = quic.DialAddr(ctx, cfg.Addr, tc, qconf)
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", cfg.Addr, err)
	}
	c := &conn{qc: qc, maxFrame: cfg.MaxFrame}
	if err := c.hello(ctx, token); err != nil {
		_ = qc.CloseWithError(0, "")
		return nil, err
	}
	return c, nil
}

// dialShared dials from a shared transport, naming the server as DialAddr
// would (the host of addr), so certificates check the same either way.
func dialShared(ctx context.Context, tr *quic.Transport, addr string, tc *tls.Config, qconf *quic.Config) (*quic.Conn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	if tc.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			tc.ServerName = host
		}
	}
	return tr.Dial(ctx, ua, tc, qconf)
}

func (c *conn) hello(ctx context.Context, token string) error {
	st, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		return c.closedErr(err)
	}
	c.ctrl, c.ctrR = st, wirepb.NewReader(st)
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	if err := wirepb.WriteMsg(st, &wirepb.Hello{Token: token, Client: "switchboard-go/1"}, c.maxFrame); err != nil {
		return c.closedErr(err)
	}
	var sc wirepb.ServerControl
	if err := wirepb.ReadMsg(c.ctrR, &sc, c.maxFrame); err != nil {
		return c.closedErr(err)
	}
	_ = st.SetDeadline(time.Time{})
	switch m := sc.Msg.(type) {
	case *wirepb.ServerControl_Welcome:
		c.welcome = m.Welcome
		if m.Welcome.MaxFrame > 0 {
			c.maxFrame = min(c.maxFrame, int(m.Welcome.MaxFrame))
		}
		return nil
	case *wirepb.ServerControl_Error:
		return m.Error
	}
	return wirepb.Errorf(wirepb.Code_PROTOCOL, "expected Welcome, got %T", sc.Msg)
}

// closedErr prefers the code the server closed the connection with.
func (c *conn) closedErr(err error) error {
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && ae.Remote {
		return &wirepb.Error{Code: wirepb.Code(ae.ErrorCode), Message: ae.ErrorMessage}
	}
	if c.qc.Context().Err() != nil {
		if cause := context.Cause(c.qc.Context()); errors.As(cause, &ae) && ae.Remote {
			return &wirepb.Error{Code: wirepb.Code(ae.ErrorCode), Message: ae.ErrorMessage}
		}
	}
	return fmt.Errorf("%w: %v", ErrDisconnected, err)
}

// request sends one request on its own stream and reads the answer. A
// rejection is a *wirepb.Error.
func (c *conn) request(ctx context.Context, req *wirepb.Request) (*wirepb.Response, error) {
	req.Id = c.nextID.Add(1)
	st, err := c.qc.OpenStreamSync(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.closedErr(err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = st.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() {
		st.CancelRead(0)
		st.CancelWrite(0)
	})
	defer stop()
	if err := wirepb.WriteMsg(st, req, c.maxFrame); err != nil {
		st.CancelRead(0)
		if errors.Is(err, wirepb.ErrFrameTooLarge) {
			st.CancelWrite(quic.StreamErrorCode(wirepb.Code_FRAME_TOO_LARGE))
			return nil, wirepb.Errorf(wirepb.Code_TOO_LARGE, "%v", err)
		}
		return nil, c.streamErr(ctx, err)
	}
	_ = st.Close()
	var res wirepb.Response
	if err := wirepb.ReadMsg(wirepb.NewReader(st), &res, c.maxFrame); err != nil {
		return nil, c.streamErr(ctx, err)
	}
	if res.Error != nil && res.Error.Code != wirepb.Code_OK {
		return &res, res.Error
	}
	if res.Id != req.Id {
		return nil, wirepb.Errorf(wirepb.Code_PROTOCOL, "answer %d to request %d", res.Id, req.Id)
	}
	return &res, nil
}

func (c *conn) streamErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var se *quic.StreamError
	if errors.As(err, &se) && se.Remote && se.ErrorCode != 0 {
		return &wirepb.Error{Code: wirepb.Code(se.ErrorCode), Message: "stream reset by the server"}
	}
	return c.closedErr(err)
}

// signal sends a datagram; best effort.
func (c *conn) signal(s *wirepb.Signal) error {
	b, err := proto.Marshal(s)
	if err != nil {
		return err
	}
	return c.qc.SendDatagram(b)
}

func (c *conn) close() { _ = c.qc.CloseWithError(0, "client closed") }
