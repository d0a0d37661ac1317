package actors_test

import (
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// Who may add a user to a group (privacy group_add_from): nobody (the
// user still joins with an invite code), only users sharing a group, or
// everyone; it holds for create_group's members and for membership ADD,
// names every user refused, spares the operator; the node's default
// holds for a user who never chose.
func TestGroupAddFrom(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	set := func(node *boot.Node, user string, g pb.GroupAddFrom) {
		t.Helper()
		r, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: user, GroupAddFrom: g.Enum()})
		if err != nil || r.GroupAddFrom != g {
			t.Fatalf("%s sets group_add_from %v: %v %v", user, g, r, err)
		}
	}
	create := func(node *boot.Node, conv, owner string, members ...string) error {
		req := &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_GROUP, Creator: owner}
		for _, m := range members {
			req.Members = append(req.Members, &pb.Member{User: m})
		}
		_, err := node.CreateConversation(ctx, req)
		return err
	}

	// Nobody: neither a group's creation nor an add takes the seller in;
	// the refusal names everyone kept out, and the others are not added
	// either. An invite code still lets the seller in.
	set(node, "seller", pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY)
	set(node, "shy", pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY)
	err := create(node, "g:deals", "spammer", "seller", "buyer")
	wantCode(t, err, pb.Code_FORBIDDEN, "a group created with a seller who takes no adds")
	if !strings.Contains(err.Error(), "seller may be added to groups by nobody") || !strings.Contains(err.Error(), "invite code") {
		t.Fatalf("the refusal should name the seller and the way in: %v", err)
	}
	mustCreateGroup(t, node, "g:deals", "spammer", "buyer")
	_, err = membership(node, t, "g:deals", "spammer", pb.MembershipChange_ADD, 0, "shy", "seller", "other")
	wantCode(t, err, pb.Code_FORBIDDEN, "an add of two who take none and one who does")
	if !strings.Contains(err.Error(), "seller, shy may be added to groups by nobody") {
		t.Fatalf("the refusal should name both, sorted: %v", err)
	}
	if members, _, err := node.MembersAsOperator(ctx, "g:deals", "", 100); err != nil || len(members) != 2 {
		t.Fatalf("nobody was added by the refused request: %v %v", members, err)
	}
	inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: "g:deals", Actor: "spammer", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.JoinGroup(ctx, "seller", inv.Token, ""); err != nil {
		t.Fatalf("the seller joins with an invite code: %v", err)
	}
	if _, err := node.ChangeMembershipAsOperator(ctx, &pb.MembershipChange{Conv: "g:deals", Actor: "spammer", Op: pb.MembershipChange_ADD, Users: []string{"shy"}}); err != nil {
		t.Fatalf("the operator adds as the group's owner: %v", err)
	}

	// Groups: a classmate adds the pupil to a study group, a stranger and
	// one who left the class may not.
	mustCreateGroup(t, node, "g:class", "teacher", "pupil", "mate", "leaver")
	set(node, "pupil", pb.GroupAddFrom_GROUP_ADD_FROM_GROUPS)
	if _, err := membership(node, t, "g:class", "leaver", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if err := create(node, "g:study", "mate", "pupil"); err != nil {
		t.Fatalf("a classmate creates a study group with the pupil: %v", err)
	}
	err = create(node, "g:party", "stranger", "pupil", "mate")
	wantCode(t, err, pb.Code_FORBIDDEN, "a stranger's group with the pupil")
	if !strings.Contains(err.Error(), "pupil only by people who share a group with them") {
		t.Fatalf("the refusal should say why: %v", err)
	}
	mustCreateGroup(t, node, "g:leavers", "leaver")
	_, err = membership(node, t, "g:leavers", "leaver", pb.MembershipChange_ADD, 0, "pupil")
	wantCode(t, err, pb.Code_FORBIDDEN, "an add by one who left the shared group")
	if _, err := membership(node, t, "g:leavers", "leaver", pb.MembershipChange_ADD, 0, "mate"); err != nil {
		t.Fatalf("mate, who never chose, is added by anyone: %v", err)
	}

	// The node's default, for a user who never chose, and back to it.
	node.Stop(true)
	cfg.GroupAddFrom = pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY
	node = startCluster(t, 1, store, cfg)[0]
	wantCode(t, create(node, "g:new", "teacher", "nochoice"), pb.Code_FORBIDDEN, "a user who never chose, on a node whose default is nobody")
	set(node, "nochoice", pb.GroupAddFrom_GROUP_ADD_FROM_EVERYONE)
	if err := create(node, "g:new", "teacher", "nochoice"); err != nil {
		t.Fatalf("a user who takes adds from everyone: %v", err)
	}
	set(node, "nochoice", pb.GroupAddFrom_GROUP_ADD_FROM_DEFAULT)
	wantCode(t, create(node, "g:new2", "teacher", "nochoice"), pb.Code_FORBIDDEN, "back to the node's default, nobody")
	if _, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: "pupil", GroupAddFrom: pb.GroupAddFrom(4).Enum()}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("group_add_from 4: %v, want INVALID", err)
	}
	// The privacy row keeps the other settings beside it.
	r, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: "seller", DirectFrom: pb.DirectFrom_DIRECT_FROM_GROUPS.Enum()})
	if err != nil || r.GroupAddFrom != pb.GroupAddFrom_GROUP_ADD_FROM_NOBODY || r.DirectFrom != pb.DirectFrom_DIRECT_FROM_GROUPS {
		t.Fatalf("the seller's settings after a restart and a change beside: %v %v", r, err)
	}
}
