package actors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// callStep runs one step of call id in conv as device of user.
func callStep(ctx context.Context, node *boot.Node, conv, user, device string, op pb.CallOp_Op, id string, payload string) (*pb.Call, error) {
	return node.CallStep(ctx, &pb.CallOp{Conv: conv, User: user, Device: device, Op: op, CallId: id, Payload: []byte(payload)})
}

// waitCallEvent waits until d saw a call step that match accepts, and
// returns it.
func waitCallEvent(t *testing.T, d *device, what string, match func(*pb.CallEvent) bool) *pb.CallEvent {
	t.Helper()
	var got *pb.CallEvent
	eventually(t, func() error {
		for _, e := range d.callEvents() {
			if match(e) {
				got = e
				return nil
			}
		}
		return fmt.Errorf("%s: not among %v", what, d.callEvents())
	})
	return got
}

func ended(outcome string) func(*pb.CallEvent) bool {
	return func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_ENDED && e.Outcome == outcome }
}

// callRecord is the system message recording the call that ended at seq.
func callRecord(t *testing.T, node *boot.Node, conv, user string, seq uint64) map[string]any {
	t.Helper()
	msgs, err := node.History(tctx(t), &pb.GetHistory{Conv: conv, User: user, FromSeq: seq, ToSeq: seq, OldestFirst: true, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Seq != seq || msgs[0].Kind != pb.MessageKind_SYSTEM {
		t.Fatalf("the call's record at %d: %v %v", seq, msgs, err)
	}
	var rec map[string]any
	if err := json.Unmarshal(msgs[0].Body, &rec); err != nil || rec["op"] != "call" {
		t.Fatalf("the call's record %s: %v", msgs[0].Body, err)
	}
	return rec
}

// A buyer calls a seller who has a phone and a laptop online: both ring
// with the offer, the laptop answers, the phone stops ringing and can
// neither answer nor signal; the two devices' signals reach each other in
// order and nobody else; the seller hangs up, both hear the end, and the
// conversation records it with its duration. Only the two of a direct
// conversation call; a second call waits for the first.
func TestCallRingAnswerHangUp(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("may I call?")}); err != nil {
		t.Fatal(err)
	}
	buyer, _ := connect(t, node, "buyer", "phone")
	phone, _ := connect(t, node, "seller", "phone")
	laptop, _ := connect(t, node, "seller", "laptop")

	if c, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "buyer", Device: "phone", Op: pb.CallOp_START, CallId: "c1", Video: true, Payload: []byte("offer")}); err != nil ||
		c.GetId() != "c1" || c.Caller != "buyer" || c.Callee != "seller" || !c.Video || c.AnsweredMs != 0 {
		t.Fatalf("start: %v %v", c, err)
	}
	for name, d := range map[string]*device{"phone": phone, "laptop": laptop} {
		e := waitCallEvent(t, d, name+" rings", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_RINGING })
		if string(e.Payload) != "offer" || e.Call.CallerDevice != "phone" || !e.Call.Video {
			t.Fatalf("%s's ring: %v", name, e)
		}
	}
	if c, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "c1", "offer"); err != nil || c.GetId() != "c1" {
		t.Fatalf("a start retried is the same call: %v %v", c, err)
	}
	_, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_START, "c2", "")
	wantCode(t, err, pb.Code_IN_CALL, "a second call while one rings")
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_ACCEPT, "c1", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "the caller answers their own call")
	_, err = callStep(ctx, node, conv, "seller", "phone", pb.CallOp_SIGNAL, "c1", "x")
	wantCode(t, err, pb.Code_FORBIDDEN, "the callee signals before answering")
	if c, offer, err := node.CallState(ctx, conv, "seller"); err != nil || c.GetId() != "c1" || string(offer) != "offer" {
		t.Fatalf("the callee reads the ringing call and its offer: %v %q %v", c, offer, err)
	}
	if c, offer, err := node.CallState(ctx, conv, "buyer"); err != nil || c.GetId() != "c1" || offer != nil {
		t.Fatalf("the caller reads the ringing call, no offer: %v %q %v", c, offer, err)
	}

	c, err := callStep(ctx, node, conv, "seller", "laptop", pb.CallOp_ACCEPT, "c1", "answer")
	if err != nil || c.AnsweredDevice != "laptop" || c.AnsweredMs == 0 {
		t.Fatalf("the laptop answers: %v %v", c, err)
	}
	if e := waitCallEvent(t, buyer, "the caller hears the answer", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_ACCEPTED }); string(e.Payload) != "answer" {
		t.Fatalf("the caller's accepted: %v", e)
	}
	if e := waitCallEvent(t, phone, "the phone stops ringing", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_ACCEPTED }); e.Call.AnsweredDevice != "laptop" || len(e.Payload) != 0 {
		t.Fatalf("the phone's accepted: %v", e)
	}
	_, err = callStep(ctx, node, conv, "seller", "phone", pb.CallOp_ACCEPT, "c1", "answer 2")
	wantCode(t, err, pb.Code_IN_CALL, "the phone answers too late")
	_, err = callStep(ctx, node, conv, "seller", "phone", pb.CallOp_SIGNAL, "c1", "x")
	wantCode(t, err, pb.Code_FORBIDDEN, "the device that did not answer signals")
	_, err = callStep(ctx, node, conv, "seller", "phone", pb.CallOp_END, "c1", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "the device that did not answer hangs up")

	for i := range 5 {
		if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_SIGNAL, "c1", fmt.Sprint("ice", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := callStep(ctx, node, conv, "seller", "laptop", pb.CallOp_SIGNAL, "c1", "ice-back"); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, laptop, "the last signal", func(e *pb.CallEvent) bool { return string(e.Payload) == "ice4" })
	var order []string
	for _, e := range laptop.callEvents() {
		if e.Kind == pb.CallEvent_SIGNAL {
			order = append(order, string(e.Payload))
		}
	}
	if strings.Join(order, ",") != "ice0,ice1,ice2,ice3,ice4" {
		t.Fatalf("the laptop's signals: %v", order)
	}
	waitCallEvent(t, buyer, "the answering device's signal", func(e *pb.CallEvent) bool { return string(e.Payload) == "ice-back" })
	for _, e := range phone.callEvents() {
		if e.Kind == pb.CallEvent_SIGNAL {
			t.Fatalf("the device that did not answer got a signal: %v", e)
		}
	}

	_, err = callStep(ctx, node, conv, "seller", "laptop", pb.CallOp_END, "c2", "")
	wantCode(t, err, pb.Code_NOT_FOUND, "hanging up another call")
	if c, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "seller", Device: "laptop", Op: pb.CallOp_END, CallId: "c1", Reason: "talk later"}); err != nil || c != nil {
		t.Fatalf("the seller hangs up: %v %v", c, err)
	}
	for name, d := range map[string]*device{"buyer": buyer, "phone": phone, "laptop": laptop} {
		e := waitCallEvent(t, d, name+" hears the end", ended("ended"))
		if e.Seq == 0 || e.Reason != "talk later" || e.DurationMs < 0 {
			t.Fatalf("%s's end: %v", name, e)
		}
		rec := callRecord(t, node, conv, "buyer", e.Seq)
		if rec["outcome"] != "ended" || rec["actor"] != "buyer" || rec["callee"] != "seller" || rec["by"] != "seller" || rec["video"] != true {
			t.Fatalf("the record: %v", rec)
		}
	}
	if c, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_STATE, "", ""); err != nil || c != nil {
		t.Fatalf("no call after the end: %v %v", c, err)
	}
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_ALIVE, "c1", "")
	wantCode(t, err, pb.Code_NOT_FOUND, "alive in a call that ended")

	// Only the two of a direct conversation.
	_, err = callStep(ctx, node, conv, "stranger", "phone", pb.CallOp_START, "c3", "")
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger calls into the pair's conversation")
	mustCreateGroup(t, node, "g:team", "buyer", "seller")
	_, err = callStep(ctx, node, "g:team", "buyer", "phone", pb.CallOp_START, "c4", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "a call in a group")
}

