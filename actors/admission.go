package actors

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// admission sheds load at the door instead of queueing it: a send is
// refused with BUSY and a retry-after when this node already holds too much
// accepted work it has not finished — sends waiting for their durable ack,
// and fan-out jobs (Delivers, notices, receipts) not yet answered. So the
// latency of what is accepted stays bounded, nothing is acked that then
// waits behind an unbounded delivery backlog, and the node recovers at once
// when load drops. Refusing costs a counter check, no store or grain work.
//
// A fixed bound on pending sends is not enough: how many sends a node can
// hold without queueing depends on its CPU, its disk and what else runs
// beside it, and a bound high enough for a quiet node lets a loaded one
// queue for seconds (every sender's one outstanding send is "pending", so
// the queue is in the run queue and the store's commit queue, invisible to
// a count). So the bound on pending sends adapts to the latency sends get:
// when more than half the sends finished in one SendLatencyInterval took
// longer than SendLatencyTarget, a standing queue has formed, and the
// bound drops to three quarters of what was in use; after an interval
// whose median send met the target it grows again by an eighth, never past
// MaxPendingSends nor below MinPendingSends. (CoDel's fastest-send test
// does not fit here: the sends do not share one queue, and under overload
// a send to a quiet conversation still finishes fast while most wait.)
//
// A send's latency starts once its request was read, so it misses the
// queue of a node whose CPU is saturated: its packets, stream reads and
// answers wait in the run queues before and after it. So the bound drops
// too after an interval in which the process's goroutines waited longer
// than SchedLatencyTarget to run (the 90th percentile; schedlat.go).
type admission struct {
	maxSends      int64
	minSends      int64
	maxDeliveries int64
	retryAfter    time.Duration
	target        time.Duration
	interval      time.Duration
	now           func() time.Time // time.Now; tests step it

	sends      atomic.Int64
	deliveries atomic.Int64
	// Retry-after scaled by the overload: admitted and refused count the
	// current second's sends; scale (1..maxRetryAfter/retryAfter) follows
	// them second by second (rollScale).
	admitted, refused atomic.Int64
	scale             atomic.Int64
	maxRetryAfter     time.Duration
	scaleStart        atomic.Int64 // unix nanos of the current second
	limit             atomic.Int64 // the adaptive bound on sends, minSends..maxSends
	peak              atomic.Int64 // most sends pending at once in the current interval

	mu       sync.Mutex
	winStart time.Time // the current interval's start
	winSends int       // sends finished in it
	winSlow  int       // of them, those over the target

	// The CPU signal: schedP90 reads the scheduling latency since its
	// last call (schedLatency; tests replace it). cpuBound says that the
	// last drop of the bound was the CPU's, and schedSeen what it read.
	schedTarget time.Duration // 0: off
	schedP90    func() time.Duration
	cpuBound    atomic.Bool
	schedSeen   atomic.Int64
}

func newAdmission(cfg Config) *admission {
	a := &admission{maxSends: int64(cfg.MaxPendingSends), minSends: int64(min(cfg.MinPendingSends, cfg.MaxPendingSends)),
		maxDeliveries: int64(cfg.MaxPendingDeliveries), retryAfter: cfg.BusyRetryAfter,
		target: cfg.SendLatencyTarget, interval: cfg.SendLatencyInterval, now: time.Now,
		maxRetryAfter: max(cfg.MaxBusyRetryAfter, cfg.BusyRetryAfter)}
	a.limit.Store(a.maxSends)
	if cfg.SchedLatencyTarget > 0 {
		sl := newSchedLatency()
		a.schedTarget, a.schedP90 = cfg.SchedLatencyTarget, func() time.Duration { return sl.quantile(0.9) }
	}
	a.scale.Store(1)
	a.scaleStart.Store(a.now().UnixNano())
	a.winStart = a.now()
	metricSendLimit.Set(float64(a.maxSends))
	return a
}

