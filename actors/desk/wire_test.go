package desk_test

import (
	"fmt"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// A queue answer lists at most MaxQueueList waiting sessions, the head of
// the queue in order, and counts them all.
func TestWireQueueListLimit(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "listing", Line: "cars", Route: []string{"queue:sales"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	const limit = 3
	var convs []string
	for i := range limit + 1 {
		s, err := d.Enter(ctx, fmt.Sprintf("c%d", i), "listing/1")
		if err != nil {
			t.Fatal(err)
		}
		convs = append(convs, s.Conv)
	}
	w := desk.NewWire(d)
	for _, max := range []int{limit, limit + 1, 0} {
		w.MaxQueueList = max
		q, err := w.Queue(ctx, "a1", "sales")
		if err != nil {
			t.Fatal(err)
		}
		if q.Total != limit+1 || len(q.Waiting) != min(max, limit+1) {
			t.Fatalf("limit %d: %d listed of %d, want %d of %d", max, len(q.Waiting), q.Total, min(max, limit+1), limit+1)
		}
		for i, e := range q.Waiting {
			if e.Conv != convs[i] || e.Position != i+1 {
				t.Fatalf("limit %d: entry %d is %+v, want %s at %d", max, i, e, convs[i], i+1)
			}
		}
	}
}

// A supervisor, given by the admin, watches every queue and reads every
// key's metrics; an agent reads only their own and their skills' queues.
// The supervisor's role is the admin's: an agent's status request keeps it.
func TestWireSupervisor(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "a1", Capacity: ptr(1), Skills: ptr([]string{"sales"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	w := desk.NewWire(d)
	for _, c := range []struct {
		by, key string
		want    pb.Code
	}{
		{"a1", "a1", pb.Code_OK},
		{"a1", "sup", pb.Code_FORBIDDEN},
		{"a1", "*", pb.Code_FORBIDDEN},
		{"a1", "line:cars", pb.Code_FORBIDDEN},
		{"eve", "a1", pb.Code_FORBIDDEN},
		{"eve", "eve", pb.Code_OK},
		{"sup", "a1", pb.Code_OK},
		{"sup", "*", pb.Code_OK},
		{"sup", "line:cars", pb.Code_OK},
	} {
		if err := w.MayReadMetrics(ctx, c.by, c.key); code(err) != c.want {
			t.Errorf("%s reads %s: %v, want %s", c.by, c.key, err, c.want)
		}
	}
	for _, c := range []struct {
		by, skill string
		want      pb.Code
	}{
		{"a1", "sales", pb.Code_OK},
		{"a1", "support", pb.Code_FORBIDDEN},
		{"sup", "sales", pb.Code_OK},
		{"sup", "support", pb.Code_OK},
		{"sup", "@a1", pb.Code_FORBIDDEN},
	} {
		if _, err := w.Queue(ctx, c.by, c.skill); code(err) != c.want {
			t.Errorf("%s watches %s: %v, want %s", c.by, c.skill, err, c.want)
		}
	}
	for _, c := range []struct {
		by, agent string
		want      pb.Code
	}{
		{"a1", "a1", pb.Code_OK},
		{"a1", "sup", pb.Code_FORBIDDEN},
		{"eve", "a1", pb.Code_FORBIDDEN},
		{"sup", "a1", pb.Code_OK},
		{"sup", "eve", pb.Code_NOT_FOUND}, // no registered agent
	} {
		if a, err := w.Agent(ctx, c.by, c.agent); code(err) != c.want || c.want == pb.Code_OK && a.User != c.agent {
			t.Errorf("%s reads agent %s: %+v %v, want %s", c.by, c.agent, a, err, c.want)
		}
	}
	st, err := w.Status(ctx, "sup", desk.Online)
	if err != nil || !st.Supervisor || st.Status != desk.Online {
		t.Fatalf("the supervisor's status: %+v %v", st, err)
	}
	// A status that is none of the three is the agent grain's INVALID,
	// whoever sets it, and changes nothing.
	if _, err := w.Status(ctx, "a1", "busy"); code(err) != pb.Code_INVALID {
		t.Fatalf("a1 sets status busy: %v, want INVALID", err)
	}
	if _, err := w.ManageAgent(ctx, "sup", "a1", "busy", false); code(err) != pb.Code_INVALID {
		t.Fatalf("sup sets a1 busy: %v, want INVALID", err)
	}
	if a, err := w.Agent(ctx, "a1", "a1"); err != nil || a.Status != desk.Offline {
		t.Fatalf("a1 after the refused statuses: %+v %v, want offline still", a, err)
	}
	if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: "sup", Supervisor: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if err := w.MayReadMetrics(ctx, "sup", "*"); code(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a former supervisor reads *: %v", err)
	}
}
