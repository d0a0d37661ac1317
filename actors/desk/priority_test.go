package desk_test

import (
	"fmt"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// A customer the business gave a priority in a line waits ahead of those
// without, each priority in order of arrival; the waiting customers'
// positions move down for it, and the agent takes it first. A priority
// given or taken back while the customer waits moves them at once.
func TestCustomerPriority(t *testing.T) {
	n := startNode(t, openStore(t), desk.Config{})
	ctx := tctx(t)
	d := n.Desk
	careDesk(t, d, 1)
	for _, c := range []struct {
		line, customer string
		priority       int
		want           pb.Code
	}{
		{"l", "vip", desk.MaxPriority + 1, pb.Code_INVALID},
		{"l", "vip", -1, pb.Code_INVALID},
		{"no line", "vip", 1, pb.Code_INVALID},
		{"l", "no good", 1, pb.Code_INVALID},
		{"l", "desk", 1, pb.Code_INVALID},
		{"l", "vip", desk.MaxPriority, pb.Code_OK}, // the upper edge
		{"l", "vip", 5, pb.Code_OK},
		{"l", "vip2", 5, pb.Code_OK},
	} {
		if _, err := d.SetPriority(ctx, c.line, c.customer, c.priority); code(err) != c.want {
			t.Errorf("priority %d for %s in %s: %v, want %s", c.priority, c.customer, c.line, err, c.want)
		}
	}
	s0 := enterAssigned(t, d, "c0", "help") // a1 is full
	var plain []desk.SessionInfo
	for _, c := range []string{"c1", "c2"} {
		s, err := d.Enter(ctx, c, "help")
		if err != nil {
			t.Fatal(err)
		}
		plain = append(plain, s)
	}
	vip, err := d.Enter(ctx, "vip", "help")
	if err != nil || vip.QueuePosition != 1 {
		t.Fatalf("the priority customer enters: %+v %v, want first", vip, err)
	}
	vip2, err := d.Enter(ctx, "vip2", "help")
	if err != nil || vip2.QueuePosition != 2 {
		t.Fatalf("the second priority customer enters: %+v %v, want second, behind the first", vip2, err)
	}
	for i, s := range plain {
		if in, _ := d.Session(ctx, s.Customer, s.Conv); in.QueuePosition != i+3 {
			t.Fatalf("%s: position %d, want %d", s.Customer, in.QueuePosition, i+3)
		}
	}
	q, err := d.Queue(ctx, "care")
	if err != nil || len(q.Waiting) != 4 || q.Waiting[0].Priority != 5 || q.Waiting[3].Priority != 0 {
		t.Fatalf("the queue: %+v %v", q, err)
	}
	// A priority given to a customer who waits now moves them at once, and
	// taking it back returns them to their place by arrival.
	positions := func(want map[string]int) {
		t.Helper()
		for c, p := range want {
			conv := plain[0].Conv
			switch c {
			case "c2":
				conv = plain[1].Conv
			case "vip":
				conv = vip.Conv
			case "vip2":
				conv = vip2.Conv
			}
			if in, _ := d.Session(ctx, c, conv); in.QueuePosition != p {
				t.Fatalf("%s: position %d, want %d", c, in.QueuePosition, p)
			}
		}
	}
	if _, err := d.SetPriority(ctx, "l", "c2", 7); err != nil {
		t.Fatal(err)
	}
	positions(map[string]int{"c2": 1, "vip": 2, "vip2": 3, "c1": 4})
	if q, _ := d.Queue(ctx, "care"); q.Waiting[0].Session != plain[1].Session || q.Waiting[0].Priority != 7 {
		t.Fatalf("the queue after c2's priority: %+v", q.Waiting)
	}
	if _, err := d.SetPriority(ctx, "l", "c2", 0); err != nil {
		t.Fatal(err)
	}
	positions(map[string]int{"vip": 1, "vip2": 2, "c1": 3, "c2": 4})
	// a1 frees a place: the first priority customer is served first.
	if _, err := d.Close(ctx, "a1", s0.Conv, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if in, _ := d.Session(ctx, "a1", vip.Conv); agentOf(in) != "a1" {
			return fmt.Errorf("vip: %+v, want a1's", in)
		}
		return nil
	})
	// Back to no priority: the next entry waits behind those before it.
	if p, err := d.SetPriority(ctx, "l", "vip2", 0); err != nil || p != 0 {
		t.Fatalf("priority 0: %d %v", p, err)
	}
}
