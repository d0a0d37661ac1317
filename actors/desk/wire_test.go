package desk_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// A queue answer lists at most MaxQueueList waiting sessions, the head of
// the queue in order, and counts them all.
func TestWireQueueListLimit(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	const limit = 3
	var convs []string
	for i := range limit + 1 {
		s, err := d.Enter(ctx, fmt.Sprintf("c%d", i), "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, s.Conv)
	}
	w := desk.NewWire(d)
	for _, max := range []int{limit, limit + 1, 0} {
		w.MaxQueueList = max
		q, err := w.Queue(ctx, "a1", "sales")
		if err != nil {
			t.Fatal(err)
		}
		if q.Total != limit+1 || len(q.Waiting) != min(max, limit+1) {
			t.Fatalf("limit %d: %d listed of %d, want %d of %d", max, len(q.Waiting), q.Total, min(max, limit+1), limit+1)
		}
		for i, e := range q.Waiting {
			if e.Conv != convs[i] || e.Position != i+1 {
				t.Fatalf("limit %d: entry %d is %+v, want %s at %d", max, i, e, convs[i], i+1)
			}
		}
	}
}
