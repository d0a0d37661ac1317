package desk_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/storage"
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

// A supervisor moves a waiting session past the queue's order: to an
// agent, who takes it at once (an assignment from the queue, its wait
// counted), or to another queue, where it keeps its wait and its place by
// time. Only a supervisor may: the queue's order is the agents' rule.
func TestSupervisorMovesWaiting(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	// a2 serves sales, not care: the care queue never offers a2 anything.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	enterAssigned(t, d, "c1", "help") // a1 is full
	entered := time.Now()
	c2, err := d.Enter(ctx, "c2", "help")
	if err != nil {
		t.Fatal(err)
	}
	c3, err := d.Enter(ctx, "c3", "help")
	if err != nil || c3.QueuePosition != 2 {
		t.Fatalf("c3 enters: %+v %v, want position 2", c3, err)
	}
	for _, c := range []struct {
		by, to string
		want   pb.Code
	}{
		{"a1", "user:a1", pb.Code_FORBIDDEN},   // an agent picks past the order
		{"c3", "user:a2", pb.Code_FORBIDDEN},   // the customer
		{"sup", "user:a1", pb.Code_BUSY},       // an agent without room
		{"sup", "queue:care", pb.Code_INVALID}, // where it waits already
		{"sup", "a2", pb.Code_INVALID},
		{"sup", "queue:no good", pb.Code_INVALID},
	} {
		if _, err := d.Transfer(ctx, c.by, c3.Conv, c.to, ""); code(err) != c.want {
			t.Errorf("%s moves the waiting session to %s: %v, want %s", c.by, c.to, err, c.want)
		}
	}
	if got, err := d.Session(ctx, "sup", c3.Conv); err != nil || got.State != desk.StateQueued || got.QueuePosition != 2 {
		t.Fatalf("after the refusals: %+v %v, want still second in the queue", got, err)
	}

	// c3 to a2, past c2.
	got, err := d.Transfer(ctx, "sup", c3.Conv, "user:a2", "a VIP")
	if err != nil || agentOf(got) != "a2" || got.State != desk.StateAssigned {
		t.Fatalf("the supervisor assigns c3 to a2: %+v %v", got, err)
	}
	if info, err := d.Agent(ctx, "a2"); err != nil || info.Load != 1 {
		t.Fatalf("a2: %+v %v, want load 1", info, err)
	}
	eventually(t, func() error {
		q, err := d.Queue(ctx, "care")
		if err != nil || len(q.Waiting) != 1 || q.Waiting[0].Conv != c2.Conv || q.Stats.Assigned != 2 {
			return fmt.Errorf("care after c3 left it: %+v %v, want c2 alone and 2 assigned", q, err)
		}
		return nil
	})
	if got, _ := d.Session(ctx, "c2", c2.Conv); got.QueuePosition != 1 {
		t.Fatalf("c2 moves up: %+v", got)
	}
	assigned := stepsOf(deskEvents(t, n, "c3", c3.Conv), "assigned")
	if len(assigned) != 1 || assigned[0]["agent"] != "a2" || assigned[0]["by"] != "sup" || assigned[0]["queue"] != "care" {
		t.Fatalf("c3's assignment: %v", assigned)
	}

	// c2 to sales, where a2 is full: it waits there, its wait going on.
	time.Sleep(300 * time.Millisecond)
	before, err := d.Queue(ctx, "care")
	if err != nil {
		t.Fatal(err)
	}
	got, err = d.Transfer(ctx, "sup", c2.Conv, "queue:sales", "")
	if err != nil || got.State != desk.StateQueued || got.Queue != "sales" || got.QueuePosition != 1 {
		t.Fatalf("the supervisor moves c2 to sales: %+v %v", got, err)
	}
	eventually(t, func() error {
		q, err := d.Queue(ctx, "care")
		if err != nil || len(q.Waiting) != 0 || q.Stats != before.Stats {
			return fmt.Errorf("care after c2 left it: %+v %v, want empty, stats %+v", q, err, before.Stats)
		}
		return nil
	})
	sales, err := d.Queue(ctx, "sales")
	if err != nil || len(sales.Waiting) != 1 || sales.Waiting[0].SinceMs != before.Waiting[0].SinceMs {
		t.Fatalf("sales: %+v %v, want c2 since %d", sales, err, before.Waiting[0].SinceMs)
	}
	if _, err := d.Transfer(ctx, "sup", c2.Conv, "queue:sales", ""); code(err) != pb.Code_INVALID {
		t.Fatalf("moved to where it waits now: %v", err)
	}

	// a2 closes c3 and takes c2 from sales: the wait counted from c2's
	// entering the desk, not from the move.
	if _, err := d.Close(ctx, "a2", c3.Conv, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "sup", c2.Conv); agentOf(in) != "a2" {
			return fmt.Errorf("c2: %+v, want a2", in)
		}
		return nil
	})
	steps := deskEvents(t, n, "c2", c2.Conv)
	tr := stepsOf(steps, "transfer")
	if len(tr) != 1 || tr[0]["queue"] != "care" || tr[0]["to"] != "queue:sales" || tr[0]["by"] != "sup" {
		t.Fatalf("c2's move: %v", tr)
	}
	assigned = stepsOf(steps, "assigned")
	if len(assigned) != 1 || assigned[0]["queue"] != "sales" {
		t.Fatalf("c2's assignment: %v", assigned)
	}
	if w, _ := assigned[0]["wait_ms"].(float64); w < 300 || w > float64(time.Since(entered).Milliseconds()) {
		t.Fatalf("c2's wait %v ms, want from its entering (%v ago), at least 300", assigned[0]["wait_ms"], time.Since(entered))
	}
}

