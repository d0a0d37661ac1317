package actors_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"google.golang.org/protobuf/proto"
)

// TestDisbandGroup: an owner ends a group for every member at one system
// message; they keep its history up to there and their lists show they
// left; nobody writes, adds, changes a setting or joins with an invite
// again; an admin may not disband, nor anyone name users in it.
func TestDisbandGroup(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:term-2026"
	mustCreateGroup(t, node, g, "teacher", "aide", "pupil", "pupil2")
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "aide"); err != nil {
		t.Fatal(err)
	}
	inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: g, Actor: "teacher", Create: true})
	if err != nil {
		t.Fatal(err)
	}
	last := mustSend(t, node, g, "pupil", "see you next term").Seq
	disband := func(actor string, users ...string) (uint64, error) {
		return node.ChangeMembership(ctx, &pb.MembershipChange{Conv: g, Actor: actor, Op: pb.MembershipChange_DISBAND, Users: users})
	}
	if _, err := disband("aide"); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("an admin disbands: %v, want FORBIDDEN", err)
	}
	if _, err := disband("teacher", "pupil"); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a disband naming users: %v, want INVALID", err)
	}
	seq, err := disband("teacher")
	if err != nil || seq <= last {
		t.Fatalf("disband: %d, %v", seq, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "pupil2"})
	if err != nil || len(msgs) == 0 || msgs[0].Seq != seq { // newest first
		t.Fatalf("a former member's history: %v, %v; want it up to the disband", msgs, err)
	}
	var body struct {
		Op, Actor string
		Count     int
	}
	if err := json.Unmarshal(msgs[0].Body, &body); err != nil || body.Op != "disband" || body.Actor != "teacher" || body.Count != 4 {
		t.Fatalf("the disband's system message %s (%v)", msgs[0].Body, err)
	}
	for _, u := range []string{"teacher", "aide", "pupil", "pupil2"} {
		eventually(t, func() error { // the notices follow the answer
			res, err := node.ListConversations(ctx, u, "", 0)
			if err == nil && (len(res.Conversations) != 1 || res.Conversations[0].Member) {
				err = fmt.Errorf("%s's list: %v; want the group, left", u, res)
			}
			return err
		})
	}
	if _, err := send(ctx, node, g, "teacher", "one more thing"); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a send after the disband: %v, want NOT_MEMBER", err)
	}
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_ADD, pb.Role_MEMBER, "pupil"); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("an add after the disband: %v, want NOT_MEMBER", err)
	}
	if _, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "teacher", AdminsOnly: proto.Bool(false)}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a setting after the disband: %v, want NOT_MEMBER", err)
	}
	for _, u := range []string{"pupil", "stranger"} {
		if _, _, err := node.JoinGroup(ctx, u, inv.Token, ""); actors.CodeOf(err) != pb.Code_NOT_FOUND {
			t.Fatalf("%s joins with the old invite: %v, want NOT_FOUND", u, err)
		}
	}
	if _, err := disband("teacher"); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a second disband: %v, want NOT_MEMBER", err)
	}
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: g, Kind: pb.ConvKind_GROUP, Creator: "mallory"}); actors.CodeOf(err) != pb.Code_EXISTS {
		t.Fatalf("the id taken again: %v, want EXISTS", err)
	}
}
