package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// traffic is the message-sending part shared by chat, group and soak:
// senders on an open-loop schedule, recipients that verify what arrives.
type traffic struct {
	start    time.Time // intended send times are offsets from here
	bodySize int
	senders  []*sender
	c        counters
	ack, dlv *latency
	errs     *errCount

	// acksOnly: this process only sends (the sender process of a split
	// run); settle waits for acks, the deliveries are the parent's.
	acksOnly bool

	ready atomic.Int64 // senders set up; messages of others are ignored
	// drained: the drain is over and the verdict is being taken. Messages
	// that arrive from now on (late pushes, or the final resync's own
	// history reads through a recipient's client) are not deliveries: the
	// final resync alone says whether they were late or never delivered.
	drained              atomic.Bool
	unique               atomic.Int64 // deliveries counted once, warm-up included
	dups, ooo, reordered atomic.Int64
}

func newTraffic(bodySize int, errs *errCount) *traffic {
	return &traffic{start: time.Now(), bodySize: bodySize, ack: newLatency(), dlv: newLatency(), errs: errs}
}

// sender sends one stream of numbered messages to one target.
type sender struct {
	idx    int
	c      *client.Client
	to     client.Target
	recips []*recipient
	self   *recipient // the sending user as a recipient (group only)
	// fanout is the deliveries one acked message owes: len(recips), or
	// in a sender process the count the parent gave.
	fanout int
	next   uint64 // the last number used; the scheduler's alone

	mu     sync.Mutex
	cond   *sync.Cond
	queue  []pendingSend
	busy   int // sends queued or being waited for
	closed bool
	acked  []uint64 // bitset of acknowledged numbers
}

type pendingSend struct {
	p        *client.Pending
	n        uint64
	intended time.Duration
	warmup   bool
}

func (t *traffic) addSender(c *client.Client, to client.Target, recips []*recipient) *sender {
	s := &sender{idx: len(t.senders), c: c, to: to, recips: recips, fanout: len(recips)}
	s.cond = sync.NewCond(&s.mu)
	t.senders = append(t.senders, s)
	return s
}

// onEvent makes the event handler of a receiving client.
func (t *traffic) onEvent(r *recipient, me string, shard int) func(client.Event) {
	return func(e client.Event) {
		if r.handedOff.Load() {
			return
		}
		switch e.Kind {
		case client.EventDisconnected:
			r.resyncing.Store(true)
			r.disturbed.Store(true)
			r.epoch.Add(1)
			t.errs.add("disconnects")
		case client.EventSynced:
			r.epoch.Add(1)
			r.resyncing.Store(false)
		case client.EventMembership:
			r.joined.Add(1)
		case client.EventMessage:
			if t.drained.Load() {
				return
			}
			m := e.Message
			if m == nil || m.Sender == me || m.Kind != wirepb.MessageKind_NORMAL {
				return
			}
			h, err := parseHeader(m.Body)
			if err != nil || int64(h.sender) >= t.ready.Load() {
				return
			}
			now := time.Since(t.start)
			switch r.receive(h.sender, h.n, m.Seq) {
			case duplicate:
				t.dups.Add(1)
				return
			case outOfOrder:
				t.ooo.Add(1)
			case reordered:
				t.reordered.Add(1)
			}
			t.unique.Add(1)
			if !h.warmup {
				t.c.delivered.Add(1)
				t.dlv.record(shard, now-h.intended)
			}
		}
	}
}

// send queues message number next+1 of s, meant to go at intended.
func (t *traffic) send(s *sender, intended time.Duration, warmup bool) {
	s.next++
	n := s.next
	body := header{warmup: warmup, sender: s.idx, n: n, intended: intended}.encode(t.bodySize)
	p, err := s.c.Send(s.to, body, "")
	if err != nil {
		t.c.failed.Add(1)
		t.errs.addErr(err)
		return
	}
	if !warmup {
		t.c.sent.Add(1)
	}
	s.mu.Lock()
	s.queue = append(s.queue, pendingSend{p: p, n: n, intended: intended, warmup: warmup})
	s.busy++
	s.mu.Unlock()
	s.cond.Signal()
}

// waitAcks records the outcome of s's sends as they complete. Sends to
// one conversation complete in order, so waiting in order costs nothing.
func (t *traffic) waitAcks(s *sender) {
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.queue) == 0 {
			s.mu.Unlock()
			return
		}
		ps := s.queue[0]
		s.queue = s.queue[1:]
		s.mu.Unlock()
		m, err := ps.p.Wait(context.Background())
		now := time.Since(t.start)
		_ = m
		if wirepb.CodeOf(err) == wirepb.Code_BUSY {
			// Refused at the door: not a fault, and nothing to deliver.
			if !ps.warmup {
				t.c.refused.Add(1)
				if errors.Is(err, client.ErrHeldBusy) {
					t.c.refusedLocal.Add(1)
				}
			}
		} else if err != nil {
			t.c.failed.Add(1)
			t.errs.addErr(err)
		} else {
			t.c.expected.Add(int64(s.fanout))
			if !ps.warmup {
				t.c.acked.Add(1)
				t.ack.record(s.idx, now-ps.intended)
			}
		}
		s.mu.Lock()
		if err == nil {
			i := ps.n / 64
			for uint64(len(s.acked)) <= i {
				s.acked = append(s.acked, 0)
			}
			s.acked[i] |= 1 << (ps.n % 64)
		}
		s.busy-- // only now: settle must not see an empty queue before the ack counts
		s.mu.Unlock()
	}
}

