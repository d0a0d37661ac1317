package actors

import (
	"fmt"
	"sync"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
)

// heldSink is a connection that takes shared batches and holds their done
// until the test releases it, as a connection whose writer has not run yet.
type heldSink struct {
	mu      sync.Mutex
	batches [][]uint64 // seqs of each batch received
	dones   []func()
	got     chan struct{}
}

func newHeldSink() *heldSink { return &heldSink{got: make(chan struct{}, 64)} }

func (h *heldSink) Push(*pb.Push)     {}
func (h *heldSink) Signal(*pb.Signal) {}
func (h *heldSink) PushShared(b *session.SharedBatch, done func()) {
	var seqs []uint64
	for _, p := range b.Pushes {
		seqs = append(seqs, p.GetMessage().Seq)
	}
	h.mu.Lock()
	h.batches = append(h.batches, seqs)
	h.dones = append(h.dones, done)
	h.mu.Unlock()
	h.got <- struct{}{}
}

// release calls every held done.
func (h *heldSink) release() {
	h.mu.Lock()
	dones := h.dones
	h.dones = nil
	h.mu.Unlock()
	for _, d := range dones {
		d()
	}
}

func (h *heldSink) received() [][]uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]uint64(nil), h.batches...)
}

func (h *heldSink) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-h.got:
	case <-time.After(5 * time.Second):
		t.Fatalf("no batch: %s", what)
	}
}

func (h *heldSink) none(t *testing.T, within time.Duration, what string) {
	t.Helper()
	select {
	case <-h.got:
		t.Fatalf("a batch arrived: %s (have %v)", what, h.received())
	case <-time.After(within):
	}
}

func testBroadcaster(t *testing.T, chunk, maxPending int, chunkWait time.Duration) *broadcaster {
	b := newBroadcaster(Config{BroadcastChunk: chunk, BroadcastChunkWait: chunkWait, BroadcastMaxPending: maxPending})
	t.Cleanup(b.close)
	return b
}

func msg(seq uint64) *pb.Message { return &pb.Message{Conv: "g:big", Seq: seq, Sender: "u1"} }

// Messages that arrive while a round is going out reach each connection
// together in the next round, in seq order: one write for all of them.
func TestBroadcastCoalescesWhileARoundIsOut(t *testing.T) {
	b := testBroadcaster(t, 256, 4096, time.Minute)
	sink := newHeldSink()
	s := &deviceSession{user: "u2", sink: sink}
	b.subscribe(s, []string{"g:big"}, false)

	b.add("g:big", msg(1))
	sink.wait(t, "first message")
	for seq := uint64(2); seq <= 5; seq++ {
		b.add("g:big", msg(seq))
	}
	sink.none(t, 100*time.Millisecond, "the next round before the first one's write is done")
	sink.release()
	sink.wait(t, "the held messages")
	want := "[[1] [2 3 4 5]]"
	if got := fmt.Sprint(sink.received()); got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

// A round goes out a chunk of connections at a time: the next chunk waits
// for the writes of the one before, or for BroadcastChunkWait.
func TestBroadcastChunks(t *testing.T) {
	const chunkWait = 3 * time.Second
	b := testBroadcaster(t, 2, 4096, chunkWait)
	sinks := make([]*heldSink, 5)
	for i := range sinks {
		sinks[i] = newHeldSink()
		b.subscribe(&deviceSession{user: fmt.Sprintf("u%d", i), sink: sinks[i]}, []string{"g:big"}, false)
	}
	reached := func() (n int) {
		for _, s := range sinks {
			if len(s.received()) > 0 {
				n++
			}
		}
		return n
	}
	waitFor := func(n int, what string) {
		t.Helper()
		deadline := time.Now().Add(chunkWait * 2 / 3)
		for reached() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d connections reached, want %d", what, reached(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		if got := reached(); got != n {
			t.Fatalf("%s: %d connections reached, want %d", what, got, n)
		}
	}
	b.add("g:big", msg(1))
	waitFor(2, "the first chunk, its writes not done")
	// Releasing the first chunk lets the second go at once. The dones are
	// taken from every sink before any is called: the second chunk, once
	// out, must stay held.
	var first []func()
	for _, s := range sinks {
		s.mu.Lock()
		first = append(first, s.dones...)
		s.dones = nil
		s.mu.Unlock()
	}
	for _, d := range first {
		d()
	}
	waitFor(4, "the second chunk")
	// A chunk whose writes never finish holds the round back only for
	// BroadcastChunkWait.
	deadline := time.Now().Add(chunkWait + 5*time.Second)
	for reached() != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the last chunk never went out (%d of 5)", reached())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// At most BroadcastMaxPending messages of a group wait for a round; the
// oldest go first (the clients fetch the gap).
func TestBroadcastMaxPending(t *testing.T) {
	b := testBroadcaster(t, 256, 3, time.Minute)
	sink := newHeldSink()
	b.subscribe(&deviceSession{user: "u2", sink: sink}, []string{"g:big"}, false)
	b.add("g:big", msg(1))
	sink.wait(t, "first message")
	for seq := uint64(2); seq <= 7; seq++ {
		b.add("g:big", msg(seq))
	}
	sink.release()
	sink.wait(t, "the held messages")
	if got, want := fmt.Sprint(sink.received()), "[[1] [5 6 7]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

// Unsubscribed, dropped and closed sessions get nothing more; a group
// without subscribers here costs nothing.
func TestBroadcastSubscriptions(t *testing.T) {
	b := testBroadcaster(t, 256, 4096, time.Minute)
	a, c, d := newHeldSink(), newHeldSink(), newHeldSink()
	sa := &deviceSession{user: "a", sink: a}
	sc := &deviceSession{user: "c", sink: c}
	sd := &deviceSession{user: "d", sink: d}
	b.subscribe(sa, []string{"g:big", "g:other"}, false)
	b.subscribe(sc, []string{"g:big"}, false)
	b.subscribe(sd, []string{"g:big"}, false)
	b.subscribe(sa, []string{"g:big"}, true)
	b.drop(sc)
	sd.closed.Store(true)
	b.add("g:big", msg(1))
	b.add("g:nobody", msg(1))
	d.none(t, 100*time.Millisecond, "to a closed session")
	a.none(t, 0, "to an unsubscribed session")
	c.none(t, 0, "to a dropped session")
	b.add("g:other", msg(9))
	a.wait(t, "g:other")
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) != 0 || len(b.subs["g:big"]) != 1 || len(b.byConn[sc]) != 0 {
		t.Fatalf("left: pending %v, g:big subscribers %d, dropped session's groups %v", b.pending, len(b.subs["g:big"]), b.byConn[sc])
	}
}
