package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestVisitorIsOnlyACustomer: an anonymous visitor (an id in the visitor
// namespace) is a member of no direct conversation and no group, whichever
// path would make it one, and is only the customer of a service
// conversation; so it reaches nobody but the desk and nobody reaches it
// but the desk.
func TestVisitorIsOnlyACustomer(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const visitor = "visitor-k3q9zt4m2x8c"
	if !actors.IsVisitor(visitor) || actors.IsVisitor("visitor-") || actors.IsVisitor("avisitor-x") {
		t.Fatal("the visitor namespace")
	}

	// A direct message, either way.
	_, err := node.SendDirect(ctx, "alice", &pb.SendMessage{Sender: visitor, Body: []byte("hi")})
	wantCode(t, err, pb.Code_FORBIDDEN, "a visitor writes to a user")
	_, err = node.SendDirect(ctx, visitor, &pb.SendMessage{Sender: "mallory", Body: []byte("hi")})
	wantCode(t, err, pb.Code_FORBIDDEN, "a user writes to a visitor")

	// A group: created by a visitor, with a visitor in it, a visitor
	// added, promoted, or joining with an invite (with approval too).
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_GROUP, Creator: visitor, Members: []*pb.Member{{User: "alice"}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "a visitor creates a group")
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_GROUP, Creator: "mallory", Members: []*pb.Member{{User: visitor}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "a group made with a visitor in it")
	const g = "g:club"
	mustCreateGroup(t, node, g, "olga", "mia")
	_, err = membership(node, t, g, "olga", pb.MembershipChange_ADD, pb.Role_MEMBER, visitor)
	wantCode(t, err, pb.Code_FORBIDDEN, "a visitor added to a group")
	for _, approval := range []bool{false, true} {
		inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: g, Actor: "olga", Create: true, Approval: approval})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = node.JoinGroup(ctx, visitor, inv.Token, "")
		wantCode(t, err, pb.Code_FORBIDDEN, "a visitor joins with an invite")
	}
	_, err = node.History(ctx, &pb.GetHistory{Conv: g, User: visitor})
	wantCode(t, err, pb.Code_NOT_MEMBER, "a visitor reads the group")

	// A service conversation: the visitor as its customer, never as an
	// agent or a plain member.
	s, err := node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_SERVICE,
		Members: []*pb.Member{{User: visitor, Role: pb.Role_CUSTOMER}, {User: "agent", Role: pb.Role_AGENT}}})
	if err != nil {
		t.Fatalf("a visitor as a service conversation's customer: %v", err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: visitor, Body: []byte("is it still for sale?")}); err != nil {
		t.Fatalf("the visitor writes to the desk: %v", err)
	}
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Kind: pb.ConvKind_SERVICE,
		Members: []*pb.Member{{User: "carla", Role: pb.Role_CUSTOMER}, {User: visitor, Role: pb.Role_AGENT}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "a visitor as an agent")
	_, err = membership(node, t, s.Conv, "agent", pb.MembershipChange_ADD, pb.Role_MEMBER, "visitor-other")
	wantCode(t, err, pb.Code_FORBIDDEN, "a visitor added to a service conversation as a member")
	if _, err := membership(node, t, s.Conv, "agent", pb.MembershipChange_ADD, pb.Role_CUSTOMER, "visitor-other"); err != nil {
		t.Fatalf("a visitor added as a customer: %v", err)
	}
}
