package desk_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// TestWrapUp: with a wrap-up time, the slot of a session an agent closes
// stays taken for it (the next customer waits), then frees by itself; the
// agent may end it sooner; the customer coming back to the same
// conversation takes the slot at once; going offline frees it; the limit
// holds at its edge at start.
func TestWrapUp(t *testing.T) {
	for _, c := range []struct {
		wrapUp time.Duration
		ok     bool
	}{{desk.MaxWrapUp, true}, {desk.MaxWrapUp + time.Nanosecond, false}, {-time.Second, false}} {
		n, err := boot.StartNode(boot.NodeConfig{Store: openStore(t), Logger: testLogger(), ClusterName: "desk-test", Desk: desk.Config{WrapUp: c.wrapUp}})
		if (err == nil) != c.ok {
			t.Fatalf("wrap-up %v: %v, want accepted %v", c.wrapUp, err, c.ok)
		}
		if n != nil {
			n.Stop(true)
		}
	}
	// Long enough that "at once" (the agent's end, the customer's return)
	// cannot be mistaken for the slot's own end on a loaded machine.
	const wrapUp = 6 * time.Second
	var mu sync.Mutex
	var ready int // the agent's "ready" decisions: its slots ended
	n := startNode(t, openStore(t), desk.Config{WrapUp: wrapUp, OnEvent: func(e desk.Event) {
		if e.Kind == "ready" && e.Agent == "a1" {
			mu.Lock()
			ready++
			mu.Unlock()
		}
	}})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	assignedAfter := func(s desk.SessionInfo) time.Time {
		t.Helper()
		eventually(t, func() error {
			if in, _ := d.Session(ctx, "a1", s.Conv); agentOf(in) != "a1" || in.Session != s.Session {
				return fmt.Errorf("%s: %+v, want a1's", s.Customer, in)
			}
			return nil
		})
		return time.Now()
	}
	enter := func(customer string) desk.SessionInfo {
		t.Helper()
		s, err := d.Enter(ctx, customer, "help")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The slot stays taken for the wrap-up, then frees by itself.
	s1 := enterAssigned(t, d, "c1", "help")
	closedAt := time.Now()
	if _, err := d.Close(ctx, "a1", s1.Conv, ""); err != nil {
		t.Fatal(err)
	}
	a1, err := d.Agent(ctx, "a1")
	if err != nil || a1.Load != 1 || len(a1.Sessions) != 0 || len(a1.WrapUp) != 1 || a1.WrapUp[0].Session != s1.Session {
		t.Fatalf("a1 after the close: %+v %v, want the slot in wrap-up", a1, err)
	}
	s2 := enter("c2")
	if s2.QueuePosition != 1 {
		t.Fatalf("c2 enters during the wrap-up: %+v, want waiting first", s2)
	}
	if at := assignedAfter(s2); at.Sub(closedAt) < wrapUp {
		t.Fatalf("c2 assigned %v after the close, before the wrap-up of %v ended", at.Sub(closedAt), wrapUp)
	}
	if a1, _ = d.Agent(ctx, "a1"); a1.Load != 1 || len(a1.WrapUp) != 0 {
		t.Fatalf("a1 with c2: %+v", a1)
	}

	// The agent ends the wrap-up sooner: the next customer comes at once.
	if _, err := d.Close(ctx, "a1", s2.Conv, ""); err != nil {
		t.Fatal(err)
	}
	s3 := enter("c3")
	if s3.QueuePosition != 1 {
		t.Fatalf("c3 enters during the wrap-up: %+v, want waiting", s3)
	}
	a1, err = d.SetAgent(ctx, desk.AgentUpdate{User: "a1", EndWrapUp: true})
	if err != nil || len(a1.WrapUp) != 0 {
		t.Fatalf("a1 ends the wrap-up: %+v %v", a1, err)
	}
	ended := time.Now()
	if at := assignedAfter(s3); at.Sub(ended) >= wrapUp {
		t.Fatalf("c3 assigned %v after the wrap-up was ended", at.Sub(ended))
	}

	// The customer comes back to the conversation in wrap-up: the new
	// session takes its slot, with a1 full.
	if _, err := d.Close(ctx, "a1", s3.Conv, ""); err != nil {
		t.Fatal(err)
	}
	back := enter("c3")
	if back.Conv != s3.Conv || back.Session == s3.Session {
		t.Fatalf("c3 back: %+v, want a new session in %s", back, s3.Conv)
	}
	if at := assignedAfter(back); at.Sub(ended) >= wrapUp {
		t.Fatalf("c3's new session assigned %v after, not in the wrap-up's slot", at.Sub(ended))
	}
	if a1, _ = d.Agent(ctx, "a1"); a1.Load != 1 || len(a1.WrapUp) != 0 || len(a1.Sessions) != 1 {
		t.Fatalf("a1 with c3 back: %+v", a1)
	}

	// Going offline frees the slot in wrap-up.
	if _, err := d.Close(ctx, "a1", back.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if a1, err = d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline)}); err != nil || a1.Load != 0 || len(a1.WrapUp) != 0 {
		t.Fatalf("a1 offline: %+v %v", a1, err)
	}
	// Each end was a decision: by time, by the agent, by going offline
	// (the slot taken back is none).
	mu.Lock()
	defer mu.Unlock()
	if ready != 3 {
		t.Fatalf("%d ready decisions, want 3", ready)
	}
}

