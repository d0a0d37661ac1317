package actors_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"google.golang.org/protobuf/proto"
)

// A group where only owners and admins post (a class, an announcement
// channel): a plain member's new message is FORBIDDEN while members still
// react and edit their own; the change is a system message every member
// reads; a plain member cannot change it; setting what is set records
// nothing; turning it off opens the group again.
func TestAdminsOnlyGroup(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const g = "g:class"
	mustCreateGroup(t, node, g, "teacher", "aide", "pupil")
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "aide"); err != nil {
		t.Fatal(err)
	}
	post := func(user, text string, refSeq uint64, kind pb.MessageKind) (uint64, error) {
		r, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Body: []byte(text), RefSeq: refSeq, Kind: kind})
		return r.GetSeq(), err
	}
	set := func(actor string, on bool) (*pb.GroupSettingsResponse, error) {
		return node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, AdminsOnly: proto.Bool(on)})
	}
	early, err := post("pupil", "hello class", 0, pb.MessageKind_NORMAL)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := set("pupil", true); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member changes who posts: %v, want FORBIDDEN", err)
	}
	r, err := set("teacher", true)
	if err != nil || !r.AdminsOnly || r.Seq == 0 {
		t.Fatalf("admins only: %v, %v; want on, with the seq of its system message", r, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "pupil", FromSeq: r.Seq, ToSeq: r.Seq})
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM {
		t.Fatalf("the change's system message: %v, %v", msgs, err)
	}
	var body struct {
		Op         string `json:"op"`
		Actor      string `json:"actor"`
		AdminsOnly bool   `json:"admins_only"`
	}
	if err := json.Unmarshal(msgs[0].Body, &body); err != nil || body.Op != "settings" || body.Actor != "teacher" || !body.AdminsOnly {
		t.Fatalf("system message body %s (%v)", msgs[0].Body, err)
	}

	if _, err := post("pupil", "can I ask?", 0, pb.MessageKind_NORMAL); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member's new message: %v, want FORBIDDEN", err)
	}
	if _, err := post("pupil", "👍", early, pb.MessageKind_REACTION); err != nil {
		t.Fatalf("a plain member's reaction: %v", err)
	}
	if _, err := post("pupil", "hello, class", early, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("a plain member's edit of their own message: %v", err)
	}
	for _, who := range []string{"teacher", "aide"} {
		if _, err := post(who, "homework: page 12", 0, pb.MessageKind_NORMAL); err != nil {
			t.Fatalf("%s posts: %v", who, err)
		}
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "pupil"}); err != nil || !r.AdminsOnly {
		t.Fatalf("read by a member: %v, %v; want admins only", r, err)
	}
	if r, err := set("aide", true); err != nil || r.Seq != 0 {
		t.Fatalf("setting what is set: %v, %v; want no system message", r, err)
	}

	if r, err := set("aide", false); err != nil || r.AdminsOnly || r.Seq == 0 {
		t.Fatalf("an admin opens the group: %v, %v", r, err)
	}
	if _, err := post("pupil", "thanks!", 0, pb.MessageKind_NORMAL); err != nil {
		t.Fatalf("a plain member posts again: %v", err)
	}
}
