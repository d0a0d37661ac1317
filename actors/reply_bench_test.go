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

// BenchmarkGroupReply measures what a group reply's mention of the
// answered author costs the send path (one read of the answered message
// in the grain): texts, replies, and replies with
// Config.ReplyMentionsOff, from 256 senders over 100 small groups on one
// node over Pebble, e.g.
//
//	go test ./actors/ -run '^$' -bench GroupReply -benchtime 20000x -count 3
func BenchmarkGroupReply(b *testing.B) {
	for _, c := range []struct {
		name  string
		reply bool
		off   bool
	}{{"text", false, false}, {"reply", true, false}, {"reply-mentions-off", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			node := startCluster(b, 1, openStore(b), actors.Config{SendRate: 1e9, SendBurst: 1 << 30, MaxPendingSends: 1 << 20,
				MinPendingSends: 1 << 20, MaxPendingDeliveries: 1 << 20, SendLatencyTarget: time.Hour, SchedLatencyTarget: -1, ReplyMentionsOff: c.off})[0]
			const convs = 100
			ids := make([]string, convs)
			answered := make([]uint64, convs)
			for i := range ids {
				ids[i] = fmt.Sprintf("g:reply%d", i)
				mustCreateGroup(b, node, ids[i], "a", "b", "c")
				m, err := node.Send(tctx(b), &pb.SendMessage{Conv: ids[i], Sender: "b", Body: []byte("a question")})
				if err != nil {
					b.Fatal(err)
				}
				answered[i] = m.Seq
			}
			var next, acked atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range 256 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := tctx(b)
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						k := (int(i) + w) % convs
						m := &pb.SendMessage{Conv: ids[k], Sender: "a", Body: []byte("benchmark answer")}
						if c.reply {
							m.ReplyTo = answered[k]
						}
						if _, err := node.Send(ctx, m); err != nil {
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
