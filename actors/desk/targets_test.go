package desk_test

import (
	"fmt"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestFirstResponseTargets: a session records its line's first-response
// target in its start step (an entry and a reopen alike) for the metrics;
// a change applies to sessions that start after it; the targets survive a
// restart and can be cleared; a target out of range is INVALID at its
// edges, and at most MaxScenes lines have targets.
func TestFirstResponseTargets(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{MaxScenes: 3})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 5)

	twoMin := &desk.Targets{FirstResponseMs: (2 * time.Minute).Milliseconds()}
	if got, err := d.SetTargets(ctx, "l", twoMin); err != nil || *got != *twoMin {
		t.Fatalf("set targets: %+v %v", got, err)
	}
	s := enterAssigned(t, d, "c1", "help/1")
	if st := stepsOf(deskEvents(t, n, "c1", s.Conv), "start"); len(st) != 1 || st[0]["first_response_target_ms"] != 120000.0 {
		t.Fatalf("the start step %v, want first_response_target_ms 120000", st)
	}
	// The agents see when the first response is due; the customer does not.
	if in, err := d.Session(ctx, "a1", s.Conv); err != nil || in.FirstResponseTargetMs != 120000 || in.StartedMs == 0 ||
		in.FirstResponseDueMs != in.StartedMs+120000 {
		t.Fatalf("the agent's view %+v %v, want the target and its due time", in, err)
	}
	if in, err := d.Session(ctx, "c1", s.Conv); err != nil || in.FirstResponseTargetMs != 0 || in.FirstResponseDueMs != 0 || in.StartedMs != 0 {
		t.Fatalf("the customer's view %+v %v, without the target", in, err)
	}

	// Changed, then the customer writes after the close: the reopened
	// session takes the line's target as it is now.
	if _, err := d.SetTargets(ctx, "l", &desk.Targets{FirstResponseMs: 30000}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Close(ctx, "a1", s.Conv, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Send(ctx, &pb.SendMessage{Conv: s.Conv, Sender: "c1", Body: []byte("one more thing")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		st := stepsOf(deskEvents(t, n, "c1", s.Conv), "start")
		if len(st) != 2 || st[1]["first_response_target_ms"] != 30000.0 || st[1]["reopened_by"] == nil {
			return fmt.Errorf("start steps %v, want a reopening one with first_response_target_ms 30000", st)
		}
		return nil
	})

	for name, bad := range map[string]struct {
		line    string
		targets *desk.Targets
	}{
		"a bad line": {"no/such", twoMin},
		"no target":  {"l", &desk.Targets{}},
		"a first response of 0 and a bad answer timeout": {"l", &desk.Targets{AnswerTimeoutMs: 1}},
		"just under a second":                            {"l", &desk.Targets{FirstResponseMs: desk.MinFirstResponseTarget.Milliseconds() - 1}},
		"just over thirty days":                          {"l", &desk.Targets{FirstResponseMs: desk.MaxFirstResponseTarget.Milliseconds() + 1}},
		"a negative first target":                        {"l", &desk.Targets{FirstResponseMs: -1000}},
	} {
		if _, err := d.SetTargets(ctx, bad.line, bad.targets); code(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	for _, edge := range []time.Duration{desk.MinFirstResponseTarget, desk.MaxFirstResponseTarget} {
		if _, err := d.SetTargets(ctx, "edge", &desk.Targets{FirstResponseMs: edge.Milliseconds()}); err != nil {
			t.Errorf("a target of %v: %v", edge, err)
		}
	}
	if _, err := d.SetTargets(ctx, "other", twoMin); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetTargets(ctx, "fourth", twoMin); code(err) != pb.Code_TOO_LARGE {
		t.Fatalf("targets for a fourth line: %v, want TOO_LARGE", err)
	}

	n.Stop(true)
	n = startNode(t, store, desk.Config{MaxScenes: 3})
	d = n.Desk
	if got, err := d.LineTargets(ctx, "l"); err != nil || got == nil || got.FirstResponseMs != 30000 {
		t.Fatalf("the targets after a restart: %+v %v", got, err)
	}
	if _, err := d.SetTargets(ctx, "l", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := d.LineTargets(ctx, "l"); err != nil || got != nil {
		t.Fatalf("cleared targets: %+v %v", got, err)
	}
	s2 := enterAssigned(t, d, "c2", "help")
	if st := stepsOf(deskEvents(t, n, "c2", s2.Conv), "start"); len(st) != 1 || st[0]["first_response_target_ms"] != nil {
		t.Fatalf("a start without targets %v", st)
	}
}

// TestFirstResponseDue: the due time counts the line's opening hours (a
// session entered while the line is closed is due that long after it
// opens) and, on a route that starts with the robot, restarts at the
// handover, as the metrics count it.
func TestFirstResponseDue(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 5)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "robot", Line: "b", Route: []string{"bot", "queue:care"}}); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"l", "b"} {
		if _, err := d.SetTargets(ctx, line, &desk.Targets{FirstResponseMs: 90000}); err != nil {
			t.Fatal(err)
		}
	}
	closed, opens := closedUntilDayAfterTomorrow()
	if _, err := d.SetHours(ctx, "l", closed); err != nil {
		t.Fatal(err)
	}
	s := enterAssigned(t, d, "c1", "help")
	if in, err := d.Session(ctx, "a1", s.Conv); err != nil || in.FirstResponseDueMs != opens+90000 {
		t.Fatalf("after hours: %+v %v, want due %d (the opening and 90 s)", in, err, opens+90000)
	}

	s, err := d.Enter(ctx, "c2", "robot")
	if err != nil {
		t.Fatal(err)
	}
	before, err := d.Session(ctx, "a1", s.Conv)
	if err != nil || before.FirstResponseDueMs != before.StartedMs+90000 {
		t.Fatalf("with the robot: %+v %v", before, err)
	}
	time.Sleep(5 * time.Millisecond) // the handover's clock is later than the start's
	if _, err := d.Handover(ctx, "c2", s.Conv); err != nil {
		t.Fatal(err)
	}
	after, err := d.Session(ctx, "a1", s.Conv)
	if err != nil || after.FirstResponseDueMs <= before.FirstResponseDueMs || after.FirstResponseDueMs > time.Now().UnixMilli()+90000 {
		t.Fatalf("after the handover: due %d, before %d: want it moved to the handover and 90 s", after.FirstResponseDueMs, before.FirstResponseDueMs)
	}
}

