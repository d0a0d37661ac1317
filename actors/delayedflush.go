package actors

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// delayedFlushes holds the user grains whose cursor-only flush waits
// CursorFlushDelay, and tells them all at once when it has passed for the
// first of them: one timer for the runtime, armed only while a grain
// waits, instead of a timer and a goroutine per flush (a device's cursor
// ack follows every push). A grain asked later in the window flushes
// sooner than the delay, never later.
type delayedFlushes struct {
	delay time.Duration
	send  func(*actor.PID) // sends the grain its flushInbox

	mu      sync.Mutex
	waiting []*actor.PID
	spare   []*actor.PID // the last batch's slice, for the next
	timer   *time.Timer
}

func newDelayedFlushes(delay time.Duration, send func(*actor.PID)) *delayedFlushes {
	d := &delayedFlushes{delay: delay, send: send}
	d.timer = time.AfterFunc(time.Hour, d.fire)
	d.timer.Stop()
	return d
}

// add asks for pid's flush after at most the delay.
func (d *delayedFlushes) add(pid *actor.PID) {
	d.mu.Lock()
	d.waiting = append(d.waiting, pid)
	if len(d.waiting) == 1 {
		d.timer.Reset(d.delay)
	}
	d.mu.Unlock()
}

// fire sends every waiting grain its flush. A fire that overlaps another
// takes a fresh slice, so no two batches share one.
func (d *delayedFlushes) fire() {
	d.mu.Lock()
	batch := d.waiting
	d.waiting, d.spare = d.spare[:0], nil
	d.mu.Unlock()
	for i, pid := range batch {
		d.send(pid)
		batch[i] = nil
	}
	d.mu.Lock()
	d.spare = batch[:0]
	d.mu.Unlock()
}

// stop disarms the timer; flushes still waiting are not sent (their
// grains stop with the runtime).
func (d *delayedFlushes) stop() { d.timer.Stop() }
