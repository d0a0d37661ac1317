package transport

import (
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// Lazy frames. Some frames no request waits on: the answer to an ack, a
// DELIVERED signal. Alone, each costs a packet, the client's ACK of it,
// and the work of both on each side; in a chat they are a third of a
// message's packets. So they wait up to Config.CoalesceDelay for another
// frame to the same connection (an answer, a push) and leave in its
// write. The node's one lazyFlusher writes those that found no company
// by then.

// queueLazy adds a frame that may wait for company, at most
// CoalesceDelay; with the delay off it is queued at once.
func (c *conn) queueLazy(m proto.Message) {
	f := c.s.lazy
	if f == nil {
		c.queue(m)
		return
	}
	c.outMu.Lock()
	if c.closed {
		c.outMu.Unlock()
		return
	}
	c.lazy = append(c.lazy, m)
	first := len(c.lazy) == 1
	if first {
		c.lazyGen++
	}
	gen := c.lazyGen
	full := len(c.lazy) >= maxLazyFrames
	if full {
		c.lazyDue = true
	}
	c.outMu.Unlock()
	switch {
	case full:
		c.kick()
	case first:
		f.add(c, gen)
	}
}

// maxLazyFrames lazy frames are written without waiting longer: a client
// that reads slowly cannot make them pile up.
const maxLazyFrames = 64

// takeLazy moves the lazy frames into ctl. Called with outMu held.
func (c *conn) takeLazy(ctl []proto.Message) []proto.Message {
	if len(c.lazy) == 0 {
		return ctl
	}
	ctl = append(ctl, c.lazy...)
	clear(c.lazy)
	c.lazy, c.lazyDue = c.lazy[:0], false
	return ctl
}

// flushLazy writes the lazy frames of generation gen if they are still
// waiting: their delay is over.
func (c *conn) flushLazy(gen uint64) {
	c.outMu.Lock()
	due := len(c.lazy) > 0 && c.lazyGen == gen && !c.closed
	if due {
		c.lazyDue = true
	}
	c.outMu.Unlock()
	if due {
		c.kick()
	}
}

// lazyFlusher writes the lazy frames that found no company within the
// delay. The delay is the same for every connection, so the connections
// fall due in the order their first lazy frame came: a FIFO and one
// goroutine, asleep while nothing waits.
type lazyFlusher struct {
	delay time.Duration

	mu      sync.Mutex
	q       []lazyEntry // due times ascending
	wake    chan struct{}
	stop    chan struct{}
	stopped sync.WaitGroup
}

type lazyEntry struct {
	c   *conn
	gen uint64
	due time.Time
}

func newLazyFlusher(delay time.Duration) *lazyFlusher {
	f := &lazyFlusher{delay: delay, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	f.stopped.Add(1)
	go f.run()
	return f
}

func (f *lazyFlusher) add(c *conn, gen uint64) {
	f.mu.Lock()
	f.q = append(f.q, lazyEntry{c: c, gen: gen, due: time.Now().Add(f.delay)})
	first := len(f.q) == 1
	f.mu.Unlock()
	if first {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

func (f *lazyFlusher) close() {
	close(f.stop)
	f.stopped.Wait()
}

// run flushes the connections as they fall due; those due within an
// eighth of the delay go together, so it wakes at most 8 times a delay.
func (f *lazyFlusher) run() {
	defer f.stopped.Done()
	t := time.NewTimer(time.Hour)
	t.Stop()
	var due []lazyEntry
	for {
		f.mu.Lock()
		var head time.Time
		if len(f.q) > 0 {
			head = f.q[0].due
		}
		f.mu.Unlock()
		if head.IsZero() {
			select {
			case <-f.wake:
				continue
			case <-f.stop:
				return
			}
		}
		if d := time.Until(head); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-f.stop:
				return
			}
		}
		until := time.Now().Add(f.delay / 8)
		f.mu.Lock()
		n := 0
		for n < len(f.q) && !f.q[n].due.After(until) {
			n++
		}
		due = append(due[:0], f.q[:n]...)
		rest := copy(f.q, f.q[n:])
		clear(f.q[rest:])
		f.q = f.q[:rest]
		f.mu.Unlock()
		for i, e := range due {
			e.c.flushLazy(e.gen)
			due[i] = lazyEntry{}
		}
	}
}
