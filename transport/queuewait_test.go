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

// Requests that wait for a worker past MaxQueueWait (1 ms here, with one
// worker and sends to 32 conversations pipelined: the last lane heads wait
// for 31 sends) are answered BUSY with a retry-after and the reason, never
// run late; a refused send takes the sends queued behind it in its lane
// along, so what is accepted keeps the order written per conversation.
// The refused ones, sent again, all go through: every message gets exactly
// one seq, per conversation with no gap.
func TestQueueWaitRefusesLateRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1e6, SendBurst: 1e6},
		transport: transport.Config{MaxQueueWait: time.Millisecond, Workers: 1, ConnRate: 1e6, ConnBurst: 1e6, UserRate: 1e6, UserBurst: 1e6},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	const peers, perPeer = 32, 2
	const n = peers * perPeer // MaxInflight: none is refused for that
	peerOf := func(i int) string { return fmt.Sprintf("bob%02d", i%peers) }
	send := func(id uint64, i int) []byte {
		return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: peerOf(i), ClientMsgId: fmt.Sprintf("m%d", i), Body: []byte(fmt.Sprint(i))}}})
	}
	var batch []byte
	for i := range n {
		batch = append(batch, send(uint64(i+1), i)...)
	}
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	seqOf, refused := readSendAnswers(t, r, n, func(i int, e *wirepb.Error) {
		if e.RetryAfterMs < 1 || e.RetryAfterMs > 2 {
			t.Fatalf("send %d: retry-after %d ms, want 1–2 (1 ms ± 50%%, at least 1)", i, e.RetryAfterMs)
		}
		if !strings.Contains(e.Message, "for its turn") {
			t.Fatalf("send %d: %q does not say it waited too long", i, e.Message)
		}
	})
	t.Logf("%d accepted, %d refused for waiting", len(seqOf), len(refused))
	if len(refused) == 0 {
		t.Fatal("no send was refused: 32 sends sequenced within 1 ms?")
	}
	// Accepted ones keep the order written, per conversation.
	var done []int
	for i := range seqOf {
		done = append(done, i)
	}
	sort.Ints(done)
	last := map[string]uint64{}
	for _, i := range done {
		if seqOf[i] <= last[peerOf(i)] {
			t.Fatalf("send %d to %s got seq %d, not after %d", i, peerOf(i), seqOf[i], last[peerOf(i)])
		}
		last[peerOf(i)] = seqOf[i]
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
	seqs := map[string][]uint64{}
	for i, s := range seqOf {
		seqs[peerOf(i)] = append(seqs[peerOf(i)], s)
	}
	for p := range peers {
		got := seqs[peerOf(p)]
		sort.Slice(got, func(a, b int) bool { return got[a] < got[b] })
		if fmt.Sprint(got) != fmt.Sprint([]uint64{1, 2}) {
			t.Fatalf("%s: seqs %v, want [1 2]", peerOf(p), got)
		}
	}
}

// A send waiting in its lane behind an earlier send to the same
// conversation is not waiting for a worker: pipelined sends to one
// conversation are not refused under MaxQueueWait for the time their
// predecessors take (MaxLaneWait bounds that, TestLaneWaitBound).
func TestLaneWaitIsNotQueueWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1e6, SendBurst: 1e6},
		transport: transport.Config{MaxQueueWait: 50 * time.Millisecond, MaxLaneWait: time.Minute, ConnRate: 1e6, ConnBurst: 1e6, UserRate: 1e6, UserBurst: 1e6},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	const n = 64
	var batch []byte
	for i := range n {
		batch = append(batch, frame(&wirepb.Request{Id: uint64(i + 1), Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{
			To: "bob", ClientMsgId: fmt.Sprintf("m%d", i), Body: []byte(fmt.Sprint(i))}}})...)
	}
	start := time.Now()
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	for range n {
		res, err := r.response()
		if err != nil {
			t.Fatal(err)
		}
		if e := res.GetError(); e != nil {
			t.Fatalf("send %d: %v", res.Id, e)
		}
	}
	t.Logf("%d pipelined sends to one conversation in %s", n, time.Since(start).Round(time.Millisecond))
}

