package desk_test

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/internal/promtest"
)

// positionSink is a customer's connection: it keeps the last queue position
// signalled per conversation.
type positionSink struct {
	mu   sync.Mutex
	last map[string]int
	wait map[string]time.Duration // the last estimate per conversation
	seen int
}

func (s *positionSink) Push(*pb.Push) {}

func (s *positionSink) Signal(sig *pb.Signal) {
	if sig.Kind != pb.Signal_QUEUE_POSITION {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last[sig.Conv] = int(sig.Seq)
	if s.wait != nil {
		s.wait[sig.Conv] = time.Duration(sig.WaitMs) * time.Millisecond
	}
	s.seen++
}

func (s *positionSink) position(conv string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.last[conv]
	return p, ok
}

// Waiting customers are told their position as it changes: when one ahead
// abandons, when one ahead is assigned; those beyond PositionPushes hear
// nothing until they come within it, and one that leaves hears 0.
func TestQueuePositionsPushed(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{PositionPushes: 3})
	ctx := tctx(t)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	sinks := map[string]*positionSink{}
	convs := map[string]string{}
	for i := 1; i <= 5; i++ {
		c := fmt.Sprintf("c%d", i)
		sinks[c] = &positionSink{last: map[string]int{}}
		sess, err := n.Connect(ctx, c, "phone", sinks[c])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sess.Close)
		s, err := n.Desk.Enter(ctx, c, "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		if s.QueuePosition != i {
			t.Fatalf("%s entered at %d, want %d", c, s.QueuePosition, i)
		}
		convs[c] = s.Conv
	}
	// want: customer → position; -1: never told anything.
	expect := func(want map[string]int) {
		t.Helper()
		eventually(t, func() error {
			for c, w := range want {
				p, ok := sinks[c].position(convs[c])
				if w == -1 && ok {
					return fmt.Errorf("%s beyond the bound was told %d", c, p)
				}
				if w >= 0 && (!ok || p != w) {
					return fmt.Errorf("%s told %d (told: %v), want %d", c, p, ok, w)
				}
			}
			return nil
		})
	}
	expect(map[string]int{"c1": 1, "c2": 2, "c3": 3, "c4": -1, "c5": -1})

	if _, err := n.Desk.Close(ctx, "c1", convs["c1"], ""); err != nil {
		t.Fatal(err)
	}
	expect(map[string]int{"c1": 0, "c2": 1, "c3": 2, "c4": 3, "c5": -1})

	online, one := desk.Online, 1
	if _, err := n.Desk.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: &online, Capacity: &one, Skills: &[]string{"sales"}}); err != nil {
		t.Fatal(err)
	}
	expect(map[string]int{"c1": 0, "c2": 0, "c3": 1, "c4": 2, "c5": 3})
	s, err := n.Desk.Session(ctx, "c2", convs["c2"])
	if err != nil || s.State != desk.StateAssigned {
		t.Fatalf("c2 after position 0: %+v, %v", s, err)
	}
}

// Once its queue has assigned a few sessions, a waiting customer hears an
// estimate of the wait with its position, and reads it in its session:
// its position times the queue's pace; the second in line waits longer
// than the first. The queue keeps its pace across a restart.
func TestQueueWaitEstimated(t *testing.T) {
	store := openStore(t)
	n := startNode(t, store, desk.Config{})
	d, ctx := n.Desk, tctx(t)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Status: ptr(desk.Online), Capacity: ptr(3), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	first := time.Now()
	for _, c := range []string{"c1", "c2", "c3"} {
		enterAssigned(t, d, c, "listing")
	}
	n.Stop(false)
	n = startNode(t, store, desk.Config{})
	d = n.Desk
	var waits []int64
	for _, c := range []string{"c4", "c5"} {
		sink := &positionSink{last: map[string]int{}, wait: map[string]time.Duration{}}
		sess, err := n.Connect(ctx, c, "phone", sink)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sess.Close)
		s, err := d.Enter(ctx, c, "listing")
		if err != nil {
			t.Fatal(err)
		}
		in, err := d.Session(ctx, c, s.Conv)
		elapsed := time.Since(first)
		pos := len(waits) + 1
		if err != nil || in.QueuePosition != pos || in.QueueWaitMs <= 0 || time.Duration(in.QueueWaitMs)*time.Millisecond > time.Duration(pos)*elapsed/3 {
			t.Fatalf("%s: %+v %v, want position %d and an estimate of at most %d × %v / 3", c, in, err, pos, pos, elapsed)
		}
		if s.QueuePosition != pos || s.QueueWaitMs <= 0 { // the enqueue's own answer
			t.Fatalf("%s entered at %d with an estimate of %d ms, want %d and one", c, s.QueuePosition, s.QueueWaitMs, pos)
		}
		waits = append(waits, in.QueueWaitMs)
		eventually(t, func() error {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if sink.last[s.Conv] != pos || sink.wait[s.Conv] <= 0 {
				return fmt.Errorf("%s heard position %d, wait %v", c, sink.last[s.Conv], sink.wait[s.Conv])
			}
			return nil
		})
	}
	if waits[1] <= waits[0] {
		t.Errorf("second in line %d ms, first %d ms: want longer", waits[1], waits[0])
	}
}

