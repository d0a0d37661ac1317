package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// group_settings answers how many active members a conversation has, so
// a client shows "N members" without paging through them: it follows
// adds, a removal and a leave, survives a restart (the grain counts its
// member rows again), and a direct conversation has its two. It lists a
// group's managers too: owners, then admins, at most MaxListedManagers.
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
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "dan"); err != nil {
		t.Fatal(err)
	}
	r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "ann"})
	if err != nil || len(r.Managers) != 2 || r.Managers[0].User != "teacher" || r.Managers[0].Role != pb.Role_OWNER ||
		r.Managers[1].User != "dan" || r.Managers[1].Role != pb.Role_ADMIN {
		t.Fatalf("managers: %v %v, want the owner teacher, then the admin dan", r.GetManagers(), err)
	}
	// The operator reads it too (the admin API), but changes nothing here.
	info, err := node.ConversationAsOperator(ctx, g)
	if err != nil || info.Settings.MemberCount != 3 || info.Conv.Kind != storage.KindGroup || len(info.Settings.Managers) != 2 {
		t.Fatalf("as the operator: %+v %v", info, err)
	}
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "teacher", Operator: true}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("the operator's flag through the members' call: %v, want INVALID", err)
	}
	if _, err := node.ConversationAsOperator(ctx, "g:nosuch"); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("a conversation that does not exist: %v, want NOT_FOUND", err)
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

// A group with more managers than MaxListedManagers lists that many: its
// owner, then its admins by user id.
func TestManagersListedAtTheBound(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	req := &pb.CreateConversation{Conv: "g:staff", Kind: pb.ConvKind_GROUP, Creator: "head"}
	for i := range actors.MaxListedManagers { // with the owner, one past the bound
		req.Members = append(req.Members, &pb.Member{User: fmt.Sprintf("t%03d", i), Role: pb.Role_ADMIN})
	}
	req.Members = append(req.Members, &pb.Member{User: "pupil"})
	if _, err := node.CreateConversation(tctx(t), req); err != nil {
		t.Fatal(err)
	}
	r, err := node.GroupSettings(tctx(t), &pb.GroupSettings{Conv: "g:staff", Actor: "pupil"})
	if err != nil || len(r.Managers) != actors.MaxListedManagers || r.MemberCount != actors.MaxListedManagers+2 {
		t.Fatalf("%d managers of %d members (%v), want %d of %d", len(r.GetManagers()), r.GetMemberCount(), err, actors.MaxListedManagers, actors.MaxListedManagers+2)
	}
	if first, last := r.Managers[0], r.Managers[len(r.Managers)-1]; first.User != "head" || last.User != fmt.Sprintf("t%03d", actors.MaxListedManagers-2) {
		t.Fatalf("listed from %s to %s, want head, then t000…t%03d", first.User, last.User, actors.MaxListedManagers-2)
	}
}
