package transport

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func push(inbox uint64) *wirepb.Push { return &wirepb.Push{InboxSeq: inbox} }

// The cursor moves only past what the client acknowledged, never past a
// push it did not, nor past dropped entries until a sync covers them.
func TestPushQueueCursor(t *testing.T) {
	q := newPushQueue(3, 100)
	q.start(10, &wirepb.SyncResult{Cursor: 12})
	if w := q.watermark(); w != 10 {
		t.Fatalf("before the first sync is acked: %d", w)
	}
	q.enqueue(push(13), nil)
	q.enqueue(push(14), nil)
	q.enqueue(push(14), nil) // a Deliver of two messages: one inbox entry, two pushes
	if w, _ := q.ack([]uint64{13, 14}, 0); w != 10 {
		t.Fatalf("sync not acked yet: %d", w)
	}
	if w, _ := q.ack(nil, 12); w != 13 {
		t.Fatalf("after the sync ack, 14 still has a push unacked: %d", w)
	}
	if w, _ := q.ack([]uint64{14}, 0); w != 14 {
		t.Fatalf("all acked: %d", w)
	}
	// Acks of unknown entries and sync cursors never served are ignored.
	if w, _ := q.ack([]uint64{99}, 1000); w != 14 {
		t.Fatalf("bogus ack moved the cursor: %d", w)
	}

	// Overflow: the queue holds 3; the 4th drops everything queued.
	q.take(nil, 100)
	for s := uint64(15); s <= 18; s++ {
		q.enqueue(push(s), nil)
	}
	if _, resync, _ := q.take(nil, 100); !resync {
		t.Fatal("no resync due after the overflow")
	}
	q.enqueue(push(19), nil)
	if w, _ := q.ack([]uint64{19}, 0); w != 14 {
		t.Fatalf("cursor passed dropped entries: %d", w)
	}
	q.noteSync(&wirepb.SyncResult{Cursor: 19})
	if w, _ := q.ack(nil, 19); w != 19 {
		t.Fatalf("after the resync: %d", w)
	}
	if w, ok := q.toStore(); !ok || w != 19 {
		t.Fatalf("to store: %d %v", w, ok)
	}
	if _, ok := q.toStore(); ok {
		t.Fatal("stored twice")
	}
}

// A first sync with more pages leaves the cursor until a complete one.
func TestPushQueuePartialFirstSync(t *testing.T) {
	q := newPushQueue(10, 10)
	q.start(0, &wirepb.SyncResult{Cursor: 5, More: true})
	q.enqueue(push(30), nil)
	if w, _ := q.ack([]uint64{30}, 5); w != 5 {
		t.Fatalf("first page acked: %d", w)
	}
	q.noteSync(&wirepb.SyncResult{Cursor: 29})
	if w, _ := q.ack(nil, 29); w != 30 {
		t.Fatalf("complete sync acked: %d", w)
	}
}

// Pending acknowledgements are bounded too.
func TestPushQueueUnackedBound(t *testing.T) {
	q := newPushQueue(100, 2)
	q.start(0, &wirepb.SyncResult{})
	q.enqueue(push(1), nil)
	q.take(nil, 1)
	q.enqueue(push(2), nil)
	q.take(nil, 1)
	if q.enqueue(push(3), nil) {
		t.Fatal("third unacknowledged push accepted")
	}
	if len(q.pending) != 0 || q.watermark() != 0 {
		t.Fatalf("pending %d, watermark %d", len(q.pending), q.watermark())
	}
}

// A large group's shared batch is finished exactly once however it leaves
// the queue: taken (the writer finishes it after writing), dropped by an
// overflow, refused by the full queue, or dropped when the queue closes.
// The broadcaster paces its rounds on it.
func TestPushQueueSharedDone(t *testing.T) {
	q := newPushQueue(2, 100)
	q.start(0, &wirepb.SyncResult{})
	finished := map[string]int{}
	done := func(name string) func() { return func() { finished[name]++ } }
	q.enqueueShared(push(0), []byte{1}, 1, done("taken"))
	items, _, _ := q.take(nil, 10)
	if len(items) != 1 || finished["taken"] != 0 {
		t.Fatalf("take: %d items, finished %v", len(items), finished)
	}
	items[0].finish()

	q.enqueueShared(push(0), []byte{1}, 1, done("queued"))
	q.enqueueShared(push(0), []byte{1}, 1, done("queued"))
	if q.enqueueShared(push(0), []byte{1}, 1, done("overflowing")) {
		t.Fatal("a third item fitted a queue of two")
	}
	q.enqueueShared(push(0), []byte{1}, 1, done("at close"))
	q.close()
	q.enqueueShared(push(0), []byte{1}, 1, done("after close"))
	want := map[string]int{"taken": 1, "queued": 2, "overflowing": 1, "at close": 1, "after close": 1}
	for k, v := range want {
		if finished[k] != v {
			t.Fatalf("finished %v, want %v", finished, want)
		}
	}
}