func (s *sender) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

func (t *traffic) startAckWaiters() {
	for _, s := range t.senders {
		go t.waitAcks(s)
	}
}

func (t *traffic) stopAckWaiters() {
	for _, s := range t.senders {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cond.Broadcast()
	}
}

// warmup sends one message per sender and waits until all are acked and
// delivered: connections, grains and group subscriptions are then in
// place before anything is measured.
func (t *traffic) warmup(ctx context.Context, timeout time.Duration) error {
	for _, s := range t.senders {
		t.send(s, time.Since(t.start), true)
	}
	return t.settle(ctx, timeout)
}

// settle waits until every queued send completed and every acked message
// reached all its recipients, or timeout.
func (t *traffic) settle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		busy := 0
		for _, s := range t.senders {
			busy += s.pending()
		}
		if busy == 0 && (t.acksOnly || t.unique.Load() >= t.c.expected.Load()) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("not everything was acknowledged and delivered in time")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// schedule sends at rate messages/s for dur, round robin over the
// senders (so each sends evenly spaced), open loop: a send is due at its
// intended time whatever happened to the ones before, and its latency is
// taken from that time, so a stalled server shows as latency rather than
// as a slower schedule (no coordinated omission).
func (t *traffic) schedule(ctx context.Context, rate float64, dur time.Duration) {
	if rate <= 0 || len(t.senders) == 0 {
		return
	}
	begin := time.Since(t.start)
	var k int64
	for {
		now := time.Since(t.start) - begin
		for {
			at := time.Duration(float64(k) / rate * float64(time.Second))
			if at >= dur {
				return
			}
			if at > now {
				break
			}
			t.send(t.senders[k%int64(len(t.senders))], begin+at, false)
			k++
		}
		next := time.Duration(float64(k)/rate*float64(time.Second)) - (time.Since(t.start) - begin)
		select {
		case <-ctx.Done():
			return
		case <-time.After(max(next, 100*time.Microsecond)):
		}
	}
}

// lost counts acknowledged messages some online recipient never got, and
// names a few of them (recipient, sender, numbers) for the report.
func (t *traffic) lost() (int64, []string) {
	var n int64
	var sample []string
	for _, s := range t.senders {
		s.mu.Lock()
		acked := append([]uint64(nil), s.acked...)
		s.mu.Unlock()
		for _, r := range s.recips {
			k, first := r.missing(s.idx, acked)
			n += k
			if k > 0 && len(sample) < maxLostSample {
				sample = append(sample, fmt.Sprintf("%s missed %d of %s's messages (%s, first #%d)", r.name, k, s.c.User(), s.to.Conv+s.to.User, first))
			}
		}
	}
	return n, sample
}

// maxLostSample bounds the lost messages named in a report.
const maxLostSample = 20

// errCount counts errors by kind, and keeps the first error of each kind
// as a sample: a kind alone ("DISCONNECTED") does not say what failed.
type errCount struct {
	mu     sync.Mutex
	m      map[string]int64
	sample map[string]string
}

func newErrCount() *errCount { return &errCount{m: map[string]int64{}, sample: map[string]string{}} }

func (e *errCount) add(kind string) {
	e.mu.Lock()
	e.m[kind]++
	e.mu.Unlock()
}

func (e *errCount) addErr(err error) {
	var we *wirepb.Error
	kind := "OTHER"
	switch {
	case errors.As(err, &we):
		kind = we.Code.String()
	case errors.Is(err, client.ErrDisconnected):
		kind = "DISCONNECTED"
	case errors.Is(err, context.DeadlineExceeded):
		kind = "TIMEOUT"
	}
	e.mu.Lock()
	e.m[kind]++
	if _, ok := e.sample[kind]; !ok {
		e.sample[kind] = truncate(err.Error(), maxErrorSample)
	}
	e.mu.Unlock()
}

// maxErrorSample bounds the text of an error kept as a sample.
const maxErrorSample = 300

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// samples returns the first error of each kind.
func (e *errCount) samples() map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.sample)
}

func (e *errCount) total() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var n int64
	for _, v := range e.m {
		n += v
	}
	return n
}

func (e *errCount) snapshot() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func sortStrings(s []string) { sort.Strings(s) }
