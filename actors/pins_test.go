package actors_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"google.golang.org/protobuf/proto"
)

// Pinned messages of a group: owners and admins pin a text or a card for
// every member to see (a system message each), up to MaxPinnedMessages; a
// plain member cannot; a pin goes alone in its request; an edit, a system
// message, a seq that holds nothing or one before the pinner's join is
// refused; pinning twice or unpinning what is not pinned records nothing;
// a recall takes its message off.
func TestPinnedMessages(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxPinnedMessages: 2})[0]
	ctx := tctx(t)
	const g = "g:pins"
	mustCreateGroup(t, node, g, "teacher", "pupil")
	post := func(user, text string, kind pb.MessageKind, refSeq uint64) uint64 {
		t.Helper()
		r, err := node.Send(ctx, &pb.SendMessage{Conv: g, Sender: user, Body: []byte(text), Kind: kind, RefSeq: refSeq})
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	change := func(actor string, pin, unpin uint64) (*pb.GroupSettingsResponse, error) {
		return node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: actor, PinSeq: pin, UnpinSeq: unpin})
	}
	pinned := func() []uint64 {
		t.Helper()
		r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "pupil"})
		if err != nil {
			t.Fatal(err)
		}
		return r.PinnedSeqs
	}
	homework := post("teacher", "homework: page 12", pb.MessageKind_NORMAL, 0)
	edit := post("teacher", "homework: page 13", pb.MessageKind_NORMAL, homework)
	card := post("teacher", `{"title":"Field trip on Friday"}`, pb.MessageKind_CARD, 0)
	third := post("pupil", "thanks", pb.MessageKind_NORMAL, 0)

	if _, err := change("pupil", homework, 0); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member pins: %v, want FORBIDDEN", err)
	}
	r, err := change("teacher", homework, 0)
	if err != nil || r.Seq == 0 || !slices.Equal(r.PinnedSeqs, []uint64{homework}) {
		t.Fatalf("pin %d: %v, %v", homework, r, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "pupil", FromSeq: r.Seq, ToSeq: r.Seq})
	var body struct {
		Op    string `json:"op"`
		Actor string `json:"actor"`
		Seq   uint64 `json:"seq"`
	}
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM || json.Unmarshal(msgs[0].Body, &body) != nil ||
		body.Op != "pin" || body.Actor != "teacher" || body.Seq != homework {
		t.Fatalf("the pin's system message: %v, %v", msgs, err)
	}
	if r, err := change("teacher", homework, 0); err != nil || r.Seq != 0 {
		t.Fatalf("pinning a pinned message: %v, %v; want no change", r, err)
	}
	for name, bad := range map[string]struct {
		req  *pb.GroupSettings
		want pb.Code
	}{
		"an edit":               {&pb.GroupSettings{PinSeq: edit}, pb.Code_INVALID},
		"the pin's own message": {&pb.GroupSettings{PinSeq: r.Seq}, pb.Code_INVALID},
		"no message":            {&pb.GroupSettings{PinSeq: 9999}, pb.Code_NOT_FOUND},
		"a pin and an unpin":    {&pb.GroupSettings{PinSeq: card, UnpinSeq: homework}, pb.Code_INVALID},
		"a pin with a setting":  {&pb.GroupSettings{PinSeq: card, AdminsOnly: proto.Bool(true)}, pb.Code_INVALID},
	} {
		bad.req.Conv, bad.req.Actor = g, "teacher"
		if _, err := node.GroupSettings(ctx, bad.req); actors.CodeOf(err) != bad.want {
			t.Errorf("pinning %s: %v, want %v", name, err, bad.want)
		}
	}
	if r, err := change("teacher", card, 0); err != nil || !slices.Equal(r.PinnedSeqs, []uint64{homework, card}) {
		t.Fatalf("pin the card: %v, %v", r, err)
	}
	if _, err := change("teacher", third, 0); actors.CodeOf(err) != pb.Code_INVALID || !strings.Contains(err.Error(), "limit 2") {
		t.Fatalf("a third pin past the limit of 2: %v", err)
	}
	if r, err := change("teacher", 0, homework); err != nil || r.Seq == 0 || !slices.Equal(r.PinnedSeqs, []uint64{card}) {
		t.Fatalf("unpin %d: %v, %v", homework, r, err)
	}
	if r, err := change("teacher", 0, homework); err != nil || r.Seq != 0 {
		t.Fatalf("unpinning what is not pinned: %v, %v; want no change", r, err)
	}
	if _, err := node.Recall(ctx, g, "teacher", card); err != nil {
		t.Fatal(err)
	}
	if got := pinned(); len(got) != 0 {
		t.Fatalf("pins after the card was recalled: %v, want none", got)
	}
	if _, err := change("teacher", card, 0); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("pinning a recalled message: %v, want NOT_FOUND", err)
	}
	// A member added later does not see what came before its join, so it
	// cannot pin it either.
	if _, err := membership(node, t, g, "teacher", pb.MembershipChange_ADD, pb.Role_ADMIN, "aide"); err != nil {
		t.Fatal(err)
	}
	if _, err := change("aide", third, 0); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("pinning a message before one's join: %v, want NOT_FOUND", err)
	}
	// Nor does it see such a pin: each member reads the pins it can read.
	if r, err := change("teacher", third, 0); err != nil || !slices.Equal(r.PinnedSeqs, []uint64{third}) {
		t.Fatalf("pin %d: %v, %v", third, r, err)
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: g, Actor: "aide"}); err != nil || len(r.PinnedSeqs) != 0 {
		t.Fatalf("the pins read by a member who joined after them: %v, %v; want none", r, err)
	}
}

// Pins in a direct conversation: either member pins a message for both
// (the deal they agreed on) and reads the pins; the other settings stay a
// group's; a recall takes its message off.
func TestPinnedMessagesDirect(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	deal, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("deal: 900 EUR, pick-up Saturday")})
	if err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("buyer", "seller")
	r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: "seller", PinSeq: deal.Seq})
	if err != nil || r.Seq == 0 || !slices.Equal(r.PinnedSeqs, []uint64{deal.Seq}) {
		t.Fatalf("the seller pins the buyer's message: %v %v", r, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "buyer", FromSeq: r.Seq, ToSeq: r.Seq})
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM || !strings.Contains(string(msgs[0].Body), `"op":"pin"`) {
		t.Fatalf("the pin's system message: %v %v", msgs, err)
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: "buyer"}); err != nil || !slices.Equal(r.PinnedSeqs, []uint64{deal.Seq}) {
		t.Fatalf("the buyer reads the pins: %v %v", r, err)
	}
	_, err = node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: "buyer", AdminsOnly: proto.Bool(true)})
	wantCode(t, err, pb.Code_FORBIDDEN, "a group's setting in a direct conversation")
	_, err = node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: "mallory", PinSeq: deal.Seq})
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger pins")
	if _, err := node.Recall(ctx, conv, "buyer", deal.Seq); err != nil {
		t.Fatal(err)
	}
	if r, err := node.GroupSettings(ctx, &pb.GroupSettings{Conv: conv, Actor: "seller"}); err != nil || len(r.PinnedSeqs) != 0 {
		t.Fatalf("pins after the recall: %v %v", r, err)
	}
}
