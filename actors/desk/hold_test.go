package desk_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestHoldWithoutAssignmentIsReleased: an agent that took a session on an
// offer whose thread never assigned it (the thread's node died between
// the two) gives the slot back, though the agent itself never restarts.
func TestHoldWithoutAssignmentIsReleased(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	d, ctx := n.Desk, tctx(t)
	careDesk(t, d, 1)
	s, err := d.Enter(ctx, "c1", "help") // a1 takes it: full
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if a, err := d.Agent(ctx, "a1"); err != nil || a.Load != 1 {
			return fmt.Errorf("a1: %+v %v", a, err)
		}
		return nil
	})
	if _, err := d.Close(ctx, "a1", s.Conv, "done"); err != nil {
		t.Fatal(err)
	}
	// The close frees a1's slot by a message of its own, after Close
	// returned: an offer before it lands is refused as full.
	eventually(t, func() error {
		if a, err := d.Agent(ctx, "a1"); err != nil || a.Load != 0 {
			return fmt.Errorf("a1 after the close: %+v %v", a, err)
		}
		return nil
	})
	// The thread of c9 has no session: the offer is one it never saw
	// through.
	if ok, err := d.OfferForTest(ctx, "a1", "s:l:c9:1/1", 7); err != nil || !ok {
		t.Fatalf("the offer: %v %v", ok, err)
	}
	eventually(t, func() error {
		if a, err := d.Agent(ctx, "a1"); err != nil || a.Load != 0 {
			return fmt.Errorf("a1 still holds %v (%v)", a.Sessions, err)
		}
		return nil
	})
}

// TestLateReleaseKeepsANewerAssignment: a thread's node died after a1
// took the session on its offer and before the thread saved the
// assignment. a1's hold check meets the next activation, which has the
// session waiting and releases the hold; that activation then assigns the
// session to a1 again. A copy of the release that arrives late (the
// cluster does not keep a thread's messages to an agent in order) names
// the first offer's token, and must not take the new assignment from a1.
// Before each activation's tokens were its own, the new assignment
// reused the old token and the late release left the session assigned
// to a1 and held by nobody (a multi-node scenario run).
func TestLateReleaseKeepsANewerAssignment(t *testing.T) {
	store := openStore(t)
	n, crash := startCrashable(t, store, desk.Config{})
	ctx := tctx(t)
	careDesk(t, n.Desk, 1)
	s := enterAssigned(t, n.Desk, "c1", "help")
	crash()

	agentKey, threadKey := "desk/"+desk.KindAgent+"/a1", "desk/"+desk.KindThread+"/l/c1"
	var agent struct {
		Held map[string]struct{ Token uint64 } `json:"held"`
	}
	loadCheckpoint(t, store, agentKey, &agent)
	first := agent.Held[s.Session].Token
	if first == 0 {
		t.Fatalf("a1 holds %+v, want %s with its token", agent.Held, s.Session)
	}
	// What the cut assignment left: the thread's session still waiting.
	var thread map[string]any
	loadCheckpoint(t, store, threadKey, &thread)
	sess := thread["session"].(map[string]any)
	sess["state"], sess["agent"], sess["token"] = desk.StateQueued, "", 0
	thread["tokens"] = first - 1
	saveCheckpoint(t, store, threadKey, thread)

	d := startNode(t, store, desk.Config{}).Desk
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	// a1's grain starts and checks its hold; the session comes back to
	// a1 on a new assignment (from its queue, or on the supervisor's move).
	eventually(t, func() error {
		in, err := d.Session(ctx, "sup", s.Conv)
		if err != nil {
			return err
		}
		if in.State == desk.StateQueued {
			_, err = d.Transfer(ctx, "sup", s.Conv, "user:a1", "")
			return fmt.Errorf("moved to a1: %v", err)
		}
		if agentOf(in) != "a1" {
			return fmt.Errorf("session %s with %q, want a1", in.State, agentOf(in))
		}
		return nil
	})
	if err := d.ReleaseForTest(ctx, "a1", s.Session, first); err != nil {
		t.Fatal(err)
	}
	a1, err := d.Agent(ctx, "a1")
	if err != nil || !slices.Contains(a1.Sessions, s.Session) {
		t.Fatalf("a1: %+v %v, want it to hold %s", a1, err, s.Session)
	}
	if in, err := d.Session(ctx, "a1", s.Conv); err != nil || agentOf(in) != "a1" {
		t.Fatalf("session: %+v %v, want assigned to a1", in, err)
	}
}
