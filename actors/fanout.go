package actors

import (
	"context"
	"errors"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// fanout delivers a conversation's durable messages to its members' user
// grains from a goroutine of its own, so the conversation's mailbox never
// waits on a user grain. Jobs run in order; a user grain answers each
// Deliver once its inbox entry is durable, and a Deliver that finds the
// grain moving is retried with backoff, so an acked message reaches every
// member's inbox. Queued jobs are merged: one Deliver per member per round.
type fanout struct {
	rt   *Runtime
	jobs chan fanoutJob
	done chan struct{}
}

type fanoutJob struct {
	deliver *pb.Deliver
	notice  *pb.MembershipNotice
	receipt *pb.ReadReceipt
	user    string // receipt target
}

// fanoutQueue bounds the jobs waiting; past it the conversation blocks,
// which slows its senders (back-pressure) rather than growing memory.
const fanoutQueue = 4096

// deliverAttempts bounds the retries of one Deliver to a moving grain.
const deliverTimeout = 30 * time.Second

func (c *conversation) startFanout() {
	if c.fanout != nil {
		return
	}
	c.fanout = &fanout{rt: c.rt, jobs: make(chan fanoutJob, fanoutQueue), done: make(chan struct{})}
	go c.fanout.run()
}

func (c *conversation) stopFanout() {
	if c.fanout != nil {
		close(c.fanout.jobs)
		c.fanout = nil
	}
}

func (f *fanout) deliver(d *pb.Deliver)         { f.queue(fanoutJob{deliver: d}) }
func (f *fanout) notice(n *pb.MembershipNotice) { f.queue(fanoutJob{notice: n}) }
func (f *fanout) receipt(user string, r *pb.ReadReceipt) {
	f.queue(fanoutJob{receipt: r, user: user})
}

// queue counts the job as pending work of the node (admission.go) until
// its round is done.
func (f *fanout) queue(j fanoutJob) {
	f.rt.admit.queued(1)
	f.jobs <- j
}

func (f *fanout) run() {
	defer close(f.done)
	for job := range f.jobs {
		round := []fanoutJob{job}
	drain:
		for len(round) < 1024 {
			select {
			case j, ok := <-f.jobs:
				if !ok {
					break drain
				}
				round = append(round, j)
			default:
				break drain
			}
		}
		f.runRound(round)
		f.rt.admit.done(len(round))
	}
}

// runRound merges a round's Delivers per user (messages stay in seq order)
// and sends everything concurrently, then waits for every answer.
func (f *fanout) runRound(round []fanoutJob) {
	// Per user, calls keep their order (a membership notice must not
	// overtake the Deliver queued before it); consecutive Delivers merge.
	var users []string
	calls := map[string][]any{}
	for _, j := range round {
		switch {
		case j.deliver != nil:
			d := j.deliver
			list := calls[d.User]
			if len(list) == 0 {
				users = append(users, d.User)
			}
			if n := len(list); n > 0 {
				if prev, ok := list[n-1].(*pb.Deliver); ok {
					prev.Messages = append(prev.Messages, d.Messages...)
					prev.Member, prev.LastSeq, prev.Large = d.Member, d.LastSeq, d.Large
					continue
				}
			}
			calls[d.User] = append(list, d)
		case j.notice != nil:
			if len(calls[j.notice.User]) == 0 {
				users = append(users, j.notice.User)
			}
			calls[j.notice.User] = append(calls[j.notice.User], j.notice)
		case j.receipt != nil:
			f.rt.tell(KindUser, j.user, j.receipt)
		}
	}
	errs := make(chan error, len(users))
	for _, user := range users {
		go func() {
			var err error
			for _, msg := range calls[user] {
				err = errors.Join(err, f.call(user, msg))
			}
			errs <- err
		}()
	}
	for range users {
		if err := <-errs; err != nil {
			f.rt.log.Error("delivery failed", "err", err)
		}
	}
}

func (f *fanout) call(user string, msg any) error {
	ctx, cancel := context.WithTimeout(context.Background(), deliverTimeout)
	defer cancel()
	_, err := f.rt.request(ctx, KindUser, user, msg)
	return err
}

// tell sends a grain a message without waiting (best effort: receipts,
// pushes, notices whose loss a sync repairs).
func (n *Runtime) tell(kind, identity string, msg any) {
	if pid := n.pid(kind, identity); pid != nil {
		n.system.Root.Send(pid, msg)
	}
}
