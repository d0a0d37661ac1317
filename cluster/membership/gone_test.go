package membership

import (
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
)

// slowDetection makes memberlist's own failure detection take at least
// 18 s (the suspicion timeout alone is SuspicionMult·ProbeInterval), so a
// crashed node leaving a topology sooner can only be the gone check.
func slowDetection(seeds ...string) Config {
	cfg := testConfig(seeds...)
	cfg.ProbeInterval = 3 * time.Second
	cfg.ProbeTimeout = time.Second
	cfg.SuspicionMult = 6
	cfg.SuspicionMaxTimeoutMult = 6
	return cfg
}

// A peer whose process is gone (its ports refuse) leaves the topologies of
// the nodes that talked to it as soon as their connection to it breaks,
// and of the others as soon as one of those tells them; a live peer whose
// connection broke stays.
func TestGoneProcessDroppedBeforeFailureDetection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real cluster on loopback")
	}
	if raceEnabled && !*raceProto {
		t.Skip("protoactor-go has data races of its own (see TestCluster); pass -memberlist.protoactor-race to run anyway")
	}
	a := newNode(t, "", slowDetection())
	if err := a.start(); err != nil {
		t.Fatalf("start a: %v", err)
	}
	nodes := []*testNode{a}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		n := newNode(t, "", slowDetection(a.provider.Addr()))
		// d does not watch its own connections: it can learn of a's
		// death only from b's gone notice (or from memberlist, ≥ 18 s).
		n.provider.ignoreEndpoints = i == 1
		nodes = append(nodes, n)
		wg.Go(func() { errs[i] = n.start() })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("start: %v", err)
	}
	b, d := nodes[1], nodes[2]
	defer func() {
		for _, n := range nodes {
			n.stop()
		}
	}()
	waitForMembers(t, 10*time.Second, nodes, nodes...)

	// Grains hosted on a, asked for from b and d, give both a remoting
	// connection to a.
	onA := 0
	for i := 0; onA < 2 && i < 200; i++ {
		id := "g" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if echoEventually(t, b, id, 5*time.Second) == a.id {
			echoEventually(t, d, id, 5*time.Second)
			onA++
		}
	}
	if onA == 0 {
		t.Fatal("no grain was placed on a")
	}

	t.Run("live peer stays", func(t *testing.T) {
		before := b.provider.goneChecks.Load()
		dAddr := d.system.Address()
		b.system.EventStream.Publish(&remote.EndpointTerminatedEvent{Address: dAddr})
		waitFor(t, 5*time.Second, "b to finish checking d", func() bool { return b.provider.goneChecks.Load() > before })
		if !slices.ContainsFunc(b.provider.Members(), func(m *cluster.Member) bool { return m.Address() == dAddr }) {
			t.Fatalf("b dropped live d after a broken connection: members %v", b.members())
		}
	})

	t.Run("crashed peer dropped", func(t *testing.T) {
		crashed := time.Now()
		a.crash()
		for _, n := range []*testNode{b, d} {
			// memberlist alone needs ≥ 18 s here.
			waitFor(t, 10*time.Second, n.id+" to drop the crashed node", func() bool {
				_, ok := n.firstWithout(a.id, crashed)
				return ok
			})
			at, _ := n.firstWithout(a.id, crashed)
			t.Logf("%s dropped crashed %s after %v", n.id, a.id, at.Sub(crashed).Round(time.Millisecond))
		}
		// The survivors place a's grains on themselves.
		assertSinglePlacement(t, []*testNode{b, d}, "ga", "gb", "gc", "gd")
	})
}

// refuses is the whole proof that a process is gone: a port with a
// listener is not refused, the same port once its listener closed is.
func TestRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	open := ln.Addr().String()
	if refuses(open, time.Second) {
		t.Fatalf("%s has a listener but counts as refusing", open)
	}
	_ = ln.Close()
	if !refuses(open, time.Second) {
		t.Fatalf("%s has no listener any more but does not count as refusing", open)
	}
}
