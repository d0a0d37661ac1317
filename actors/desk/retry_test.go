package desk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/storage"
)

// The messages between a thread and its agent that a crash can lose are
// sent again until answered. These tests make one grain unreachable for
// longer than a message's whole deadline, then reachable again.

// gatedStore refuses, while shut, to load one checkpoint (that grain
// cannot start) or to append to one conversation (its desk events fail).
type gatedStore struct {
	*killableStore
	checkpoint, conv string
	save             string // a checkpoint whose fenced saves the gate refuses
	// afterAppend and afterSave, if set, see every append and fenced
	// checkpoint save once it is durable, before its caller hears so.
	afterAppend func(conv string, msgs []storage.Message)
	afterSave   func(cp storage.Checkpoint)
	// refuseAppend, if set, fails the appends it returns true for.
	refuseAppend func(conv string, msgs []storage.Message) bool
	shut         atomic.Bool
	refused      atomic.Int64
}

var errGated = errors.New("gated by the test")

func (s *gatedStore) gate(hit bool) error {
	if hit && s.shut.Load() {
		s.refused.Add(1)
		return errGated
	}
	return nil
}

func (s *gatedStore) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if err := s.gate(key == s.checkpoint); err != nil {
		return storage.Checkpoint{}, err
	}
	return s.killableStore.LoadCheckpoint(ctx, key)
}

func (s *gatedStore) SaveCheckpointFenced(ctx context.Context, cp storage.Checkpoint, epoch uint64) error {
	if err := s.gate(s.save != "" && cp.Key == s.save); err != nil {
		return err
	}
	err := s.killableStore.SaveCheckpointFenced(ctx, cp, epoch)
	if err == nil && s.afterSave != nil {
		s.afterSave(cp)
	}
	return err
}

func (s *gatedStore) AppendMessages(ctx context.Context, conv string, epoch uint64, msgs []storage.Message) error {
	if err := s.gate(conv == s.conv); err != nil {
		return err
	}
	if s.refuseAppend != nil && s.refuseAppend(conv, msgs) {
		return errGated
	}
	err := s.killableStore.AppendMessages(ctx, conv, epoch, msgs)
	if err == nil && s.afterAppend != nil {
		s.afterAppend(conv, msgs)
	}
	return err
}

func (s *gatedStore) AppendMessagesAsync(ctx context.Context, conv string, epoch uint64, msgs []storage.Message, done func(error)) {
	if err := s.gate(conv == s.conv); err != nil {
		done(err)
		return
	}
	if s.refuseAppend != nil && s.refuseAppend(conv, msgs) {
		done(errGated)
		return
	}
	s.killableStore.AppendMessagesAsync(ctx, conv, epoch, msgs, func(err error) {
		if err == nil && s.afterAppend != nil {
			s.afterAppend(conv, msgs)
		}
		done(err)
	})
}

// startQuickNode starts a node whose grain requests give up after 200 ms,
// so a desk message's whole deadline (four of them) passes quickly.
func startQuickNode(t *testing.T, store storage.Store, cfg desk.Config) *boot.Node {
	t.Helper()
	log := testLogger()
	cfg.Logger = log
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: log, ClusterName: "desk-retry", Desk: cfg,
		Actors: actors.Config{RequestTimeout: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(true) })
	return n
}

