package actors_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestSuspendUser: an operator's suspension ends the user's online sessions
// with SUSPENDED and the reason, refuses their devices' connects while it
// holds (also after a node restart on the same store), leaves other users
// alone, and is lifted by Unsuspend.
func TestSuspendUser(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)

	phone, _ := connect(t, node, "mallory", "phone")
	tablet, _ := connect(t, node, "mallory", "tablet")
	bob, _ := connect(t, node, "bob", "phone")
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte("cheap watches")}); err != nil {
		t.Fatal(err)
	}

	res, err := node.Suspend(ctx, "mallory", time.Time{}, "selling counterfeit goods")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.EndedDevices, []string{"phone", "tablet"}) || res.Suspension == nil || res.Suspension.UntilMs != 0 {
		t.Fatalf("suspend answered %v", res)
	}
	for name, d := range map[string]*device{"phone": phone, "tablet": tablet} {
		eventually(t, func() error {
			if err := d.ended(); actors.CodeOf(err) != pb.Code_SUSPENDED || !strings.Contains(err.Error(), "counterfeit") {
				return fmt.Errorf("mallory's %s: ended with %v, want SUSPENDED with the reason", name, err)
			}
			return nil
		})
	}
	if err := bob.ended(); err != nil {
		t.Fatalf("bob's session was ended too: %v", err)
	}

	_, err = node.Connect(ctx, "mallory", "laptop", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "a suspended user's new device connects")
	if !strings.Contains(err.Error(), "until lifted") && !strings.Contains(err.Error(), "counterfeit") {
		t.Fatalf("refusal does not say why: %v", err)
	}
	st, err := node.Suspension(ctx, "mallory")
	if err != nil || st.Suspension == nil || st.Suspension.Reason != "selling counterfeit goods" || len(st.OnlineDevices) != 0 {
		t.Fatalf("suspension read back %v, %v", st, err)
	}
	// Others may still write to them, and what they sent stays.
	if _, err := node.SendDirect(ctx, "mallory", &pb.SendMessage{Sender: "bob", ClientMsgId: "b1", Body: []byte("reported")}); err != nil {
		t.Fatalf("bob writes to a suspended user: %v", err)
	}

	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	ctx = tctx(t)
	_, err = node.Connect(ctx, "mallory", "phone", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "a suspended user connects after a node restart")

	if err := node.Unsuspend(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	connect(t, node, "mallory", "phone")
	st, err = node.Suspension(ctx, "mallory")
	if err != nil || st.Suspension != nil || !slices.Equal(st.OnlineDevices, []string{"phone"}) {
		t.Fatalf("after the lift: %v, %v", st, err)
	}
	if err := node.Unsuspend(ctx, "nobody-suspended"); err != nil {
		t.Fatalf("lifting a suspension that is not there: %v", err)
	}
}

// TestSuspensionExpires: a suspension with an end lets the user back in
// once it is over, without anyone lifting it.
func TestSuspensionExpires(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	until := time.Now().Add(500 * time.Millisecond)
	if _, err := node.Suspend(ctx, "carol", until, ""); err != nil {
		t.Fatal(err)
	}
	_, err := node.Connect(ctx, "carol", "phone", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "connect during a suspension")
	if !strings.Contains(err.Error(), "until "+until.UTC().Format(time.RFC3339)) {
		t.Fatalf("refusal does not say until when: %v", err)
	}
	time.Sleep(time.Until(until) + 50*time.Millisecond)
	connect(t, node, "carol", "phone")
	if st, err := node.Suspension(ctx, "carol"); err != nil || st.Suspension != nil {
		t.Fatalf("an expired suspension still reads %v, %v", st, err)
	}
}

// TestSuspensionInput: the reason's limit at its edge, an end in the past
// and a bad user id are refused INVALID.
func TestSuspensionInput(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxSuspensionReasonBytes: 10})[0]
	ctx := tctx(t)
	if _, err := node.Suspend(ctx, "dave", time.Time{}, strings.Repeat("r", 10)); err != nil {
		t.Fatalf("a reason at the limit: %v", err)
	}
	_, err := node.Suspend(ctx, "dave", time.Time{}, strings.Repeat("r", 11))
	wantCode(t, err, pb.Code_INVALID, "a reason over the limit")
	_, err = node.Suspend(ctx, "dave", time.Now().Add(-time.Minute), "")
	wantCode(t, err, pb.Code_INVALID, "an end in the past")
	_, err = node.Suspend(ctx, "not a user", time.Time{}, "")
	wantCode(t, err, pb.Code_INVALID, "a bad user id")
	_, err = node.Suspension(ctx, "")
	wantCode(t, err, pb.Code_INVALID, "reading an empty user id")
}

// TestSuspensionReregisterBackstop: a session that missed the grain's
// request to end it (here: the test device ignores it) is ended by its
// next re-registration, which the suspended user's grain refuses.
func TestSuspensionReregisterBackstop(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{Reregister: 200 * time.Millisecond})[0]
	ctx := tctx(t)
	d, _ := connect(t, node, "erin", "phone")
	if _, err := node.Suspend(ctx, "erin", time.Time{}, "spam"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if n := d.ends.Load(); n < 2 {
			return fmt.Errorf("session ended %d times, want the grain's request and the re-registration's", n)
		}
		if err := d.ended(); actors.CodeOf(err) != pb.Code_SUSPENDED {
			return fmt.Errorf("ended with %v", err)
		}
		return nil
	})
}

// TestRecallAsOperator: a moderator recalls a message in a direct
// conversation (where no member may recall another's), long after the
// sender's recall window; every member's device learns of it; the event
// names the operator; a second recall, a missing seq and a system
// message are refused.
func TestRecallAsOperator(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{RecallWindow: time.Millisecond})[0]
	ctx := tctx(t)
	bob, _ := connect(t, node, "bob", "phone")
	scam, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "mallory", ClientMsgId: "m1", Body: []byte("pay me by gift card")})
	if err != nil {
		t.Fatal(err)
	}
	conv := actors.DirectConvID("bob", "mallory")
	time.Sleep(5 * time.Millisecond) // past the sender's recall window
	_, err = node.Recall(ctx, conv, "bob", scam.Seq)
	wantCode(t, err, pb.Code_FORBIDDEN, "the other member recalls")

	ev, err := node.RecallAsOperator(ctx, conv, scam.Seq)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		for _, m := range bob.messages() {
			if m.Kind == pb.MessageKind_RECALL && m.RefSeq == scam.Seq && m.Seq == ev {
				if m.Sender != actors.OperatorSender {
					return fmt.Errorf("recall event sent by %q, want %q", m.Sender, actors.OperatorSender)
				}
				return nil
			}
		}
		return fmt.Errorf("bob's device has no recall event %d of %d", ev, scam.Seq)
	})
	hist, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range hist {
		if m.Seq == scam.Seq && (!m.Recalled || len(m.Body) != 0) {
			t.Fatalf("the recalled message still reads %q (recalled %v)", m.Body, m.Recalled)
		}
	}
	_, err = node.RecallAsOperator(ctx, conv, scam.Seq)
	wantCode(t, err, pb.Code_INVALID, "a second recall")
	_, err = node.RecallAsOperator(ctx, conv, 999)
	wantCode(t, err, pb.Code_NOT_FOUND, "a seq past the end")
	_, err = node.RecallAsOperator(ctx, conv, ev)
	wantCode(t, err, pb.Code_INVALID, "recalling the recall event")
	_, err = node.RecallAsOperator(ctx, "no namespace", 1)
	wantCode(t, err, pb.Code_INVALID, "a bad conversation id")
}
