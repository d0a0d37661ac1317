package desk_test

import (
	"fmt"
	"strings"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestSavedReplies: a line's saved replies are set whole, kept in order
// and across a restart, apart per line; every limit at its edge.
func TestSavedReplies(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{MaxSavedReplies: 3, MaxSavedReplyBytes: 10}
	n := startNode(t, store, cfg)
	ctx := tctx(t)
	d := n.Desk

	if got, err := d.SavedReplies(ctx, "cars"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("a line without replies: %v %v, want an empty list", got, err)
	}
	full := []desk.SavedReply{{Name: "hours", Text: "9 to 5"}, {Name: "refund", Text: strings.Repeat("é", 5)}, {Name: "bye", Text: "Thanks!"}}
	if got, err := d.SetSavedReplies(ctx, "cars", full); err != nil || fmt.Sprint(got) != fmt.Sprint(full) {
		t.Fatalf("three replies, one of 10 bytes: %v %v", got, err)
	}
	for name, bad := range map[string][]desk.SavedReply{
		"four replies":       append(full[:3:3], desk.SavedReply{Name: "more", Text: "x"}),
		"a text of 11 bytes": {{Name: "long", Text: strings.Repeat("x", 11)}},
		"an empty text":      {{Name: "empty", Text: ""}},
		"a text not UTF-8":   {{Name: "bin", Text: "\xff"}},
		"a name twice":       {{Name: "a", Text: "x"}, {Name: "a", Text: "y"}},
		"a bad name":         {{Name: "a b", Text: "x"}},
	} {
		if _, err := d.SetSavedReplies(ctx, "cars", bad); code(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	if _, err := d.SetSavedReplies(ctx, "no/line", full); code(err) != pb.Code_INVALID {
		t.Errorf("a bad line: %v", err)
	}
	if _, err := d.SetSavedReplies(ctx, "homes", full[:1]); err != nil {
		t.Fatal(err)
	}

	n.Stop(true)
	n = startNode(t, store, cfg)
	d = n.Desk
	if got, err := d.SavedReplies(ctx, "cars"); err != nil || fmt.Sprint(got) != fmt.Sprint(full) {
		t.Fatalf("after a restart: %v %v, want %v (refused lists changed nothing)", got, err, full)
	}
	if got, err := d.SavedReplies(ctx, "homes"); err != nil || len(got) != 1 {
		t.Fatalf("another line's: %v %v", got, err)
	}
	if got, err := d.SetSavedReplies(ctx, "cars", nil); err != nil || len(got) != 0 {
		t.Fatalf("removing them: %v %v", got, err)
	}
}
