package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/cluster"
	"github.com/twmb/franz-go/pkg/kgo"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/metricsactor"
	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
)

// MetricsRecord is one final metrics window on TopicMetrics, keyed by the
// row's key (an agent, or "*" for the team): the analytics.Row fields plus
// the family and a stable event id.
type MetricsRecord struct {
	EventID string `json:"event_id"`
	SizeMs  int64  `json:"size_ms"`
	SlideMs int64  `json:"slide_ms"`
	analytics.Row
}

// metricsEventID names a window row: the same on every re-publication.
func metricsEventID(w analytics.WindowSpec, key string, start time.Time) string {
	return fmt.Sprintf("window/%d/%d/%s/%d", w.Size.Milliseconds(), w.Slide.Milliseconds(), key, start.UnixMilli())
}

// familyKey is a window family's entry in the metrics checkpoint.
func familyKey(w analytics.WindowSpec) string {
	return "w/" + strconv.FormatInt(w.Size.Milliseconds(), 10) + "/" + strconv.FormatInt(w.Slide.Milliseconds(), 10)
}

// metricsPublisher polls the metrics grain for final windows and publishes
// each once per activation (at-least-once across restarts: a marker per
// family, checkpointed under CheckpointKey+"/metrics", is the earliest
// window start not yet known final; windows from it on are published again
// after a restart, with the same event ids).
type metricsPublisher struct {
	cfg     Config
	store   storage.Store
	c       *cluster.Cluster
	cl      producer
	log     *slog.Logger
	markers map[string]int64 // familyKey -> window start (ms)
	sent    map[string]int64 // event id -> window start, for rows at or after the marker
}

func (p *metricsPublisher) key() string { return p.cfg.CheckpointKey + "/metrics" }

func (p *metricsPublisher) run(stop <-chan struct{}) {
	defer p.cl.Close()
	t := time.NewTicker(p.cfg.MetricsInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := p.tick(); err != nil {
				failuresTotal.Inc()
				p.log.Warn("export: publishing metrics windows failed; retrying", "err", err)
			}
		}
	}
}

func (p *metricsPublisher) tick() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if p.markers == nil {
		cp, err := p.store.LoadCheckpoint(ctx, p.key())
		switch {
		case err == nil:
			p.markers = map[string]int64{}
			for k, v := range cp.ConvSeqs {
				p.markers[k] = int64(v)
			}
		case errors.Is(err, storage.ErrNotFound):
			p.markers = map[string]int64{}
		default:
			return fmt.Errorf("load metrics marker: %w", err)
		}
		p.sent = map[string]int64{}
	}
	changed := false
	for _, w := range p.cfg.MetricsWindows {
		fk := familyKey(w)
		q := &pb.MetricsQuery{SizeMs: w.Size.Milliseconds(), SlideMs: w.Slide.Milliseconds(), FromMs: p.markers[fk]}
		rep, err := metricsactor.Query(ctx, p.c, q)
		if err != nil {
			return err
		}
		var recs []*kgo.Record
		sent := map[string]int64{}
		next := int64(-1) // earliest start of a non-final row
		maxFinal := p.markers[fk]
		for _, r := range rep.Rows {
			start := r.WindowStart.UnixMilli()
			if !r.Final {
				if next < 0 || start < next {
					next = start
				}
				continue
			}
			if start+1 > maxFinal {
				maxFinal = start + 1
			}
			id := metricsEventID(w, r.Key, r.WindowStart)
			if _, done := p.sent[id]; done {
				continue
			}
			b, err := encode(p.cfg.Format, MetricsRecord{EventID: id, SizeMs: w.Size.Milliseconds(), SlideMs: w.Slide.Milliseconds(), Row: r})
			if err != nil {
				continue
			}
			recs = append(recs, &kgo.Record{Topic: TopicMetrics, Key: []byte(r.Key), Value: b})
			sent[id] = start
		}
		if len(recs) > 0 {
			if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				return fmt.Errorf("produce metrics windows: %w", err)
			}
			recordsTotal.WithLabelValues(TopicMetrics).Add(float64(len(recs)))
			for id, start := range sent {
				p.sent[id] = start
			}
		}
		// The marker moves to the earliest window still open, or past the
		// last final one; ids before it are forgotten.
		marker := maxFinal
		if next >= 0 && next < marker {
			marker = next
		}
		if marker > p.markers[fk] {
			p.markers[fk] = marker
			changed = true
			prefix := fmt.Sprintf("window/%d/%d/", w.Size.Milliseconds(), w.Slide.Milliseconds())
			for id, start := range p.sent {
				if start < marker && strings.HasPrefix(id, prefix) {
					delete(p.sent, id)
				}
			}
		}
	}
	if changed {
		seqs := make(map[string]uint64, len(p.markers))
		for k, v := range p.markers {
			seqs[k] = uint64(v)
		}
		if err := p.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: p.key(), ConvSeqs: seqs, At: time.Now()}); err != nil {
			return fmt.Errorf("save metrics marker: %w", err)
		}
	}
	return nil
}