// TestQueueShowsFirstResponseDue: a waiting session's queue entry shows
// when its first response falls due, as its session does, until an agent
// has had it: a session transferred back to a queue waits without one (an
// agent may have answered it), and a line without a target shows none.
func TestQueueShowsFirstResponseDue(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	if _, err := d.SetTargets(ctx, "l", &desk.Targets{FirstResponseMs: 90000}); err != nil {
		t.Fatal(err)
	}
	first := enterAssigned(t, d, "c1", "help") // a1 is full
	waiting, err := d.Enter(ctx, "c2", "help")
	if err != nil {
		t.Fatal(err)
	}
	dueOf := func(conv string) (int64, error) {
		q, err := d.Queue(ctx, "care")
		if err != nil {
			return 0, err
		}
		for _, w := range q.Waiting {
			if w.Conv == conv {
				return w.FirstResponseDueMs, nil
			}
		}
		return 0, fmt.Errorf("%s is not waiting in %+v", conv, q.Waiting)
	}
	s, err := d.Session(ctx, "a1", waiting.Conv)
	if err != nil || s.FirstResponseDueMs != s.StartedMs+90000 {
		t.Fatalf("the waiting session: %+v %v", s, err)
	}
	if due, err := dueOf(waiting.Conv); err != nil || due != s.FirstResponseDueMs {
		t.Fatalf("queue entry due %d, %v; want the session's %d", due, err, s.FirstResponseDueMs)
	}

	// a1 hands c1 back to the queue: a1 takes c2 (waiting longer), and c1
	// waits with no due time.
	if _, err := d.Transfer(ctx, "a1", first.Conv, "queue:care", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", waiting.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("c2: %+v, want a1", in)
		}
		return nil
	})
	if due, err := dueOf(first.Conv); err != nil || due != 0 {
		t.Fatalf("a session an agent had: queue entry due %d, %v; want none", due, err)
	}

	// Without a target, nothing is due.
	if _, err := d.SetTargets(ctx, "l", nil); err != nil {
		t.Fatal(err)
	}
	third, err := d.Enter(ctx, "c3", "help")
	if err != nil {
		t.Fatal(err)
	}
	if due, err := dueOf(third.Conv); err != nil || due != 0 {
		t.Fatalf("a line without a target: queue entry due %d, %v", due, err)
	}
}
