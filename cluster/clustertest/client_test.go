package clustertest

// The test clients of a cluster and the UDP front they connect through
// (which a test can point at another node, like a load balancer).

import (
	"cmp"
	"context"
	"crypto/tls"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/udprelay"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
)

// client connects user/device through front f. Errors the client reports
// as events are collected into *errs.
type tclient struct {
	*client.Client
	name  string
	front *front
	mu    sync.Mutex
	errs  []error
	conns int // EventConnected seen
	seen  seenLog
}

func (c *cluster) dial(ctx context.Context, user, device string, f *front) *tclient {
	c.t.Helper()
	secret := c.secret
	reqTimeout := cmp.Or(c.requestTimeout, 3*time.Second)
	cfg := client.Config{Addr: f.addr(), TLS: &tls.Config{RootCAs: c.roots},
		TokenSource: func(context.Context) (string, error) {
			return transport.MintHS256(secret, user, device, time.Hour, "")
		},
		MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, SendTimeout: cmp.Or(c.sendTimeout, time.Minute),
		// A killed server sends nothing: find out fast.
		IdleTimeout: 3 * time.Second, KeepAlive: time.Second, RequestTimeout: reqTimeout,
		Logger: slog.New(slog.NewTextHandler(c.clog, &slog.HandlerOptions{Level: slog.LevelInfo})).With("user", user, "device", device)}
	cl, err := client.Dial(ctx, cfg)
	if err != nil {
		c.t.Fatalf("dial %s/%s: %v", user, device, err)
	}
	tc := &tclient{Client: cl, name: user + "/" + device, front: f}
	evctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			select {
			case ev := <-cl.Events():
				tc.mu.Lock()
				switch ev.Kind {
				case client.EventError:
					tc.errs = append(tc.errs, ev.Err)
				case client.EventConnected:
					tc.conns++
				}
				tc.mu.Unlock()
				tc.seen.record(ev) // push latency (push_latency_test.go)
			case <-evctx.Done():
				return
			}
		}
	}()
	c.t.Cleanup(func() { _ = cl.Close(); cancel() })
	return tc
}

func (tc *tclient) errors() []error {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return slices.Clone(tc.errs)
}

func (tc *tclient) connects() int {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.conns
}

// front stands for a load balancer's address: clients dial it, it relays
// to one node, and the test can point it at another node, as a load
// balancer does when a node fails or drains.
type front struct {
	t *testing.T
	r *udprelay.Relay
}

func newFront(t *testing.T, target string) *front {
	t.Helper()
	r, err := udprelay.New(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return &front{t: t, r: r}
}

func (f *front) addr() string { return f.r.Addr() }

// point sends new packets to target; existing flows are cut, so a client's
// next packet opens a flow to the new node (the node behind it failed or
// is draining).
func (f *front) point(target string) {
	if err := f.r.Point(target); err != nil {
		f.t.Fatal(err)
	}
}

// rejoin sends new flows to target, a node back in rotation, and keeps
// the connections its clients opened to other nodes meanwhile, as a load
// balancer with connection tracking does.
func (f *front) rejoin(target string) {
	if err := f.r.PointNew(target); err != nil {
		f.t.Fatal(err)
	}
}
