package transport

import (
	"container/heap"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// expiries closes connections when their token expires, with one runtime
// timer per server instead of one per connection: the Go runtime scans
// every timer of a P whenever one is moved earlier, which quic-go does for
// each packet it acknowledges, so 10,000 idle connections' timers that
// never fire cost a node CPU all the time (docs/PERFORMANCE.md).
type expiries struct {
	mu    sync.Mutex
	h     expiryHeap
	timer *time.Timer
	next  time.Time // when timer fires; zero: stopped
}

// add schedules c's close at its token's expiry.
func (e *expiries) add(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	heap.Push(&e.h, c)
	e.armLocked()
}

// remove forgets c (it ended before its token expired).
func (e *expiries) remove(c *conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.expiryIdx >= 0 {
		heap.Remove(&e.h, c.expiryIdx)
		e.armLocked()
	}
}

// armLocked sets the timer to the earliest expiry.
func (e *expiries) armLocked() {
	if len(e.h) == 0 {
		if e.timer != nil {
			e.timer.Stop()
		}
		e.next = time.Time{}
		return
	}
	at := e.h[0].id.Expires
	if at.Equal(e.next) {
		return
	}
	e.next = at
	if e.timer == nil {
		e.timer = time.AfterFunc(time.Until(at), e.fire)
		return
	}
	e.timer.Reset(time.Until(at))
}

// fire closes every connection whose token has expired.
func (e *expiries) fire() {
	now := time.Now()
	var due []*conn
	e.mu.Lock()
	for len(e.h) > 0 && !e.h[0].id.Expires.After(now) {
		due = append(due, heap.Pop(&e.h).(*conn))
	}
	e.next = time.Time{}
	e.armLocked()
	e.mu.Unlock()
	for _, c := range due {
		go c.close(wirepb.Errorf(wirepb.Code_TOKEN_EXPIRED, "token expired"))
	}
}

// expiryHeap orders connections by token expiry (container/heap).
type expiryHeap []*conn

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].id.Expires.Before(h[j].id.Expires) }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].expiryIdx, h[j].expiryIdx = i, j
}
func (h *expiryHeap) Push(x any) {
	c := x.(*conn)
	c.expiryIdx = len(*h)
	*h = append(*h, c)
}
func (h *expiryHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.expiryIdx = -1
	return c
}
