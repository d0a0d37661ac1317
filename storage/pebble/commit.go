package pebble

import (
	"context"
	"sync"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// writeOp is one logical write. It runs on the committer goroutine,
// serialised with every other write, so a read-check-write needs no lock: it
// reads through the group's indexed batch (which sees earlier ops of the same
// group and everything committed before) and writes into it. An op that
// returns an error must not have written anything.
type writeOp func(b *pebble.Batch) error

type commitReq struct {
	op   writeOp
	done func(error)
}

// group is one WAL sync's worth of requests.
type group struct {
	batch *pebble.Batch
	reqs  []*commitReq
	errs  []error
}

// committer is the durable group commit: callers enqueue ops into a bounded
// queue (a full queue blocks them: back-pressure), one goroutine drains
// whatever is queued into a single batch and applies it, and a second
// goroutine waits for that batch's WAL fsync and completes its requests.
// Applying group N+1 overlaps with the fsync of group N, so many callers
// share each fsync and the disk's sync rate does not bound the write rate.
type committer struct {
	db       *pebble.DB
	queue    chan *commitReq
	synced   chan *group
	maxOps   int
	maxBytes int

	mu     sync.RWMutex // held shared while enqueueing, exclusively to close
	closed bool
	wg     sync.WaitGroup
}

func newCommitter(db *pebble.DB, queueDepth, maxOps, maxBytes int) *committer {
	c := &committer{
		db:       db,
		queue:    make(chan *commitReq, queueDepth),
		synced:   make(chan *group, 4),
		maxOps:   maxOps,
		maxBytes: maxBytes,
	}
	c.wg.Add(2)
	go c.applyLoop()
	go c.syncLoop()
	return c
}

// submit enqueues op; done is called exactly once.
func (c *committer) submit(ctx context.Context, op writeOp, done func(error)) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		done(storage.ErrClosed)
		return
	}
	select {
	case c.queue <- &commitReq{op: op, done: done}:
	case <-ctx.Done():
		done(ctx.Err())
	}
}

// do runs op and waits until it is durable.
func (c *committer) do(ctx context.Context, op writeOp) error {
	ch := make(chan error, 1)
	c.submit(ctx, op, func(err error) { ch <- err })
	return <-ch
}

func (c *committer) applyLoop() {
	defer c.wg.Done()
	defer close(c.synced)
	for first := range c.queue {
		g := &group{batch: c.db.NewIndexedBatch()}
		c.add(g, first)
	drain:
		for len(g.reqs) < c.maxOps && g.batch.Len() < c.maxBytes {
			select {
			case r, ok := <-c.queue:
				if !ok {
					break drain
				}
				c.add(g, r)
			default:
				break drain
			}
		}
		if g.batch.Empty() {
			c.finish(g, nil)
			continue
		}
		if err := c.db.ApplyNoSyncWait(g.batch, pebble.Sync); err != nil {
			c.finish(g, err)
			continue
		}
		c.synced <- g
	}
}

func (c *committer) add(g *group, r *commitReq) {
	g.reqs = append(g.reqs, r)
	g.errs = append(g.errs, r.op(g.batch))
}

func (c *committer) syncLoop() {
	defer c.wg.Done()
	for g := range c.synced {
		c.finish(g, g.batch.SyncWait())
	}
}

// finish completes every request of g: with its own error if its op failed,
// else with the group's commit error.
func (c *committer) finish(g *group, commitErr error) {
	for i, r := range g.reqs {
		err := g.errs[i]
		if err == nil {
			err = commitErr
		}
		r.done(err)
	}
	_ = g.batch.Close()
}

// close stops accepting requests, completes the queued ones and waits.
func (c *committer) close() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.queue)
	c.mu.Unlock()
	c.wg.Wait()
}