// A call nobody answers is missed; one declined, or cancelled by its
// caller, ends so; an answered call whose side goes silent is dropped,
// and one whose sides keep saying they are alive is not. A block or a
// freeze keeps a call from ringing; the bounds of a signal, an id and a
// reason hold at their edges.
func TestCallEndings(t *testing.T) {
	cfg := actors.Config{CallRingTimeout: 300 * time.Millisecond, CallAliveTimeout: time.Second, MaxCallSignalBytes: 100}
	node := startCluster(t, 1, openStore(t), cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	buyer, _ := connect(t, node, "buyer", "phone")
	seller, _ := connect(t, node, "seller", "phone")
	start := func(id string) {
		t.Helper()
		if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, id, ""); err != nil {
			t.Fatal(err)
		}
	}

	start("missed")
	e := waitCallEvent(t, buyer, "the caller hears it was missed", ended("missed"))
	if rec := callRecord(t, node, conv, "seller", e.Seq); rec["outcome"] != "missed" || rec["by"] != nil {
		t.Fatalf("a missed call's record: %v", rec)
	}
	waitCallEvent(t, seller, "the callee stops ringing", ended("missed"))

	start("declined")
	if _, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "seller", Device: "phone", Op: pb.CallOp_DECLINE, CallId: "declined", Reason: "busy"}); err != nil {
		t.Fatal(err)
	}
	if e := waitCallEvent(t, buyer, "a decline", ended("declined")); e.Reason != "busy" || e.Call.Id != "declined" {
		t.Fatalf("the decline: %v", e)
	}

	start("cancelled")
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_END, "cancelled", ""); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, seller, "a cancel", ended("cancelled"))

	start("dropped")
	if _, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_ACCEPT, "dropped", ""); err != nil {
		t.Fatal(err)
	}
	_, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_DECLINE, "dropped", "")
	wantCode(t, err, pb.Code_IN_CALL, "a decline of an answered call")
	waitCallEvent(t, buyer, "a silent call is dropped", ended("dropped"))

	// Both sides say they are alive every 100 ms for 2.5 alive-timeouts.
	start("alive")
	if _, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_ACCEPT, "alive", ""); err != nil {
		t.Fatal(err)
	}
	for range 25 {
		time.Sleep(100 * time.Millisecond)
		for _, u := range []string{"buyer", "seller"} {
			if _, err := callStep(ctx, node, conv, u, "phone", pb.CallOp_ALIVE, "alive", ""); err != nil {
				t.Fatalf("%s's alive: %v", u, err)
			}
		}
	}
	if _, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_END, "alive", ""); err != nil {
		t.Fatalf("a call kept alive is still there: %v", err)
	}
	waitCallEvent(t, buyer, "the end of the call kept alive", ended("ended"))

	// Bounds at their edges.
	start("bounds")
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_SIGNAL, "bounds", strings.Repeat("x", 101))
	wantCode(t, err, pb.Code_TOO_LARGE, "a signal one byte over the bound")
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_SIGNAL, "bounds", strings.Repeat("x", 100)); err != nil {
		t.Fatalf("a signal at the bound: %v", err)
	}
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_SIGNAL, "bounds", "")
	wantCode(t, err, pb.Code_INVALID, "an empty signal")
	_, err = node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "buyer", Device: "phone", Op: pb.CallOp_END, CallId: "bounds", Reason: strings.Repeat("r", 201)})
	wantCode(t, err, pb.Code_TOO_LARGE, "a reason one byte over the bound")
	if _, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "buyer", Device: "phone", Op: pb.CallOp_END, CallId: "bounds", Reason: strings.Repeat("r", 200)}); err != nil {
		t.Fatalf("a reason at the bound: %v", err)
	}
	for _, id := range []string{"", strings.Repeat("i", 65), "a b", "ü"} {
		_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, id, "")
		wantCode(t, err, pb.Code_INVALID, fmt.Sprintf("call id %q", id))
	}
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, strings.Repeat("i", 64), ""); err != nil {
		t.Fatalf("an id at the bound: %v", err)
	}
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_END, strings.Repeat("i", 64), ""); err != nil {
		t.Fatal(err)
	}

	// A block during a call hangs it up, as the blocker's.
	start("blocked-mid-call")
	if _, err := callStep(ctx, node, conv, "seller", "phone", pb.CallOp_ACCEPT, "blocked-mid-call", ""); err != nil {
		t.Fatal(err)
	}
	if err := node.Block(ctx, "seller", "buyer", true); err != nil {
		t.Fatal(err)
	}
	if e := waitCallEvent(t, buyer, "the block hangs up", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_ENDED && e.Call.Id == "blocked-mid-call" }); e.Outcome != "ended" {
		t.Fatalf("the block's end: %v", e)
	}
	if err := node.Block(ctx, "seller", "buyer", false); err != nil {
		t.Fatal(err)
	}

	// A block, either way, and a freeze keep a call from ringing.
	if err := node.Block(ctx, "seller", "buyer", true); err != nil {
		t.Fatal(err)
	}
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "blocked", "")
	wantCode(t, err, pb.Code_MUTED, "the blocked one calls")
	_, err = callStep(ctx, node, conv, "seller", "phone", pb.CallOp_START, "blocker", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "the blocker calls")
	if err := node.Block(ctx, "seller", "buyer", false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.FreezeAsOperator(ctx, conv, proto.Bool(true), "sold", time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "frozen", "")
	wantCode(t, err, pb.Code_FROZEN, "a call into a frozen conversation")
}