// TestWrapUpSurvivesACrash: a slot in wrap-up is saved with the agent: a
// node that dies during it leaves the slot taken on the next node, which
// frees it when its time is up.
func TestWrapUpSurvivesACrash(t *testing.T) {
	const wrapUp = 3 * time.Second
	store := openStore(t)
	cfg := desk.Config{WrapUp: wrapUp}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	s1 := enterAssigned(t, d, "c1", "help")
	if _, err := d.Close(ctx, "a1", s1.Conv, ""); err != nil {
		t.Fatal(err)
	}
	a1, err := d.Agent(ctx, "a1")
	if err != nil || len(a1.WrapUp) != 1 {
		t.Fatalf("a1 after the close: %+v %v", a1, err)
	}
	until := time.UnixMilli(a1.WrapUp[0].UntilMs)
	s2, err := d.Enter(ctx, "c2", "help")
	if err != nil {
		t.Fatal(err)
	}
	crash()

	d = startNode(t, store, cfg).Desk
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", s2.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("c2: %+v, want a1's", in)
		}
		return nil
	})
	if now := time.Now(); now.Before(until) {
		t.Fatalf("c2 assigned %v before the wrap-up's end", until.Sub(now))
	}
}

// TestCutCloseAndWrapUp: a crash cut an agent's close: a1 released the
// session into its wrap-up, and the thread did not save the close. The
// thread's next activation tells a1 it has the session. a1 takes it back
// in the slot of its own wrap-up (load 1 of 1, not 2). An a1 whose slot
// is taken by another session's wrap-up gives it back to its queue
// instead of going over its capacity.
func TestCutCloseAndWrapUp(t *testing.T) {
	for _, own := range []bool{true, false} {
		t.Run(fmt.Sprintf("own wrap-up %v", own), func(t *testing.T) {
			store := openStore(t)
			cfg := desk.Config{WrapUp: time.Minute}
			n, crash := startCrashable(t, store, cfg)
			ctx := tctx(t)
			careDesk(t, n.Desk, 1)
			s := enterAssigned(t, n.Desk, "c1", "help")
			threadKey, agentKey := "desk/"+desk.KindThread+"/l/c1", "desk/"+desk.KindAgent+"/a1"
			var assigned map[string]any
			loadCheckpoint(t, store, threadKey, &assigned)
			if _, err := n.Desk.Close(ctx, "a1", s.Conv, "done"); err != nil {
				t.Fatal(err)
			}
			crash()
			saveCheckpoint(t, store, threadKey, assigned) // the close's save never happened
			if !own {
				var agent map[string]any
				loadCheckpoint(t, store, agentKey, &agent)
				other := "s:l:c9:1/1"
				agent["wrap_up"] = map[string]any{other: map[string]any{"session": other, "conv": "s:l:c9:1", "until_ms": time.Now().Add(time.Minute).UnixMilli()}}
				saveCheckpoint(t, store, agentKey, agent)
			}

			d := startNode(t, store, cfg).Desk
			eventually(t, func() error {
				in, err := d.Session(ctx, "a1", s.Conv) // wakes the thread
				if err != nil {
					return err
				}
				a1, err := d.Agent(ctx, "a1")
				if err != nil {
					return err
				}
				got := fmt.Sprintf("session %s with %q; a1 holds %v, load %d", in.State, agentOf(in), a1.Sessions, a1.Load)
				want := fmt.Sprintf("session %s with %q; a1 holds [%s], load 1", desk.StateAssigned, "a1", s.Session)
				if !own {
					want = fmt.Sprintf("session %s with %q; a1 holds [], load 1", desk.StateQueued, "")
				}
				if got != want {
					return fmt.Errorf("%s, want %s", got, want)
				}
				return nil
			})
		})
	}
}
