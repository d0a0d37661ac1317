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
