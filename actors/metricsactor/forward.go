package metricsactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
)

var dropped = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "switchboard_metrics_events_dropped_total",
	Help: "Durable-message events not forwarded to the metrics grain (queue full); recovered from the log.",
})

func init() { prometheus.MustRegister(dropped) }

// Forwarder carries the conversation grains' durable-message hook to the
// metrics grain without ever blocking a conversation: events go through a
// bounded queue to one goroutine that resolves the grain and sends them in
// order. An event dropped here (queue full, grain moving) is not lost for
// the numbers: the grain reads the gap from the log.
type Forwarder struct {
	events chan *pb.MetricsEvent
	stop   chan struct{}
	done   chan struct{}
}

// NewForwarder starts the forwarding goroutine for cluster c.
func NewForwarder(c *cluster.Cluster, queue int) *Forwarder {
	f := &Forwarder{events: make(chan *pb.MetricsEvent, queue), stop: make(chan struct{}), done: make(chan struct{})}
	go f.run(c)
	return f
}

// OnDurable is the hook for actors.Config.OnDurable: service conversations only.
func (f *Forwarder) OnDurable(kind storage.ConvKind, m storage.Message) {
	if kind != storage.KindService {
		return
	}
	ev := &pb.MetricsEvent{Conv: m.ConvID, Seq: m.Seq, Sender: m.Sender, SenderRole: uint32(m.SenderRole),
		Kind: uint32(m.Kind), ClientTsMs: millis(m.ClientTS), ServerTsMs: millis(m.ServerTS), Line: analytics.LineOf(m)}
	select {
	case f.events <- ev:
	default:
		dropped.Inc()
	}
}

// Close stops the goroutine; later events are dropped (the grain reads
// them from the log).
func (f *Forwarder) Close() {
	close(f.stop)
	<-f.done
}

func (f *Forwarder) run(c *cluster.Cluster) {
	defer close(f.done)
	for {
		var ev *pb.MetricsEvent
		select {
		case ev = <-f.events:
		case <-f.stop:
			return
		}
		// The PID cache is cleared on topology changes, so a grain that
		// moved is looked up again.
		pid, ok := c.PidCache.Get(Identity, Kind)
		if !ok || pid == nil {
			if pid = c.Get(Identity, Kind); pid == nil {
				dropped.Inc()
				continue
			}
			c.PidCache.Set(Identity, Kind, pid)
		}
		c.ActorSystem.Root.Send(pid, ev)
	}
}

// Query asks the metrics grain for a report (see pb.MetricsQuery).
func Query(ctx context.Context, c *cluster.Cluster, q *pb.MetricsQuery) (analytics.Report, error) {
	var rep analytics.Report
	timeout := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	pid := c.Get(Identity, Kind)
	if pid == nil {
		return rep, errors.New("metrics grain unavailable")
	}
	res, err := c.ActorSystem.Root.RequestFuture(pid, q, timeout).Result()
	if err != nil {
		return rep, fmt.Errorf("metrics query: %w", err)
	}
	ans, ok := res.(*pb.MetricsAnswer)
	if !ok {
		return rep, fmt.Errorf("metrics query: unexpected answer %T", res)
	}
	if ans.Error != "" {
		return rep, fmt.Errorf("metrics query: %s", ans.Error)
	}
	if err := json.Unmarshal(ans.ReportJson, &rep); err != nil {
		return rep, fmt.Errorf("metrics answer: %w", err)
	}
	return rep, nil
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
