package desk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// A route step's wait is named and bounded: 1 s to 24 h, never on the
// last step (there is no step to overflow to).
func TestRouteStepWaitBounds(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	for _, c := range []struct {
		route []string
		want  pb.Code
	}{
		{[]string{"queue:vip/1s", "queue:care"}, pb.Code_OK}, // at the lower edge
		{[]string{"queue:vip/24h", "queue:care"}, pb.Code_OK},
		{[]string{"bot", "agent:a1/5m", "queue:vip/2m", "queue:care"}, pb.Code_OK},
		{[]string{"queue:vip/999ms", "queue:care"}, pb.Code_INVALID},
		{[]string{"queue:vip/24h0m1s", "queue:care"}, pb.Code_INVALID},
		{[]string{"queue:vip/2m"}, pb.Code_INVALID},
		{[]string{"queue:care", "queue:vip/2m"}, pb.Code_INVALID},
		{[]string{"queue:vip/soon", "queue:care"}, pb.Code_INVALID},
		{[]string{"queue:vip/", "queue:care"}, pb.Code_INVALID},
		{[]string{"queue:/2m", "queue:care"}, pb.Code_INVALID},
		{[]string{"bot/2m", "queue:care"}, pb.Code_INVALID},
		// A queue reached twice (an agent step is its own queue).
		{[]string{"queue:care/1m", "queue:vip/1m", "queue:care"}, pb.Code_INVALID},
		{[]string{"agent:a1/1m", "queue:vip/1m", "agent:a1"}, pb.Code_INVALID},
		{[]string{"agent:a1/1m", "queue:a1"}, pb.Code_OK}, // the agent's queue is "@a1"
	} {
		_, err := n.Desk.SetScene(ctx, desk.Scene{Name: "s", Line: "l", Route: c.route})
		if code(err) != c.want {
			t.Errorf("route %v: %v, want %s", c.route, err, c.want)
		}
	}
}

