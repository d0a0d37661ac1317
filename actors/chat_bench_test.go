package actors_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// chatRun names each run of BenchmarkDirectChat's users apart.
var chatRun atomic.Int64

// BenchmarkDirectChat sends b.N direct messages between 64 pairs of
// connected users (one device each, one sender per pair) over Pebble and
// waits until every recipient got its pushes. Besides the rate it reports
// the work each message costs that does not depend on the machine: pushes
// to devices and inbox entries written, e.g.
//
//	go test ./actors/ -run '^$' -bench DirectChat -benchtime 20000x
func BenchmarkDirectChat(b *testing.B) {
	const pairs = 64
	run := chatRun.Add(1)
	store := openStore(b)
	node := startCluster(b, 1, store, actors.Config{SendRate: 1e9, SendBurst: 1 << 30, IdleTimeout: time.Hour})[0]
	ctx := tctx(b)
	var devs []*device
	users := make([][2]string, pairs)
	for i := range users {
		users[i] = [2]string{fmt.Sprintf("chat%d-a%d", run, i), fmt.Sprintf("chat%d-b%d", run, i)}
		for _, u := range users[i] {
			d, _ := connect(b, node, u, "phone")
			devs = append(devs, d)
		}
	}
	count := func() (pushes int) {
		for _, d := range devs {
			d.mu.Lock()
			pushes += len(d.pushes)
			d.mu.Unlock()
		}
		return pushes
	}
	inbox := func() (n uint64) {
		for _, p := range users {
			for _, u := range p {
				s, err := store.LastInboxSeq(ctx, u)
				if err != nil {
					b.Fatal(err)
				}
				n += s
			}
		}
		return n
	}
	pushes0, inbox0 := count(), inbox()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for i := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := []byte("benchmark message body")
			for n := next.Add(1); n <= int64(b.N); n = next.Add(1) {
				if _, err := node.SendDirect(ctx, users[i][1], &pb.SendMessage{Sender: users[i][0], Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Every recipient's push arrived.
	// Counted incrementally: rescanning every push each time would make
	// the wait the benchmark's biggest cost.
	deadline := time.Now().Add(time.Minute)
	scanned := make([]int, len(devs))
	got := 0
	for {
		for i := 1; i < len(devs); i += 2 {
			d := devs[i]
			d.mu.Lock()
			for _, p := range d.pushes[scanned[i]:] {
				if p.GetMessage() != nil {
					got++
				}
			}
			scanned[i] = len(d.pushes)
			d.mu.Unlock()
		}
		if got >= b.N {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages pushed to their recipients", got, b.N)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)
	b.StopTimer()
	time.Sleep(200 * time.Millisecond) // late receipts and read pushes are counted too
	b.ReportMetric(float64(b.N)/took.Seconds(), "msgs/s")
	b.ReportMetric(float64(count()-pushes0)/float64(b.N), "pushes/msg")
	b.ReportMetric(float64(inbox()-inbox0)/float64(b.N), "inbox-entries/msg")
}
