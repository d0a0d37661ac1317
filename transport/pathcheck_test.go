package transport_test

import (
	"crypto/rand"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboard-im/switchboard/internal/udprelay"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
)

// forgetfulNode listens with the reset key of the others but knows no
// connection: another node behind the same address, or the same node
// restarted. It answers a packet of an unknown connection with a QUIC
// stateless reset when the packet is longer than 42 bytes.
func forgetfulNode(t *testing.T, key *quic.StatelessResetKey) string {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp, StatelessResetKey: key}
	tc := selfSignedTLS(t)
	tc.NextProtos = []string{"none"}
	ln, err := tr.Listen(tc, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close(); _ = tr.Close() })
	return udp.LocalAddr().String()
}

// A client whose node is gone, and whose path a load balancer moved to a
// node that does not know the connection, finds out while a request
// waits: the path check's padded ping draws a stateless reset at once.
// Without it nothing does: once QUIC's path-MTU probes are over, a plain
// ping request (~35 bytes on the wire), its retransmissions and the
// keep-alive PINGs (~25) are all too short, and the request would wait
// for its time-out.
func TestPathCheckFindsAForgottenConnection(t *testing.T) {
	var key quic.StatelessResetKey
	if _, err := rand.Read(key[:]); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOptions{transport: transport.Config{StatelessResetKey: &key}})
	other := forgetfulNode(t, &key)
	for _, tc := range []struct {
		name       string
		checkAfter time.Duration
		found      bool // within the 3 s the test waits
	}{
		{"on", 200 * time.Millisecond, true},
		{"off", -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := udprelay.New(e.addr(0), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(r.Close)
			c := e.dial("alice", "phone-"+tc.name, func(cfg *client.Config) {
				cfg.Addr = r.Addr()
				cfg.PathCheckAfter = tc.checkAfter
				cfg.RequestTimeout, cfg.KeepAlive, cfg.IdleTimeout = 20*time.Second, 200*time.Millisecond, time.Minute
			})
			if _, err := c.Ping(tctx(t)); err != nil {
				t.Fatal(err)
			}
			// quic-go probes the path MTU with full-size packets for about
			// a second after the handshake; any of them would draw a reset.
			time.Sleep(2 * time.Second)
			// The node is gone; the load balancer sends the path elsewhere.
			if err := r.Point(other); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			done := make(chan error, 1)
			go func() { _, err := c.Ping(tctx(t)); done <- err }()
			select {
			case err := <-done:
				if !tc.found {
					t.Fatalf("the ping ended after %s (%v) with the path check off: the test no longer shows what the check adds", time.Since(start), err)
				}
				if err == nil {
					t.Fatal("a ping through a node that does not know the connection was answered")
				}
				t.Logf("connection found gone after %s: %v", time.Since(start).Round(time.Millisecond), err)
			case <-time.After(3 * time.Second):
				if tc.found {
					t.Fatal("the ping still waits 3 s after the path moved: no stateless reset was drawn")
				}
			}
		})
	}
}
