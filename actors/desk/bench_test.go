package desk_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors/desk"
	"github.com/switchboard-im/switchboard/internal/promtest"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/cql/cqltest"
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

// BenchmarkWakeOpenThreads measures what a node's start-up, and every
// member's departure, asks of a desk with many open sessions: a wake of
// every open session's thread (roster.go). 2,000 sessions are open with a
// robot on one node with Pebble; each iteration wakes all their threads.
// "active": the threads are active already (a departure's wake of the
// survivors' threads: a message and an answer each); "asleep": from a
// node's start on the store until its start-up's round woke them all (an
// activation each, its fence taken and its state read from the store: the
// departed member's threads cost the same).
func BenchmarkWakeOpenThreads(b *testing.B) { benchWakeOpenThreads(b, openStore(b)) }

// BenchmarkWakeOpenThreadsCQL is the same on Cassandra (a cluster's
// store), where each activation takes its fence with a lightweight
// transaction. Needs SWITCHBOARD_CQL_HOSTS.
func BenchmarkWakeOpenThreadsCQL(b *testing.B) {
	store, _ := cqltest.Open(b, "sbdesk", testLogger())
	benchWakeOpenThreads(b, store)
}

func benchWakeOpenThreads(b *testing.B, store storage.Store) {
	const open = 2000
	n, crash := startCrashable(b, store, desk.Config{})
	ctx := tctx(b)
	if _, err := n.Desk.SetScene(ctx, desk.Scene{Name: "faq", Line: "l", Route: []string{"bot", "queue:care"}}); err != nil {
		b.Fatal(err)
	}
	threads := make([]string, open)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range threads {
		threads[i] = fmt.Sprintf("l/c%d", i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := n.Desk.Enter(ctx, fmt.Sprintf("c%d", i), "faq"); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	crash()

	b.Run("active", func(b *testing.B) {
		n := startNode(b, store, desk.Config{})
		n.Desk.WakeThreadsForTest(threads)
		b.ResetTimer()
		for range b.N {
			n.Desk.WakeThreadsForTest(threads)
		}
		b.ReportMetric(float64(b.N*open)/b.Elapsed().Seconds(), "threads/s")
	})
	b.Run("asleep", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			before := promtest.Value(b, "switchboard_desk_woken_total", "kind", desk.KindThread)
			b.StartTimer()
			_, crash := startCrashable(b, store, desk.Config{}) // its start-up wakes them
			for promtest.Value(b, "switchboard_desk_woken_total", "kind", desk.KindThread)-before < open {
				time.Sleep(time.Millisecond)
			}
			b.StopTimer()
			crash()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.N*open)/b.Elapsed().Seconds(), "threads/s")
	})
}
