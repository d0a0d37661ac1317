package actors_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A create asked again exactly as it was made (a grain request retried
// after its answer was lost) succeeds; any other create of the id, or the
// same one after the members changed, is EXISTS.
func TestCreateRetrySafe(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	create := func(creator string, members ...string) error {
		m := &pb.CreateConversation{Conv: "g:retry", Kind: pb.ConvKind_GROUP, Creator: creator, Title: "t"}
		for _, u := range members {
			m.Members = append(m.Members, &pb.Member{User: u})
		}
		_, err := node.CreateConversation(ctx, m)
		return err
	}
	if err := create("a", "b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := create("a", "c", "b"); err != nil {
		t.Fatalf("the same create again: %v", err)
	}
	wantCode(t, create("a", "b"), pb.Code_EXISTS, "fewer members")
	wantCode(t, create("a", "b", "c", "d"), pb.Code_EXISTS, "more members")
	wantCode(t, create("b", "a", "c"), pb.Code_EXISTS, "another creator")
	time.Sleep(5 * time.Millisecond) // joined at a later instant than the creation
	if _, err := membership(node, t, "g:retry", "a", pb.MembershipChange_ADD, pb.Role_MEMBER, "d"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, create("a", "b", "c", "d"), pb.Code_EXISTS, "the members after a change")
}
