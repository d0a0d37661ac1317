package transport_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
)

// Queue positions reach the Go SDK over QUIC as EventQueuePosition: two
// customers wait; when the first abandons, the second hears it moved up
// and the first hears it left (0).
func TestQueuePositionEvents(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	d := e.nodes[0].Desk
	setUpDesk(t, e, []string{"queue:sales"}, "")
	var mu sync.Mutex
	last := map[string]uint64{} // user → last position heard
	for _, u := range []string{"c1", "c2"} {
		e.dial(u, "phone", func(c *client.Config) {
			c.OnEvent = func(ev client.Event) {
				if ev.Kind == client.EventQueuePosition && ev.Conv == "s:cars:"+u+":1" {
					mu.Lock()
					last[u] = ev.Seq
					mu.Unlock()
				}
			}
		})
	}
	heard := func(want map[string]uint64) {
		t.Helper()
		eventually(t, fmt.Sprint("positions ", want), func() bool {
			mu.Lock()
			defer mu.Unlock()
			for u, p := range want {
				if q, ok := last[u]; !ok || q != p {
					return false
				}
			}
			return true
		})
	}
	for _, u := range []string{"c1", "c2"} {
		if _, err := d.Enter(ctx, u, "listing/1"); err != nil {
			t.Fatal(err)
		}
	}
	heard(map[string]uint64{"c1": 1, "c2": 2})
	if _, err := d.Close(ctx, "c1", "s:cars:c1:1", ""); err != nil {
		t.Fatal(err)
	}
	heard(map[string]uint64{"c1": 0, "c2": 1})
}
