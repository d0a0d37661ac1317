package membership

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/remote"
	hcml "github.com/hashicorp/memberlist"
)

// The tests in this file run the provider against a protoactor MemberList
// without starting the rest of protoactor (remote server, gossip, identity
// lookup): membership only, no start-up sleeps, and free of protoactor's own
// data races, so they are the ones that check this package under -race.

var fakePort atomic.Int32

// lightNode is a cluster whose remote never listens; its address is only
// what the provider advertises.
type lightNode struct {
	id       string
	cluster  *cluster.Cluster
	provider *Provider
	stopOnce sync.Once

	mu     sync.Mutex
	events []topologyEvent
}

func newLightNode(t *testing.T, id string, cfg Config) *lightNode {
	t.Helper()
	logger := testLogger()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger }))
	if id != "" {
		system.ID = id
	}
	system.ProcessRegistry.Address = fmt.Sprintf("127.0.0.1:%d", 20000+fakePort.Add(1))
	prov, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c := cluster.New(system, cluster.Configure(testClusterName, prov, disthash.New(), remote.Configure("127.0.0.1", 0)))
	// UpdateClusterTopology consults the remote's block list.
	c.Remote = remote.NewRemote(system, c.Config.RemoteConfig)
	n := &lightNode{id: system.ID, cluster: c, provider: prov}
	system.EventStream.Subscribe(func(evt any) {
		if topo, ok := evt.(*cluster.ClusterTopology); ok {
			ids := make([]string, 0, len(topo.Members))
			for _, m := range topo.Members {
				ids = append(ids, m.Id)
			}
			slices.Sort(ids)
			n.mu.Lock()
			n.events = append(n.events, topologyEvent{at: time.Now(), members: ids})
			n.mu.Unlock()
		}
	})
	return n
}

func startLight(t *testing.T, id string, seeds ...string) *lightNode {
	t.Helper()
	n := newLightNode(t, id, testConfig(seeds...))
	if err := n.provider.StartMember(n.cluster); err != nil {
		t.Fatalf("StartMember %s: %v", n.id, err)
	}
	t.Cleanup(func() { n.stop(false) })
	return n
}

func (n *lightNode) stop(graceful bool) {
	n.stopOnce.Do(func() {
		if err := n.provider.Shutdown(graceful); err != nil {
			panic(fmt.Sprintf("shutdown %s: %v", n.id, err))
		}
	})
}

func (n *lightNode) members() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.events) == 0 {
		return nil
	}
	return n.events[len(n.events)-1].members
}

func (n *lightNode) firstWithout(id string, since time.Time) (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.events {
		if e.at.After(since) && !slices.Contains(e.members, id) {
			return e.at, true
		}
	}
	return time.Time{}, false
}

func lightIDs(nodes ...*lightNode) []string {
	ids := make([]string, 0, len(nodes))
	for _, n := range nodes {
		ids = append(ids, n.id)
	}
	slices.Sort(ids)
	return ids
}

func waitLight(t *testing.T, timeout time.Duration, observers []*lightNode, want ...*lightNode) {
	t.Helper()
	ids := lightIDs(want...)
	for _, o := range observers {
		waitFor(t, timeout, fmt.Sprintf("%s to see %v (has %v)", o.id, ids, o.members()), func() bool {
			return slices.Equal(o.members(), ids)
		})
	}
}

