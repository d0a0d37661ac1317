package desk_test

import (
	"strings"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestNotesLimits: a session takes notes up to MaxNotes, each up to
// MaxNoteBytes, a transfer's note counting too; past either the desk
// refuses with its code. The customer's view has none.
func TestNotesLimits(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{MaxNotes: 3, MaxNoteBytes: 10})
	d, ctx := n.Desk, tctx(t)
	careDesk(t, d, 1)
	s := enterAssigned(t, d, "c1", "help")
	if _, err := d.Note(ctx, "a1", s.Conv, strings.Repeat("n", 11)); code(err) != pb.Code_TOO_LARGE {
		t.Fatalf("a note one byte over: %v", err)
	}
	for i, text := range []string{strings.Repeat("n", 10), "second"} {
		if out, err := d.Note(ctx, "a1", s.Conv, text); err != nil || len(out.Notes) != i+1 || out.Notes[i].Text != text || out.Notes[i].By != "a1" {
			t.Fatalf("note %d: %+v %v", i+1, out.Notes, err)
		}
	}
	if _, err := d.Transfer(ctx, "a1", s.Conv, "queue:care", strings.Repeat("t", 11)); code(err) != pb.Code_TOO_LARGE {
		t.Fatalf("a transfer note one byte over: %v", err)
	}
	if _, err := d.Note(ctx, "crm", s.Conv, "third"); err != nil {
		t.Fatalf("the third note (the limit): %v", err)
	}
	if _, err := d.Note(ctx, "crm", s.Conv, "fourth"); code(err) != pb.Code_TOO_MANY {
		t.Fatalf("a note past the limit: %v", err)
	}
	if _, err := d.Transfer(ctx, "a1", s.Conv, "queue:care", "moved"); code(err) != pb.Code_TOO_MANY {
		t.Fatalf("a transfer note past the limit: %v", err)
	}
	if _, err := d.Note(ctx, "a1", "s:l:nobody:1", "x"); code(err) != pb.Code_NOT_FOUND {
		t.Fatalf("a note on no session: %v", err)
	}
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || len(in.Notes) != 0 {
		t.Fatalf("the customer's view: %+v %v", in.Notes, err)
	}
	if in, err := d.Session(ctx, "a1", s.Conv); err != nil || len(in.Notes) != 3 || in.Notes[2].By != "crm" {
		t.Fatalf("the agent's view: %+v %v", in.Notes, err)
	}
}

// TestNotesAfterClose: the agent who closed a session still reads and adds
// its notes (a wrap-up); the customer's next session, closed while it
// waited in the queue, is not that agent's.
func TestNotesAfterClose(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	d, ctx := n.Desk, tctx(t)
	w := desk.NewWire(d)
	careDesk(t, d, 1)
	s := enterAssigned(t, d, "c1", "help")
	if _, err := w.Note(ctx, "a1", s.Conv, "wants a refund"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Close(ctx, "a1", s.Conv, "resolved"); err != nil {
		t.Fatal(err)
	}
	if in, err := w.Note(ctx, "a1", s.Conv, "refund sent"); err != nil || len(in.Notes) != 2 || in.State != desk.StateClosed {
		t.Fatalf("a wrap-up note after the close: %+v %v", in, err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline)}); err != nil {
		t.Fatal(err)
	}
	again, err := d.Enter(ctx, "c1", "help")
	if err != nil || again.State != desk.StateQueued || again.Session == s.Session {
		t.Fatalf("the customer's next session: %+v %v", again, err)
	}
	if _, err := d.Close(ctx, "c1", again.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Session(ctx, "a1", again.Conv); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a1 reads a later session it never held: %v", err)
	}
	if in, err := w.Session(ctx, "c1", again.Conv); err != nil || in.State != desk.StateClosed || len(in.Notes) != 0 {
		t.Fatalf("the customer reads it: %+v %v", in, err)
	}
}