// admitSend takes a slot for one send; release gives it back once answered.
func (a *admission) admitSend() (release func(), err error) {
	if d := a.deliveries.Load(); d >= a.maxDeliveries {
		return nil, a.busy("%d deliveries pending, limit %d", d, a.maxDeliveries)
	}
	n := a.sends.Add(1)
	if limit := a.limit.Load(); n > limit {
		a.sends.Add(-1)
		if limit < a.maxSends && a.cpuBound.Load() {
			return nil, a.busy("the node's CPU is saturated (goroutines waited %s to run, more than %s): %d sends pending, limit %d for now",
				time.Duration(a.schedSeen.Load()), a.schedTarget, n-1, limit)
		}
		if limit < a.maxSends {
			return nil, a.busy("sends are taking longer than %s: %d pending, limit %d for now", a.target, n-1, limit)
		}
		return nil, a.busy("%d sends pending, limit %d", n-1, limit)
	}
	for p := a.peak.Load(); n > p && !a.peak.CompareAndSwap(p, n); p = a.peak.Load() {
	}
	start := a.now()
	a.rollScale(start)
	a.admitted.Add(1)
	var once atomic.Bool
	return func() {
		if once.CompareAndSwap(false, true) {
			a.sends.Add(-1)
			a.observe(a.now().Sub(start))
		}
	}, nil
}

// observe records how long one answered send took; at the end of an
// interval the bound moves. A zero target (an admission built without
// Config defaults) keeps the bound fixed at MaxPendingSends.
func (a *admission) observe(took time.Duration) {
	if a.target <= 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.winSends++
	if took > a.target {
		a.winSlow++
	}
	now := a.now()
	if now.Sub(a.winStart) < a.interval {
		return
	}
	limit := a.limit.Load()
	slowSends := a.winSlow*2 > a.winSends
	cpu := false
	if a.schedTarget > 0 {
		waited := a.schedP90()
		metricSchedLatency.Set(waited.Seconds())
		if cpu = waited > a.schedTarget; cpu {
			a.schedSeen.Store(int64(waited))
		}
	}
	if slowSends || cpu {
		// A standing queue: shrink from what was really in use, so a
		// bound far above the load does not take many intervals to bite.
		limit = max(a.minSends, min(limit, a.peak.Load())*3/4)
		a.cpuBound.Store(!slowSends)
	} else {
		limit = min(a.maxSends, limit+limit/8+1)
	}
	a.limit.Store(limit)
	metricSendLimit.Set(float64(limit))
	a.winStart, a.winSends, a.winSlow = now, 0, 0
	a.peak.Store(a.sends.Load())
}

// busy is the refusal, with a retry-after jittered ±50% so that refused
// clients do not come back together. The retry-after grows with the
// overload: a node that refused k sends per accepted one in the last
// second asks for at least k × BusyRetryAfter, twice as long as before
// while it keeps refusing more than it takes (at most MaxBusyRetryAfter). Clients
// hold all their sends during a retry-after (the Go SDK does), so the
// share of the offered load the node cannot take stops reaching it,
// instead of costing it a refusal each (about what an accepted send costs).
func (a *admission) busy(format string, args ...any) error {
	metricBusy.Inc()
	a.rollScale(a.now())
	a.refused.Add(1)
	base := min(a.retryAfter*time.Duration(a.scale.Load()), a.maxRetryAfter)
	after := base/2 + rand.N(base)
	return &Error{Code: pb.Code_BUSY, Message: "node busy: " + fmt.Sprintf(format, args...), RetryAfterMs: uint32(after / time.Millisecond)}
}

// rollScale ends the current second and moves the retry-after scale: up
// to the second's refused-per-admitted, and at least doubled while the
// node still refused more sends than it took (the retry-after it asked for
// was not long enough to keep the excess away: each refusal costs the node
// a packet in, a decode and an answer); halved after a second with fewer
// than one refusal per four admissions. One caller wins the swap; the
// others go on.
func (a *admission) rollScale(at time.Time) {
	now := at.UnixNano()
	start := a.scaleStart.Load()
	if now-start < int64(time.Second) || !a.scaleStart.CompareAndSwap(start, now) {
		return
	}
	refused, admitted := a.refused.Swap(0), a.admitted.Swap(0)
	limit := max(int64(a.maxRetryAfter/a.retryAfter), 1)
	scale := a.scale.Load()
	switch {
	case refused > admitted:
		scale = max(scale*2, refused/max(admitted, 1))
	case refused*4 < admitted:
		scale /= 2
	}
	scale = min(max(scale, 1), limit)
	a.scale.Store(scale)
	metricBusyRetryAfter.Set(float64(min(a.retryAfter*time.Duration(scale), a.maxRetryAfter)) / float64(time.Second))
}

// queued and done count fan-out jobs.
func (a *admission) queued(n int) { a.deliveries.Add(int64(n)) }
func (a *admission) done(n int)   { a.deliveries.Add(-int64(n)) }