// A queue's gauges say how many sessions wait and when the oldest began
// to: they follow entries and abandons, and the oldest's series goes once
// nobody waits.
func TestQueueGauges(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	d, ctx := n.Desk, tctx(t)
	// Two lines share the queue; the later one promises a faster first
	// response, so its customer falls due first though c1 waited longer.
	for _, l := range []struct {
		scene, line string
		targetMs    int64
	}{{"g", "gauges", 600_000}, {"f", "fast", 60_000}} {
		if _, err := d.SetScene(ctx, desk.Scene{Name: l.scene, Line: l.line, Route: []string{"queue:gauged"}}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.SetTargets(ctx, l.line, &desk.Targets{FirstResponseMs: l.targetMs}); err != nil {
			t.Fatal(err)
		}
	}
	gauge := func(name string) (float64, bool) { return promtest.Find(t, name, "queue", "gauged") }
	at := func(ms int64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms)
	}
	same := func(v float64, has bool, want time.Time) bool {
		return has == !want.IsZero() && (!has || math.Abs(v-float64(want.UnixMilli())/1000) <= 0.001)
	}
	want := func(what string, waiting float64, oldest, due time.Time) {
		t.Helper()
		eventually(t, func() error {
			w, _ := gauge("switchboard_desk_waiting")
			o, hasOldest := gauge("switchboard_desk_oldest_waiting_since_seconds")
			u, hasDue := gauge("switchboard_desk_first_response_due_seconds")
			if w != waiting || !same(o, hasOldest, oldest) || !same(u, hasDue, due) {
				return fmt.Errorf("%s: waiting %v, oldest %v (%v), due %v (%v); want %v, %v, %v", what, w, o, hasOldest, u, hasDue, waiting, oldest, due)
			}
			return nil
		})
	}
	var convs []string
	var since, due []time.Time
	for _, c := range []struct{ customer, scene string }{{"c1", "g"}, {"c2", "f"}} {
		s, err := d.Enter(ctx, c.customer, c.scene)
		if err != nil {
			t.Fatal(err)
		}
		q, err := d.Queue(ctx, "gauged")
		if err != nil || len(q.Waiting) != len(convs)+1 {
			t.Fatalf("queue %+v %v", q, err)
		}
		convs = append(convs, s.Conv)
		last := q.Waiting[len(convs)-1]
		if last.FirstResponseDueMs == 0 {
			t.Fatalf("%s waits without a due time: %+v", c.customer, last)
		}
		since, due = append(since, at(last.SinceMs)), append(due, at(last.FirstResponseDueMs))
	}
	if !due[1].Before(due[0]) {
		t.Fatalf("c2 (1 min target) due %v, not before c1 (10 min) %v", due[1], due[0])
	}
	want("two waiting", 2, since[0], due[1])
	if _, err := d.Close(ctx, "c2", convs[1], ""); err != nil {
		t.Fatal(err)
	}
	want("the faster line's customer abandoned", 1, since[0], due[0])
	if _, err := d.Close(ctx, "c1", convs[0], ""); err != nil {
		t.Fatal(err)
	}
	want("nobody waiting", 0, time.Time{}, time.Time{})
}

// A queue's agent gauges: its agents by status and the slots its online
// agents have free, following status changes and assignments.
func TestQueueAgentGauges(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	d, ctx := n.Desk, tctx(t)
	if _, err := d.SetScene(ctx, desk.Scene{Name: "s", Line: "staffed", Route: []string{"queue:staffed"}}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct {
		user, status string
		capacity     int
	}{{"b1", desk.Online, 2}, {"b2", desk.Away, 3}, {"b3", desk.Offline, 1}} {
		if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: a.user, Status: ptr(a.status), Capacity: ptr(a.capacity), Skills: ptr([]string{"staffed"})}); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, online, away, offline, free float64) {
		t.Helper()
		eventually(t, func() error {
			var got []float64
			for _, s := range []string{desk.Online, desk.Away, desk.Offline} {
				v, _ := promtest.FindSeries(t, "switchboard_desk_agents", prometheus.Labels{"queue": "staffed", "status": s})
				got = append(got, v)
			}
			f, _ := promtest.Find(t, "switchboard_desk_free_slots", "queue", "staffed")
			if got = append(got, f); fmt.Sprint(got) != fmt.Sprint([]float64{online, away, offline, free}) {
				return fmt.Errorf("%s: online, away, offline, free %v; want %v", what, got, []float64{online, away, offline, free})
			}
			return nil
		})
	}
	want("one of each", 1, 1, 1, 2)
	s, err := d.Enter(ctx, "c1", "s")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "b1", s.Conv); agentOf(in) != "b1" {
			return fmt.Errorf("c1: %+v, want b1's", in)
		}
		return nil
	})
	want("b1 took c1", 1, 1, 1, 1)
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "b2", Status: ptr(desk.Online)}); err != nil {
		t.Fatal(err)
	}
	want("b2 online", 2, 0, 1, 4)
}
