package desk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/storage"
)

// TestUnansweredSession: with an answer timeout, a session whose agent
// wrote nothing in it for that long goes back to its queue (in its place
// by its first wait) and the next agent takes it; the agent is set away and keeps the
// session it did answer; the limits hold at their edges at start.
func TestUnansweredSession(t *testing.T) {
	for _, c := range []struct {
		timeout time.Duration
		ok      bool
	}{
		{desk.MinAnswerTimeout, true}, {desk.MinAnswerTimeout - time.Nanosecond, false},
		{desk.MaxAnswerTimeout, true}, {desk.MaxAnswerTimeout + time.Nanosecond, false}, {-time.Second, false},
	} {
		n, err := boot.StartNode(boot.NodeConfig{Store: openStore(t), Logger: testLogger(), ClusterName: "desk-test", Desk: desk.Config{AnswerTimeout: c.timeout}})
		if (err == nil) != c.ok {
			t.Fatalf("answer timeout %v: %v, want accepted %v", c.timeout, err, c.ok)
		}
		if n != nil {
			n.Stop(true)
		}
	}

	const timeout = desk.MinAnswerTimeout
	var mu sync.Mutex
	var decisions []string
	n := startNode(t, openStore(t), desk.Config{AnswerTimeout: timeout, OnEvent: func(e desk.Event) {
		if e.Kind == "unanswered" || e.Kind == "away" {
			mu.Lock()
			decisions = append(decisions, e.Kind+" "+e.Agent)
			mu.Unlock()
		}
	}})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	before, _ := promtest.Find(t, "switchboard_desk_unanswered_total", "queue", "care")

	entered := time.Now()
	s1 := enterAssigned(t, d, "c1", "help")
	given1 := time.Now()
	// Its agent sees when the session goes back unanswered; its customer
	// does not.
	in1, err := d.Session(ctx, "a1", s1.Conv)
	if err != nil || in1.AnswerByMs < entered.Add(timeout).UnixMilli() || in1.AnswerByMs > given1.Add(timeout).UnixMilli() {
		t.Fatalf("c1 at a1: %+v %v, want answer by %v after the assignment", in1, err, timeout)
	}
	if in, err := d.Session(ctx, "c1", s1.Conv); err != nil || in.AnswerByMs != 0 {
		t.Fatalf("c1 at c1: %+v %v, want no answer-by time", in, err)
	}
	s2 := enterAssigned(t, d, "c2", "help")
	given2 := time.Now()
	// a1 answers c2 only; c3 waits behind them.
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s2.Conv, Sender: "a1", Body: []byte("let me check")}); err != nil {
		t.Fatal(err)
	}
	s3, err := d.Enter(ctx, "c3", "help")
	if err != nil || s3.QueuePosition != 1 {
		t.Fatalf("c3: %+v %v, want waiting first", s3, err)
	}

	// c1 goes back to the queue, ahead of c3 (its place by its first wait).
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "c1", s1.Conv); in.State != desk.StateQueued || in.QueuePosition != 1 {
			return fmt.Errorf("c1: %+v, want waiting first again", in)
		}
		return nil
	})
	// The assignment happened between entered and given1: the answer-by
	// time the desk gave a1 is the bound, not given1.
	if now := time.Now().UnixMilli(); now < in1.AnswerByMs {
		t.Fatalf("c1 moved on at %d, before its answer-by time %d", now, in1.AnswerByMs)
	}
	if in, _ := d.Session(ctx, "c3", s3.Conv); in.QueuePosition != 2 {
		t.Fatalf("c3: %+v, want second behind c1", in)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a2", Status: ptr(desk.Online), Capacity: ptr(1), Skills: ptr([]string{"care"})}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a2", s1.Conv); agentOf(in) != "a2" || in.Session != s1.Session {
			return fmt.Errorf("c1: %+v, want a2's", in)
		}
		return nil
	})
	evs := deskEvents(t, n, "a2", s1.Conv)
	requeues, assigned := stepsOf(evs, "requeue"), stepsOf(evs, "assigned")
	if len(requeues) != 1 || requeues[0]["agent"] != "a1" || requeues[0]["reason"] != "unanswered" ||
		requeues[0]["answer_timeout_ms"] != float64(timeout.Milliseconds()) {
		t.Fatalf("c1's steps: %s; requeues %v, want one of a1's, unanswered", kinds(evs), requeues)
	}
	if len(assigned) != 2 || assigned[1]["agent"] != "a2" {
		t.Fatalf("c1's assignments: %v, want a2's second", assigned)
	}

	// a2 is no longer watched once c1 has its answer; a1 keeps c2, which
	// it answered, past that session's own timeout.
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s1.Conv, Sender: "a2", Body: []byte("sorry for the wait")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(given2.Add(timeout + time.Second)))
	a1, err := d.Agent(ctx, "a1")
	if err != nil || a1.Status != desk.Away || !slices.Equal(a1.Sessions, []string{s2.Session}) || a1.Load != 1 ||
		a1.StatusBy != desk.ByDesk || a1.StatusSinceMs < given1.Add(timeout).UnixMilli()-1000 {
		t.Fatalf("a1: %+v %v, want away (by the desk, on time) with c2's session only", a1, err)
	}
	if in, _ := d.Session(ctx, "a1", s2.Conv); agentOf(in) != "a1" {
		t.Fatalf("c2, answered: %+v, want a1's still", in)
	}
	if got := stepsOf(deskEvents(t, n, "a1", s2.Conv), "requeue"); len(got) != 0 {
		t.Fatalf("c2, answered, requeued: %v", got)
	}
	if after, _ := promtest.Find(t, "switchboard_desk_unanswered_total", "queue", "care"); after-before != 1 {
		t.Fatalf("unanswered counter moved by %v, want 1", after-before)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(decisions, []string{"unanswered a1", "away a1"}) && !slices.Equal(decisions, []string{"away a1", "unanswered a1"}) {
		t.Fatalf("decisions %v, want a1's unanswered session and its away", decisions)
	}
}

