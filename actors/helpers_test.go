package actors_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func openStore(t testing.TB) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startCluster starts n nodes on loopback sharing one store.
func startCluster(t testing.TB, n int, store storage.Store, cfg actors.Config) []*boot.Node {
	t.Helper()
	if n > 1 && raceEnabled && !*raceProto {
		// protoactor-go races internally between its own goroutines when
		// several members run in one process (grpclog.SetLoggerV2 per
		// remote, the remote BlockList, MemberList topology vs gossip,
		// Informer's shared math/rand, the receive-timeout timer); the
		// normal pass runs the multi-node tests, -race the single-node ones.
		t.Skip("several nodes in one process: protoactor-go has data races of its own; pass -actors.protoactor-race to run anyway")
	}
	cfg.Logger = testLogger()
	var nodes []*boot.Node
	for i := 0; i < n; i++ {
		nc := boot.NodeConfig{Store: store, Actors: cfg, Logger: cfg.Logger, ClusterName: "test"}
		nc.Membership.BindPort = 0
		if i > 0 {
			nc.Membership.Seeds = []string{nodes[0].MembershipAddr()}
		}
		node, err := boot.StartNode(nc)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, node)
	}
	t.Cleanup(func() {
		start := time.Now()
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() { defer wg.Done(); n.Stop(true) }()
		}
		wg.Wait()
		t.Logf("cluster of %d stopped in %v", n, time.Since(start).Round(time.Millisecond))
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, node := range nodes {
		for len(node.ClusterMembers()) != n {
			if time.Now().After(deadline) {
				t.Fatalf("cluster did not form: %v", node.ClusterMembers())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nodes
}

func tctx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// device is a test connection: a session.Sink that records the pushes it
// gets.
type device struct {
	sess   session.Session
	mu     sync.Mutex
	pushes []*pb.Push
	calls  []*pb.CallEvent
	got    chan struct{}
	// resyncs counts the session's requests that the client sync from its
	// cursor (made after a re-registration that follows a move).
	resyncs atomic.Int32
	// ends counts the node's requests to end the connection (session.Ender),
	// endErr is the last one's error. The test device does not close its
	// session on them.
	ends   atomic.Int32
	endErr atomic.Pointer[error]
}

func (d *device) Resync() { d.resyncs.Add(1) }

func (d *device) End(err error) {
	d.endErr.Store(&err)
	d.ends.Add(1)
}

// ended is the error of the last request to end the connection (nil: none).
func (d *device) ended() error {
	if p := d.endErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (d *device) Push(p *pb.Push) {
	d.mu.Lock()
	d.pushes = append(d.pushes, p)
	d.mu.Unlock()
	select {
	case d.got <- struct{}{}:
	default:
	}
}

// Signal records a call's steps (the other signals are not kept).
func (d *device) Signal(s *pb.Signal) {
	if s.Kind != pb.Signal_CALL {
		return
	}
	d.mu.Lock()
	d.calls = append(d.calls, s.Call)
	d.mu.Unlock()
}

// callEvents returns the call steps seen so far.
func (d *device) callEvents() []*pb.CallEvent {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pb.CallEvent(nil), d.calls...)
}

// connect connects a device through the node's session API.
func connect(t testing.TB, node *boot.Node, user, dev string) (*device, session.Session) {
	t.Helper()
	d := &device{got: make(chan struct{}, 1)}
	sess, err := node.Connect(tctx(t), user, dev, d)
	if err != nil {
		t.Fatal(err)
	}
	d.sess = sess
	return d, sess
}

// messages returns the message pushes seen so far.
func (d *device) messages() []*pb.Message {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*pb.Message
	for _, p := range d.pushes {
		if m := p.GetMessage(); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// pushesNow returns the pushes seen so far.
func (d *device) pushesNow() []*pb.Push {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*pb.Push(nil), d.pushes...)
}

// waitMessages waits until the device saw at least n message pushes.
func (d *device) waitMessages(t testing.TB, n int) []*pb.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if ms := d.messages(); len(ms) >= n {
			return ms
		}
		select {
		case <-d.got:
		case <-deadline:
			t.Fatalf("device saw %d message pushes, want %d", len(d.messages()), n)
		}
	}
}

// eventually retries check until it passes or 10 s went by: fan-out runs
// after the ack, so what members see settles shortly after.
func eventually(t testing.TB, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