// A scene stored before the rule its route breaks (a queue reached twice)
// keeps its route, and the node warns of it when it reads the scenes.
func TestStoredRouteReachingAQueueTwiceIsWarned(t *testing.T) {
	store := openStore(t)
	route := []string{"queue:care/1m", "queue:vip/1m", "queue:care"}
	saveCheckpoint(t, store, "desk/"+desk.KindScenes+"/all", map[string]any{"scenes": map[string]desk.Scene{"old": {Name: "old", Line: "l", Route: route}}})
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(b)
	}), nil))
	n, err := boot.StartNode(boot.NodeConfig{Store: store, Logger: testLogger(), ClusterName: "desk-test", Desk: desk.Config{Logger: log}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop(true) })
	scenes, err := n.Desk.Scenes(tctx(t))
	if err != nil || len(scenes) != 1 || !slices.Equal(scenes[0].Route, route) {
		t.Fatalf("scenes: %+v %v, want the stored one as it was", scenes, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "no longer valid") || !strings.Contains(logs.String(), "scene=old") {
		t.Fatalf("no warning naming the scene; logs:\n%s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// A session still waiting in a step with a wait moves on to the route's
// next step: from the owner agent's own queue to the skill group, keeping
// its wait (counted from its entering) and its place by time. The deadline
// is saved: a restart before it still overflows.
func TestRouteOverflow(t *testing.T) {
	store := openStore(t)
	n, crash := startCrashable(t, store, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	// The account manager a1 first, for two seconds; then the care team.
	if _, err := d.SetScene(ctx, desk.Scene{Name: "mine", Line: "l", Route: []string{"agent:a1/2s", "queue:care"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Away), Capacity: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	entered := time.Now()
	s, err := d.Enter(ctx, "c1", "mine")
	if err != nil || s.State != desk.StateQueued || s.Queue != "@a1" {
		t.Fatalf("c1 enters: %+v %v, want waiting for a1", s, err)
	}
	// A crash before the deadline: the new node overflows it all the same.
	crash()
	n = startNode(t, store, desk.Config{})
	d = n.Desk
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.Queue != "@a1" {
		t.Fatalf("after the restart: %+v %v, want still waiting for a1", in, err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a2", s.Conv); agentOf(in) != "a2" {
			return fmt.Errorf("c1: %+v, want a2's after the overflow", in)
		}
		return nil
	})
	if q, err := d.Queue(ctx, "@a1"); err != nil || len(q.Waiting) != 0 || q.Stats.Overflowed != 1 || q.Stats.Assigned != 0 || q.Stats.Abandoned != 0 {
		t.Fatalf("a1's own queue: %+v %v, want empty, one overflowed", q, err)
	}
	// The queue hears of the assignment after the agent and the thread.
	eventually(t, func() error {
		if q, err := d.Queue(ctx, "care"); err != nil || q.Stats.Assigned != 1 || q.Stats.Overflowed != 0 {
			return fmt.Errorf("care: %+v %v, want one assigned", q, err)
		}
		return nil
	})
	steps := deskEvents(t, n, "c1", s.Conv)
	of := stepsOf(steps, "overflow")
	if len(of) != 1 || of[0]["queue"] != "@a1" || of[0]["to"] != "queue:care" || of[0]["after_ms"] != float64(2000) {
		t.Fatalf("overflow steps: %v (%s)", of, kinds(steps))
	}
	assigned := stepsOf(steps, "assigned")
	if len(assigned) != 1 || assigned[0]["queue"] != "care" {
		t.Fatalf("assigned: %v", assigned)
	}
	if w, _ := assigned[0]["wait_ms"].(float64); w < 2000 || w > float64(time.Since(entered).Milliseconds()) {
		t.Fatalf("c1's wait %v ms, want from its entering (%v ago), at least the step's 2 s", assigned[0]["wait_ms"], time.Since(entered))
	}

	// An agent taking it in time stops the overflow: a1 online now takes
	// c2 before its two seconds run out, and keeps it.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	s2, err := d.Enter(ctx, "c2", "mine")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", s2.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("c2: %+v, want a1's", in)
		}
		return nil
	})
	time.Sleep(2500 * time.Millisecond)
	if in, err := d.Session(ctx, "a1", s2.Conv); err != nil || agentOf(in) != "a1" || len(stepsOf(deskEvents(t, n, "c2", s2.Conv), "overflow")) != 0 {
		t.Fatalf("c2 after its step's wait: %+v %v, want a1's, no overflow", in, err)
	}
}

// TestOverflowCountedWhenItsWithdrawIsLost: a session overflows from a1's
// own queue to the care team, and the old queue's save of the withdraw
// fails (its node crashed then, as far as the queue knows): the queue
// comes back with the session still waiting and counts no overflow. When
// a1 comes online the queue offers it; the thread answers that it
// overflowed from there, so the queue counts it then. Before, it answered
// only "gone", and the live count stayed one below the log's.
func TestOverflowCountedWhenItsWithdrawIsLost(t *testing.T) {
	store := openStore(t)
	gated := &gatedStore{killableStore: &killableStore{Store: store}, save: "desk/" + desk.KindQueue + "/@a1"}
	n := startQuickNode(t, gated, desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	s := enterOwnQueue(t, d)
	gated.shut.Store(true) // from now on @a1 cannot save: the overflow's withdraw fails
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "c1", s.Conv); in.Queue != "care" || gated.refused.Load() == 0 {
			return fmt.Errorf("c1 %+v, %d saves refused: want overflowed to care, the withdraw refused", in, gated.refused.Load())
		}
		return nil
	})
	gated.shut.Store(false)

	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		q, err := d.Queue(ctx, "@a1")
		if err != nil || len(q.Waiting) != 0 || q.Stats.Overflowed != 1 {
			return fmt.Errorf("a1's own queue: %+v %v, want empty, one overflowed", q, err)
		}
		return nil
	})
	recount, err := desk.Recount(ctx, store)
	if err != nil || recount["@a1"].Overflowed != 1 {
		t.Fatalf("recount of @a1: %+v %v, want the one overflow", recount["@a1"], err)
	}
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.Queue != "care" || in.Agent != nil {
		t.Fatalf("c1 after a1's offer: %+v %v, want still waiting in care", in, err)
	}
}