// A call nobody answered is news to the callee: it counts in their unread
// (and total), brings the archived conversation back and is the
// conversation's last message; an answered, declined or dropped call is
// not, and nothing of a call counts for the caller. A recount from the
// log (the user grain activated anew) agrees.
func TestMissedCallIsUnread(t *testing.T) {
	cfg := actors.Config{CallRingTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond}
	node := startCluster(t, 1, openStore(t), cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	buyer, _ := connect(t, node, "buyer", "phone")
	unread := func(user string) (uint64, uint64, bool) {
		t.Helper()
		l, err := node.ListConversations(ctx, user, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Conversations {
			if c.Conv == conv {
				return c.Unread, l.TotalUnread, c.Archived
			}
		}
		return 0, l.TotalUnread, true // not in the main list
	}
	if err := node.SetArchived(ctx, "seller", conv, true); err != nil {
		t.Fatal(err)
	}
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "c1", ""); err != nil {
		t.Fatal(err)
	}
	missed := waitCallEvent(t, buyer, "the call is missed", ended("missed"))
	if n, total, archived := unread("seller"); n != 2 || total != 2 || archived {
		t.Fatalf("the callee after a missed call: unread %d, total %d, archived %v; want 2, 2, false", n, total, archived)
	}
	if n, _, _ := unread("buyer"); n != 0 {
		t.Fatalf("the caller's unread %d after its own missed call", n)
	}
	l, _ := node.ListConversations(ctx, "seller", "", 0)
	if last := l.Conversations[0].LastMessage; last == nil || last.Seq != missed.Seq {
		t.Fatalf("the last message %v, want the missed call's record at %d", last, missed.Seq)
	}
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "c2", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CallStep(ctx, &pb.CallOp{Conv: conv, User: "seller", Device: "phone", Op: pb.CallOp_DECLINE, CallId: "c2", Reason: "busy"}); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, buyer, "the call is declined", ended("declined"))
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_START, "c3", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := callStep(ctx, node, conv, "buyer", "phone", pb.CallOp_END, "c3", ""); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, buyer, "the call is cancelled", ended("cancelled"))
	if n, _, _ := unread("seller"); n != 3 {
		t.Fatalf("the callee after a declined and a cancelled call: unread %d, want 3", n)
	}
	// The seller's grain (no device) passivates; its next activation
	// rebuilds the count from the log (scanUnread).
	time.Sleep(3 * cfg.IdleTimeout)
	if n, total, _ := unread("seller"); n != 3 || total != 3 {
		t.Fatalf("recounted: unread %d, total %d; want 3", n, total)
	}
}

