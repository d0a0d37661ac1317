package desk_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestStateSurvivesACrash: the node dies without a graceful stop; a new
// one on the same store has the agents' sessions, the waiting list and
// the notes, and goes on dispatching.
func TestStateSurvivesACrash(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "q", Line: "l", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(2), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	var ss []desk.SessionInfo
	for _, c := range []string{"c1", "c2", "c3"} {
		s, err := d.Enter(ctx, c, "q")
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
		eventually(t, func() error { // one at a time: a known order
			s, err := d.Session(ctx, "a1", s.Conv)
			if err != nil || (s.State != desk.StateAssigned && c != "c3") {
				return fmt.Errorf("%s: %+v %v", c, s, err)
			}
			return nil
		})
	}
	if _, err := d.Transfer(ctx, "a1", ss[0].Conv, "queue:sales", "VIP, be quick"); err != nil {
		t.Fatal(err)
	}
	// c1 is back in the queue behind c3 (a transfer is a new entry); a1
	// took c3 in its place.
	eventually(t, func() error {
		q, err := d.Queue(ctx, "sales")
		if err != nil || len(q.Waiting) != 1 || q.Waiting[0].Session != ss[0].Session {
			return fmt.Errorf("queue %+v %v, want c1 waiting", q, err)
		}
		return nil
	})
	n.Stop(false)

	n = startNode(t, store, desk.Config{})
	d = n.Desk
	a1, err := d.Agent(ctx, "a1")
	if err != nil || a1.Load != 2 || a1.Status != desk.Online || fmt.Sprint(a1.Sessions) != fmt.Sprint([]string{ss[1].Session, ss[2].Session}) {
		t.Fatalf("a1 after the crash: %+v %v", a1, err)
	}
	s1, err := d.Session(ctx, "a1", ss[0].Conv)
	if err != nil || s1.State != desk.StateQueued || s1.QueuePosition != 1 || len(s1.Notes) != 1 || s1.Notes[0].Text != "VIP, be quick" {
		t.Fatalf("c1 after the crash: %+v %v", s1, err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		s, err := d.Session(ctx, "a2", ss[0].Conv)
		if err != nil || agentOf(s) != "a2" {
			return fmt.Errorf("c1 %+v %v, want a2", s, err)
		}
		return nil
	})
	if _, err := d.Close(ctx, "a1", ss[1].Conv, ""); err != nil {
		t.Fatal(err)
	}
	if a1, _ := d.Agent(ctx, "a1"); a1.Load != 1 {
		t.Fatalf("a1 load %d after closing one of two", a1.Load)
	}
	q, err := d.Queue(ctx, "sales")
	if err != nil || q.Stats.Assigned != 4 || len(q.Waiting) != 0 {
		t.Fatalf("queue: %+v %v, want 4 assignments (c1 twice)", q, err)
	}
}

// TestOpenSessionsWokenAfterACrash: after a crash nothing touches the
// threads of two open sessions, one assigned and one waiting; the new
// node wakes them, so both close on inactivity (the waiting one counted
// abandoned) and the agent is free again. The waiting one waits in a
// queue without agents: in a1's queue, a1 freed by c1's close could take
// it before its own close, whichever thread's timer fires first.
func TestOpenSessionsWokenAfterACrash(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{InactivityTimeout: 1500 * time.Millisecond}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "after", Line: "l", Route: []string{"queue:nobody"}}); err != nil {
		t.Fatal(err)
	}
	s1 := enterAssigned(t, d, "c1", "help")
	s2, err := d.Enter(ctx, "c2", "after") // waits: nobody serves that queue
	if err != nil {
		t.Fatal(err)
	}
	crash()

	n = startNode(t, store, cfg)
	// Only the conversations are read (their grains, not the threads').
	eventually(t, func() error {
		for _, s := range []desk.SessionInfo{s1, s2} {
			evs := deskEvents(t, n, s.Customer, s.Conv)
			if last := evs[len(evs)-1]; last["desk"] != "close" || last["reason"] != "inactive" {
				return fmt.Errorf("%s: last desk event %v, want the inactivity close", s.Conv, last)
			}
		}
		return nil
	})
	d = n.Desk
	if a1, err := d.Agent(ctx, "a1"); err != nil || a1.Load != 0 {
		t.Fatalf("a1 after the closes: %+v %v", a1, err)
	}
	if q, err := d.Queue(ctx, "care"); err != nil || q.Stats.Assigned != 1 || q.Stats.Abandoned != 0 {
		t.Fatalf("a1's queue after the closes: %+v %v", q, err)
	}
	if q, err := d.Queue(ctx, "nobody"); err != nil || q.Stats.Abandoned != 1 || len(q.Waiting) != 0 {
		t.Fatalf("the agentless queue after the closes: %+v %v", q, err)
	}
}

