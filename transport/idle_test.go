package transport_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// sideLabel marks the goroutines of the node and its server: every
// goroutine they start inherits it (quic-go's per-connection goroutines
// too, started by the listener's), and the clients of the same process,
// started without it, are not counted.
const sideLabel = "switchboard-side"

// settled waits until the server's goroutine count stops moving and
// returns it.
func settled(t *testing.T) int {
	t.Helper()
	return testenv.SettledGoroutines(t, sideLabel, "server")
}

// An idle switchboard/3 connection costs the server at most 3 goroutines,
// quic-go's included (its run loop and send queue, and the stream reader);
// switchboard/2 adds the datagram reader.
func TestIdleConnGoroutines(t *testing.T) {
	n := 200
	if raceEnabled {
		n = 40
	}
	labelled := pprof.WithLabels(context.Background(), pprof.Labels(sideLabel, "server"))
	pprof.SetGoroutineLabels(labelled)
	e := newEnv(t, envOptions{})
	pprof.SetGoroutineLabels(context.Background())

	for _, tc := range []struct {
		proto, device string
		perConn       int
	}{{wirepb.ALPN, "v3", 3}, {wirepb.ALPN2, "v2", 4}} {
		t.Run(tc.proto, func(t *testing.T) {
			base := settled(t)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			stackBase := ms.StackInuse
			clients := make([]*client.Client, 0, n)
			for i := range n {
				c := e.dial(fmt.Sprintf("idle%d", i), tc.device, func(c *client.Config) { c.Protocols = []string{tc.proto} })
				if got := c.Protocol(); got != tc.proto {
					t.Fatalf("connected with %q, want %q", got, tc.proto)
				}
				clients = append(clients, c)
			}
			eventually(t, "all connected", func() bool { return e.servers[0].Connections() == n })
			got := settled(t) - base
			runtime.ReadMemStats(&ms)
			t.Logf("%s: %d connections: %d server goroutines (%.2f each), stacks %+d KiB (client stacks included)",
				tc.proto, n, got, float64(got)/float64(n), (int64(ms.StackInuse)-int64(stackBase))>>10)
			// Slack for the node's own goroutines that come and go.
			if limit := tc.perConn*n + 20; got > limit {
				t.Fatalf("%d idle connections hold %d server goroutines, want at most %d (%d each)", n, got, limit, tc.perConn)
			}
			for _, c := range clients {
				_ = c.Close()
			}
			eventually(t, "all gone", func() bool { return e.servers[0].Connections() == 0 })
		})
	}
}

// Typing reaches the other side whichever version the typist speaks: in
// band on switchboard/3, as a datagram on /2.
func TestTypingSignal(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{wirepb.ALPN, wirepb.ALPN2} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{})
			ctx := tctx(t)
			alice := e.dial("alice", "phone", func(c *client.Config) { c.Protocols = []string{proto} })
			bob := e.dial("bob", "phone")
			if got := alice.Protocol(); got != proto {
				t.Fatalf("alice connected with %q, want %q", got, proto)
			}
			conv := wirepb.DirectConvID("alice", "bob")
			if _, err := alice.SendText(ctx, client.ToUser("bob"), "hi"); err != nil {
				t.Fatal(err)
			}
			deadline := time.After(10 * time.Second)
			tick := time.NewTicker(150 * time.Millisecond) // datagrams may be lost: repeat
			defer tick.Stop()
			for {
				select {
				case ev := <-bob.Events():
					if ev.Kind == client.EventTyping && ev.Conv == conv && ev.User == "alice" && ev.Typing {
						return
					}
				case <-tick.C:
					if err := alice.Typing(conv, true); err != nil {
						t.Fatal(err)
					}
				case <-deadline:
					t.Fatal("no typing signal")
				}
			}
		})
	}
}

// On switchboard/3 a typing signal is a request: the server's refusal
// comes back to the caller.
func TestTypingInBandRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	alice := e.dial("alice", "phone")
	if got := alice.Protocol(); got != wirepb.ALPN {
		t.Fatalf("default protocol %q, want %q", got, wirepb.ALPN)
	}
	if err := alice.Typing("", true); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("typing in no conversation: %v, want INVALID", err)
	}
}