// In a service conversation the desk's agent calls the customer, who
// answers; the customer's own call is refused (the desk calls back), and
// so is a supervisor's who is a plain member.
func TestCallInAServiceConversation(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := "s:cars:c1:1"
	if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_SERVICE, Members: []*pb.Member{
		{User: "c1", Role: pb.Role_CUSTOMER}, {User: "a1", Role: pb.Role_AGENT}, {User: "a2", Role: pb.Role_AGENT}, {User: "sup", Role: pb.Role_MEMBER}}}); err != nil {
		t.Fatal(err)
	}
	customer, _ := connect(t, node, "c1", "browser")
	_, err := callStep(ctx, node, conv, "c1", "browser", pb.CallOp_START, "c1", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "the customer calls the desk")
	_, err = callStep(ctx, node, conv, "sup", "desk", pb.CallOp_START, "c1", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "a plain member calls")
	if c, err := callStep(ctx, node, conv, "a1", "desk", pb.CallOp_START, "c1", "offer"); err != nil || c.Callee != "c1" {
		t.Fatalf("the agent calls the customer: %v %v", c, err)
	}
	_, err = callStep(ctx, node, conv, "a2", "desk", pb.CallOp_END, "c1", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "another agent hangs up the ringing call")
	waitCallEvent(t, customer, "the customer's browser rings", func(e *pb.CallEvent) bool {
		return e.Kind == pb.CallEvent_RINGING && string(e.Payload) == "offer" && e.Call.Caller == "a1"
	})
	if _, err := callStep(ctx, node, conv, "c1", "browser", pb.CallOp_ACCEPT, "c1", "answer"); err != nil {
		t.Fatalf("the customer answers: %v", err)
	}
	if _, err := callStep(ctx, node, conv, "a1", "desk", pb.CallOp_END, "c1", ""); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, customer, "the end", ended("ended"))
}

