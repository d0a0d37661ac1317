package actors_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// summaryOf is conv as user's conversation list shows it.
func summaryOf(ctx context.Context, node *boot.Node, user, conv string) (*pb.ConvSummary, error) {
	list, err := node.ListConversations(ctx, user, "", 50)
	if err != nil {
		return nil, err
	}
	for _, c := range list.Conversations {
		if c.Conv == conv {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%s not in %s's list", conv, user)
}

// frozenIn is conv's freeze as user's list shows it.
func frozenIn(ctx context.Context, node *boot.Node, user, conv string) (*pb.Frozen, error) {
	c, err := summaryOf(ctx, node, user, conv)
	return c.GetFrozen(), err
}

// Frozen conversations: the operator freezes the chat about a listing
// that sold; nobody posts anything into it (a text, a reaction, an edit, a
// forward, a scheduled message) while both still read, mark read and
// recall their own; both lists show why; the operator opens it again. The
// reason's bound holds at its edge; neither member freezes it.
func TestFrozenDirectConversation(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxFreezeReasonBytes: 12, SendRate: 1e6, SendBurst: 1e6, RecallWindow: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	ask, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("still available?")})
	if err != nil {
		t.Fatal(err)
	}
	phone := mustSend(t, node, conv, "seller", "yes, call 0170 1234567")
	lastWord := &pb.SendMessage{Conv: conv, Sender: "buyer", ClientMsgId: "last-word", Body: []byte("thanks anyway")}
	said, err := node.Send(ctx, proto.Clone(lastWord).(*pb.SendMessage))
	if err != nil {
		t.Fatal(err)
	}
	other, err := node.SendDirect(ctx, "friend", &pb.SendMessage{Sender: "buyer", Body: []byte("look at this")})
	if err != nil {
		t.Fatal(err)
	}

	_, _, err = node.Freeze(ctx, conv, "seller", proto.Bool(true), "", time.Time{})
	wantCode(t, err, pb.Code_FORBIDDEN, "one side freezes a direct conversation")
	_, _, err = node.FreezeAsOperator(ctx, conv, proto.Bool(true), "sold, thanks!", time.Time{})
	wantCode(t, err, pb.Code_TOO_LARGE, "a reason one byte over the bound")
	_, _, err = node.FreezeAsOperator(ctx, conv, proto.Bool(true), "\xff", time.Time{})
	wantCode(t, err, pb.Code_INVALID, "a reason that is not UTF-8")
	_, _, err = node.FreezeAsOperator(ctx, conv, proto.Bool(false), "why", time.Time{})
	wantCode(t, err, pb.Code_INVALID, "a reason with an unfreeze")
	_, _, err = node.FreezeAsOperator(ctx, actors.DirectConvID("buyer", "nobody"), proto.Bool(true), "", time.Time{})
	wantCode(t, err, pb.Code_NOT_FOUND, "a conversation never written")
	if f, _, err := node.Freeze(ctx, conv, "buyer", nil, "", time.Time{}); err != nil || f != nil {
		t.Fatalf("a member reads an open conversation: %v %v", f, err)
	}

	f, seq, err := node.FreezeAsOperator(ctx, conv, proto.Bool(true), "sold, thanks", time.Time{})
	if err != nil || f.GetReason() != "sold, thanks" || f.GetBy() != actors.OperatorSender || f.GetAtMs() == 0 || seq <= phone.Seq {
		t.Fatalf("the operator freezes with a reason at the bound: %v %d %v", f, seq, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "buyer", FromSeq: seq, ToSeq: seq, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Kind != pb.MessageKind_SYSTEM ||
		string(msgs[0].Body) != `{"actor":"system","frozen":true,"op":"freeze","reason":"sold, thanks"}` {
		t.Fatalf("the freeze's system message: %v %v", msgs, err)
	}
	if again, seq2, err := node.FreezeAsOperator(ctx, conv, proto.Bool(true), "sold, thanks", time.Time{}); err != nil || seq2 != 0 || again.GetAtMs() != f.AtMs {
		t.Fatalf("the same freeze again records nothing: %v %d %v", again, seq2, err)
	}

	// Nothing goes in, whoever sends it and however.
	refused := map[string]*pb.SendMessage{
		"a text":                    {Conv: conv, Sender: "buyer", Body: []byte("can I still have it?")},
		"a reaction":                {Conv: conv, Sender: "buyer", Kind: pb.MessageKind_REACTION, RefSeq: phone.Seq, Body: []byte("👍")},
		"an edit":                   {Conv: conv, Sender: "buyer", RefSeq: ask.Seq, Body: []byte("still there?")},
		"a forward into it":         {Conv: conv, Sender: "buyer", ForwardConv: actors.DirectConvID("buyer", "friend"), ForwardSeq: other.Seq},
		"a first message by its id": {Sender: "seller", Body: []byte("sorry")},
	}
	for what, m := range refused {
		var err error
		if m.Conv == "" {
			_, err = node.SendDirect(ctx, "buyer", m)
		} else {
			_, err = node.Send(ctx, m)
		}
		wantCode(t, err, pb.Code_FROZEN, what)
		if err != nil && !strings.Contains(err.Error(), "sold, thanks") {
			t.Errorf("%s: the refusal does not say why: %v", what, err)
		}
	}
	// A resend of a message accepted before the freeze (its answer lost)
	// is answered with it, not refused.
	if again, err := node.Send(ctx, lastWord); err != nil || !again.Duplicate || again.Seq != said.Seq {
		t.Fatalf("a resend after the freeze: %v %v", again, err)
	}
	_, err = node.Schedule(ctx, "buyer", "", &pb.SendMessage{Conv: conv, Sender: "buyer", ClientMsgId: "later", Body: []byte("tomorrow?")}, time.Now().Add(time.Hour))
	wantCode(t, err, pb.Code_FROZEN, "a message scheduled into it")

	// Both still read, mark read, and take back what they said.
	if msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "seller", Limit: 10}); err != nil || len(msgs) != 4 {
		t.Fatalf("the seller reads the frozen conversation: %d %v", len(msgs), err)
	}
	if _, err := node.MarkRead(ctx, "buyer", "phone", conv, seq); err != nil {
		t.Fatalf("mark read: %v", err)
	}
	if _, err := node.Recall(ctx, conv, "seller", phone.Seq); err != nil {
		t.Fatalf("the seller takes back their number: %v", err)
	}
	for _, user := range []string{"buyer", "seller"} {
		eventually(t, func() error {
			f, err := frozenIn(ctx, node, user, conv)
			if err != nil || f.GetReason() != "sold, thanks" {
				return fmt.Errorf("%s's list: %v %v", user, f, err)
			}
			return nil
		})
	}

	// A restart keeps it frozen; the operator opens it again.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	_, err = send(ctx, node, conv, "buyer", "hello?")
	wantCode(t, err, pb.Code_FROZEN, "a send after a restart")
	if f, err := frozenIn(ctx, node, "seller", conv); err != nil || f.GetReason() != "sold, thanks" {
		t.Fatalf("the list after a restart: %v %v", f, err)
	}
	if f, seq, err := node.FreezeAsOperator(ctx, conv, proto.Bool(false), "", time.Time{}); err != nil || f != nil || seq == 0 {
		t.Fatalf("the operator opens it again: %v %d %v", f, seq, err)
	}
	mustSend(t, node, conv, "buyer", "a new listing?")
	eventually(t, func() error {
		if f, err := frozenIn(ctx, node, "seller", conv); err != nil || f != nil {
			return fmt.Errorf("the seller's list after the unfreeze: %v %v", f, err)
		}
		return nil
	})
}

