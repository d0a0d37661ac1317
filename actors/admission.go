package actors

import (
	"fmt"
	"math/rand/v2"
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
type admission struct {
	maxSends      int64
	maxDeliveries int64
	retryAfter    time.Duration

	sends      atomic.Int64
	deliveries atomic.Int64
}

func newAdmission(cfg Config) *admission {
	return &admission{maxSends: int64(cfg.MaxPendingSends), maxDeliveries: int64(cfg.MaxPendingDeliveries), retryAfter: cfg.BusyRetryAfter}
}

// admitSend takes a slot for one send; release gives it back once answered.
func (a *admission) admitSend() (release func(), err error) {
	if d := a.deliveries.Load(); d >= a.maxDeliveries {
		return nil, a.busy("%d deliveries pending, limit %d", d, a.maxDeliveries)
	}
	if n := a.sends.Add(1); n > a.maxSends {
		a.sends.Add(-1)
		return nil, a.busy("%d sends pending, limit %d", n-1, a.maxSends)
	}
	return func() { a.sends.Add(-1) }, nil
}

// busy is the refusal, with a retry-after jittered ±50% so that refused
// clients do not come back together.
func (a *admission) busy(format string, args ...any) error {
	metricBusy.Inc()
	after := a.retryAfter/2 + rand.N(a.retryAfter)
	return &Error{Code: pb.Code_BUSY, Message: "node busy: " + fmt.Sprintf(format, args...), RetryAfterMs: uint32(after / time.Millisecond)}
}

// queued and done count fan-out jobs.
func (a *admission) queued(n int) { a.deliveries.Add(int64(n)) }
func (a *admission) done(n int)   { a.deliveries.Add(-int64(n)) }
