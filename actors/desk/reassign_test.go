package desk_test

import (
	"fmt"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// A supervisor reassigns a session an agent holds (an agent who stopped
// answering keeps it otherwise, while online): to another agent or to a
// queue. Nobody else but the holder may move it; the step names both the
// agent it was taken from and the supervisor.
func TestSupervisorReassigns(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	s := enterAssigned(t, d, "c1", "help") // a1 by name
	for _, c := range []struct {
		by, to string
		want   pb.Code
	}{
		{"a2", "user:a2", pb.Code_FORBIDDEN},    // another agent takes it
		{"c1", "queue:care", pb.Code_FORBIDDEN}, // the customer
		{"eve", "user:a2", pb.Code_FORBIDDEN},   // a stranger
		{"sup", "user:a1", pb.Code_INVALID},     // to the agent who holds it
		{"sup", "user:sup", pb.Code_BUSY},       // a supervisor without capacity
		{"sup", "a2", pb.Code_INVALID},
	} {
		if _, err := d.Transfer(ctx, c.by, s.Conv, c.to, ""); code(err) != c.want {
			t.Errorf("%s moves the session to %s: %v, want %s", c.by, c.to, err, c.want)
		}
	}
	if got, err := d.Session(ctx, "sup", s.Conv); err != nil || agentOf(got) != "a1" {
		t.Fatalf("after the refusals: %+v %v, want a1", got, err)
	}

	got, err := d.Transfer(ctx, "sup", s.Conv, "user:a2", "a1 is at lunch")
	if err != nil || agentOf(got) != "a2" {
		t.Fatalf("the supervisor reassigns to a2: %+v %v", got, err)
	}
	load := func(want map[string]int) {
		t.Helper()
		for ag, l := range want {
			if info, err := d.Agent(ctx, ag); err != nil || info.Load != l {
				t.Fatalf("%s: %+v %v, want load %d", ag, info, err, l)
			}
		}
	}
	load(map[string]int{"a1": 0, "a2": 1})
	if got, _ := d.Session(ctx, "a2", s.Conv); len(got.Notes) != 1 || got.Notes[0].By != "sup" || got.Notes[0].Text != "a1 is at lunch" {
		t.Fatalf("the supervisor's note: %+v", got.Notes)
	}
	// The session is a2's now: a1 can no longer move it, a2 can.
	if _, err := d.Transfer(ctx, "a1", s.Conv, "queue:care", ""); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a1 moves the session it lost: %v", err)
	}

	// Back to the queue: a1 has room and takes it.
	if _, err := d.Transfer(ctx, "sup", s.Conv, "queue:care", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "sup", s.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("after the requeue: %+v, want a1", in)
		}
		return nil
	})
	load(map[string]int{"a1": 1, "a2": 0})

	transfers := stepsOf(deskEvents(t, n, "c1", s.Conv), "transfer")
	want := []map[string]any{
		{"from": "a1", "to": "user:a2", "by": "sup"},
		{"from": "a2", "to": "queue:care", "by": "sup"},
	}
	if len(transfers) != len(want) {
		t.Fatalf("transfer steps %v, want %v", transfers, want)
	}
	for i, w := range want {
		for k, v := range w {
			if transfers[i][k] != v {
				t.Errorf("transfer %d: %s = %v, want %v (%v)", i, k, transfers[i][k], v, transfers[i])
			}
		}
	}

	// An agent's own transfer names no supervisor.
	if _, err := d.Transfer(ctx, "a1", s.Conv, "user:a2", ""); err != nil {
		t.Fatal(err)
	}
	last := stepsOf(deskEvents(t, n, "c1", s.Conv), "transfer")[2]
	if _, has := last["by"]; has || last["from"] != "a1" {
		t.Fatalf("an agent's transfer: %v", last)
	}
}
