package actors

import (
	"errors"
	"slices"
	"sync"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// fanout delivers a conversation's durable messages to its members' user
// grains from goroutines of its own, so the conversation's mailbox never
// waits on a user grain. Each member has a lane of its own: its jobs run in
// order (seq order in its inbox; a membership notice never overtakes the
// Deliver queued before it), but lanes do not wait for each other, so a
// member whose grain is slow or lived on a dead node holds back nobody
// else. A user grain answers each Deliver once its inbox entry is durable;
// a Deliver that finds the grain moving is retried with backoff (it is
// idempotent), so an acked message reaches every member's inbox.
// Consecutive Delivers waiting in one lane are merged into one.
type fanout struct {
	rt    *Runtime
	slots chan struct{} // one per job queued and not finished: back-pressure

	mu    sync.Mutex
	lanes map[string]*lane // members with jobs queued or running
}

// lane is one member's queue; a goroutine drains it while it is not empty.
type lane struct {
	jobs []fanoutJob // guarded by fanout.mu
}

type fanoutJob struct {
	deliver *pb.Deliver
	notice  *pb.MembershipNotice
	receipt *pb.ReadReceipt
	user    string // receipt target
	slot    bool   // holds one of fanout.slots
}

func (j fanoutJob) target() string {
	switch {
	case j.deliver != nil:
		return j.deliver.User
	case j.notice != nil:
		return j.notice.User
	}
	return j.user
}

// fanoutQueue bounds the jobs queued over all lanes of a conversation;
// past it the conversation blocks, which slows its senders (back-pressure)
// rather than growing memory.
const fanoutQueue = 4096

// laneBatch bounds the jobs one lane takes at once (merged Delivers).
const laneBatch = 1024

// deliverTimeout bounds all the attempts of one Deliver to a moving grain;
// each attempt is bounded by Config.DeliverAttemptTimeout.
const deliverTimeout = 30 * time.Second

// defaultDeliverAttemptTimeout is Config.DeliverAttemptTimeout's default.
const defaultDeliverAttemptTimeout = time.Second

func (c *conversation) startFanout() {
	if c.fanout != nil {
		return
	}
	c.fanout = &fanout{rt: c.rt, slots: make(chan struct{}, fanoutQueue), lanes: map[string]*lane{}}
}

// stopFanout forgets the fan-out; the lanes finish what they hold.
func (c *conversation) stopFanout() {
	c.fanout = nil
}

func (f *fanout) deliver(d *pb.Deliver)         { f.queue(fanoutJob{deliver: d}) }
func (f *fanout) notice(n *pb.MembershipNotice) { f.queue(fanoutJob{notice: n}) }
func (f *fanout) receipt(user string, r *pb.ReadReceipt) {
	f.queue(fanoutJob{receipt: r, user: user})
}

// queue appends the job to its member's lane, starting the lane's
// goroutine when it was idle. The job counts as pending work of the node
// (admission.go) until it is done.
//
// A Deliver or receipt waits for a slot (back-pressure on the senders); a
// membership notice does not: a change of a large group queues one per
// user it names (a crossing of the fan-out threshold one per member), and
// waiting for slots there held the grain's mailbox for as long as
// thousands of user grains took to activate, so its next requests timed
// out. Notices are bounded by the membership they describe and counted
// by admission like every job.
func (f *fanout) queue(j fanoutJob) {
	if j.notice == nil {
		f.slots <- struct{}{}
		j.slot = true
	} else {
		select {
		case f.slots <- struct{}{}:
			j.slot = true
		default:
		}
	}
	f.rt.admit.queued(1)
	user := j.target()
	f.mu.Lock()
	l, running := f.lanes[user]
	if !running {
		l = &lane{}
		f.lanes[user] = l
	}
	l.jobs = append(l.jobs, j)
	f.mu.Unlock()
	if !running {
		f.rt.dispatch.pool.Go(func() { f.drain(user, l) })
	}
}

// drain runs a lane's jobs in order until the lane is empty.
func (f *fanout) drain(user string, l *lane) {
	for {
		f.mu.Lock()
		n := min(len(l.jobs), laneBatch)
		if n == 0 {
			delete(f.lanes, user)
			f.mu.Unlock()
			return
		}
		batch := l.jobs[:n:n]
		l.jobs = l.jobs[n:]
		if len(l.jobs) == 0 {
			l.jobs = nil // let the backing array go
		}
		f.mu.Unlock()
		if err := f.run(user, batch); err != nil {
			f.rt.log.Error("delivery failed", "user", user, "err", err)
		}
		f.finished(batch)
	}
}

// finished gives back the slots of done jobs.
func (f *fanout) finished(batch []fanoutJob) {
	for _, j := range batch {
		if j.slot {
			<-f.slots
		}
	}
	f.rt.admit.done(len(batch))
}

// run sends one member's jobs in order, merging consecutive Delivers
// (messages stay in seq order).
func (f *fanout) run(user string, batch []fanoutJob) error {
	var calls []any
	for _, j := range batch {
		switch {
		case j.deliver != nil:
			d := j.deliver
			if n := len(calls); n > 0 {
				if prev, ok := calls[n-1].(*pb.Deliver); ok {
					// A new Deliver: the queued ones may share their
					// message slices with other members' lanes.
					calls[n-1] = &pb.Deliver{User: d.User, Conv: d.Conv, Kind: d.Kind,
						Messages: slices.Concat(prev.Messages, d.Messages),
						Member:   d.Member, Large: d.Large, LastSeq: d.LastSeq}
					continue
				}
			}
			calls = append(calls, d)
		case j.notice != nil:
			calls = append(calls, j.notice)
		case j.receipt != nil:
			calls = append(calls, j.receipt)
		}
	}
	var err error
	for _, msg := range calls {
		if r, ok := msg.(*pb.ReadReceipt); ok {
			f.rt.tell(KindUser, user, r)
			continue
		}
		err = errors.Join(err, f.call(user, msg))
	}
	return err
}

// call delivers one message to a member's grain. Each attempt is short
// (DeliverAttemptTimeout, doubling per retry): a grain on a node that just
// died never answers, and the sooner its cached PID is dropped the sooner
// the retry finds the grain's new activation.
func (f *fanout) call(user string, msg any) error {
	_, err := f.rt.requestUntil(nil, nil, time.Now().Add(deliverTimeout), KindUser, user, msg, f.rt.cfg.DeliverAttemptTimeout)
	return err
}

// tell sends a grain a message without waiting for an answer (best effort:
// receipts, pushes, notices whose loss a sync repairs). Finding a grain
// not in the cache waits at most DeliverAttemptTimeout: grains tell from
// their own mailbox.
func (n *Runtime) tell(kind, identity string, msg any) {
	if pid, err := n.pid(kind, identity, n.cfg.DeliverAttemptTimeout); err == nil {
		n.system.Root.Send(pid, msg)
	}
}
