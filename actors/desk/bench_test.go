package desk_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
)

// BenchmarkSessionCycle measures one whole session on one node with
// Pebble: a customer enters a queue scene, an agent is assigned (the
// queue's offer, the agent's hold, the "queued" and "assigned" steps in the
// conversation), and the agent closes it. Customers run in parallel
// (GOMAXPROCS × 4 at a time), so this is the desk's session throughput.
func BenchmarkSessionCycle(b *testing.B) {
	var mu sync.Mutex
	assigned := map[string]chan struct{}{}
	wait := func(session string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		ch, ok := assigned[session]
		if !ok {
			ch = make(chan struct{})
			assigned[session] = ch
		}
		return ch
	}
	n := startNode(b, openStore(b), desk.Config{OnEvent: func(e desk.Event) {
		if e.Kind == "assign" {
			close(wait(e.Session))
		}
	}})
	ctx := tctx(b)
	d := n.Desk
	if _, err := d.SetScene(ctx, desk.Scene{Name: "bench", Line: "b", Route: []string{"queue:bench"}}); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		if _, err := d.SetAgent(ctx, desk.AgentUpdate{User: fmt.Sprintf("a%d", i), Status: ptr(desk.Online), Capacity: ptr(100), Skills: ptr([]string{"bench"})}); err != nil {
			b.Fatal(err)
		}
	}
	var next sync.Mutex
	i := 0
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			next.Lock()
			i++
			cust := fmt.Sprintf("c%d", i)
			next.Unlock()
			s, err := d.Enter(ctx, cust, "bench")
			if err != nil {
				b.Error(err)
				return
			}
			<-wait(s.Session)
			in, err := d.Session(ctx, "x", s.Conv)
			if err != nil || in.Agent == nil {
				b.Errorf("session %+v %v", in, err)
				return
			}
			if _, err := d.Close(ctx, *in.Agent, s.Conv, ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
}
