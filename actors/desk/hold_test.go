package desk_test

import (
	"fmt"
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