// A group's owners and admins freeze it (a class after the term) and open
// it again; a plain member does not. While frozen nobody posts, owners
// included, but members still leave and managers still add; a service
// conversation is the desk's, which the operator does not freeze.
func TestFrozenGroup(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	mustCreateGroup(t, node, "g:class", "teacher", "pupil", "helper")
	if _, err := membership(node, t, "g:class", "teacher", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "helper"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, "g:class", "pupil", "see you next term")
	_, _, err := node.Freeze(ctx, "g:class", "pupil", proto.Bool(true), "", time.Time{})
	wantCode(t, err, pb.Code_FORBIDDEN, "a plain member freezes")
	if _, _, err := node.Freeze(ctx, "g:class", "helper", proto.Bool(true), "term is over", time.Time{}); err != nil {
		t.Fatalf("an admin freezes: %v", err)
	}
	for _, user := range []string{"pupil", "helper", "teacher"} {
		_, err := send(ctx, node, "g:class", user, "one more thing")
		wantCode(t, err, pb.Code_FROZEN, user+" posts into the frozen group")
	}
	if f, _, err := node.Freeze(ctx, "g:class", "pupil", nil, "", time.Time{}); err != nil || f.GetBy() != "helper" || f.GetReason() != "term is over" {
		t.Fatalf("a member reads the freeze: %v %v", f, err)
	}
	if _, err := membership(node, t, "g:class", "teacher", pb.MembershipChange_ADD, pb.Role_MEMBER, "late"); err != nil {
		t.Fatalf("the owner adds a member to the frozen group: %v", err)
	}
	eventually(t, func() error {
		if f, err := frozenIn(ctx, node, "late", "g:class"); err != nil || f.GetReason() != "term is over" {
			return fmt.Errorf("a member added while frozen sees it frozen: %v %v", f, err)
		}
		return nil
	})
	if _, err := membership(node, t, "g:class", "pupil", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatalf("a member leaves the frozen group: %v", err)
	}
	if f, seq, err := node.Freeze(ctx, "g:class", "teacher", proto.Bool(false), "", time.Time{}); err != nil || f != nil || seq == 0 {
		t.Fatalf("the owner opens it again: %v %d %v", f, seq, err)
	}
	mustSend(t, node, "g:class", "late", "hello all")

	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "s:cars:c1:1", Kind: pb.ConvKind_SERVICE,
		Members: []*pb.Member{{User: "c1", Role: pb.Role_CUSTOMER}, {User: "agent", Role: pb.Role_AGENT}}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = node.FreezeAsOperator(ctx, "s:cars:c1:1", proto.Bool(true), "", time.Time{})
	wantCode(t, err, pb.Code_FORBIDDEN, "the operator freezes a service conversation")
}

