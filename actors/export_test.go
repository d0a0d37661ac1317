package actors

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/cluster/placement"
)

// SpawnConversationForTest starts an extra activation of conversation id
// outside the cluster's placement, beside whatever activation the cluster
// has: the fencing tests use it to force two live activations.
func SpawnConversationForTest(n *Runtime, id string) *actor.PID {
	return spawnOutside(n, KindConversation, id, func() actor.Actor { return newConversation(n) })
}

// outsideSpawns numbers the activations spawnOutside makes.
var outsideSpawns atomic.Uint64

// spawnOutside starts an activation of kind/id that the placement actor
// does not know, named as a placed grain (whose name gives its identity).
func spawnOutside(n *Runtime, kind, id string, produce actor.Producer) *actor.PID {
	name := placement.Name(kind, id, 1<<62+outsideSpawns.Add(1))
	pid, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(produce), name)
	if err != nil {
		panic(err)
	}
	return pid
}

// CreateUncheckedForTest asks the grain to create req without the API's
// namespace checks, to show the grain refuses a squatted id by itself.
func CreateUncheckedForTest(ctx context.Context, n *Runtime, req *pb.CreateConversation) error {
	_, err := n.create(ctx, req)
	return err
}

// SpawnUserForTest starts an extra activation of user id outside the
// cluster's placement: it takes the user's inbox epoch from whatever
// activation the cluster has, as a second node's activation would after a
// node kill.
func SpawnUserForTest(n *Runtime, id string) *actor.PID {
	return spawnOutside(n, KindUser, id, func() actor.Actor { return newUser(n) })
}

// ForgetDevicesForTest makes user's grain forget this node's sessions of
// the user without closing them, as a grain that lost them would (a
// second activation, a node that died unseen): only the re-registration
// sweep tells it again.
func ForgetDevicesForTest(ctx context.Context, n *Runtime, user string) error {
	for _, s := range n.sessions.of(user) {
		if err := n.unregisterDevice(ctx, user, s.device, s.pid); err != nil {
			return err
		}
	}
	return nil
}

// ReregisterMaxInFlightForTest is the most re-registrations the sweep had
// in flight at once.
func ReregisterMaxInFlightForTest(n *Runtime) int64 { return n.rereg.maxInFlight.Load() }

// UserGrainForTest is the cluster's activation of user id (started if
// need be).
func UserGrainForTest(n *Runtime, id string) (*actor.PID, error) {
	return n.pid(KindUser, id, n.cfg.RequestTimeout)
}

// RenewForTest re-registers sess now, as the sweep does.
func RenewForTest(sess session.Session) {
	sess.(*deviceSession).reregister(context.Background(), false, nil)
}

// SweepUploadsForTest runs one sweep of abandoned uploads as at now.
func SweepUploadsForTest(ctx context.Context, n *Runtime, now time.Time) (int, error) {
	return n.sweepUploads(ctx, now)
}