// A step the node does not know is refused at once, not left unanswered.
func TestCallUnknownStep(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	_, err := node.CallStep(tctx(t), &pb.CallOp{Conv: actors.DirectConvID("a", "b"), User: "a", Device: "phone", Op: pb.CallOp_Op(42), CallId: "c1"})
	wantCode(t, err, pb.Code_INVALID, "an unknown step")
}

// Across two nodes: the caller's phone on one, the callee's two devices on
// the other, the conversation's grain wherever the cluster put it. The
// ring reaches both devices, the signals only the one that answered.
func TestCallAcrossNodes(t *testing.T) {
	nodes := startCluster(t, 2, openStore(t), actors.Config{})
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := nodes[0].SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	buyer, _ := connect(t, nodes[0], "buyer", "phone")
	phone, _ := connect(t, nodes[1], "seller", "phone")
	laptop, _ := connect(t, nodes[1], "seller", "laptop")
	if _, err := callStep(ctx, nodes[0], conv, "buyer", "phone", pb.CallOp_START, "c1", "offer"); err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*device{"phone": phone, "laptop": laptop} {
		waitCallEvent(t, d, name+" rings", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_RINGING })
	}
	if _, err := callStep(ctx, nodes[1], conv, "seller", "laptop", pb.CallOp_ACCEPT, "c1", "answer"); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, buyer, "the answer", func(e *pb.CallEvent) bool { return e.Kind == pb.CallEvent_ACCEPTED && string(e.Payload) == "answer" })
	if _, err := callStep(ctx, nodes[0], conv, "buyer", "phone", pb.CallOp_SIGNAL, "c1", "candidate"); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, laptop, "the candidate", func(e *pb.CallEvent) bool { return string(e.Payload) == "candidate" })
	if _, err := callStep(ctx, nodes[0], conv, "buyer", "phone", pb.CallOp_END, "c1", ""); err != nil {
		t.Fatal(err)
	}
	waitCallEvent(t, phone, "the end", ended("ended"))
	for _, e := range phone.callEvents() {
		if e.Kind == pb.CallEvent_SIGNAL {
			t.Fatalf("the device that did not answer got a signal: %v", e)
		}
	}
}

// BenchmarkCallCycle: one call rung, answered and hung up between two
// connected devices, until the caller hears the end: the node's cost of a
// call's steps (three requests, four relayed steps, one system message).
func BenchmarkCallCycle(b *testing.B) {
	node := startCluster(b, 1, openStore(b), actors.Config{})[0]
	ctx := tctx(b)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("hi")}); err != nil {
		b.Fatal(err)
	}
	buyer, _ := connect(b, node, "buyer", "phone")
	connect(b, node, "seller", "phone")
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprint("c", i)
		for _, op := range []struct {
			user string
			op   pb.CallOp_Op
		}{{"buyer", pb.CallOp_START}, {"seller", pb.CallOp_ACCEPT}, {"buyer", pb.CallOp_END}} {
			if _, err := callStep(ctx, node, conv, op.user, "phone", op.op, id, ""); err != nil {
				b.Fatal(err)
			}
		}
		for deadline := time.Now().Add(10 * time.Second); ; {
			evs := buyer.callEvents()
			if len(evs) > 0 && evs[len(evs)-1].Kind == pb.CallEvent_ENDED && evs[len(evs)-1].Call.Id == id {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("call %s: no end", id)
			}
			time.Sleep(20 * time.Microsecond)
		}
	}
}