func TestMembership(t *testing.T) {
	a := startLight(t, "")
	waitLight(t, time.Second, []*lightNode{a}, a)
	b := startLight(t, "", a.provider.Addr())
	c := startLight(t, "", a.provider.Addr())
	all := []*lightNode{a, b, c}
	waitLight(t, 5*time.Second, all, all...)

	// Metadata made it through: host and port are the remote's address.
	for _, m := range a.provider.Members() {
		want := map[string]string{a.id: a.cluster.ActorSystem.Address(), b.id: b.cluster.ActorSystem.Address(), c.id: c.cluster.ActorSystem.Address()}[m.Id]
		if m.Address() != want {
			t.Errorf("member %s address %s, want %s", m.Id, m.Address(), want)
		}
	}

	t.Run("graceful leave", func(t *testing.T) {
		start := time.Now()
		c.stop(true)
		waitLight(t, 2*time.Second, []*lightNode{a, b}, a, b)
		t.Logf("leave seen in %v", time.Since(start).Round(time.Millisecond))
		if err := c.provider.GetHealthStatus(); !errors.Is(err, ErrStopped) {
			t.Errorf("health after shutdown: %v, want ErrStopped", err)
		}
	})

	t.Run("crash within bound", func(t *testing.T) {
		d := startLight(t, "", b.provider.Addr())
		waitLight(t, 5*time.Second, []*lightNode{a, b, d}, a, b, d)
		crashed := time.Now()
		a.stop(false) // no leave: only probing finds out
		for _, n := range []*lightNode{b, d} {
			waitFor(t, crashBound+3*time.Second, n.id+" to drop the crashed node", func() bool {
				_, ok := n.firstWithout(a.id, crashed)
				return ok
			})
			at, _ := n.firstWithout(a.id, crashed)
			took := at.Sub(crashed)
			t.Logf("%s removed crashed node after %v", n.id, took.Round(time.Millisecond))
			if took > crashBound {
				t.Errorf("%s removed the crashed node after %v, bound is %v", n.id, took, crashBound)
			}
		}

		// The same name comes back from new ports once DeadNodeReclaimTime
		// has passed; memberlist accepts it, protoactor's block list does not.
		time.Sleep(DefaultConfig().DeadNodeReclaimTime)
		r := startLight(t, a.id, d.provider.Addr())
		for _, n := range []*lightNode{b, d, r} {
			waitFor(t, 5*time.Second, n.id+" memberlist to list the restarted node", func() bool {
				ids := []string{}
				for _, m := range n.provider.Members() {
					ids = append(ids, m.Id)
				}
				slices.Sort(ids)
				return slices.Equal(ids, lightIDs(b, d, r))
			})
		}
	})
}

func TestJoinFailsAfterTimeout(t *testing.T) {
	// A port nobody listens on: bind one and release it.
	probe := startLight(t, "")
	dead := probe.provider.Addr()
	probe.stop(false)

	cfg := testConfig(dead)
	cfg.JoinTimeout = 600 * time.Millisecond
	n := newLightNode(t, "", cfg)
	start := time.Now()
	err := n.provider.StartMember(n.cluster)
	if !errors.Is(err, ErrJoinFailed) {
		t.Fatalf("StartMember: %v, want ErrJoinFailed", err)
	}
	if took := time.Since(start); took > cfg.JoinTimeout+cfg.TCPTimeout+time.Second {
		t.Errorf("join gave up after %v, JoinTimeout %v", took, cfg.JoinTimeout)
	}
	if err := n.provider.GetHealthStatus(); !errors.Is(err, ErrStopped) {
		t.Errorf("health after failed join: %v, want ErrStopped", err)
	}
	t.Logf("join error: %v", err)
}

func TestStartTwice(t *testing.T) {
	n := startLight(t, "")
	if err := n.provider.StartMember(n.cluster); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second StartMember: %v, want ErrAlreadyStarted", err)
	}
	if err := n.provider.GetHealthStatus(); err != nil {
		t.Fatalf("health: %v", err)
	}
}

func TestClientIsNotAMember(t *testing.T) {
	a := startLight(t, "")
	cl := newLightNode(t, "", testConfig(a.provider.Addr()))
	if err := cl.provider.StartClient(cl.cluster); err != nil {
		t.Fatalf("StartClient: %v", err)
	}
	t.Cleanup(func() { cl.stop(false) })
	// The client follows the topology but is not part of it.
	waitLight(t, 5*time.Second, []*lightNode{a, cl}, a)
	time.Sleep(300 * time.Millisecond)
	if got := a.members(); !slices.Equal(got, lightIDs(a)) {
		t.Fatalf("member sees %v, want only itself", got)
	}
}

func TestHealthBeforeStart(t *testing.T) {
	p, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.GetHealthStatus(); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("health: %v, want ErrNotStarted", err)
	}
	if err := p.Shutdown(true); err != nil {
		t.Fatalf("shutdown before start: %v", err)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	in := &NodeMeta{MemberId: "node-1", Host: "10.0.0.7", Port: 8090, Kinds: []string{"conversation", "user"}}
	b, err := encodeMeta(in)
	if err != nil {
		t.Fatal(err)
	}
	m, client, err := decodeMember("node-1", b)
	if err != nil {
		t.Fatal(err)
	}
	if client || m.Id != "node-1" || m.Address() != "10.0.0.7:8090" || !slices.Equal(m.Kinds, in.Kinds) {
		t.Fatalf("round trip: %+v client=%v", m, client)
	}
	t.Logf("meta with 2 kinds: %d bytes", len(b))
}

