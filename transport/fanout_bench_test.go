package transport_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// BenchmarkLargeGroupFanout sends b.N messages into a read fan-out group
// of 200 members, all connected over QUIC to one node, and waits until
// every member has every message: the hub's shared push path (one frame
// encoded per message for all connections), e.g.
//
//	go test ./transport/ -run '^$' -bench LargeGroupFanout -benchtime 200x
func BenchmarkLargeGroupFanout(b *testing.B) {
	const members = 200
	e := newEnv(b, envOptions{actors: actors.Config{FanoutThreshold: 2, SendRate: 1e6, SendBurst: 1 << 20}})
	ctx := tctx(b)
	users := make([]string, members)
	for i := range users {
		users[i] = fmt.Sprintf("fan%d", i)
	}
	owner := e.dial(users[0], "phone")
	conv, err := owner.CreateGroup(ctx, fmt.Sprintf("g:fan%d", b.N), "", users[1:])
	if err != nil {
		b.Fatal(err)
	}
	clients := make([]*client.Client, 0, members-1)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, u := range users[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.dial(u, "phone")
			mu.Lock()
			clients = append(clients, c)
			mu.Unlock()
		}()
	}
	wg.Wait()
	count := func(c *client.Client) (n int) {
		for _, m := range c.Messages(conv) {
			if m.Kind == wirepb.MessageKind_NORMAL {
				n++
			}
		}
		return n
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := owner.SendText(ctx, client.ToConv(conv), fmt.Sprint("fan ", i)); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, c := range clients {
		for count(c) < b.N {
			if time.Now().After(deadline) {
				b.Fatalf("a member has %d of %d messages", count(c), b.N)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	took := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*len(clients))/took.Seconds(), "deliveries/s")
}