// holdGated waits until the gate refused something, then keeps it shut
// past the deadline of the message that hit it (4 × 200 ms).
func holdGated(t *testing.T, s *gatedStore) {
	t.Helper()
	eventually(t, func() error {
		if s.refused.Load() == 0 {
			return errors.New("nothing reached the gate yet")
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond)
	s.shut.Store(false)
}

// TestThreadEnsuresUntilTheAgentAnswers: a crash cut a close between
// the agent's release and the thread's save, so the thread says a1 has
// the session and a1 does not hold it. When the new node wakes the
// thread, a1's grain cannot start. The thread asks again until a1 holds
// the session.
func TestThreadEnsuresUntilTheAgentAnswers(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{OfferTimeout: 300 * time.Millisecond}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	careDesk(t, n.Desk, 2)
	s1 := enterAssigned(t, n.Desk, "c1", "help")
	crash()

	// What the cut close left: a1's stored state without the hold.
	const key = "desk/" + desk.KindAgent + "/a1"
	cp, err := store.LoadCheckpoint(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	var state map[string]any
	if err := json.Unmarshal(cp.State, &state); err != nil {
		t.Fatal(err)
	}
	state["held"] = map[string]any{}
	if cp.State, err = json.Marshal(state); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}

	gated := &gatedStore{killableStore: &killableStore{Store: store}, checkpoint: key}
	gated.shut.Store(true)
	before := promtest.Value(t, "switchboard_desk_resends_total", "op", "ensure")
	n = startQuickNode(t, gated, cfg) // its roster wakes the thread
	holdGated(t, gated)

	d := n.Desk
	eventually(t, func() error {
		a1, err := d.Agent(ctx, "a1")
		if err != nil {
			return err
		}
		if !slices.Contains(a1.Sessions, s1.Session) {
			return fmt.Errorf("a1 holds %v, want %s", a1.Sessions, s1.Session)
		}
		return nil
	})
	if in, err := d.Session(ctx, "a1", s1.Conv); err != nil || in.State != desk.StateAssigned || agentOf(in) != "a1" {
		t.Fatalf("session: %+v %v, want assigned to a1", in, err)
	}
	if got := promtest.Value(t, "switchboard_desk_resends_total", "op", "ensure"); got <= before {
		t.Fatalf("resends of ensure: %v, was %v: the repair is not counted", got, before)
	}
}

// TestDroppedSessionRequeuedUntilTheThreadAnswers: a1 goes offline while
// its session's thread cannot record anything; the thread stays active
// and assigned. a1 tells it again until the session is back in its queue.
func TestDroppedSessionRequeuedUntilTheThreadAnswers(t *testing.T) {
	store := openStore(t)
	gated := &gatedStore{killableStore: &killableStore{Store: store}}
	n := startQuickNode(t, gated, desk.Config{OfferTimeout: 300 * time.Millisecond})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	s1 := enterAssigned(t, d, "c1", "help")

	before := promtest.Value(t, "switchboard_desk_resends_total", "op", "requeue")
	gated.conv = s1.Conv
	gated.shut.Store(true)
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Offline)}); err != nil {
		t.Fatal(err)
	}
	holdGated(t, gated)

	eventually(t, func() error {
		in, err := d.Session(ctx, "c1", s1.Conv)
		if err != nil {
			return err
		}
		if in.State != desk.StateQueued || agentOf(in) != "" {
			return fmt.Errorf("session %s with %q, want queued", in.State, agentOf(in))
		}
		return nil
	})
	if a1, err := d.Agent(ctx, "a1"); err != nil || len(a1.Sessions) != 0 {
		t.Fatalf("a1: %+v %v, want no session", a1, err)
	}
	if got := promtest.Value(t, "switchboard_desk_resends_total", "op", "requeue"); got <= before {
		t.Fatalf("resends of requeue: %v, was %v: the repair is not counted", got, before)
	}
}

// TestReopenNoticeRetried: a customer writes after the close while the
// thread (passivated once closed) cannot start for longer than a
// message's deadline. The notice of the message is told again, and the
// session reopens once the thread can start.
func TestReopenNoticeRetried(t *testing.T) {
	store := openStore(t)
	gated := &gatedStore{killableStore: &killableStore{Store: store}}
	n := startQuickNode(t, gated, desk.Config{OfferTimeout: 300 * time.Millisecond, IdleTimeout: 100 * time.Millisecond})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	s1 := enterAssigned(t, d, "c1", "help")
	if _, err := d.Close(ctx, "a1", s1.Conv, "resolved"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the closed thread passivates

	before := promtest.Value(t, "switchboard_desk_resends_total", "op", "message")
	gated.checkpoint = "desk/" + desk.KindThread + "/l/c1"
	gated.shut.Store(true)
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s1.Conv, Sender: "c1", Body: []byte("one more question")}); err != nil {
		t.Fatal(err)
	}
	holdGated(t, gated)

	eventually(t, func() error {
		s, err := d.Session(ctx, "a1", s1.Conv)
		if err != nil || s.Session == s1.Session || s.State == desk.StateClosed {
			return fmt.Errorf("after the customer's message: %+v %v, want a new open session", s, err)
		}
		return nil
	})
	if got := promtest.Value(t, "switchboard_desk_resends_total", "op", "message"); got <= before {
		t.Fatalf("resends of message: %v, was %v: the repair is not counted", got, before)
	}
}

