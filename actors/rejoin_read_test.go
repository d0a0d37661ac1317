package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A member that left and is added again reads right after the add's ack:
// the read is not clamped to the old leave, whether or not the add's
// notice has reached the member's grain yet. Each round leaves and rejoins
// again, so the read races the notice many times.
func TestReadRightAfterRejoin(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:rejoin"
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "o",
		Members: []*pb.Member{{User: "m", Role: pb.Role_MEMBER}}}); err != nil {
		t.Fatal(err)
	}
	for round := range 30 {
		if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: "m", Op: pb.MembershipChange_LEAVE}); err != nil {
			t.Fatal(err)
		}
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: "o", ClientMsgId: fmt.Sprint("r", round), Body: []byte("while away")}); err != nil {
			t.Fatal(err)
		}
		joined, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: "o", Op: pb.MembershipChange_ADD, Users: []string{"m"}})
		if err != nil {
			t.Fatal(err)
		}
		r, err := node.MarkRead(ctx, "m", "phone", g, joined)
		if err != nil {
			t.Fatalf("round %d: read to the join %d: %v", round, joined, err)
		}
		if r.ReadSeq != joined {
			t.Fatalf("round %d: read to the join %d: cursor %d", round, joined, r.ReadSeq)
		}
	}
}
