package desk_test

import (
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestMergeEntryPicksLatest: after a merge, the account's entry through a
// line goes to whichever of its own and the merged conversation was
// closed last (both within the sticky window), and to a new conversation
// of its own once both windows have passed.
func TestMergeEntryPicksLatest(t *testing.T) {
	const window = 3 * time.Second
	n := startNode(t, openStore(t), desk.Config{StickyWindow: window})
	ctx := tctx(t)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	visit := func(user string) string {
		t.Helper()
		s, err := n.Desk.Enter(ctx, user, "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Desk.Close(ctx, user, s.Conv, ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct close times
		return s.Conv
	}
	merge := func(from, to string) {
		t.Helper()
		if m, err := n.Desk.Merge(ctx, from, to); err != nil || m.Phase != desk.MergeDone {
			t.Fatalf("merge %s into %s: %+v %v", from, to, m, err)
		}
	}
	enter := func(user, want string) {
		t.Helper()
		s, err := n.Desk.Enter(ctx, user, "listing/1")
		if err != nil || s.Conv != want {
			t.Fatalf("%s entered %+v %v, want %s", user, s, err, want)
		}
		if _, err := n.Desk.Close(ctx, user, s.Conv, ""); err != nil {
			t.Fatal(err)
		}
	}
	// The account's own conversation closed last: it wins.
	visit("v-1")
	c1 := visit("c1")
	merge("v-1", "c1")
	enter("c1", c1)
	// The visitor's closed last: the merged one wins.
	visit("c2")
	v2 := visit("v-2")
	merge("v-2", "c2")
	enter("c2", v2)
	enter("c2", v2) // and again: its last close is newer still
	// Both windows over: a new conversation of the account's own.
	time.Sleep(window + 100*time.Millisecond)
	enter("c2", "s:cars:c2:2")
	if _, err := n.Desk.Enter(ctx, "v-2", "listing/1"); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("the merged visitor entered: %v, want FORBIDDEN", err)
	}
}
