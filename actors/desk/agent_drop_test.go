package desk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestAgentDrop: an agent whose last device disconnects goes offline once
// no device came back within the drop grace, and its sessions go back to
// the queue (then to another agent); a reconnect within the grace keeps
// everything; an agent never seen connected is never dropped. Real
// connections through the node's session API, on Pebble.
func TestAgentDrop(t *testing.T) {
	const grace = time.Second
	n := startNode(t, openStore(t), desk.Config{DropGrace: grace})
	ctx := tctx(t)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	online, three := desk.Online, 3
	for _, a := range []string{"a1", "a3"} {
		if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: a, Status: &online, Capacity: &three, Skills: &[]string{"sales"}}); err != nil {
			t.Fatal(err)
		}
	}
	connect := func() func() {
		s, err := n.Connect(ctx, "a1", "desk-pc", &positionSink{last: map[string]int{}})
		if err != nil {
			t.Fatal(err)
		}
		return s.Close
	}
	closeConn := connect()
	eventually(t, func() error {
		a, err := n.Desk.Agent(ctx, "a1")
		if err != nil || !a.Present {
			return fmt.Errorf("a1 %+v %v: not seen connected", a, err)
		}
		return nil
	})
	// a3 (never connected) is offline-capable but takes nothing yet: make
	// it full so the sessions go to a1.
	zero := 0
	if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a3", Capacity: &zero}); err != nil {
		t.Fatal(err)
	}
	var convs []string
	for _, c := range []string{"c1", "c2"} {
		s, err := n.Desk.Enter(ctx, c, "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, s.Conv)
	}
	assignedTo := func(agent string) func() error {
		return func() error {
			for _, conv := range convs {
				s, err := n.Desk.Session(ctx, agent, conv)
				if err != nil || agentOf(s) != agent {
					return fmt.Errorf("%s: %+v %v, want %s", conv, s, err, agent)
				}
			}
			return nil
		}
	}
	eventually(t, assignedTo("a1"))

	// Gone for 40% of the grace (checks run every quarter: one finds no
	// device), then back.
	closeConn()
	time.Sleep(grace * 4 / 10)
	closeConn = connect()
	time.Sleep(2 * grace)
	if a, err := n.Desk.Agent(ctx, "a1"); err != nil || a.Status != desk.Online || a.Load != 2 {
		t.Fatalf("a1 after a reconnect within the grace: %+v %v, want online with 2 sessions", a, err)
	}
	if err := assignedTo("a1")(); err != nil {
		t.Fatal(err)
	}

	// Gone for good: offline after the grace, the sessions back in the
	// queue, each with a requeue step.
	closeConn()
	eventually(t, func() error {
		a, err := n.Desk.Agent(ctx, "a1")
		if err != nil || a.Status != desk.Offline || a.Load != 0 || a.Present {
			return fmt.Errorf("a1 %+v %v, want offline with nothing", a, err)
		}
		for _, conv := range convs {
			s, err := n.Desk.Session(ctx, "a1", conv)
			if err != nil || s.State != desk.StateQueued {
				return fmt.Errorf("%s: %+v %v, want queued", conv, s, err)
			}
		}
		return nil
	})
	for i, conv := range convs {
		evs := deskEvents(t, n, fmt.Sprint("c", i+1), conv)
		last := evs[len(evs)-2] // requeue, then queued again
		if last["desk"] != "requeue" || last["agent"] != "a1" {
			t.Fatalf("%s: steps %s, want a requeue of a1", conv, kinds(evs))
		}
	}
	// a3 was never connected: still online. Given room, it takes both.
	if a, err := n.Desk.Agent(ctx, "a3"); err != nil || a.Status != desk.Online {
		t.Fatalf("a3 (never connected) %+v %v, want online", a, err)
	}
	if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a3", Capacity: &three}); err != nil {
		t.Fatal(err)
	}
	eventually(t, assignedTo("a3"))
}