// TestUnansweredSurvivesACrash: the answer's due time is saved with the
// session: a node that dies before it leaves the next node to give the
// session back on time.
func TestUnansweredSurvivesACrash(t *testing.T) {
	const timeout = desk.MinAnswerTimeout
	store := openStore(t)
	cfg := desk.Config{AnswerTimeout: timeout}
	n, crash := startCrashable(t, store, cfg)
	ctx := tctx(t)
	careDesk(t, n.Desk, 1)
	entered := time.Now()
	s1 := enterAssigned(t, n.Desk, "c1", "help")
	crash()

	d := startNode(t, store, cfg).Desk
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "c1", s1.Conv); in.State != desk.StateQueued {
			return fmt.Errorf("c1: %+v, want waiting again", in)
		}
		return nil
	})
	// The desk keeps times in milliseconds: the assignment's may read up to
	// 1 ms earlier than the clock did.
	if took := time.Since(entered); took < timeout-time.Millisecond {
		t.Fatalf("c1 given back %v after it entered, before the timeout of %v", took, timeout)
	}
	if a1, err := d.Agent(ctx, "a1"); err != nil || a1.Status != desk.Away || len(a1.Sessions) != 0 {
		t.Fatalf("a1: %+v %v, want away without the session", a1, err)
	}
}

// failingLists is a store whose ListMessages fails while fails > 0 (each
// call takes one): the thread's answer check reads through it.
type failingLists struct {
	storage.Store
	fails atomic.Int32
}

func (s *failingLists) ListMessages(ctx context.Context, conv string, from, to uint64, order storage.Order, limit int) ([]storage.Message, error) {
	if s.fails.Add(-1) >= 0 {
		return nil, errors.New("store read failed")
	}
	return s.Store.ListMessages(ctx, conv, from, to, order, limit)
}

