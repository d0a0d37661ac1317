package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Grain passivation. protoactor's receive timeout is not used: its timer
// callback cancels the timer from the timer's goroutine while the mailbox
// goroutine resets it, a data race, and it costs a runtime timer and a
// closure per grain. Instead each grain stamps its own idleStamp with the
// sweeper's coarse clock on every message, and one goroutine per node
// walks the stamps every sweep and sends a passivation check to the grains
// whose stamp is older than the idle timeout. The grain decides on its own
// goroutine whether to stop: the timer goroutine never touches grain state.
//
// A grain is checked after it was idle for at least IdleTimeout and at
// most IdleTimeout plus one sweep (IdleTimeout/idleSweepsPerTimeout).

// idleSweepsPerTimeout is how many sweeps one idle timeout spans: the
// passivation lag beyond IdleTimeout is at most one sweep.
const idleSweepsPerTimeout = 4

// idleStamp is embedded in a grain. last and checking are the only fields
// the sweeper reads or writes, both atomically.
type idleStamp struct {
	pid  *actor.PID
	last atomic.Int64 // sweeper tick of the grain's last message
	// checking: an idleCheck is on its way to the grain; the sweeper
	// sends no other until the grain handled it.
	checking atomic.Bool
}

// idleCheck asks a grain whether it may passivate.
type idleCheck struct{}

type idleSweeper struct {
	every time.Duration // one sweep
	// limit: a grain is checked once more than this many sweeps went by
	// since the sweep its last message came in (the stamp is one sweep
	// coarse, so one more than the timeout's worth of sweeps).
	limit int64
	tick  atomic.Int64 // sweeps since start: the grains' clock
	send  func(*actor.PID, any)

	mu     sync.Mutex
	grains map[*idleStamp]struct{}
	stop   chan struct{}
	done   chan struct{}
}

func newIdleSweeper(timeout time.Duration) *idleSweeper {
	every := max(timeout/idleSweepsPerTimeout, time.Millisecond)
	return &idleSweeper{every: every, limit: int64((timeout + every - 1) / every), grains: map[*idleStamp]struct{}{}}
}

// start runs the sweeps; send delivers a check to a grain.
func (s *idleSweeper) start(send func(*actor.PID, any)) {
	s.send = send
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.run()
}

func (s *idleSweeper) close() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	<-s.done
	s.stop = nil
}

func (s *idleSweeper) run() {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	var due []*actor.PID
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := s.tick.Add(1)
		due = due[:0]
		s.mu.Lock()
		for g := range s.grains {
			if now-g.last.Load() > s.limit && !g.checking.Swap(true) {
				due = append(due, g.pid)
			}
		}
		s.mu.Unlock()
		for _, pid := range due {
			s.send(pid, idleCheck{})
		}
		clear(due)
	}
}

// add starts watching a grain (at its activation, on its goroutine).
func (s *idleSweeper) add(g *idleStamp, pid *actor.PID) {
	g.pid = pid
	g.last.Store(s.tick.Load())
	s.mu.Lock()
	s.grains[g] = struct{}{}
	s.mu.Unlock()
}

// remove stops watching a grain (once it stopped).
func (s *idleSweeper) remove(g *idleStamp) {
	s.mu.Lock()
	delete(s.grains, g)
	s.mu.Unlock()
}

// touch records activity: the grain is not checked for another timeout.
func (s *idleSweeper) touch(g *idleStamp) {
	if now := s.tick.Load(); g.last.Load() != now {
		g.last.Store(now)
	}
}

// idle is called by the grain on an idleCheck: whether nothing reached it
// for the idle timeout. A grain that stays although idle (busy, or
// online) calls touch to be checked again a timeout later.
func (s *idleSweeper) idle(g *idleStamp) bool {
	g.checking.Store(false)
	return s.tick.Load()-g.last.Load() > s.limit
}

// watched is how many grains the sweeper watches (tests).
func (s *idleSweeper) watched() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.grains)
}
