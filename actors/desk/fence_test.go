package desk_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestStaleDeskGrainCannotWrite: two nodes that do not see each other (a
// partition, or a membership change in flight) on one store each activate
// agent a1's grain. The later activation takes the fence; the earlier
// one's next write is refused and it stops without answering, so the
// request is served by a fresh activation that loads the other's state
// first. Without the fence the stale grain would write its old skills
// over the other's.
func TestStaleDeskGrainCannotWrite(t *testing.T) {
	store := openStore(t)
	a := startNode(t, store, desk.Config{})
	b := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	stored := func() string {
		cp, err := store.LoadCheckpoint(ctx, "desk/"+desk.KindAgent+"/a1")
		if err != nil {
			t.Fatal(err)
		}
		var s struct {
			Capacity int
			Skills   []string
		}
		if err := json.Unmarshal(cp.State, &s); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(s.Capacity, s.Skills)
	}
	if _, err := a.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(2), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Skills: ptr([]string{"support"})}); err != nil || got.Capacity != 2 {
		t.Fatalf("b: %+v %v (want capacity 2, loaded from a's write)", got, err)
	}
	if s := stored(); s != "2 [support]" {
		t.Fatalf("stored %s, want b's 2 [support]", s)
	}
	// a's grain still holds [sales] in memory: its write is refused.
	got, err := a.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Capacity: ptr(1)})
	if err != nil || fmt.Sprint(got.Capacity, got.Skills) != "1 [support]" {
		t.Fatalf("a after b's change: %+v %v, want 1 [support]", got, err)
	}
	if s := stored(); s != "1 [support]" {
		t.Fatalf("stored %s, want 1 [support]", s)
	}
	// And back: b's grain is the stale one now.
	got, err = b.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Skills: ptr([]string{"vip"})})
	if err != nil || fmt.Sprint(got.Capacity, got.Skills) != "1 [vip]" {
		t.Fatalf("b after a's change: %+v %v, want 1 [vip]", got, err)
	}
}