// TestUnansweredCheckRetried: a check that fails (the store's read) is
// asked again an offer timeout later, and the session goes back once the
// store answers.
func TestUnansweredCheckRetried(t *testing.T) {
	const timeout = desk.MinAnswerTimeout
	store := &failingLists{Store: openStore(t)}
	n := startNode(t, store, desk.Config{AnswerTimeout: timeout, OfferTimeout: 300 * time.Millisecond})
	ctx := tctx(t)
	careDesk(t, n.Desk, 1)
	before, _ := promtest.Find(t, "switchboard_desk_resends_total", "op", "unanswered")
	s1 := enterAssigned(t, n.Desk, "c1", "help")
	store.fails.Store(3)
	eventually(t, func() error {
		if in, _ := n.Desk.Session(ctx, "c1", s1.Conv); in.State != desk.StateQueued {
			return fmt.Errorf("c1: %+v, want waiting again", in)
		}
		return nil
	})
	if left := store.fails.Load(); left > 0 {
		t.Fatalf("the session went back with %d failures of the check left", left)
	}
	if after, _ := promtest.Find(t, "switchboard_desk_resends_total", "op", "unanswered"); after-before < 3 {
		t.Fatalf("%v checks asked again, want 3", after-before)
	}
}

// TestUnansweredLineTimeout: a line's own answer timeout (its targets,
// here its only one: no first-response target) watches its sessions on a
// desk without one; another line's sessions are not watched; the limits
// hold at their edges.
func TestUnansweredLineTimeout(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 2)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "other", Line: "m", Route: []string{"queue:care"}}); err != nil {
		t.Fatal(err)
	}
	const timeout = desk.MinAnswerTimeout
	for _, c := range []struct {
		ms int64
		ok bool
	}{
		{timeout.Milliseconds() - 1, false}, {desk.MaxAnswerTimeout.Milliseconds() + 1, false}, {-1, false},
		{desk.MaxAnswerTimeout.Milliseconds(), true}, {timeout.Milliseconds(), true},
	} {
		_, err := d.SetTargets(ctx, "l", &desk.Targets{FirstResponseMs: 60000, AnswerTimeoutMs: c.ms})
		if (err == nil) != c.ok {
			t.Fatalf("a line's answer timeout of %d ms: %v, want accepted %v", c.ms, err, c.ok)
		}
	}
	if got, err := d.SetTargets(ctx, "l", &desk.Targets{AnswerTimeoutMs: timeout.Milliseconds()}); err != nil || got.FirstResponseMs != 0 {
		t.Fatalf("an answer timeout alone: %+v %v", got, err)
	}

	other, err := d.Enter(ctx, "c2", "other")
	if err != nil {
		t.Fatal(err)
	}
	s1 := enterAssigned(t, d, "c1", "help")
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", other.Conv); agentOf(in) != "a1" || in.AnswerByMs != 0 {
			return fmt.Errorf("c2 in line m: %+v, want a1's, not watched", in)
		}
		return nil
	})
	if in, err := d.Session(ctx, "a1", s1.Conv); err != nil || in.AnswerByMs == 0 || in.FirstResponseTargetMs != 0 || in.FirstResponseDueMs != 0 {
		t.Fatalf("c1 in line l: %+v %v, want watched, without a first-response target", in, err)
	}
	if st := stepsOf(deskEvents(t, n, "c1", s1.Conv), "start"); len(st) != 1 || st[0]["first_response_target_ms"] != nil {
		t.Fatalf("c1's start %v, want no first-response target", st)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "c1", s1.Conv); in.State != desk.StateQueued {
			return fmt.Errorf("c1: %+v, want waiting again", in)
		}
		return nil
	})
	if rq := stepsOf(deskEvents(t, n, "c1", s1.Conv), "requeue"); len(rq) != 1 || rq[0]["answer_timeout_ms"] != float64(timeout.Milliseconds()) {
		t.Fatalf("c1's requeue steps %v, want one after the line's %v", rq, timeout)
	}
	if in, _ := d.Session(ctx, "a1", other.Conv); agentOf(in) != "a1" {
		t.Fatalf("c2 in line m after c1's timeout: %+v, want a1's still", in)
	}
}
