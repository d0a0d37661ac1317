package actors

import (
	"context"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// SpawnConversationForTest starts an extra activation of conversation id
// outside the cluster's placement, beside whatever activation the cluster
// has: the fencing tests use it to force two live activations.
func SpawnConversationForTest(n *Runtime, id string) *actor.PID {
	pid := n.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newConversation(n) }))
	// First in the mailbox, as the cluster's middleware would deliver it.
	n.system.Root.Send(pid, &cluster.ClusterInit{Identity: cluster.NewClusterIdentity(id, KindConversation)})
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
	pid := n.system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return newUser(n) }))
	n.system.Root.Send(pid, &cluster.ClusterInit{Identity: cluster.NewClusterIdentity(id, KindUser)})
	return pid
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
