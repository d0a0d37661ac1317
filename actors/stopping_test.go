package actors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/cluster"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Once a member's placement actor began to stop it activates nothing more:
// a request for a grain this member owns is refused RETRY at once ("this
// cluster member is stopping") instead of waiting out its context. A grain
// that made such a request during a stop held the stop until it timed out
// (ARCHITECTURE.md, "Traps").
func TestRequestsWhilePlacementStops(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	cluster.GetCluster(node.System()).Config.IdentityLookup.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: "g:never-activated", Actor: "u"})
	if actors.CodeOf(err) != pb.Code_RETRY || !strings.Contains(err.Error(), "stopping") || ctx.Err() != nil {
		t.Fatalf("a request while the placement actor stops: %v (context: %v), want RETRY: stopping, before the context ends", err, ctx.Err())
	}
}
