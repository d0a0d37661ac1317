package actors_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestOverloadShedsOnLatency: a real node whose sends all take longer than
// its SendLatencyTarget (1 ns here, so every send counts as slow, whatever
// the machine) lowers its bound on pending sends to MinPendingSends and
// refuses the rest with BUSY, a retry-after and the reason; senders that
// honour the retry-after all get through, and every accepted message
// reaches its recipient exactly once.
func TestOverloadShedsOnLatency(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{
		SendLatencyTarget: time.Nanosecond, SendLatencyInterval: time.Millisecond, MinPendingSends: 2,
		SendRate: 1e6, SendBurst: 1e6, BusyRetryAfter: 250 * time.Millisecond, MaxBusyRetryAfter: time.Second,
	})[0]
	ctx := tctx(t)
	const pairs, perPair = 20, 10
	var mu sync.Mutex
	accepted := map[string]int{}
	busy, slow := 0, 0
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			to := fmt.Sprint("rcpt", p)
			for i := range perPair {
				for {
					_, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: fmt.Sprint("sndr", p), ClientMsgId: fmt.Sprint(i), Body: []byte("x")})
					var e *actors.Error
					if errors.As(err, &e) && e.Code == pb.Code_BUSY {
						// 250 ms ±50%, scaled with the overload to at most 1 s ±50%.
						if e.RetryAfterMs < 125 || e.RetryAfterMs > 1500 {
							t.Errorf("BUSY with retry-after %d ms, want 125–1500", e.RetryAfterMs)
						}
						mu.Lock()
						busy++
						if strings.Contains(e.Message, "longer than 1ns") {
							slow++
						}
						mu.Unlock()
						time.Sleep(time.Duration(e.RetryAfterMs) * time.Millisecond)
						continue
					}
					if err != nil {
						t.Errorf("send: %v", err)
						return
					}
					mu.Lock()
					accepted[to]++
					mu.Unlock()
					break
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range accepted {
		total += n
	}
	t.Logf("%d accepted, %d refused BUSY (%d for latency)", total, busy, slow)
	if slow == 0 || total != pairs*perPair {
		t.Fatalf("%d accepted, %d refused for latency: want all %d accepted in the end, and latency refusals on the way", total, slow, pairs*perPair)
	}
	for p := range pairs {
		to := fmt.Sprint("rcpt", p)
		eventually(t, func() error {
			res, err := node.ListConversations(ctx, to, "", 10)
			if err != nil {
				return err
			}
			if want := uint64(accepted[to]); res.TotalUnread != want {
				return fmt.Errorf("%s: %d unread, want %d accepted", to, res.TotalUnread, want)
			}
			return nil
		})
	}
}