// A cool-down: a group frozen for a while opens by itself at its end,
// with nothing written then; the lists carry the end and stop saying
// frozen past it. An end not ahead, past --max-freeze-for, or with an
// unfreeze is refused.
func TestFreezeCoolDown(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxFreezeFor: time.Hour})[0]
	ctx := tctx(t)
	mustCreateGroup(t, node, "g:heated", "mod", "ann", "bob")
	for what, until := range map[string]time.Time{
		"an end gone by":        time.Now().Add(-time.Second),
		"an end past the bound": time.Now().Add(time.Hour + time.Minute),
	} {
		_, _, err := node.Freeze(ctx, "g:heated", "mod", proto.Bool(true), "cool down", until)
		wantCode(t, err, pb.Code_INVALID, what)
	}
	_, _, err := node.Freeze(ctx, "g:heated", "mod", proto.Bool(false), "", time.Now().Add(time.Minute))
	wantCode(t, err, pb.Code_INVALID, "an end with an unfreeze")
	if f, _, err := node.Freeze(ctx, "g:heated", "mod", proto.Bool(true), "", time.Now().Add(time.Hour-time.Second)); err != nil || f.GetUntilMs() == 0 {
		t.Fatalf("an end just within the bound: %v %v", f, err)
	}
	if _, _, err := node.Freeze(ctx, "g:heated", "mod", proto.Bool(false), "", time.Time{}); err != nil {
		t.Fatal(err)
	}

	end := time.Now().Add(700 * time.Millisecond)
	f, seq, err := node.Freeze(ctx, "g:heated", "mod", proto.Bool(true), "cool down", end)
	if err != nil || f.GetUntilMs() != end.UnixMilli() || seq == 0 {
		t.Fatalf("a freeze for a while: %v %d %v", f, seq, err)
	}
	_, err = send(ctx, node, "g:heated", "ann", "but he started it")
	wantCode(t, err, pb.Code_FROZEN, "a send during the cool-down")
	if err != nil && !strings.Contains(err.Error(), time.UnixMilli(end.UnixMilli()).UTC().Format(time.RFC3339)) {
		t.Errorf("the refusal does not say until when: %v", err)
	}
	eventually(t, func() error {
		if f, err := frozenIn(ctx, node, "bob", "g:heated"); err != nil || f.GetUntilMs() != end.UnixMilli() {
			return fmt.Errorf("bob's list during the cool-down: %v %v", f, err)
		}
		return nil
	})
	time.Sleep(time.Until(end) + 50*time.Millisecond)
	mustSend(t, node, "g:heated", "ann", "sorry, all")
	if f, err := frozenIn(ctx, node, "bob", "g:heated"); err != nil || f != nil {
		t.Fatalf("bob's list after the end: %v %v", f, err)
	}
	if f, again, err := node.Freeze(ctx, "g:heated", "mod", nil, "", time.Time{}); err != nil || f != nil || again != 0 {
		t.Fatalf("the freeze read after its end: %v %d %v", f, again, err)
	}
}
