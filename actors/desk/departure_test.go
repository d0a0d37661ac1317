package desk_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// TestDeskWokenAfterAMemberLeaves: the node that hosts an open session's
// thread dies and does not come back. Nothing touches the session after
// it; one of the two survivors wakes the threads of open sessions, so the
// session's inactivity close still happens (its timer died with the
// node). Before the survivors woke them, it stayed open until the
// customer or an agent touched it.
func TestDeskWokenAfterAMemberLeaves(t *testing.T) {
	store := openStore(t)
	const inactivity = 2 * time.Second
	fl := startFleet(t, store, desk.Config{InactivityTimeout: inactivity}, 3)
	careDesk(t, fl.nodes[0].Desk, 1)
	s := enterAssigned(t, fl.nodes[0].Desk, "c1", "help")

	owner := fl.nodes[0].Owner(desk.KindThread, "l/c1")
	victim := -1
	for i, n := range fl.nodes {
		if n.System().Address() == owner {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("no node at %s, the thread's owner", owner)
	}
	fl.mu.Lock()
	fl.handles[victim].kill()
	fl.nodes[victim].Stop(false)
	fl.nodes = append(fl.nodes[:victim:victim], fl.nodes[victim+1:]...)
	fl.handles = append(fl.handles[:victim:victim], fl.handles[victim+1:]...)
	fl.mu.Unlock()
	fl.waitMembers(t)
	t.Logf("killed node %d, the host of c1's thread", victim)

	// Read the saved state only: asking the desk would wake the thread.
	eventuallyWithin(t, 15*time.Second+inactivity, func() error {
		var thread struct {
			Session struct{ ID, State string }
		}
		loadCheckpoint(t, store, "desk/"+desk.KindThread+"/l/c1", &thread)
		if thread.Session.ID != s.Session || thread.Session.State != desk.StateClosed {
			return fmt.Errorf("c1's session %+v, want %s closed for inactivity", thread.Session, s.Session)
		}
		return nil
	})
	for _, n := range fl.nodes {
		n.Stop(false) // nothing to hand over: the test is done
	}
}
