package actors

import (
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/asynkron/protoactor-go/remote"
	"github.com/switchboard-im/switchboard/internal/promtest"
)

// Grains read the membership (large-group fan-out, a user grain's presence
// probe, the topology watch's owners) while topology events replace it;
// under -race this fails if the read is not safe, and it checks that the
// view follows the events.
func TestMemberViewFollowsTopology(t *testing.T) {
	system := actor.NewActorSystem()
	c := cluster.New(system, cluster.Configure("t", nil, nil, remote.Configure("127.0.0.1", 0)))
	n := &Runtime{system: system, cluster: c, log: slog.New(slog.DiscardHandler)}
	stop := n.watchMembers()
	defer stop()

	a := &cluster.Member{Id: "a", Host: "10.0.0.1", Port: 4000, Kinds: []string{KindUser}}
	b := &cluster.Member{Id: "b", Host: "10.0.0.2", Port: 4000, Kinds: []string{KindUser}}
	system.EventStream.Publish(&cluster.ClusterTopology{Members: []*cluster.Member{a}})

	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if len(n.ClusterMembers()) == 0 {
					t.Error("no members while a topology holds one or two")
					return
				}
				if owner := n.Owner(KindUser, "u1"); owner != a.Address() && owner != b.Address() {
					t.Errorf("owner %q is no member", owner)
					return
				}
			}
		}()
	}
	for i := range 200 {
		members := []*cluster.Member{a}
		if i%2 == 0 {
			members = append(members, b)
		}
		system.EventStream.Publish(&cluster.ClusterTopology{Members: members})
	}
	close(done)
	wg.Wait()

	system.EventStream.Publish(&cluster.ClusterTopology{Members: []*cluster.Member{a, b}})
	if got := n.ClusterMembers(); !slices.Equal(got, []string{a.Address(), b.Address()}) {
		t.Fatalf("members after the last event = %v", got)
	}
	owners := map[string]bool{}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"} {
		owners[n.Owner(KindUser, u)] = true
	}
	if len(owners) != 2 {
		t.Fatalf("8 users placed on %v, want both members used", owners)
	}
	if v, _ := promtest.FindSeries(t, "switchboard_cluster_members", nil); v != 2 {
		t.Fatalf("switchboard_cluster_members = %v with a and b", v)
	}
	system.EventStream.Publish(&cluster.ClusterTopology{Members: []*cluster.Member{b}})
	if got := n.Owner(KindUser, "u1"); got != b.Address() {
		t.Fatalf("owner with b alone = %q", got)
	}
	if v, _ := promtest.FindSeries(t, "switchboard_cluster_members", nil); v != 1 {
		t.Fatalf("switchboard_cluster_members = %v with b alone", v)
	}
}