// A pipeline of sends to one conversation waits at most MaxLaneWait at the
// node (1 ms here: the last of 64 waits for 63 answers): the late one is
// answered BUSY, and so is every send behind it, so the accepted ones are
// the first ones written, in order. Sent again, the refused go through
// with the next seqs: nothing reordered, nothing lost.
func TestLaneWaitBound(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		actors:    actors.Config{SendRate: 1e6, SendBurst: 1e6},
		transport: transport.Config{MaxLaneWait: time.Millisecond, ConnRate: 1e6, ConnBurst: 1e6, UserRate: 1e6, UserBurst: 1e6},
	})
	r := rawDial(t, e, nil)
	r.login(e.token("alice", "phone"))
	const n = 64
	// Each send names the one written before it, as the SDK's pipeline
	// does: one arriving after its lane was refused and emptied is refused
	// too, rather than starting a new lane ahead of the refused.
	send := func(id uint64, i int, after string) []byte {
		return frame(&wirepb.Request{Id: id, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{To: "bob", ClientMsgId: fmt.Sprintf("m%d", i),
			Body: []byte(fmt.Sprint(i)), AfterClientMsgId: after}}})
	}
	var batch []byte
	for i := range n {
		after := ""
		if i > 0 {
			after = fmt.Sprintf("m%d", i-1)
		}
		batch = append(batch, send(uint64(i+1), i, after)...)
	}
	if _, err := r.st.Write(batch); err != nil {
		t.Fatal(err)
	}
	seqOf, refused := readSendAnswers(t, r, n, func(i int, e *wirepb.Error) {
		if !strings.Contains(e.Message, "for its turn") && !strings.Contains(e.Message, "behind a refused send") {
			t.Fatalf("send %d: %q does not say it waited too long or behind a refused one", i, e.Message)
		}
	})
	if len(refused) == 0 {
		t.Fatal("no send of 64 pipelined waited past 1 ms")
	}
	sort.Ints(refused)
	// The accepted are a prefix of what was written, with consecutive seqs.
	for i := range refused[0] {
		if seqOf[i] == 0 || (i > 0 && seqOf[i] != seqOf[i-1]+1) {
			t.Fatalf("accepted sends are not the first ones in order: %v (refused from %d)", seqOf, refused[0])
		}
	}
	if len(refused) != n-refused[0] {
		t.Fatalf("refused %v: a send behind a refused one was accepted", refused)
	}
	// Sent again one at a time (as the SDK does after its back-off, again
	// while BUSY: alone in its lane a send can still wait 1 ms for a worker
	// on a loaded machine), they all go through after the others.
	last, id := seqOf[refused[0]-1], uint64(1000)
	for _, i := range refused {
		for attempt := 0; ; attempt++ {
			id++
			if _, err := r.st.Write(send(id, i, "")); err != nil {
				t.Fatal(err)
			}
			res, err := r.response()
			if err != nil {
				t.Fatal(err)
			}
			if e := res.GetError(); e != nil {
				if e.Code == wirepb.Code_BUSY && attempt < 100 {
					time.Sleep(time.Duration(e.RetryAfterMs) * time.Millisecond)
					continue
				}
				t.Fatalf("send %d again: %v", i, e)
			}
			if s := res.GetSend().Seq; s != last+1 {
				t.Fatalf("send %d again: seq %d, want %d", i, s, last+1)
			}
			last++
			break
		}
	}
}

// readSendAnswers reads the answers to n sends with request ids 1..n: the
// seq of each accepted one, and the ones refused BUSY (checked by busy);
// any other answer fails the test.
func readSendAnswers(t *testing.T, r *raw, n int, busy func(i int, e *wirepb.Error)) (map[int]uint64, []int) {
	t.Helper()
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
			busy(i, e)
			refused = append(refused, i)
		default:
			t.Fatalf("send %d: %v", i, e)
		}
	}
	return seqOf, refused
}
