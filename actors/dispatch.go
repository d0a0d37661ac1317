package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// warmDispatcher runs mailbox runs on goroutines that outlive them.
//
// protoactor's default dispatcher starts a fresh goroutine for every
// mailbox run, and a grain's run grows that goroutine's stack from 2 KiB
// to what a store call and a protobuf encode need, every time: stack
// growth (runtime.newstack/copystack) was 5–11% of a node's CPU under
// chat load. Here a goroutine that finished a run waits up to workerIdle
// for the next one and keeps its grown stack; a run that finds no waiting
// goroutine starts a new one, so there is no pool limit and a run that
// blocks never holds up another (no starvation, no deadlock between
// grains that wait on each other).
type warmDispatcher struct {
	throughput int
	idle       chan func() // unbuffered: a send succeeds only when a goroutine waits
}

var _ actor.Dispatcher = (*warmDispatcher)(nil)

// workerIdle is how long a goroutine waits for another mailbox run before
// it exits: long enough to stay warm between a busy node's runs, short
// enough that a burst's goroutines do not linger.
const workerIdle = 2 * time.Second

// mailboxThroughput is protoactor's default: messages per mailbox run
// before the run yields its goroutine.
const mailboxThroughput = 300

func newWarmDispatcher(throughput int) *warmDispatcher {
	return &warmDispatcher{throughput: throughput, idle: make(chan func())}
}

// Schedule runs fn on a waiting goroutine, or on a new one.
func (d *warmDispatcher) Schedule(fn func()) {
	select {
	case d.idle <- fn:
	default:
		go d.work(fn)
	}
}

// Throughput is how many messages a mailbox run processes before it
// yields (protoactor's default is 300).
func (d *warmDispatcher) Throughput() int { return d.throughput }

func (d *warmDispatcher) work(fn func()) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		fn()
		t.Reset(workerIdle)
		select {
		case fn = <-d.idle:
		case <-t.C:
			return
		}
	}
}
