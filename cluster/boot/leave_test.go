package boot_test

import (
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func testLogger() *slog.Logger {
	if os.Getenv("SWITCHBOARD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// A member that leaves for a restart in process (Leave) is gone from the
// other's topology at once, and a new member started on the same remote
// and memberlist ports, joining through the peers the old one knew, is
// admitted: it has a new member id.
func TestLeaveAndStartAgainOnTheSamePorts(t *testing.T) {
	store, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	cfg := boot.NodeConfig{Store: store, Logger: testLogger(), ClusterName: "leave-test"}
	a, err := boot.StartNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Stop(false) })
	bcfg := cfg
	bcfg.Membership.Seeds = []string{a.MembershipAddr()}
	b, err := boot.StartNode(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, 2)
	peers := b.KnownPeers()
	if len(peers) != 1 || peers[0] != a.MembershipAddr() {
		t.Fatalf("b knows peers %v, want [%s]", peers, a.MembershipAddr())
	}
	oldID, addr := b.ID(), b.Address()
	start := time.Now()
	done := make(chan struct{})
	go func() { b.Leave(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Leave did not return within 15 s")
	}
	t.Logf("Leave took %s", time.Since(start).Round(time.Millisecond))
	waitMembers(t, a, 1)

	host, port := splitHostPort(t, addr)
	ccfg := bcfg
	ccfg.Host, ccfg.Port = host, port
	ccfg.Membership.Seeds = peers
	c, err := boot.StartNode(ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(false) })
	if c.ID() == oldID {
		t.Fatalf("the new member reuses the id %s", oldID)
	}
	waitMembers(t, a, 2)
	waitMembers(t, c, 2)
	// Healthy once the others' topology views hold the new member.
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range []*boot.Node{a, c} {
		for err := n.Health(); err != nil; err = n.Health() {
			if time.Now().After(deadline) {
				t.Fatalf("%s unhealthy: %v", n.ID(), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func waitMembers(t *testing.T, n *boot.Node, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(n.ClusterMembers()) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s sees %v, want %d members", n.ID(), n.ClusterMembers(), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func splitHostPort(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return h, port
}
