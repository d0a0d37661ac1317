package transport

import (
	"math"
	"sort"
	"sync"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// pushQueue holds one connection's pushes between the grains and its
// writer, in arrival order (so in order per conversation: a grain pushes a
// conversation's events in seq order), and decides how far the device
// cursor may move.
//
// Memory is bounded whatever the client does: at most maxQueued pushes
// wait, and at most maxPending inbox entries are tracked as written but
// unacknowledged. Past either bound the queue is dropped, the dropped
// entries are remembered as a "lost" range, and the client is told to
// resync; the cursor never moves past a lost entry until a sync covering it
// is acknowledged.
type pushQueue struct {
	mu         sync.Mutex
	items      []pushItem // FIFO: items[head:] wait
	head       int
	queued     int
	maxQueued  int
	maxPending int
	closed     bool

	pending []pendingEntry // written or queued, not acknowledged; ascending inbox seq
	high    uint64         // highest inbox seq pushed
	floor   uint64         // covered: stored cursor, acknowledged syncs
	lostLo  uint64         // lowest entry not delivered (0: none)
	lostHi  uint64         // highest such entry; unknownLost: up to what existed at connect
	served  uint64         // highest sync cursor answered on this connection
	full    uint64         // highest cursor of a complete (more=false) sync answered
	stored  uint64         // highest cursor written to the store

	resync bool // the queue overflowed: the writer sends Resync next
}

// unknownLost marks entries before the connection whose extent is not
// known; only a complete sync answered after it clears them.
const unknownLost = math.MaxUint64

// pushItem is a queued push, or a large group's batch encoded already
// (frames: shared by the connections of the group's members, count pushes
// back to back; p is the first), with what to call once it was written
// or dropped.
type pushItem struct {
	p      *wirepb.Push
	frames []byte
	count  int
	done   func()
}

// finish calls the item's done, if any.
func (it pushItem) finish() {
	if it.done != nil {
		it.done()
	}
}

type pendingEntry struct {
	inbox uint64
	count int      // pushes carrying this inbox seq (a Deliver of several messages)
	refs  []msgRef // messages from other users, for delivery signals
}

// msgRef names a pushed message, for the DELIVERED signal to its sender.
type msgRef struct {
	conv, sender string
	seq          uint64
}

func newPushQueue(maxQueued, maxPending int) *pushQueue {
	return &pushQueue{maxQueued: maxQueued, maxPending: maxPending}
}

// start sets the cursor state at connect: the device's stored cursor and
// the first sync answer sent in Welcome.
func (q *pushQueue) start(stored uint64, first *wirepb.SyncResult) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.floor, q.stored = stored, stored
	q.noteSyncLocked(first)
	// Everything between the stored cursor and "now" reached the client
	// only as the first sync: not covered until that is acknowledged.
	switch {
	case first.More:
		q.lostLo, q.lostHi = stored+1, unknownLost
	case first.Cursor > stored:
		q.lostLo, q.lostHi = stored+1, first.Cursor
	}
}

func (q *pushQueue) noteSyncLocked(r *wirepb.SyncResult) {
	q.served = max(q.served, r.Cursor)
	if !r.More {
		q.full = max(q.full, r.Cursor)
	}
}

// noteSync records a sync answer sent to the client.
func (q *pushQueue) noteSync(r *wirepb.SyncResult) {
	q.mu.Lock()
	q.noteSyncLocked(r)
	q.mu.Unlock()
}

// enqueue adds a push; it never blocks (it runs on an actor's mailbox).
// It reports false when the queue overflowed (the client will be told to
// resync).
func (q *pushQueue) enqueue(p *wirepb.Push, ref *msgRef) bool {
	return q.add(pushItem{p: p, count: 1}, ref)
}

// enqueueShared adds a large group's batch, encoded already: count pushes
// back to back in frames, the first of them first. done runs once the batch
// was written or dropped.
func (q *pushQueue) enqueueShared(first *wirepb.Push, frames []byte, count int, done func()) bool {
	return q.add(pushItem{p: first, frames: frames, count: count, done: done}, nil)
}

func (q *pushQueue) add(it pushItem, ref *msgRef) bool {
	p := it.p
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		it.finish()
		return true
	}
	if q.queued >= q.maxQueued || len(q.pending) >= q.maxPending {
		dropped := q.dropLocked(p.InboxSeq, len(q.pending) >= q.maxPending)
		q.resync = true
		q.mu.Unlock()
		metricPushOverflows.Inc()
		it.finish()
		finishAll(dropped)
		return false
	}
	q.items = append(q.items, it)
	q.queued++
	if p.InboxSeq > q.floor {
		q.addPendingLocked(p.InboxSeq, ref)
		q.high = max(q.high, p.InboxSeq)
	}
	q.mu.Unlock()
	return true
}