// TestOverflowCutByACrash: the node dies after the thread recorded a
// session's overflow and before it saved the move. The next activation
// finishes the overflow: the log's step takes effect, and the queue it
// left counts it. Before, the activation served the session from the
// queue it had left in the log: a1 took it there, and the queue counted
// an assignment where the log says it overflowed.
func TestOverflowCutByACrash(t *testing.T) {
	store := openStore(t)
	s := cutAnOverflow(t, store)
	ctx := tctx(t)
	n := startNode(t, store, desk.Config{})
	d := n.Desk
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	// Asking for the session would wake the thread: watch the queue.
	eventually(t, func() error {
		if q, err := d.Queue(ctx, "@a1"); err != nil || len(q.Waiting) != 0 {
			return fmt.Errorf("a1's own queue: %+v %v, want c1 gone from it", q, err)
		}
		return nil
	})
	if q, err := d.Queue(ctx, "@a1"); err != nil || q.Stats.Overflowed != 1 || q.Stats.Assigned != 0 {
		t.Fatalf("a1's own queue: %+v %v, want one overflowed, none assigned", q, err)
	}
	eventually(t, func() error {
		if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.Queue != "care" || in.State != desk.StateQueued {
			return fmt.Errorf("c1: %+v %v, want waiting in care", in, err)
		}
		return nil
	})
	recount, err := desk.Recount(ctx, store)
	if err != nil || recount["@a1"].Overflowed != 1 || recount["@a1"].Assigned != 0 {
		t.Fatalf("recount of @a1: %+v %v, want the one overflow", recount["@a1"], err)
	}
}

// cutAnOverflow enters c1 into a route from a1's own queue (a1 away) to
// care after 1 s, and kills the node once the overflow is in the log,
// before the thread saved it. The roster then forgets c1's thread, so the
// next node's start-up does not wake it: the test chooses what reaches it
// first.
func cutAnOverflow(t *testing.T, store storage.Store) desk.SessionInfo {
	t.Helper()
	handle := &killableStore{Store: store}
	var cut atomic.Bool
	gated := &gatedStore{killableStore: handle, afterAppend: func(_ string, msgs []storage.Message) {
		for _, m := range msgs {
			if m.Kind == storage.MsgSystem && strings.Contains(string(m.Body), `"desk":"overflow"`) && cut.CompareAndSwap(false, true) {
				handle.kill() // the step is in the log; nothing after it is saved
			}
		}
	}}
	n := startNode(t, gated, desk.Config{})
	s := enterOwnQueue(t, n.Desk)
	eventually(t, func() error {
		if !cut.Load() {
			return errors.New("no overflow recorded yet")
		}
		return nil
	})
	n.Stop(false)
	// The roster forgets the thread (as for one listed before rosters
	// existed).
	saveCheckpoint(t, store, "desk/"+desk.KindRoster+"/"+desk.RosterOfForTest("l/c1"), map[string]any{"open": map[string]bool{}})
	return s
}

// TestOverflowCutByACrashThenClosed: as TestOverflowCutByACrash, but what
// reaches the thread after the crash is the customer's close. The request
// that reaches it first arms the overdue overflow, which runs before the
// close: the session is abandoned in the queue it overflowed to, and the
// queue it left counts the overflow the log holds.
func TestOverflowCutByACrashThenClosed(t *testing.T) {
	store := openStore(t)
	s := cutAnOverflow(t, store)
	d := startNode(t, store, desk.Config{}).Desk
	ctx := tctx(t)
	if _, err := d.Close(ctx, "c1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	checkOverflowedThenAbandoned(t, d, store)
}

// TestOverflowCutThenClosed: an overflow fails half-way (its step is in
// the log, the session's "queued" in the next queue is not) and waits a
// minute for its retry; the customer closes meanwhile. The close's first
// request arms the overflow again, which finishes before the close: the
// session is abandoned in the queue it overflowed to, and the queue it
// left counts the logged overflow.
func TestOverflowCutThenClosed(t *testing.T) {
	store := openStore(t)
	var refuse atomic.Bool
	refuse.Store(true)
	gated := &gatedStore{killableStore: &killableStore{Store: store}, refuseAppend: func(_ string, msgs []storage.Message) bool {
		for _, m := range msgs {
			if refuse.Load() && m.Kind == storage.MsgSystem && strings.Contains(string(m.Body), `"desk":"queued","position"`) && strings.Contains(string(m.Body), `"queue":"care"`) {
				return true
			}
		}
		return false
	}}
	d := startNode(t, gated, desk.Config{OfferTimeout: time.Minute}).Desk // the overflow's retry waits
	ctx := tctx(t)
	s := enterOwnQueue(t, d)
	eventually(t, func() error {
		if r, err := desk.Recount(ctx, store); err != nil || r["@a1"].Overflowed != 1 {
			return fmt.Errorf("recount of @a1: %+v %v, want the overflow in the log", r["@a1"], err)
		}
		return nil
	})
	time.Sleep(200 * time.Millisecond) // the "queued" refused, the overflow waits for its retry
	refuse.Store(false)

	if _, err := d.Close(ctx, "c1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	checkOverflowedThenAbandoned(t, d, store)
}

// checkOverflowedThenAbandoned: c1's session overflowed from a1's own
// queue to care and was abandoned there, and the live counts say so as
// the log does.
func checkOverflowedThenAbandoned(t *testing.T, d *desk.Desk, store storage.Store) {
	t.Helper()
	ctx := tctx(t)
	a1, err := d.Queue(ctx, "@a1")
	if err != nil || len(a1.Waiting) != 0 || a1.Stats.Overflowed != 1 || a1.Stats.Abandoned != 0 {
		t.Fatalf("a1's own queue: %+v %v, want one overflowed, none abandoned", a1, err)
	}
	care, err := d.Queue(ctx, "care")
	if err != nil || len(care.Waiting) != 0 || care.Stats.Abandoned != 1 {
		t.Fatalf("care: %+v %v, want the one abandon", care, err)
	}
	recount, err := desk.Recount(ctx, store)
	if err != nil || recount["@a1"] != a1.Stats || recount["care"] != care.Stats {
		t.Fatalf("recount %+v %v, want the live counts: @a1 %+v, care %+v", recount, err, a1.Stats, care.Stats)
	}
}

// enterOwnQueue sets a route from a1's own queue (a1 away) to care after
// 1 s, and enters c1 through it: c1 waits for a1 and overflows a second
// later.
func enterOwnQueue(t *testing.T, d *desk.Desk) desk.SessionInfo {
	t.Helper()
	ctx := tctx(t)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "mine", Line: "l", Route: []string{"agent:a1/1s", "queue:care"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Away), Capacity: ptr(1)}); err != nil {
		t.Fatal(err)
	}
	s, err := d.Enter(ctx, "c1", "mine")
	if err != nil || s.Queue != "@a1" {
		t.Fatalf("c1 enters: %+v %v, want waiting for a1", s, err)
	}
	return s
}

