package desk_test

import (
	"fmt"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// An agent reaches out to a customer first (an outbound session): the
// agent holds it at once, the customer joins the line's conversation, and
// should the agent go offline the session waits in the scene's queue.
func TestAgentReachesOut(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "faq", Line: "l", Route: []string{"bot"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Offline), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		agent, customer, scene string
		want                   pb.Code
	}{
		{"eve", "c1", "help", pb.Code_FORBIDDEN}, // no agent
		{"a1", "a1", "help", pb.Code_INVALID},    // themself
		{"a1", "no good", "help", pb.Code_INVALID},
		{"a1", "desk", "help", pb.Code_INVALID},
		{"a1", "c1", "nosuch", pb.Code_NOT_FOUND},
		{"a1", "c1", "faq", pb.Code_INVALID}, // a robot-only route: nowhere to hand it back to
		{"a2", "c1", "help", pb.Code_BUSY},   // offline
	} {
		if _, err := d.Reach(ctx, c.agent, c.customer, c.scene); code(err) != c.want {
			t.Errorf("%s reaches %s through %s: %v, want %s", c.agent, c.customer, c.scene, err, c.want)
		}
	}
	for _, agent := range []string{"a1", "a2"} {
		if a, err := d.Agent(ctx, agent); err != nil || a.Load != 0 {
			t.Fatalf("%s after the refusals: %+v %v, want no load", agent, a, err)
		}
	}
	// The robot-only refusal created nothing either: no conversation.
	if _, _, err := n.MembersAsOperator(ctx, "s:l:c1:1", "", 10); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("after the refusals s:l:c1:1 exists (%v), want none", err)
	}
	if in, err := d.Session(ctx, "a1", "s:l:c1:1"); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("after the refusals c1 has %+v %v, want no session", in, err)
	}

	s, err := d.Reach(ctx, "a1", "c1", "help/order-17")
	if err != nil || s.State != desk.StateAssigned || agentOf(s) != "a1" || s.Conv != "s:l:c1:1" {
		t.Fatalf("a1 reaches c1: %+v %v", s, err)
	}
	if again, err := d.Reach(ctx, "a1", "c1", "help"); err != nil || again.Session != s.Session {
		t.Fatalf("a1 reaches c1 again: %+v %v, want the same session", again, err)
	}
	if a, err := d.Agent(ctx, "a1"); err != nil || a.Load != 1 || len(a.Sessions) != 1 || a.Sessions[0] != s.Session {
		t.Fatalf("a1: %+v %v, want it holds %s", a, err, s.Session)
	}
	// The customer is in the conversation: the history is theirs to read,
	// and their entry finds the session open with a1.
	steps := deskEvents(t, n, "c1", s.Conv)
	if st := stepsOf(steps, "start"); len(st) != 1 || st[0]["outbound"] != true || st[0]["by"] != "a1" || st[0]["data"] != "order-17" {
		t.Fatalf("start: %v (%s)", st, kinds(steps))
	}
	if tr := stepsOf(steps, "transfer"); len(tr) != 1 || tr[0]["to"] != "user:a1" || tr[0]["outbound"] != true {
		t.Fatalf("transfer: %v", tr)
	}
	if len(stepsOf(steps, "queued")) != 0 || len(stepsOf(steps, "assigned")) != 0 {
		t.Fatalf("an outbound session never waited: %s", kinds(steps))
	}
	if in, err := d.Enter(ctx, "c1", "help"); err != nil || in.Session != s.Session || agentOf(in) != "a1" {
		t.Fatalf("c1 enters: %+v %v, want a1's session", in, err)
	}
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "c1", Body: []byte("when can I pick it up?")}); err != nil {
		t.Fatal(err)
	}
	// Another agent cannot start a second session beside it.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Reach(ctx, "a2", "c1", "help"); code(err) != pb.Code_EXISTS {
		t.Fatalf("a2 reaches c1 during a1's session: %v, want EXISTS", err)
	}

	// a1 goes offline: the session waits in care, where a2 takes it.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a2", s.Conv); agentOf(in) != "a2" {
			return fmt.Errorf("after a1 left: %+v, want a2's", in)
		}
		return nil
	})
	if _, err := d.Close(ctx, "a2", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	// Within the sticky window a2 reaches out again in the same
	// conversation: a new session there.
	s2, err := d.Reach(ctx, "a2", "c1", "help")
	if err != nil || s2.Conv != s.Conv || s2.Session == s.Session || agentOf(s2) != "a2" {
		t.Fatalf("a2 reaches c1 after the close: %+v %v, want a new session in %s", s2, err, s.Conv)
	}
}
