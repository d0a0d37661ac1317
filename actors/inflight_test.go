package actors

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/remote"
)

// A topology change that drops a member answers the requests in flight to
// it with memberLeft, and only those.
func TestDeparturesAnswerRequestsInFlight(t *testing.T) {
	system := actor.NewActorSystem()
	n := &Runtime{system: system, replies: newReplyBox(system), log: slog.New(slog.DiscardHandler)}
	stop := n.watchDepartures()
	defer stop()

	// A grain that never answers stands in for one on a member that died.
	silent := system.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	toGone := system.Root.RequestFuture(silent, "ping", time.Minute)
	toLive := system.Root.RequestFuture(silent, "ping", time.Minute)
	n.inflight.add("10.0.0.9:4000", toGone.PID())
	n.inflight.add("10.0.0.8:4000", toLive.PID())

	system.EventStream.Publish(&cluster.ClusterTopology{
		Members: []*cluster.Member{{Id: "live", Host: "10.0.0.8", Port: 4000}},
		Left:    []*cluster.Member{{Id: "gone", Host: "10.0.0.9", Port: 4000}},
	})
	res, err := toGone.Result()
	if err != nil {
		t.Fatalf("request to the departed member: %v", err)
	}
	if ml, ok := res.(*memberLeft); !ok || ml.address != "10.0.0.9:4000" {
		t.Fatalf("request to the departed member answered %#v, want memberLeft from 10.0.0.9:4000", res)
	}
	if got := n.inflight.take("10.0.0.8:4000"); len(got) != 1 || !got[0].Equal(toLive.PID()) {
		t.Fatalf("request to the live member: tracked %v, want it still waiting", got)
	}
	if got := n.inflight.take("10.0.0.9:4000"); len(got) != 0 {
		t.Fatalf("departed member still has %d requests tracked", len(got))
	}
	if !retryable(errMemberLeft) {
		t.Fatal("errMemberLeft is not retried")
	}

	// A request made after the departure, with a PID found before it,
	// is answered at once instead of waiting out its time-out.
	if _, err := n.ask(actor.NewPID("10.0.0.9:4000", "u1"), "ping", time.Minute); !errors.Is(err, errMemberLeft) {
		t.Fatalf("request to the departed address: %v, want errMemberLeft", err)
	}
	// A member on that address again (a restarted node) is asked again.
	// (Joined stays empty: this runtime has no cluster whose PID cache a
	// join would empty.)
	system.EventStream.Publish(&cluster.ClusterTopology{
		Members: []*cluster.Member{{Id: "live", Host: "10.0.0.8", Port: 4000}, {Id: "back", Host: "10.0.0.9", Port: 4000}},
	})
	again := system.Root.RequestFuture(silent, "ping", time.Minute)
	if !n.inflight.add("10.0.0.9:4000", again.PID()) {
		t.Fatal("a member back on the departed address is still treated as gone")
	}
}

// After a member joined, the cached grain PIDs are forgotten: some grains
// are now owned by the new member, and requests must find their new
// activation, not the old one. A change without a join keeps the cache.
func TestJoinForgetsCachedPIDs(t *testing.T) {
	system := actor.NewActorSystem()
	c := cluster.New(system, cluster.Configure("t", nil, nil, remote.Configure("127.0.0.1", 0)))
	n := &Runtime{system: system, cluster: c, log: slog.New(slog.DiscardHandler)}
	stop := n.watchDepartures()
	defer stop()

	a := &cluster.Member{Id: "a", Host: "10.0.0.1", Port: 4000}
	b := &cluster.Member{Id: "b", Host: "10.0.0.2", Port: 4000}
	joined := &cluster.Member{Id: "c", Host: "10.0.0.3", Port: 4000}
	c.PidCache.Set("u1", KindUser, actor.NewPID(a.Address(), "u1"))
	c.PidCache.Set("u2", KindUser, actor.NewPID(b.Address(), "u2"))

	system.EventStream.Publish(&cluster.ClusterTopology{Members: []*cluster.Member{a, b}})
	if _, ok := c.PidCache.Get("u1", KindUser); !ok {
		t.Fatal("a topology change without a join emptied the PID cache")
	}
	system.EventStream.Publish(&cluster.ClusterTopology{Members: []*cluster.Member{a, b, joined}, Joined: []*cluster.Member{joined}})
	for _, u := range []string{"u1", "u2"} {
		if pid, ok := c.PidCache.Get(u, KindUser); ok {
			t.Fatalf("%s still cached at %v after a member joined", u, pid)
		}
	}
}
