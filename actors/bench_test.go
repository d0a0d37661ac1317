package actors_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// BenchmarkSendDurable measures send → durable ack through conversation
// grains on one node over Pebble, with many concurrent senders spread
// over 1, 100 and 10,000 active conversations.
func BenchmarkSendDurable(b *testing.B) {
	store := openStore(b)
	// The grains' throughput, not the node's shedding: admission's bounds
	// are out of the way (10,000 conversations otherwise pass the bound
	// on pending deliveries and are refused BUSY).
	node := startCluster(b, 1, store, actors.Config{SendRate: 1e9, SendBurst: 1 << 30, MaxPendingSends: 1 << 20, MinPendingSends: 1 << 20,
		MaxPendingDeliveries: 1 << 20, SendLatencyTarget: time.Hour, SchedLatencyTarget: -1})[0]
	for _, convs := range []int{1, 100, 10000} {
		b.Run(fmt.Sprint("convs=", convs), func(b *testing.B) {
			ids := make([]string, convs)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 64)
			for i := range ids {
				ids[i] = fmt.Sprintf("g:bench%d-%d", convs, i) // a group id: ids are in their kind's namespace
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					// The benchmark function runs more than once: the
					// conversations may exist already.
					_, err := node.CreateConversation(tctx(b), &pb.CreateConversation{Conv: ids[i], Kind: pb.ConvKind_GROUP, Creator: "a", Members: []*pb.Member{{User: "b"}}})
					if err != nil && actors.CodeOf(err) != pb.Code_EXISTS {
						b.Error(err)
					}
					mustSend(b, node, ids[i], "a", "warm") // activated
				}()
			}
			wg.Wait()
			senders := max(256, min(convs, 2048))
			var next, acked atomic.Int64
			b.ResetTimer()
			start := time.Now()
			for w := range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := tctx(b)
					body := []byte("benchmark message body")
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						conv := ids[(int(i)+w)%convs]
						if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "a", Body: body}); err != nil {
							b.Error(err)
							return
						}
						acked.Add(1)
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(acked.Load())/time.Since(start).Seconds(), "acked/s")
		})
	}
}

// BenchmarkIdleUserGrainHeap activates b.N user grains (Presence) and
// reports the heap each idle resident grain costs, e.g.
//
//	go test ./actors/ -run '^$' -bench IdleUserGrainHeap -benchtime 100000x
func BenchmarkIdleUserGrainHeap(b *testing.B) {
	t, n := b, b.N
	run := idleRun.Add(1)
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{IdleTimeout: time.Hour})[0]
	ctx := tctx(t)
	measure := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// Warm the paths once so one-off allocations are not charged to grains.
	for i := range 100 {
		if _, err := node.OnlineDevices(ctx, fmt.Sprint("warm", i)); err != nil {
			t.Fatal(err)
		}
	}
	// SWITCHBOARD_HEAP_PROFILE=file writes the heap profile of the
	// resident grains (sampled finely) for `go tool pprof -inuse_space`.
	profile := os.Getenv("SWITCHBOARD_HEAP_PROFILE")
	if profile != "" {
		runtime.MemProfileRate = 64
	}
	before := measure()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				// A context per call, cancelled at once: tctx's cleanup
				// and timer would stay until the end and count as grain
				// heap.
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := node.OnlineDevices(ctx, fmt.Sprintf("idle%d-%d", run, i))
				cancel()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	after := measure()
	b.StopTimer()
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			t.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
	}
	b.ReportMetric(float64(after-before)/float64(n), "heap-B/grain")
	b.ReportMetric(float64(n)/took.Seconds(), "activations/s")
	t.Logf("%d idle user grains: %.0f bytes of heap each (%.1f MiB in all), activated in %v (%.0f/s)",
		n, float64(after-before)/float64(n), float64(after-before)/(1<<20), took.Round(time.Millisecond), float64(n)/took.Seconds())
}

// idleRun names each run of BenchmarkIdleUserGrainHeap's users apart.
var idleRun atomic.Int64
