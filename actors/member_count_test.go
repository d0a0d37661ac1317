package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// group_settings answers how many active members a conversation has, so
// a client shows "N members" without paging through them: it follows
// adds, a removal and a leave, survives a restart (the grain counts its
// member rows again), and a direct conversation has its two.
func TestMemberCount(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:count"
	mustCreateGroup(t, node, g, "teacher", "ann", "bob")
	count := func(conv, user string) uint32 {
		t.Helper()
		r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: user})
		if err != nil {
			t.Fatalf("%s reads %s's settings: %v", user, conv, err)
		}
		return r.MemberCount
	}
	if got := count(g, "ann"); got != 3 {
		t.Fatalf("a new group of 3: %d members", got)
	}
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_ADD, 0, "cat", "dan"); err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_REMOVE, 0, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := membership(node, t, g, "cat", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if got := count(g, "dan"); got != 3 {
		t.Fatalf("2 added, 1 removed, 1 left: %d members, want 3", got)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	if got := count(g, "teacher"); got != 3 {
		t.Fatalf("after a restart: %d members, want 3", got)
	}
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if got := count(actors.DirectConvID("ann", "bob"), "bob"); got != 2 {
		t.Fatalf("a direct conversation: %d members", got)
	}
}
