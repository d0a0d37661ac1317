package transport_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// lossyFront relays UDP between clients and a server, and drops every
// datagram of the first client address it sees: that connect attempt's
// handshake is lost on the way, as on a bad network.
type lossyFront struct {
	pc      *net.UDPConn
	to      *net.UDPAddr
	mu      sync.Mutex
	first   string
	flows   map[string]*net.UDPConn
	dropped int
}

func newLossyFront(t *testing.T, target string) *lossyFront {
	t.Helper()
	to, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	f := &lossyFront{pc: pc, to: to, flows: map[string]*net.UDPConn{}}
	go f.serve()
	t.Cleanup(func() {
		_ = pc.Close()
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, up := range f.flows {
			_ = up.Close()
		}
	})
	return f
}

func (f *lossyFront) serve() {
	buf := make([]byte, 65536)
	for {
		n, from, err := f.pc.ReadFromUDP(buf)
		if err != nil {
			return
		}
		f.mu.Lock()
		if f.first == "" {
			f.first = from.String()
		}
		if from.String() == f.first {
			f.dropped++
			f.mu.Unlock()
			continue
		}
		up, ok := f.flows[from.String()]
		if !ok {
			if up, err = net.DialUDP("udp", nil, f.to); err != nil {
				f.mu.Unlock()
				continue
			}
			f.flows[from.String()] = up
			go f.back(up, from)
		}
		f.mu.Unlock()
		_, _ = up.Write(buf[:n])
	}
}

// back relays the server's datagrams of one flow to its client.
func (f *lossyFront) back(up *net.UDPConn, client *net.UDPAddr) {
	buf := make([]byte, 65536)
	for {
		n, err := up.Read(buf)
		if err != nil {
			return
		}
		_, _ = f.pc.WriteToUDP(buf[:n], client)
	}
}

// A first connect whose handshake datagrams are all lost times out, and
// Dial tries once more with a fresh handshake instead of failing.
func TestDialRetriesTimedOutHandshake(t *testing.T) {
	e := newEnv(t, envOptions{})
	f := newLossyFront(t, e.addr(0))
	start := time.Now()
	c := e.dial("alice", "phone", func(cfg *client.Config) {
		cfg.Addr = f.pc.LocalAddr().String()
		cfg.DialTimeout = time.Second
	})
	if _, err := c.Ping(tctx(t)); err != nil {
		t.Fatalf("ping after the second attempt: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropped == 0 || len(f.flows) != 1 {
		t.Fatalf("first attempt: %d datagrams dropped; %d attempts relayed (want 1)", f.dropped, len(f.flows))
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("connected in %s: the first attempt did not time out", took)
	}
}