func TestMetaTooLarge(t *testing.T) {
	kinds := make([]string, 0, 40)
	for i := range cap(kinds) {
		kinds = append(kinds, fmt.Sprintf("kind-with-a-long-name-%02d", i))
	}
	_, err := encodeMeta(&NodeMeta{MemberId: "node-1", Host: "127.0.0.1", Port: 1, Kinds: kinds})
	if !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("encodeMeta: %v, want ErrMetaTooLarge", err)
	}
	if !strings.Contains(err.Error(), "40 kinds") {
		t.Errorf("error does not say why: %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := encodeMeta(&NodeMeta{MemberId: "n1", Host: "h", Port: 1})
	if err != nil {
		t.Fatal(err)
	}
	noHost, _ := encodeMeta(&NodeMeta{MemberId: "n1", Port: 1})
	badPort, _ := encodeMeta(&NodeMeta{MemberId: "n1", Host: "h", Port: 70000})
	for name, tc := range map[string]struct {
		node string
		meta []byte
	}{
		"empty":        {"n1", nil},
		"garbage":      {"n1", []byte{0xff, 0xff, 0xff}},
		"other node":   {"n2", good},
		"no host":      {"n1", noHost},
		"port too big": {"n1", badPort},
	} {
		if _, _, err := decodeMember(tc.node, tc.meta); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := func() error { c := DefaultConfig(); return c.validate() }(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	bad := DefaultConfig()
	bad.Seeds = []string{"no-port"}
	bad.ProbeTimeout = 2 * bad.ProbeInterval
	bad.SuspicionMult = 0
	bad.Label = strings.Repeat("x", 256)
	_, err := New(bad)
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"no-port", "ProbeTimeout", "SuspicionMult", "Label"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// The defaults must keep memberlist's own suspicion arithmetic inside the
// documented bound for 3 nodes.
func TestDefaultBoundArithmetic(t *testing.T) {
	c := DefaultConfig()
	const n = 3
	if k := c.SuspicionMult - 2; n-2 >= k {
		t.Fatalf("SuspicionMult %d expects confirmations in a 3-node cluster; the min timeout no longer applies", c.SuspicionMult)
	}
	worst := 3*c.ProbeInterval + c.ProbeInterval + time.Duration(c.SuspicionMult)*c.ProbeInterval + c.GossipInterval
	if worst > 4*time.Second {
		t.Fatalf("worst case %v leaves under 1 s of margin to the 5 s bound", worst)
	}
	t.Logf("worst-case detection with defaults: %v", worst)
}

func TestSlogWriter(t *testing.T) {
	var buf strings.Builder
	l := newStdLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("[WARN] memberlist: Refuting a suspect message (from: x)")
	out := buf.String()
	for _, want := range []string{"level=DEBUG", `msg="Refuting a suspect message (from: x)"`, "ml_level=WARN"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line %q lacks %q", out, want)
		}
	}
}

var _ hcml.Delegate = metaDelegate{}
var _ hcml.EventDelegate = eventDelegate{}

// TestReadyAndAlone: a member that starts without seeds formed a cluster
// alone; Ready closes once protoactor's topology holds it. One started
// with a seed did not form its own, and is ready too once it is in it.
// A client is never alone nor ready (no topology holds it).
func TestReadyAndAlone(t *testing.T) {
	ready := func(p *Provider) bool {
		select {
		case <-p.Ready():
			return true
		default:
			return false
		}
	}
	a := startLight(t, "")
	waitFor(t, 5*time.Second, "a ready", func() bool { return ready(a.provider) })
	if !a.provider.FormedAlone() {
		t.Fatal("a member without seeds did not form its cluster alone")
	}
	b := startLight(t, "", a.provider.Addr())
	waitFor(t, 5*time.Second, "b ready", func() bool { return ready(b.provider) })
	if b.provider.FormedAlone() {
		t.Fatal("a member with a seed formed its cluster alone")
	}
	cl := newLightNode(t, "", testConfig(a.provider.Addr()))
	if err := cl.provider.StartClient(cl.cluster); err != nil {
		t.Fatalf("StartClient: %v", err)
	}
	t.Cleanup(func() { cl.stop(false) })
	waitLight(t, 5*time.Second, []*lightNode{cl}, a, b)
	if ready(cl.provider) {
		t.Fatal("a client is ready: a topology holds it")
	}
	if cl.provider.FormedAlone() {
		t.Fatal("a client formed a cluster alone")
	}
}
