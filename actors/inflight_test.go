package actors

import (
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"
)

// A topology change that drops a member answers the requests in flight to
// it with memberLeft, and only those.
func TestDeparturesAnswerRequestsInFlight(t *testing.T) {
	system := actor.NewActorSystem()
	n := &Runtime{system: system, log: slog.New(slog.DiscardHandler)}
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
}
