package desk_test

import (
	"encoding/json"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/storage"
)

// TestErasureTakesOutDeskWords: erasing a customer takes their words out
// of the desk steps they took (a rating's comment, a close's reason), in
// the log and in the desk's state, and keeps the steps themselves (the
// score counts in the metrics). Another customer's stay.
func TestErasureTakesOutDeskWords(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	const words = "call me back on +49 151 2345678"
	convs := map[string]string{}
	for _, c := range []string{"c1", "c2"} {
		s := enterAssigned(t, d, c, "help/1")
		convs[c] = s.Conv
		if _, err := d.Close(ctx, c, s.Conv, words); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Rate(ctx, c, s.Conv, 4, words); err != nil {
			t.Fatal(err)
		}
	}
	// The customer's data lists the steps that hold their words.
	sent, _, _, err := n.SentMessages(ctx, "c1", actors.SentCursor{}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	if steps := stepBodies(sent); len(steps) != 2 {
		t.Fatalf("c1's data lists %d desk steps with their words, want 2 (close, rating): %v", len(steps), steps)
	}

	res, err := n.EraseUser(ctx, "c1", actors.SentCursor{})
	if err != nil || !res.Done || res.DeskSteps != 2 {
		t.Fatalf("erase c1: %+v, %v; want done, 2 desk steps", res, err)
	}
	steps := logSteps(t, store, convs["c1"])
	if r := steps["rating"]; r == nil || r["comment"] != nil || r["score"] != float64(4) || r["agent"] != "a1" {
		t.Errorf("c1's rating step after the erasure: %v, want the score and no comment", r)
	}
	if c := steps["close"]; c == nil || c["reason"] != nil || c["by"] != "c1" {
		t.Errorf("c1's close step after the erasure: %v, want no reason", c)
	}
	if in, err := d.Session(ctx, "a1", convs["c1"]); err != nil || in.Rating == nil || in.Rating.Comment != "" || in.Rating.Score != 4 {
		t.Errorf("the desk's record of c1's rating: %+v, %v; want the score without the comment", in.Rating, err)
	}
	other := logSteps(t, store, convs["c2"])
	if other["rating"]["comment"] != words || other["close"]["reason"] != words {
		t.Errorf("c2's steps changed by c1's erasure: %v", other)
	}

	// Again: nothing of theirs left to take out.
	if res, err := n.EraseUser(ctx, "c1", actors.SentCursor{}); err != nil || !res.Done || res.DeskSteps != 0 {
		t.Fatalf("erase c1 again: %+v, %v", res, err)
	}
}

// stepBodies returns the desk steps among msgs.
func stepBodies(msgs []storage.Message) []string {
	var out []string
	for _, m := range msgs {
		if m.Kind == storage.MsgSystem {
			out = append(out, string(m.Body))
		}
	}
	return out
}

// logSteps reads conv's desk steps from the store, by kind (the last of each).
func logSteps(t *testing.T, store storage.Store, conv string) map[string]map[string]any {
	t.Helper()
	msgs, err := store.ListMessages(tctx(t), conv, 1, 0, storage.OldestFirst, 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, m := range msgs {
		var b map[string]any
		if m.Kind == storage.MsgSystem && json.Unmarshal(m.Body, &b) == nil && b["desk"] != nil {
			out[b["desk"].(string)] = b
		}
	}
	return out
}
