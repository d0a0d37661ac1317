package export

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

const (
	// Kind is the grain kind; Identity the one exporter's identity: one
	// activation in the cluster reads every log, so records of a
	// conversation leave in seq order whichever node wrote them.
	Kind     = "export"
	Identity = "kafka"
)

// NewKind returns the export grain kind. The grain owns an Exporter for
// the lifetime of its activation; when its node dies, the next nudge or
// wake-up activates it elsewhere and it resumes from the checkpoint.
func NewKind(store storage.Store, cfg Config) (*cluster.Kind, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	return placement.NewKind(Kind, func() actor.Actor {
		return &grain{store: store, cfg: cfg}
	}), nil
}

type grain struct {
	store storage.Store
	cfg   Config
	e     *Exporter
	stopM chan struct{}
}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		e, err := New(g.store, g.cfg)
		if err != nil {
			g.cfg.Logger.Error("export grain: cannot start", "err", err)
			ctx.Stop(ctx.Self())
			return
		}
		g.e = e
		e.Start()
		if len(g.cfg.MetricsWindows) > 0 {
			cl, err := newProducer(g.cfg, 10000)
			if err != nil {
				g.cfg.Logger.Error("export grain: metrics producer", "err", err)
				break
			}
			p := &metricsPublisher{cfg: g.cfg, store: g.store, c: cluster.GetCluster(ctx.ActorSystem()), cl: cl,
				log: g.cfg.Logger.With("component", "export")}
			g.stopM = make(chan struct{})
			go p.run(g.stopM)
		}
		g.cfg.Logger.Info("export grain active", "brokers", g.cfg.Brokers, "webhook", redactedURL(g.cfg.WebhookURL))
	case *actor.Stopping:
		if g.stopM != nil {
			close(g.stopM)
		}
		if g.e != nil {
			g.e.Close()
		}
	case *pb.ExportNudge:
		if g.e != nil {
			g.e.Notify(m.Conv, m.Seq)
		}
	}
}

// Forwarder carries a node's durable-message hook to the export grain
// without blocking a conversation, merging hints of one conversation, and
// wakes the grain every WakeInterval so that after a crash it is activated
// (and catches up from its checkpoint) even with no new traffic.
type Forwarder struct {
	c     *cluster.Cluster
	hints chan nudge
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	lost  atomic.Bool
	wake  time.Duration
}

// NewForwarder starts the forwarding goroutine: queue bounds the hints
// (full: dropped, the grain's sweep recovers them), wake is the wake-up
// interval (default 2 s).
func NewForwarder(c *cluster.Cluster, queue int, wake time.Duration) *Forwarder {
	if queue <= 0 {
		queue = 65536
	}
	if wake <= 0 {
		wake = 2 * time.Second
	}
	f := &Forwarder{c: c, hints: make(chan nudge, queue), stop: make(chan struct{}), done: make(chan struct{}), wake: wake}
	go f.run()
	return f
}

// OnDurable is the hook for actors.Config.OnDurable.
func (f *Forwarder) OnDurable(_ storage.ConvKind, m storage.Message) {
	select {
	case f.hints <- nudge{m.ConvID, m.Seq}:
	default:
		// The next wake-up asks the grain to sweep every conversation.
		droppedNudges.Inc()
		f.lost.Store(true)
	}
}

// Close stops the goroutine.
func (f *Forwarder) Close() {
	f.once.Do(func() { close(f.stop) })
	<-f.done
}

func (f *Forwarder) run() {
	defer close(f.done)
	t := time.NewTicker(f.wake)
	defer t.Stop()
	batch := map[string]uint64{}
	for {
		var first nudge
		select {
		case first = <-f.hints:
		case <-t.C:
			w := &pb.ExportNudge{}
			if f.lost.Swap(false) {
				w.Seq = 1
			}
			f.send(w)
			continue
		case <-f.stop:
			return
		}
		batch[first.conv] = max(batch[first.conv], first.seq)
	drain:
		for len(batch) < 1024 {
			select {
			case n := <-f.hints:
				batch[n.conv] = max(batch[n.conv], n.seq)
			default:
				break drain
			}
		}
		for conv, seq := range batch {
			f.send(&pb.ExportNudge{Conv: conv, Seq: seq})
			delete(batch, conv)
		}
	}
}

func (f *Forwarder) send(m *pb.ExportNudge) {
	pid, ok := f.c.PidCache.Get(Identity, Kind)
	if !ok || pid == nil {
		if pid = f.c.Get(Identity, Kind); pid == nil {
			return
		}
		f.c.PidCache.Set(Identity, Kind, pid)
	}
	f.c.ActorSystem.Root.Send(pid, m)
}
