package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/transport/client"
)

// Target is what the bench drives: one node or a cluster.
type Target struct {
	// Addrs are the nodes' QUIC addresses; clients are spread over them.
	Addrs []string
	// WebSocketURLs, when set, are the nodes' WebSocket URLs (ws[s]://HOST/ws):
	// the clients connect over WebSocket, spread over them, instead of
	// over QUIC to Addrs.
	WebSocketURLs []string
	// TLS trusts the nodes' certificates.
	TLS *tls.Config
	// Token mints a connection token for a user and device.
	Token func(user, device string) (string, error)
	// AdminURL is a node's admin HTTP base URL (http://host:port) whose
	// /metrics gives the server's memory and CPU; empty: not reported.
	AdminURL string
	// Sockets is how many UDP sockets the clients share (default 8): many
	// connections per socket keep the bench's own file descriptors and
	// per-socket overhead small.
	Sockets int
	// SendPipeline is each client's client.Config.SendPipeline: how many
	// sends to one conversation it writes before the first is answered
	// (0: the SDK's default; 1: one at a time).
	SendPipeline int
	// KeepAlive is each client's client.Config.KeepAlive: how often an
	// idle connection pings the node (0: the SDK's default).
	KeepAlive time.Duration
	// Logger for the clients (default: warnings and errors to stderr).
	Logger *slog.Logger
}

// pool dials clients over a few shared QUIC transports.
type pool struct {
	t    Target
	trs  []*quic.Transport
	next atomic.Uint64
}

func newPool(t Target) (*pool, error) {
	if len(t.Addrs) == 0 && len(t.WebSocketURLs) == 0 {
		return nil, errors.New("bench: no server address")
	}
	if t.TLS == nil || t.Token == nil {
		return nil, errors.New("bench: no TLS configuration or token source")
	}
	if t.Sockets <= 0 {
		t.Sockets = 8
	}
	p := &pool{t: t}
	if len(t.WebSocketURLs) > 0 {
		return p, nil // no UDP sockets: TCP connections of their own
	}
	for range t.Sockets {
		uc, err := net.ListenUDP("udp", &net.UDPAddr{})
		if err != nil {
			p.close()
			return nil, fmt.Errorf("bench: UDP socket: %w", err)
		}
		p.trs = append(p.trs, &quic.Transport{Conn: uc})
	}
	return p, nil
}

// dial connects user/device; onEvent gets every event of the client (it
// runs on the client's goroutines and must not block).
func (p *pool) dial(ctx context.Context, user, device string, onEvent func(client.Event)) (*client.Client, error) {
	i := p.next.Add(1)
	cfg := client.Config{
		TLS: p.t.TLS,
		TokenSource: func(context.Context) (string, error) {
			return p.t.Token(user, device)
		},
		OnEvent: onEvent,
		Logger:  p.t.Logger,
		// A BUSY refusal is counted, not retried: the load stays what was
		// offered and latencies are those of accepted sends.
		FailOnBusy:   true,
		SendPipeline: p.t.SendPipeline,
		KeepAlive:    p.t.KeepAlive,
		DialTimeout:  30 * time.Second,
		MinBackoff:   100 * time.Millisecond,
		MaxBackoff:   2 * time.Second,
	}
	if n := uint64(len(p.t.WebSocketURLs)); n > 0 {
		cfg.WebSocketURL = p.t.WebSocketURLs[i%n]
	} else {
		cfg.Addr, cfg.Transport = p.t.Addrs[i%uint64(len(p.t.Addrs))], p.trs[i%uint64(len(p.trs))]
	}
	if onEvent == nil {
		cfg.OnEvent = func(client.Event) {}
	}
	return client.Dial(ctx, cfg)
}

func (p *pool) close() {
	for _, tr := range p.trs {
		_ = tr.Close()
		_ = tr.Conn.Close() // ours: Transport.Close leaves a given socket open
	}
}