// TestSupervisorMoveCountedWhenItsWithdrawIsLost: a supervisor gives a
// waiting session to a2, and the node dies after the thread saved the
// assignment, before the care queue heard of it: the queue comes back
// with the session still waiting. Its next offer of it hears that the
// entry was taken, and the queue counts the assignment then. Before, the
// thread answered only "gone", and the live count stayed one below the
// log's.
func TestSupervisorMoveCountedWhenItsWithdrawIsLost(t *testing.T) {
	store := openStore(t)
	handle := &killableStore{Store: store}
	var cut atomic.Bool
	gated := &gatedStore{killableStore: handle, afterSave: func(cp storage.Checkpoint) {
		if cp.Key == "desk/"+desk.KindThread+"/l/c1" && strings.Contains(string(cp.State), `"state":"assigned"`) && cut.CompareAndSwap(false, true) {
			handle.kill() // the thread's state is saved; nothing after it is
		}
	}}
	n := startNode(t, gated, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	for _, u := range []desk.AgentUpdate{
		{User: "a1", Status: ptr(desk.Away)},
		{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"sales"})},
		{User: "sup", Supervisor: ptr(true)},
	} {
		if _, err := d.SetAgent(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	s, err := d.Enter(ctx, "c1", "help")
	if err != nil || s.State != desk.StateQueued {
		t.Fatalf("c1 enters: %+v %v, want waiting", s, err)
	}
	go func() { _, _ = d.Transfer(ctx, "sup", s.Conv, "user:a2", "") }() // its node dies under it
	eventually(t, func() error {
		if !cut.Load() {
			return errors.New("the assignment is not saved yet")
		}
		return nil
	})
	n.Stop(false)

	d = startNode(t, store, desk.Config{}).Desk
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		q, err := d.Queue(ctx, "care")
		if err != nil || len(q.Waiting) != 0 || q.Stats.Assigned != 1 {
			return fmt.Errorf("care: %+v %v, want empty, one assigned", q, err)
		}
		return nil
	})
	recount, err := desk.Recount(ctx, store)
	if err != nil || recount["care"].Assigned != 1 {
		t.Fatalf("recount of care: %+v %v, want the one assignment", recount["care"], err)
	}
	if in, err := d.Session(ctx, "sup", s.Conv); err != nil || agentOf(in) != "a2" {
		t.Fatalf("c1 after a1's offer: %+v %v, want still a2's", in, err)
	}
}
