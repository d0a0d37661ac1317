package desk_test

import (
	"fmt"
	"sync"
	"testing"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/desk"
)

// positionSink is a customer's connection: it keeps the last queue position
// signalled per conversation.
type positionSink struct {
	mu   sync.Mutex
	last map[string]int
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
