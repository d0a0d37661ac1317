package transport_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
)

// BenchmarkConversationSends queues b.N sends to one conversation at once
// and waits for the last ack, one at a time (pipeline 1, the SDK before
// pipelining) and 16 deep (the default): what a sender offered more than
// one message per round trip gains, e.g.
//
//	go test ./transport/ -run '^$' -bench ConversationSends -benchtime 500x
func BenchmarkConversationSends(b *testing.B) {
	for _, depth := range []int{1, client.DefaultSendPipeline} {
		b.Run(fmt.Sprint("pipeline=", depth), func(b *testing.B) {
			e := newEnv(b, envOptions{actors: actors.Config{SendRate: 1e6, SendBurst: 1 << 20},
				transport: transport.Config{ConnRate: 1e6, ConnBurst: 1 << 20, UserRate: 1e6, UserBurst: 1 << 20}})
			alice := e.dial("alice", "phone", func(c *client.Config) { c.SendPipeline = depth })
			ctx := tctx(b)
			if _, err := alice.SendText(ctx, client.ToUser("bob"), "first"); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			ps := make([]*client.Pending, b.N)
			for i := range ps {
				p, err := alice.Send(client.ToUser("bob"), []byte(fmt.Sprint(i)), "")
				if err != nil {
					b.Fatal(err)
				}
				ps[i] = p
			}
			for _, p := range ps {
				if _, err := p.Wait(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
