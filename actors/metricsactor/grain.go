// Package metricsactor runs the metrics engine (package metrics) inside the
// cluster as a grain fed by the conversation grains' durable-message hook.
//
// One grain, identity "global", holds the whole engine: the engine keys its
// windows per agent and for "*" itself, and at millions of events per second
// per core one grain keeps up with a node's message rate while keeping the
// numbers exact (no merging of partial averages across shards).
//
// Exactly once with respect to the log: the engine ignores a seq it has
// consumed, the state is checkpointed together with the per-conversation
// seqs it covers (storage.SaveCheckpoint, one atomic write), and a
// conversation whose next event is not the next seq — events lost in
// flight, or a restart from an older checkpoint — is caught up from the
// stored log first. On activation every service conversation is caught up,
// so the numbers equal a batch recomputation over the log.
package metricsactor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

const (
	// Kind is the grain kind; Identity the one grain's identity.
	Kind     = "metrics"
	Identity = "global"
	// checkpointKey is where the grain's state is saved.
	checkpointKey = "metrics/global"
)

// Config configures the metrics grain.
type Config struct {
	Engine analytics.Config
	// CheckpointInterval is how often a changed state is saved (default 1 s).
	CheckpointInterval time.Duration
	Logger             *slog.Logger
}

// NewKind returns the grain kind to register with the cluster.
func NewKind(store storage.Store, cfg Config) (*cluster.Kind, error) {
	if err := cfg.Engine.Validate(); err != nil {
		return nil, err
	}
	if cfg.CheckpointInterval <= 0 {
		cfg.CheckpointInterval = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return placement.NewKind(Kind, func() actor.Actor {
		return &grain{store: store, cfg: cfg, log: cfg.Logger.With("grain", "metrics")}
	}), nil
}

type grain struct {
	store  storage.Store
	cfg    Config
	log    *slog.Logger
	engine *analytics.Engine
	dirty  bool
	stop   chan struct{}
}

type checkpointTick struct{}

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		if err := g.load(); err != nil {
			g.log.Error("metrics activation failed", "err", err)
			ctx.Stop(ctx.Self())
			return
		}
		g.stop = make(chan struct{})
		self, root, every := ctx.Self(), ctx.ActorSystem().Root, g.cfg.CheckpointInterval
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					root.Send(self, checkpointTick{})
				case <-g.stop:
					return
				}
			}
		}()
	case *actor.Stopping:
		if g.stop != nil {
			close(g.stop)
		}
		g.checkpoint()
	case *pb.MetricsEvent:
		g.process(m)
	case checkpointTick:
		g.checkpoint()
	case *pb.MetricsQuery:
		ctx.Respond(g.query(m))
	}
}

// load restores the last checkpoint and catches every service
// conversation up with the log.
func (g *grain) load() error {
	e, err := analytics.New(g.cfg.Engine)
	if err != nil {
		return err
	}
	bg := context.Background()
	cp, err := g.store.LoadCheckpoint(bg, checkpointKey)
	switch {
	case err == nil:
		if err := e.RestoreCheckpoint(cp); err != nil {
			// A checkpoint from another configuration: start over from the log.
			g.log.Warn("metrics checkpoint not usable; recomputing from the log", "err", err)
			if e, err = analytics.New(g.cfg.Engine); err != nil {
				return err
			}
		}
	case errors.Is(err, storage.ErrNotFound):
	default:
		return fmt.Errorf("load metrics checkpoint: %w", err)
	}
	e.OnSpanClosed = observeSpan
	g.engine = e
	if err := g.catchUpAll(bg); err != nil {
		return err
	}
	g.dirty = true
	g.checkpoint()
	return nil
}

func (g *grain) catchUpAll(ctx context.Context) error {
	cursor := ""
	for {
		page, next, err := g.store.ListConversations(ctx, cursor, 500)
		if err != nil {
			return fmt.Errorf("list conversations: %w", err)
		}
		for _, c := range page {
			if c.Kind != storage.KindService {
				continue
			}
			if err := g.engine.CatchUp(ctx, g.store, c.ID); err != nil {
				return fmt.Errorf("catch up %s: %w", c.ID, err)
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (g *grain) process(m *pb.MetricsEvent) {
	consumed := g.engine.ConvSeq(m.Conv)
	if m.Seq <= consumed {
		return
	}
	if m.Seq > consumed+1 || storage.MessageKind(m.Kind) == storage.MsgSystem {
		// Something before this event never arrived, or it is a system
		// message, whose body (a desk step moves the conversation's owner,
		// analytics.DeskOf) stays in the log: read it from there.
		if err := g.engine.CatchUp(context.Background(), g.store, m.Conv); err != nil {
			g.log.Warn("metrics catch-up", "conv", m.Conv, "err", err)
		}
		g.dirty = true
		return
	}
	ev := analytics.EventFromMessage(storage.Message{
		ConvID: m.Conv, Seq: m.Seq, Sender: m.Sender, SenderRole: storage.SenderRole(m.SenderRole),
		Kind: storage.MessageKind(m.Kind), ClientTS: fromMillis(m.ClientTsMs), ServerTS: fromMillis(m.ServerTsMs),
	})
	ev.Line = m.Line // the body stays with the forwarder, which read the line from it
	if err := g.engine.Process(ev); err != nil {
		g.log.Warn("metrics event rejected", "conv", m.Conv, "seq", m.Seq, "err", err)
	}
	g.dirty = true
}

func (g *grain) checkpoint() {
	if !g.dirty || g.engine == nil {
		return
	}
	cp, err := g.engine.Checkpoint(checkpointKey, time.Now())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = g.store.SaveCheckpoint(ctx, cp)
		cancel()
	}
	if err != nil {
		g.log.Warn("metrics checkpoint", "err", err)
		return
	}
	g.dirty = false
	exportGauges(g.engine)
}

func (g *grain) query(q *pb.MetricsQuery) *pb.MetricsAnswer {
	mq := analytics.Query{
		Size: time.Duration(q.SizeMs) * time.Millisecond, Slide: time.Duration(q.SlideMs) * time.Millisecond,
		Key: q.Key, From: fromMillis(q.FromMs), To: fromMillis(q.ToMs),
	}
	if mq.Slide == 0 {
		mq.Slide = mq.Size
	}
	e := g.engine
	if q.Recompute {
		var err error
		if e, err = analytics.Recompute(context.Background(), g.store, g.cfg.Engine); err != nil {
			return &pb.MetricsAnswer{Error: err.Error()}
		}
	} else if q.Streaming {
		// As it stands: no log reads.
	} else if err := g.catchUpAll(context.Background()); err != nil {
		// Answer with what is known, but say so.
		return &pb.MetricsAnswer{Error: err.Error()}
	}
	b, err := json.Marshal(e.Report(mq))
	if err != nil {
		return &pb.MetricsAnswer{Error: err.Error()}
	}
	return &pb.MetricsAnswer{ReportJson: b}
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}