// TestOnlineAgentWokenAfterACrash: a1 is online, seen connected, and
// holds no session when the node dies with a1's device. Nothing touches
// a1 afterwards; the new node wakes the agents its queues saw online, so
// a1's drop check runs and a1 goes offline after the grace.
func TestOnlineAgentWokenAfterACrash(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{DropGrace: 300 * time.Millisecond}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	careDesk(t, n.Desk, 1)
	if _, err := n.Connect(ctx, "a1", "desk-pc", &positionSink{last: map[string]int{}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		a, err := n.Desk.Agent(ctx, "a1")
		if err != nil || !a.Present {
			return fmt.Errorf("a1 %+v %v: not seen connected", a, err)
		}
		return nil
	})
	crash()

	startNode(t, store, cfg)
	// Read a1's saved state, not a1: asking would activate it.
	eventually(t, func() error {
		cp, err := store.LoadCheckpoint(ctx, "desk/"+desk.KindAgent+"/a1")
		if err != nil {
			return err
		}
		var a struct{ Status string }
		if err := json.Unmarshal(cp.State, &a); err != nil {
			return err
		}
		if a.Status != desk.Offline {
			return fmt.Errorf("a1 is %s, want offline once the new node checked its devices", a.Status)
		}
		return nil
	})
}

// TestOpenSessionWokenByThePeriodicWake: the start-up wake after a crash
// cannot read the roster shard that lists c1's thread (its store fails
// for longer than the wake's retries). Before, the thread then slept
// until something touched it: its inactivity close never came. The
// periodic wake (Config.WakeInterval) reaches it once the store answers.
func TestOpenSessionWokenByThePeriodicWake(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{InactivityTimeout: time.Second, WakeInterval: 300 * time.Millisecond}
	n, crash := startCrashable(t, store, cfg)
	s := enterWaiting(t, n.Desk, "nobody")
	crash()

	gated := &gatedStore{killableStore: &killableStore{Store: store}, checkpoint: "desk/" + desk.KindRoster + "/" + desk.RosterOfForTest("l/c1")}
	gated.shut.Store(true)
	n = startNode(t, gated, cfg)
	eventually(t, func() error {
		if gated.refused.Load() == 0 {
			return errors.New("the start-up wake has not tried the roster shard yet")
		}
		return nil
	})
	time.Sleep(2 * cfg.InactivityTimeout) // the close would be due by now, were the thread awake
	if evs := deskEvents(t, n, "c1", s.Conv); evs[len(evs)-1]["desk"] == "close" {
		t.Fatalf("closed while its roster shard could not be read: %v", evs[len(evs)-1])
	}
	gated.shut.Store(false)
	eventually(t, func() error {
		evs := deskEvents(t, n, "c1", s.Conv)
		if last := evs[len(evs)-1]; last["desk"] != "close" || last["reason"] != "inactive" {
			return fmt.Errorf("last desk event %v, want the inactivity close", last)
		}
		return nil
	})
}

// TestPeriodicWakeGivesBackALostEntry: a waiting session's queue loses
// its entry while the thread stays active (here an answer removes it, as
// a late one could). Before, nothing gave it back while the thread lived:
// the customer waited where no offer would come. The periodic wake has
// an active thread enter its queue again.
func TestPeriodicWakeGivesBackALostEntry(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{WakeInterval: 300 * time.Millisecond})
	ctx := tctx(t)
	d := n.Desk
	s := enterWaiting(t, d, "nobody")
	entry := listedEntry(t, store, "nobody", s.Session)
	gone := desk.AnswerForTest{Session: s.Session, Gone: true, Entered: entry.Entered}
	if err := d.AnswerOfferForTest(ctx, "nobody", gone); err != nil {
		t.Fatal(err)
	}
	if q, err := d.Queue(ctx, "nobody"); err != nil || len(q.Waiting) != 0 {
		t.Fatalf("queue after the answer: %+v %v, want the entry lost", q.Waiting, err)
	}
	eventually(t, func() error {
		if q, err := d.Queue(ctx, "nobody"); err != nil || len(q.Waiting) != 1 || q.Waiting[0].Session != s.Session {
			return fmt.Errorf("queue %+v %v, want c1's session back", q.Waiting, err)
		}
		return nil
	})
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.Queue != "nobody" || in.QueuePosition != 1 {
		t.Fatalf("c1: %+v %v, want first in its queue", in, err)
	}
}
