package actors

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// A protoactor future per grain request costs a registry entry (a fresh
// id string, an insert and a delete in a sharded map), a condition
// variable, a runtime timer and the future itself: about a fifth of the
// objects a chat message allocated. A request only needs somewhere its one
// answer can land. replyBox is that place for all of a runtime's requests:
// one process registered once, and an answer finds its waiting request by
// the request id its reply address carries (protoactor's PID.RequestId,
// which remoting carries across members as it does for futures).
//
// A request id is waited on by one request only and forgotten when that
// request ends, so an answer that comes after its request timed out (or a
// grain's second answer) finds nothing and is dropped: it can never be
// taken for the answer to a later request.

// replyBoxName is the reply box's process id in the actor system.
const replyBoxName = "$replies"

// replyShards spreads the waiting requests over this many locks.
const replyShards = 16

type replyBox struct {
	system *actor.ActorSystem
	next   atomic.Uint32
	shards [replyShards]replyShard
	pool   sync.Pool // of *replyWaiter
}

type replyShard struct {
	mu      sync.Mutex
	waiting map[uint32]*replyWaiter
	_       [40]byte // keep shards on separate cache lines
}

// replyWaiter is one waiting request: its answer's channel (room for the
// one answer, so the sender never blocks) and its time-out's timer, both
// reused by the next request that takes the waiter from the pool.
type replyWaiter struct {
	answer chan any
	timer  *time.Timer
}

// newReplyBox registers a reply box in system.
func newReplyBox(system *actor.ActorSystem) *replyBox {
	b := &replyBox{system: system}
	for i := range b.shards {
		b.shards[i].waiting = map[uint32]*replyWaiter{}
	}
	b.pool.New = func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return &replyWaiter{answer: make(chan any, 1), timer: t}
	}
	system.ProcessRegistry.Add(replyBoxProcess{b}, replyBoxName)
	return b
}

// open makes a reply address for one request. The caller sends its
// request with that address as the sender, then calls wait exactly once.
func (b *replyBox) open() (*actor.PID, *replyWaiter) {
	w := b.pool.Get().(*replyWaiter)
	for {
		id := b.next.Add(1)
		if id == 0 {
			continue // 0 is a PID without a request id
		}
		s := &b.shards[id%replyShards]
		s.mu.Lock()
		if _, taken := s.waiting[id]; taken { // only after 2³² requests, one still waiting
			s.mu.Unlock()
			continue
		}
		s.waiting[id] = w
		s.mu.Unlock()
		return &actor.PID{Address: b.system.Address(), Id: replyBoxName, RequestId: id}, w
	}
}

// wait returns the answer to the request sent from `from`, or
// actor.ErrTimeout after timeout, or actor.ErrDeadLetter when the request
// found no one to answer it.
func (b *replyBox) wait(from *actor.PID, w *replyWaiter, timeout time.Duration) (any, error) {
	var res any
	w.timer.Reset(timeout)
	select {
	case res = <-w.answer:
		w.timer.Stop()
	case <-w.timer.C:
		if b.take(from.RequestId) != nil {
			b.pool.Put(w) // no answer will ever be put in it now
			return nil, actor.ErrTimeout
		}
		res = <-w.answer // the answer came as the timer fired: it is being put
	}
	b.pool.Put(w)
	if _, ok := res.(*actor.DeadLetterResponse); ok {
		return nil, actor.ErrDeadLetter
	}
	return res, nil
}

// take removes and returns the request waiting on id, nil when none is.
func (b *replyBox) take(id uint32) *replyWaiter {
	s := &b.shards[id%replyShards]
	s.mu.Lock()
	w := s.waiting[id]
	if w != nil {
		delete(s.waiting, id)
	}
	s.mu.Unlock()
	return w
}

// deliver hands an answer to the request waiting on id; an answer nobody
// waits for (the request timed out, or it was answered already) is dropped.
func (b *replyBox) deliver(id uint32, msg any) {
	if w := b.take(id); w != nil {
		w.answer <- msg
	}
}

// replyBoxProcess is the box as the actor system's registry sees it.
type replyBoxProcess struct{ b *replyBox }

func (p replyBoxProcess) SendUserMessage(pid *actor.PID, message any) {
	p.b.deliver(pid.RequestId, actor.UnwrapEnvelopeMessage(message))
}

// SendSystemMessage: a future takes a system message for its answer; so
// does the box, for the same callers.
func (p replyBoxProcess) SendSystemMessage(pid *actor.PID, message any) {
	p.b.deliver(pid.RequestId, message)
}

func (p replyBoxProcess) Stop(*actor.PID) {}
