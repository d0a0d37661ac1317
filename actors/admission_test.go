package actors_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestOverloadSheds: past its bounds of pending work a node refuses sends
// with BUSY and a retry-after instead of queueing; senders that honour it
// get through, everything accepted reaches its recipient exactly once, and
// the node takes sends again at once when the burst is over.
func TestOverloadSheds(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{
		MaxPendingSends: 4, MaxPendingDeliveries: 16, SendRate: 1e6, SendBurst: 1e6,
		BusyRetryAfter: 250 * time.Millisecond, MaxBusyRetryAfter: time.Second,
	})[0]
	ctx := tctx(t)
	const pairs, perPair = 20, 20
	var mu sync.Mutex
	accepted := map[string]int{} // recipient → accepted messages
	busy := 0
	var wg sync.WaitGroup
	for p := range pairs {
		for i := range perPair {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to := fmt.Sprint("rcpt", p)
				// A client that honours the retry-after gets through.
				for {
					_, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: fmt.Sprint("sndr", p), ClientMsgId: fmt.Sprint(i), Body: []byte("x")})
					var e *actors.Error
					if errors.As(err, &e) && e.Code == pb.Code_BUSY {
						// 250 ms ±50%, scaled up with the overload to at
						// most 1 s ±50% (a slow machine runs this burst
						// for more than a second, and the scale grows).
						if e.RetryAfterMs < 125 || e.RetryAfterMs > 1500 {
							t.Errorf("BUSY with retry-after %d ms, want 125–1500", e.RetryAfterMs)
						}
						mu.Lock()
						busy++
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
					return
				}
			}()
		}
	}
	wg.Wait()
	total := 0
	for _, n := range accepted {
		total += n
	}
	t.Logf("%d accepted, %d refused BUSY", total, busy)
	if busy == 0 || total != pairs*perPair {
		t.Fatalf("%d accepted, %d busy: want all %d accepted in the end, and refusals on the way", total, busy, pairs*perPair)
	}
	// Everything accepted reaches its recipient's inbox, once.
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
	// The burst is over: the next send is taken at once.
	if _, err := node.SendDirect(ctx, "rcpt0", &pb.SendMessage{Sender: "sndr0", ClientMsgId: "after", Body: []byte("x")}); err != nil {
		t.Fatalf("send after the burst: %v", err)
	}
}
