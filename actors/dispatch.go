package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/internal/warm"
)

// warmDispatcher runs mailbox runs on goroutines that outlive them.
//
// protoactor's default dispatcher starts a fresh goroutine for every
// mailbox run, and a grain's run grows that goroutine's stack from 2 KiB
// to what a store call and a protobuf encode need, every time: stack
// growth was 5–11% of a node's CPU under chat load. A warm pool keeps the
// grown stacks (internal/warm).
type warmDispatcher struct {
	throughput int
	pool       *warm.Pool
}

var _ actor.Dispatcher = (*warmDispatcher)(nil)

// mailboxThroughput is protoactor's default: messages per mailbox run
// before the run yields its goroutine.
const mailboxThroughput = 300

func newWarmDispatcher(throughput int) *warmDispatcher {
	return &warmDispatcher{throughput: throughput, pool: warm.New()}
}

// Schedule runs fn on a waiting goroutine, or on a new one.
func (d *warmDispatcher) Schedule(fn func()) { d.pool.Go(fn) }

// Throughput is how many messages a mailbox run processes before it
// yields (protoactor's default is 300).
func (d *warmDispatcher) Throughput() int { return d.throughput }