// TestLateAnswerKeepsALaterEntry: a thread's answer to an offer reaches
// the queue late, after the offered entry left it (another answer, a
// withdraw) and the session entered it again. Before, the queue matched
// answers by session only: the late answer removed the later entry (a
// taken one counted the assignment again), and the session waited
// where no offer would ever come.
func TestLateAnswerKeepsALaterEntry(t *testing.T) {
	ctx := tctx(t)
	d, s, first := waitingInCare(t)
	waiting := func(want int, after string) {
		t.Helper()
		q, err := d.Queue(ctx, "care")
		if err != nil || len(q.Waiting) != want {
			t.Fatalf("care after %s: %+v %v, want %d waiting", after, q.Waiting, err, want)
		}
	}

	stale := desk.AnswerForTest{Session: s.Session, Gone: true, Entered: first.Entered - 1}
	if err := d.AnswerOfferForTest(ctx, "care", stale); err != nil {
		t.Fatal(err)
	}
	waiting(1, "an earlier entry's late gone")

	taken := desk.AnswerForTest{Session: s.Session, Agent: "a9", Taken: true, Entered: first.Entered - 1}
	if err := d.AnswerOfferForTest(ctx, "care", taken); err != nil {
		t.Fatal(err)
	}
	waiting(1, "an earlier entry's late taken")
	if q, _ := d.Queue(ctx, "care"); q.Stats.Assigned != 0 {
		t.Fatalf("care counted %d assigned, want none: the earlier entry's assignment was counted when it left", q.Stats.Assigned)
	}

	own := desk.AnswerForTest{Session: s.Session, Gone: true, Entered: first.Entered}
	if err := d.AnswerOfferForTest(ctx, "care", own); err != nil {
		t.Fatal(err)
	}
	waiting(0, "the entry's own gone")
}

