package pebblestore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

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
	app  *appendInfo // set for message appends
}

// group is one WAL sync's worth of requests.
type group struct {
	batch  *pebble.Batch
	reqs   []*commitReq
	errs   []error
	commit uint64 // the commit counter this group writes (see metaCommitKey)
}

// commitHost is the store as the committer sees it.
type commitHost interface {
	// beginGroup returns the database to apply the next group to and holds
	// it until release; ErrUnavailable when writes are refused now.
	beginGroup() (db *pebble.DB, release func(), err error)
	// walFailed reports a failed apply or WAL sync: the store stops
	// writing, hides what the failed groups wrote and recovers. panicked
	// says Pebble panicked, which leaves its commit pipeline locked.
	walFailed(err error, failed []*appendInfo, panicked bool)
	// groupFailed reports that a group whose ops ran was not applied:
	// what the ops cached of their writes is void (committer goroutine).
	groupFailed()
	// durable reports that the group with this commit counter is synced.
	durable(commit uint64)
	// nextCommit returns the next commit counter (committer goroutine only).
	nextCommit() uint64
	// hide keeps appends from readers until unhide (after their sync).
	hide(apps []*appendInfo)
	unhide(apps []*appendInfo)
}

// committer is the durable group commit: callers enqueue ops into a bounded
// queue (a full queue blocks them: back-pressure), one goroutine drains
// whatever is queued into a single batch and applies it, and a second
// goroutine waits for that batch's WAL fsync and completes its requests.
// Applying group N+1 overlaps with the fsync of group N, so many callers
// share each fsync and the disk's sync rate does not bound the write rate.
//
// I/O errors never panic: Pebble's WAL errors are sticky (every later sync
// fails, and a later WAL write panics), so after the first one the host
// stops handing out the database until it has reopened it.
type committer struct {
	host     commitHost
	queue    chan *commitReq
	synced   chan *group
	maxOps   int
	maxBytes int
	inflight atomic.Int64 // groups applied and not yet finished

	mu     sync.RWMutex // held shared while enqueueing, exclusively to close
	closed bool
	wg     sync.WaitGroup
}

func newCommitter(host commitHost, queueDepth, maxOps, maxBytes int) *committer {
	c := &committer{
		host:     host,
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
func (c *committer) submit(ctx context.Context, op writeOp, app *appendInfo, done func(error)) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		done(storage.ErrClosed)
		return
	}
	select {
	case c.queue <- &commitReq{op: op, done: done, app: app}:
	case <-ctx.Done():
		done(ctx.Err())
	}
}

// do runs op and waits until it is durable.
func (c *committer) do(ctx context.Context, op writeOp) error {
	ch := make(chan error, 1)
	c.submit(ctx, op, nil, func(err error) { ch <- err })
	return <-ch
}

func (c *committer) applyLoop() {
	defer c.wg.Done()
	defer close(c.synced)
	for first := range c.queue {
		db, release, err := c.host.beginGroup()
		if err != nil {
			// Refuse at once what was queued before the check: callers
			// learn quickly and nothing waits behind a full disk. Later
			// requests get a fresh check.
			n := len(c.queue)
			first.done(err)
			c.refuseQueued(n, err)
			continue
		}
		g := &group{batch: db.NewIndexedBatch()}
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
			release()
			c.finish(g, nil)
			continue
		}
		g.commit = c.host.nextCommit()
		if err := g.batch.Set(metaCommitKey, appendUint64(nil, g.commit), nil); err != nil {
			c.host.groupFailed()
			release()
			c.finish(g, err)
			continue
		}
		// Hidden before the batch becomes visible, shown after its sync.
		c.host.hide(g.appends())
		if err, panicked := apply(db, g.batch); err != nil {
			c.host.groupFailed()
			release()
			c.host.walFailed(err, g.appends(), panicked)
			c.finish(g, unavailable("write-ahead log", err))
			continue
		}
		c.inflight.Add(1)
		release()
		c.synced <- g
	}
}

// apply applies b without waiting for its fsync, turning a Pebble panic
// (it panics on a WAL write error and on a fatal commit error) into an error.
func apply(db *pebble.DB, b *pebble.Batch) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			_, fatalf := r.(fatalPanic)
			err, panicked = fmt.Errorf("pebble failed applying a batch: %v", r), !fatalf
		}
	}()
	return db.ApplyNoSyncWait(b, pebble.Sync), false
}

func (c *committer) refuseQueued(n int, err error) {
	for range n {
		select {
		case r, ok := <-c.queue:
			if !ok {
				return
			}
			r.done(err)
		default:
			return
		}
	}
}

func (c *committer) add(g *group, r *commitReq) {
	g.reqs = append(g.reqs, r)
	g.errs = append(g.errs, r.op(g.batch))
}

// appends are the group's message appends whose ops succeeded.
func (g *group) appends() []*appendInfo {
	var out []*appendInfo
	for i, r := range g.reqs {
		if r.app != nil && g.errs[i] == nil {
			out = append(out, r.app)
		}
	}
	return out
}

func (c *committer) syncLoop() {
	defer c.wg.Done()
	for g := range c.synced {
		err := g.batch.SyncWait()
		if err != nil {
			// Stays hidden: the reopen deletes its rows, then shows.
			c.host.walFailed(err, g.appends(), false)
			err = unavailable("write-ahead log sync", err)
		} else {
			c.host.unhide(g.appends())
			c.host.durable(g.commit)
		}
		c.finish(g, err)
		c.inflight.Add(-1)
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

// unavailable wraps an I/O error as storage.ErrUnavailable.
func unavailable(what string, err error) error {
	return fmt.Errorf("%w: %s failed, nothing of this write was acknowledged: %v", storage.ErrUnavailable, what, err)
}
