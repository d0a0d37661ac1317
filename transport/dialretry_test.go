package transport_test

import (
	"net"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/udprelay"
	"github.com/switchboard-im/switchboard/transport/client"
)

// A first connect whose handshake datagrams are all lost times out, and
// Dial tries once more with a fresh handshake instead of failing.
func TestDialRetriesTimedOutHandshake(t *testing.T) {
	e := newEnv(t, envOptions{})
	// Every datagram of the first client address is lost: that is the
	// first attempt (each attempt dials from a new socket).
	var first string
	r, err := udprelay.New(e.addr(0), func(from *net.UDPAddr) bool {
		if first == "" {
			first = from.String()
		}
		return from.String() == first
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	start := time.Now()
	c := e.dial("alice", "phone", func(cfg *client.Config) {
		cfg.Addr = r.Addr()
		cfg.DialTimeout = time.Second
	})
	if _, err := c.Ping(tctx(t)); err != nil {
		t.Fatalf("ping after the second attempt: %v", err)
	}
	if r.Dropped() == 0 || r.Flows() != 1 {
		t.Fatalf("first attempt: %d datagrams dropped; %d attempts relayed (want 1)", r.Dropped(), r.Flows())
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("connected in %s: the first attempt did not time out", took)
	}
}

// A first connect whose Welcome comes too late (a node too busy to answer
// the hello within DialTimeout) times out on the stream's deadline
// ("deadline exceeded", not a context's error), and Dial tries once more
// instead of failing: the answers of the first attempt are held 700 ms,
// so its handshake completes at ~700 ms and its Welcome would come at
// ~1.4 s, after the 1 s DialTimeout.
func TestDialRetriesTimedOutHello(t *testing.T) {
	e := newEnv(t, envOptions{})
	r, err := udprelay.New(e.addr(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	r.DelayBack(udprelay.FirstFlowDelay(700*time.Millisecond, 0))
	c := e.dial("alice", "phone", func(cfg *client.Config) {
		cfg.Addr = r.Addr()
		cfg.DialTimeout = time.Second
	})
	if _, err := c.Ping(tctx(t)); err != nil {
		t.Fatalf("ping after the second attempt: %v", err)
	}
	if r.Flows() != 2 {
		t.Fatalf("%d attempts relayed, want 2", r.Flows())
	}
}