// TestLateRepairOfATakenEntry: a thread's repair (the enqueue of its
// activation or of a periodic wake, sent while the session waited)
// reaches the queue after the entry left it for good: its offer was
// taken or answered "gone, overflowed", or a withdraw said an agent took
// it past the queue's order or it overflowed. Before, the queue listed
// the session again (after an overflow, or a supervisor's assignment,
// always): its next offer heard the same from the thread's memo and
// counted it a second time.
func TestLateRepairOfATakenEntry(t *testing.T) {
	for _, tc := range []struct {
		name  string
		leave func(ctx context.Context, d *desk.Desk, s desk.SessionInfo, entry desk.WaitEntryForTest) error
		want  desk.QueueStats
	}{
		{"taken answer", func(ctx context.Context, d *desk.Desk, s desk.SessionInfo, e desk.WaitEntryForTest) error {
			return d.AnswerOfferForTest(ctx, "care", desk.AnswerForTest{Session: s.Session, Agent: "a9", Taken: true, WaitMs: 5, Entered: e.Entered})
		}, desk.QueueStats{Assigned: 1, WaitMsSum: 5}},
		{"overflow answer", func(ctx context.Context, d *desk.Desk, s desk.SessionInfo, e desk.WaitEntryForTest) error {
			return d.AnswerOfferForTest(ctx, "care", desk.AnswerForTest{Session: s.Session, Gone: true, Overflow: true, Entered: e.Entered})
		}, desk.QueueStats{Overflowed: 1}},
		{"overflow withdraw", func(ctx context.Context, d *desk.Desk, s desk.SessionInfo, e desk.WaitEntryForTest) error {
			return d.WithdrawForTest(ctx, "care", s.Session, "", true, e.Entered)
		}, desk.QueueStats{Overflowed: 1}},
		{"supervisor's assignment", func(ctx context.Context, d *desk.Desk, s desk.SessionInfo, e desk.WaitEntryForTest) error {
			return d.WithdrawForTest(ctx, "care", s.Session, "a9", false, e.Entered)
		}, desk.QueueStats{Assigned: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tctx(t)
			d, s, entry := waitingInCare(t)
			if err := tc.leave(ctx, d, s, entry); err != nil {
				t.Fatal(err)
			}
			if err := d.EnqueueForTest(ctx, "care", entry); err != nil {
				t.Fatal(err)
			}
			q, err := d.Queue(ctx, "care")
			if err != nil || len(q.Waiting) != 0 || q.Stats != tc.want {
				t.Fatalf("care after the entry left and its late repair: %+v %v, want none waiting, %+v", q, err, tc.want)
			}
			// A later entry of the same session (its agent gave it back) is listed.
			entry.Entered += 1000
			if err := d.EnqueueForTest(ctx, "care", entry); err != nil {
				t.Fatal(err)
			}
			if q, err := d.Queue(ctx, "care"); err != nil || len(q.Waiting) != 1 {
				t.Fatalf("care after a later entry: %+v %v, want it waiting", q.Waiting, err)
			}
		})
	}
}

// TestLostTakenAnswerThenRequeued: the queue never hears that its offer
// was taken, and the session comes back to wait in the same queue before
// its next offer. The queue kept the old entry for the new one's enqueue;
// its next offer of the old entry hears "taken" from the thread's memo.
// Before, that removed the session, which waited unlisted until the
// desk's periodic wake (minutes); now the answer brings the new entry,
// which the queue lists in the old one's place, and the next agent gets
// the session at once.
func TestLostTakenAnswerThenRequeued(t *testing.T) {
	ctx := tctx(t)
	store := openStore(t)
	d := startQuickNode(t, store, desk.Config{}).Desk
	s := enterWaiting(t, d, "care")
	first := listedEntry(t, store, "care", s.Session)
	// a1 is online in another queue: care's offers never go to it, but
	// the thread's own offer to it is taken.
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"billing"})}); err != nil {
		t.Fatal(err)
	}
	if a, err := d.AssignForTest(ctx, "care", s.Session, "a1", first.Entered); err != nil || !a.Taken {
		t.Fatalf("the lost offer: %+v %v, want taken", a, err)
	}
	if _, err := d.Transfer(ctx, "a1", s.Conv, "queue:care", ""); err != nil {
		t.Fatal(err)
	}
	if again := listedEntry(t, store, "care", s.Session); again.Entered != first.Entered {
		t.Fatalf("care lists entry %d, want the first one (%d) kept for the second's enqueue", again.Entered, first.Entered)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a2", s.Conv); agentOf(in) != "a2" {
			return fmt.Errorf("c1: %+v, want a2's", in)
		}
		return nil
	})
	// The queue hears the thread's answer after the thread took it.
	eventually(t, func() error {
		if q, err := d.Queue(ctx, "care"); err != nil || len(q.Waiting) != 0 || q.Stats.Assigned != 2 {
			return fmt.Errorf("care: %+v %v, want none waiting and both assignments counted", q, err)
		}
		return nil
	})
}

// waitingInCare starts a quick node where c1's session waits in queue
// "care", and returns its desk, the session and its entry as saved.
func waitingInCare(t *testing.T) (*desk.Desk, desk.SessionInfo, desk.WaitEntryForTest) {
	t.Helper()
	store := openStore(t)
	d := startQuickNode(t, store, desk.Config{}).Desk
	s := enterWaiting(t, d, "care")
	return d, s, listedEntry(t, store, "care", s.Session)
}