func (q *pushQueue) addPendingLocked(inbox uint64, ref *msgRef) {
	i := sort.Search(len(q.pending), func(i int) bool { return q.pending[i].inbox >= inbox })
	if i == len(q.pending) || q.pending[i].inbox != inbox {
		q.pending = append(q.pending, pendingEntry{})
		copy(q.pending[i+1:], q.pending[i:])
		q.pending[i] = pendingEntry{inbox: inbox}
	}
	q.pending[i].count++
	if ref != nil {
		q.pending[i].refs = append(q.pending[i].refs, *ref)
	}
}

// dropLocked empties the queue (and, when the client stopped
// acknowledging, forgets what it was sent), remembering the lost range. It
// returns the dropped items, to finish once the lock is released.
func (q *pushQueue) dropLocked(trigger uint64, forgetPending bool) []pushItem {
	lost := func(s uint64) {
		if s == 0 || s <= q.floor {
			return
		}
		if q.lostLo == 0 || s < q.lostLo {
			q.lostLo = s
		}
		if q.lostHi != unknownLost {
			q.lostHi = max(q.lostHi, s)
		}
	}
	lost(trigger)
	q.high = max(q.high, trigger)
	if forgetPending {
		for _, e := range q.pending {
			lost(e.inbox)
		}
		q.pending = nil
	}
	dropped := q.items[q.head:]
	for _, it := range dropped {
		lost(it.p.InboxSeq)
	}
	q.items, q.head, q.queued = nil, 0, 0
	// A complete sync answered before the loss does not cover it.
	q.full = 0
	return dropped
}

// finishAll finishes dropped items.
func finishAll(items []pushItem) {
	for _, it := range items {
		it.finish()
	}
}

// take moves up to max waiting pushes to dst, in order, and reports
// whether a Resync is due (with the cursor to name in it): the queue
// overflowed since the last take.
func (q *pushQueue) take(dst []pushItem, max int) (out []pushItem, resync bool, cursor uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(max, len(q.items)-q.head)
	dst = append(dst, q.items[q.head:q.head+n]...)
	clear(q.items[q.head : q.head+n])
	q.head += n
	q.queued -= n
	if q.head == len(q.items) {
		// Reuse the array while it is small; let a burst's go.
		if cap(q.items) > 256 {
			q.items = nil
		} else {
			q.items = q.items[:0]
		}
		q.head = 0
	}
	if q.resync {
		q.resync = false
		return dst, true, q.watermarkLocked()
	}
	return dst, false, 0
}

// ack applies an AckRequest and returns the cursor the device may be
// moved to, and the messages now known delivered.
func (q *pushQueue) ack(inboxSeqs []uint64, syncCursor uint64) (uint64, []msgRef) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var delivered []msgRef
	for _, s := range inboxSeqs {
		i := sort.Search(len(q.pending), func(i int) bool { return q.pending[i].inbox >= s })
		if i == len(q.pending) || q.pending[i].inbox != s {
			continue // unknown, already covered, or forgotten: harmless
		}
		if q.pending[i].count--; q.pending[i].count <= 0 {
			delivered = append(delivered, q.pending[i].refs...)
			q.pending = append(q.pending[:i], q.pending[i+1:]...)
		}
	}
	if syncCursor > 0 {
		s := min(syncCursor, q.served) // only what this connection was told
		q.floor = max(q.floor, s)
		i := sort.Search(len(q.pending), func(i int) bool { return q.pending[i].inbox > s })
		q.pending = append(q.pending[:0], q.pending[i:]...)
		switch {
		case q.lostLo == 0:
		case q.lostHi != unknownLost && s >= q.lostHi,
			q.lostHi == unknownLost && q.full > 0 && s >= q.full:
			q.lostLo, q.lostHi = 0, 0
		case q.lostLo <= s:
			q.lostLo = s + 1
		}
	}
	return q.watermarkLocked(), delivered
}

func (q *pushQueue) watermarkLocked() uint64 {
	w := max(q.high, q.floor)
	if len(q.pending) > 0 {
		w = min(w, q.pending[0].inbox-1)
	}
	if q.lostLo > 0 {
		w = min(w, q.lostLo-1)
	}
	return max(w, q.floor)
}

// watermark is the cursor the device may be moved to now.
func (q *pushQueue) watermark() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.watermarkLocked()
}

// toStore returns the cursor to write if it moved past what was stored,
// and records it as stored.
func (q *pushQueue) toStore() (uint64, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	w := q.watermarkLocked()
	if w <= q.stored {
		return 0, false
	}
	q.stored = w
	return w, true
}

// storedCursor returns the cursor the device may be moved to now and the
// one last stored.
func (q *pushQueue) storedCursor() (now, stored uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.watermarkLocked(), q.stored
}

// close drops everything; later enqueues are ignored.
func (q *pushQueue) close() {
	q.mu.Lock()
	q.closed = true
	dropped := q.items[q.head:]
	q.items, q.head, q.queued = nil, 0, 0
	q.mu.Unlock()
	finishAll(dropped)
}