// Connections close with TOKEN_EXPIRED when their tokens expire (one
// timer for the server, earliest first), whatever order they connected
// in; a connection that ended before its token expired leaves the
// schedule, and a later token's connection stays open.
func TestTokenExpiryCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	// exp in the past but within the 30 s leeway: the identity expires at
	// exp + leeway, a moment from now.
	mint := func(user string, in time.Duration) string {
		tok, err := transport.MintHS256(testSecret, user, "phone", in-transport.DefaultLeeway, "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	late := rawDial(t, e, nil)
	late.login(mint("late", 2500*time.Millisecond))
	gone := rawDial(t, e, nil)
	gone.login(mint("gone", 1500*time.Millisecond))
	early := rawDial(t, e, nil)
	early.login(mint("early", 1500*time.Millisecond))
	stays := rawDial(t, e, nil)
	stays.login(e.token("stays", "phone"))
	_ = gone.qc.CloseWithError(0, "")
	start := time.Now()
	// The Error frame comes first: the server waits, after writing it, for
	// the client to close (this one does not) for CloseLinger, then closes,
	// and a frame still unread is lost with the connection. So both frames
	// are read before either close is awaited: waiting for early's close
	// first left late's frame unread past its linger on a loaded machine.
	for _, r := range []*raw{early, late} {
		for {
			sf, err := r.next()
			if err != nil {
				t.Fatalf("the connection ended without its Error frame: %v", err)
			}
			if e := sf.GetError(); e != nil {
				if e.GetCode() != wirepb.Code_TOKEN_EXPIRED {
					t.Fatalf("error frame %v, want TOKEN_EXPIRED", e.GetCode())
				}
				break
			}
		}
	}
	for _, r := range []*raw{early, late} {
		if got := r.closeCode(); got != wirepb.Code_TOKEN_EXPIRED {
			t.Fatalf("closed with %v, want TOKEN_EXPIRED", got)
		}
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Fatalf("the later token's connection closed after %s, before its token expired", waited)
	}
	res, err := stays.request(frame(&wirepb.Request{Id: 1, Op: &wirepb.Request_Ping{Ping: &wirepb.PingRequest{}}}))
	if err != nil || res.Error != nil {
		t.Fatalf("a connection with a valid token: %v %v", res, err)
	}
}

// The server's linger after its last Error frame ends when the client
// closes, and the Go SDK closes as soon as it has read the frame: with a
// linger of a minute, an SDK client whose token expired is gone from the
// server within eventually's 10 s. A server that waited out its linger,
// or an SDK that did not close, keeps the connection for the minute.
func TestClientCloseEndsTheLinger(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{CloseLinger: time.Minute}})
	// Valid for 3 s: enough for the dial on a loaded machine (1 s was not,
	// once), and expired well within eventually's 10 s.
	tok, err := transport.MintHS256(testSecret, "brief", "phone", 3*time.Second-transport.DefaultLeeway, "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial("brief", "phone", func(cfg *client.Config) { cfg.Token = tok })
	eventually(t, "the client connected", func() bool { return e.servers[0].Connections() == 1 })
	eventually(t, "the expired client's connection gone", func() bool { return e.servers[0].Connections() == 0 })
	if _, err := c.Ping(tctx(t)); wirepb.CodeOf(err) != wirepb.Code_TOKEN_EXPIRED {
		t.Fatalf("ping after expiry: %v, want TOKEN_EXPIRED", err)
	}
}

// SignalRate bounds a connection's typing signals: a burst of twice the
// rate goes through, and a quick run past it is refused RATE_LIMITED.
func TestTypingSignalRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{transport: transport.Config{SignalRate: 2}})
	alice := e.dial("alice", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(tctx(t), client.ToUser("bob"), "hi"); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for i := range 12 {
		err := alice.Typing(conv, true)
		switch {
		case i < 4 && err != nil:
			t.Fatalf("signal %d of the burst of 4: %v", i+1, err)
		case codeOf(err) == wirepb.Code_RATE_LIMITED:
			limited++
		case err != nil:
			t.Fatalf("signal %d: %v", i+1, err)
		}
	}
	if limited == 0 {
		t.Fatal("12 signals at once, none refused at a rate of 2/s")
	}
}
