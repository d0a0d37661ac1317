package transport_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/transport/client"
)

// Queue positions reach the Go SDK over QUIC as EventQueuePosition: two
// customers wait; when the first abandons, the second hears it moved up
// and the first hears it left (0).
func TestQueuePositionEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"queue:sales"}, "")
	var mu sync.Mutex
	last := map[string]uint64{} // user → last position heard
	for _, u := range []string{"c1", "c2"} {
		e.dial(u, "phone", func(c *client.Config) {
			c.OnEvent = func(ev client.Event) {
				if ev.Kind == client.EventQueuePosition && ev.Conv == "s:cars:"+u+":1" {
					mu.Lock()
					last[u] = ev.Seq
					mu.Unlock()
				}
			}
		})
	}
	heard := func(want map[string]uint64) {
		t.Helper()
		eventually(t, fmt.Sprint("positions ", want), func() bool {
			mu.Lock()
			defer mu.Unlock()
			for u, p := range want {
				if q, ok := last[u]; !ok || q != p {
					return false
				}
			}
			return true
		})
	}
	for _, u := range []string{"c1", "c2"} {
		if _, err := d.Enter(ctx, u, "listing/1"); err != nil {
			t.Fatal(err)
		}
	}
	heard(map[string]uint64{"c1": 1, "c2": 2})
	if _, err := d.Close(ctx, "c1", "s:cars:c1:1", ""); err != nil {
		t.Fatal(err)
	}
	heard(map[string]uint64{"c1": 0, "c2": 1})
}

// A note someone else adds to a session reaches its agent's SDK as
// EventDeskNote (who wrote it, how many the session holds), so an open
// workbench shows a supervisor's note at once.
func TestDeskNoteEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1")
	notes := make(chan client.Event, 8)
	e.dial("a1", "wb", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventDeskNote {
				notes <- ev
			}
		}
	})
	s, err := d.Enter(ctx, "c1", "listing/1")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a1 takes the session", func() bool {
		si, err := d.Session(ctx, "a1", s.Conv)
		return err == nil && si.Agent != nil && *si.Agent == "a1"
	})
	if _, err := d.Note(ctx, "sup", s.Conv, "offer the 5% discount"); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-notes:
		if ev.Conv != s.Conv || ev.User != "sup" || ev.Seq != 1 {
			t.Fatalf("the note's event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a1 heard of no note")
	}
}

// A change of an agent's state by anyone else reaches the agent's SDK as
// EventDeskAgent naming who (a supervisor, the admin), so an open
// workbench shows the status the desk has; the agent's own change does
// not.
func TestDeskAgentEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1")
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	changes := make(chan client.Event, 8)
	a1 := e.dial("a1", "wb", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventDeskAgent {
				changes <- ev
			}
		}
	})
	sup := e.dial("sup", "wb")
	next := func(want string) {
		t.Helper()
		select {
		case ev := <-changes:
			if ev.User != want {
				t.Fatalf("a change by %q, want by %q", ev.User, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("a1 heard of no change by %s", want)
		}
	}
	if _, err := a1.DeskStatus(ctx, desk.Away); err != nil { // its own: no event
		t.Fatal(err)
	}
	if _, err := sup.DeskManageAgent(ctx, "a1", desk.Online, false); err != nil {
		t.Fatal(err)
	}
	next("sup")
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline), By: desk.ByAdmin}); err != nil {
		t.Fatal(err)
	}
	next(desk.ByAdmin)
}

// Once its queue has assigned three sessions, a customer who waits reads
// the queue's wait estimate in its desk_enter answer and hears it with its
// position over QUIC (EventQueuePosition's Wait).
func TestQueueWaitEstimateOverQUIC(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"queue:sales"}, desk.Online, "a1", "a2", "a3")
	for _, u := range []string{"c1", "c2", "c3"} {
		s, err := d.Enter(ctx, u, "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, u+" assigned", func() bool {
			si, err := d.Session(ctx, u, s.Conv)
			return err == nil && si.Agent != nil
		})
	}
	waits := make(chan time.Duration, 8)
	c4 := e.dial("c4", "phone", func(c *client.Config) {
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventQueuePosition && ev.Seq == 1 {
				waits <- ev.Wait
			}
		}
	})
	s, err := c4.DeskEnter(ctx, "listing/1", "")
	if err != nil || s.QueuePosition != 1 || s.QueueWaitMs <= 0 {
		t.Fatalf("c4 enters: %+v %v, want position 1 with an estimate", s, err)
	}
	select {
	case w := <-waits:
		if w <= 0 {
			t.Fatalf("c4 heard position 1 without an estimate")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("c4 heard no position")
	}
}