// TestWakeRetried: after a crash, a starting node cannot wake the thread
// of an open session (its state cannot be read for a while). The wake is
// tried again until the thread starts, so its inactivity close happens
// though nothing else touches the session (the robot has it: no agent
// asks about it).
func TestWakeRetried(t *testing.T) {
	store := openStore(t)
	cfg := desk.Config{InactivityTimeout: 2 * time.Second}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "faq", Line: "l", Route: []string{"bot", "queue:care"}}); err != nil {
		t.Fatal(err)
	}
	s, err := n.Desk.Enter(ctx, "c1", "faq")
	if err != nil || s.State != desk.StateBot {
		t.Fatalf("c1 enters: %+v %v, want the robot's", s, err)
	}
	crash()

	key := "desk/" + desk.KindThread + "/l/c1"
	gated := &gatedStore{killableStore: &killableStore{Store: store}, checkpoint: key}
	gated.shut.Store(true)
	before := promtest.Value(t, "switchboard_desk_resends_total", "op", "wake")
	startQuickNode(t, gated, cfg) // its start-up wakes the thread, and fails at first
	holdGated(t, gated)

	eventually(t, func() error {
		var thread struct {
			Session struct{ ID, State string }
		}
		loadCheckpoint(t, store, key, &thread) // the saved state: asking would wake it
		if thread.Session.ID != s.Session || thread.Session.State != desk.StateClosed {
			return fmt.Errorf("c1's session %+v, want %s closed for inactivity", thread.Session, s.Session)
		}
		return nil
	})
	if got := promtest.Value(t, "switchboard_desk_resends_total", "op", "wake"); got <= before {
		t.Fatalf("resends of wake: %v, was %v: the retry is not counted", got, before)
	}
}

// TestWakeAskedDuringARound: a roster shard runs one wake round at a time.
// A wake asked while a round is under way (another node's start-up, a
// member's departure) brings one more round after it: the node that left
// may have hosted threads the round had already woken. Before, the
// request was taken as covered by the round under way, and those threads
// stayed asleep with their timers.
func TestWakeAskedDuringARound(t *testing.T) {
	store := openStore(t)
	n, crash := startCrashable(t, store, desk.Config{})
	ctx := tctx(t)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "faq", Line: "l", Route: []string{"bot", "queue:care"}}); err != nil {
		t.Fatal(err)
	}
	// Two customers whose threads one roster shard lists.
	shard := desk.RosterOfForTest("l/c1")
	other := ""
	for i := 2; other == ""; i++ {
		if c := fmt.Sprintf("c%d", i); desk.RosterOfForTest("l/"+c) == shard {
			other = c
		}
	}
	for _, c := range []string{"c1", other} {
		if s, err := n.Desk.Enter(ctx, c, "faq"); err != nil || s.State != desk.StateBot {
			t.Fatalf("%s enters: %+v %v, want the robot's", c, s, err)
		}
	}
	crash()

	gated := &gatedStore{killableStore: &killableStore{Store: store}, checkpoint: "desk/" + desk.KindThread + "/l/c1"}
	gated.shut.Store(true)
	before := promtest.Value(t, "switchboard_desk_woken_total", "kind", desk.KindThread)
	n2 := startQuickNode(t, gated, desk.Config{}) // its start-up's round wakes the other thread; c1's waits for a retry
	eventually(t, func() error {
		if gated.refused.Load() == 0 {
			return errors.New("c1's thread not asked yet")
		}
		return nil
	})
	if _, err := n2.Desk.WakeOpenThreads(ctx); err != nil { // during the round
		t.Fatal(err)
	}
	gated.shut.Store(false)

	// The first round ends with c1 woken by its retry; the second wakes both.
	eventually(t, func() error {
		if got := promtest.Value(t, "switchboard_desk_woken_total", "kind", desk.KindThread) - before; got != 4 {
			return fmt.Errorf("%v thread wakes, want 4: two rounds of two", got)
		}
		return nil
	})
}
