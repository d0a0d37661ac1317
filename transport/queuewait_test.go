package transport_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Sends pipelined into one conversation faster than the node sequences
// them wait in their lane; those that waited past MaxQueueWait (1 ms here:
// 64 sends cannot all be sequenced within it) are answered BUSY with a
// retry-after and the reason, never run late. What is accepted keeps the
// order written (a refused send takes the sends behind it along), and the
// refused ones, sent again, all go through: every message gets exactly one
// seq, with no gap.
func TestQueueWaitRefusesLateRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1e6, SendBurst: 1e6},
		transport: transport.Config{MaxQueueWait: time.Millisecond, ConnRate: 1e6, ConnBurst: 1e6, UserRate: 1e6, UserBurst: 1e6},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	send := func(id uint64, i int) []byte {
		return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: fmt.Sprintf("m%d", i), Body: []byte(fmt.Sprint(i))}}})
	}
	const n = 64 // MaxInflight: none is refused for that
	var batch []byte
	for i := range n {
		batch = append(batch, send(uint64(i+1), i)...)
	}
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	seqOf := map[int]uint64{}
	var refused []int
	for range n {
		res, err := r.response()
		if err != nil {
			t.Fatal(err)
		}
		i := int(res.Id) - 1
		switch e := res.GetError(); {
		case e == nil:
			seqOf[i] = res.GetSend().Seq
		case e.Code == wirepb.Code_BUSY:
			if e.RetryAfterMs < 1 || e.RetryAfterMs > 2 {
				t.Fatalf("send %d: retry-after %d ms, want 1–2 (1 ms ± 50%%, at least 1)", i, e.RetryAfterMs)
			}
			if !strings.Contains(e.Message, "for its turn") {
				t.Fatalf("send %d: %q does not say it waited too long", i, e.Message)
			}
			refused = append(refused, i)
		default:
			t.Fatalf("send %d: %v", i, e)
		}
	}
	t.Logf("%d accepted, %d refused for waiting", len(seqOf), len(refused))
	if len(refused) == 0 {
		t.Fatal("no send was refused: 64 sends sequenced within 1 ms?")
	}
	// Accepted ones keep the order written.
	var done []int
	for i := range seqOf {
		done = append(done, i)
	}
	sort.Ints(done)
	for k := 1; k < len(done); k++ {
		if seqOf[done[k]] <= seqOf[done[k-1]] {
			t.Fatalf("send %d got seq %d, not after send %d's %d", done[k], seqOf[done[k]], done[k-1], seqOf[done[k-1]])
		}
	}
	// The refused ones, sent again one at a time, go through.
	id := uint64(1000)
	for _, i := range refused {
		for attempt := 0; ; attempt++ {
			id++
			res, err := r.request(send(id, i))
			if err != nil {
				t.Fatal(err)
			}
			if e := res.GetError(); e == nil {
				seqOf[i] = res.GetSend().Seq
				break
			} else if e.Code != wirepb.Code_BUSY || attempt > 500 {
				t.Fatalf("send %d again (attempt %d): %v", i, attempt, e)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	seqs := map[uint64]bool{}
	lo, hi := ^uint64(0), uint64(0)
	for _, s := range seqOf {
		seqs[s] = true
		lo, hi = min(lo, s), max(hi, s)
	}
	if len(seqs) != n || hi-lo+1 != n {
		t.Fatalf("%d distinct seqs in %d..%d for %d messages: want %d, contiguous", len(seqs), lo, hi, n, n)
	}
}
