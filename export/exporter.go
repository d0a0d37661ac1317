// Package export publishes what the cluster stores to Apache Kafka: every
// durable message on switchboard.messages and the conversation events it
// implies (recalls, membership changes) on switchboard.events, as JSON
// records keyed by conversation id, so one conversation's records keep
// their order in one partition.
//
// The conversations' stored logs are the outbox. The exporter keeps, per
// conversation, the highest seq whose records Kafka acknowledged, saves
// those seqs as a checkpoint (storage.SaveCheckpoint), and reads the log
// from there on. The durable-message hook only tells it how far a
// conversation is durable; a lost hook, a crash or a Kafka outage therefore
// never loses a record: on restart, or when Kafka is back, it reads the log
// again from the checkpoint. That makes delivery at-least-once, with a
// stable event id per record for consumers to dedupe.
//
// Nothing here blocks a conversation: hooks go through a bounded queue that
// drops (and then sweeps every conversation) when full, and at most
// MaxBuffered records wait for Kafka; beyond that the exporter stops reading
// the log and the log itself is the spill.
package export

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/switchboard-im/switchboard/analytics"
	"github.com/switchboard-im/switchboard/storage"
)

// Config configures the exporter. Zero values take the defaults below.
type Config struct {
	// Brokers are Kafka bootstrap addresses (host:port). Empty, and no
	// WebhookURL: export off.
	Brokers []string
	// WebhookURL, instead of Brokers, delivers the same records by HTTP
	// POST to the business's endpoint (webhook.go), for a business
	// without Kafka. Needs FormatJSON and WebhookSecret.
	WebhookURL string
	// WebhookSecret signs every POST (push.Sign); at least 16 bytes.
	WebhookSecret []byte
	// WebhookLanes is how many POSTs may be in flight at once (default 4);
	// one key's records always take the same lane, in order.
	WebhookLanes int
	// WebhookBatch bounds the records in one POST (default 500).
	WebhookBatch int
	// WebhookTimeout bounds one POST (default 10 s); a POST that fails or
	// times out is retried with backoff.
	WebhookTimeout time.Duration
	// Format is the records' encoding (default FormatJSON).
	Format Format
	// ClientID names the producer to Kafka (default "switchboard").
	ClientID string
	// MaxBuffered bounds the records handed to Kafka and not yet
	// acknowledged (default 10000). At the bound the exporter stops reading
	// the log until Kafka acknowledges; nothing is dropped.
	MaxBuffered int
	// Page is how many messages one log read returns (default 500).
	Page int
	// NudgeQueue bounds the hook queue (default 65536); a full queue
	// drops the hint and sweeps every conversation instead.
	NudgeQueue int
	// FlushInterval is how often conversations with new messages are read
	// (default 20 ms): the export latency floor and the batching window.
	FlushInterval time.Duration
	// CheckpointInterval is how often acknowledged seqs are saved
	// (default 1 s): the most a crash re-exports.
	CheckpointInterval time.Duration
	// GapTimeout is how long a missing seq in a log is waited for before
	// it is taken as a hole that will never be filled (default 10 s). A
	// gap below a seq the hook reported durable is a hole at once.
	GapTimeout time.Duration
	// RetryInterval is the pause after a failed log read or a record Kafka
	// refused (default 1 s).
	RetryInterval time.Duration
	// ShutdownTimeout bounds the final flush to Kafka on Close (default 5 s).
	ShutdownTimeout time.Duration
	// CheckpointKey is where the checkpoint is saved (default
	// "export/kafka", or "export/webhook" with WebhookURL: switching one
	// for the other starts the new one from the beginning of the logs).
	CheckpointKey string
	// MetricsWindows are the metrics window families whose final rows go
	// to TopicMetrics (boot sets the metrics grain's); none: not published.
	MetricsWindows []analytics.WindowSpec
	// MetricsInterval is how often the metrics grain is asked for newly
	// final windows (default 10 s; each ask catches the grain up with
	// every service conversation's log).
	MetricsInterval time.Duration
	// Logger (default slog.Default()).
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults (Brokers unset).
func DefaultConfig() Config {
	return Config{
		ClientID: "switchboard", MaxBuffered: 10000, Page: 500, NudgeQueue: 65536,
		FlushInterval: 20 * time.Millisecond, CheckpointInterval: time.Second,
		GapTimeout: 10 * time.Second, RetryInterval: time.Second, ShutdownTimeout: 5 * time.Second, MetricsInterval: 10 * time.Second,
		CheckpointKey: "export/kafka", WebhookLanes: 4, WebhookBatch: 500, WebhookTimeout: 10 * time.Second,
	}
}

// Enabled reports whether brokers or a webhook are configured.
func (c Config) Enabled() bool { return len(c.Brokers) > 0 || c.WebhookURL != "" }

// WithDefaults fills unset fields and validates.
func (c Config) WithDefaults() (Config, error) {
	d := DefaultConfig()
	if c.ClientID == "" {
		c.ClientID = d.ClientID
	}
	if c.CheckpointKey == "" {
		c.CheckpointKey = d.CheckpointKey
		if c.WebhookURL != "" {
			c.CheckpointKey = "export/webhook"
		}
	}
	f, err := ParseFormat(string(c.Format))
	if err != nil {
		return c, err
	}
	c.Format = f
	for _, p := range []struct {
		v   *int
		def int
		n   string
	}{{&c.MaxBuffered, d.MaxBuffered, "max buffered"}, {&c.Page, d.Page, "page"}, {&c.NudgeQueue, d.NudgeQueue, "nudge queue"},
		{&c.WebhookLanes, d.WebhookLanes, "webhook lanes"}, {&c.WebhookBatch, d.WebhookBatch, "webhook batch"}} {
		if *p.v < 0 {
			return c, fmt.Errorf("export: %s %d is negative", p.n, *p.v)
		}
		if *p.v == 0 {
			*p.v = p.def
		}
	}
	for _, p := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.FlushInterval, d.FlushInterval}, {&c.CheckpointInterval, d.CheckpointInterval},
		{&c.GapTimeout, d.GapTimeout}, {&c.RetryInterval, d.RetryInterval}, {&c.ShutdownTimeout, d.ShutdownTimeout}, {&c.MetricsInterval, d.MetricsInterval},
		{&c.WebhookTimeout, d.WebhookTimeout}} {
		if *p.v <= 0 {
			*p.v = p.def
		}
	}
	for _, b := range c.Brokers {
		if b == "" {
			return c, errors.New("export: empty broker address")
		}
	}
	if c.WebhookURL != "" {
		if err := c.checkWebhook(); err != nil {
			return c, err
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

var (
	lagGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_export_lag_messages",
		Help: "Durable messages not yet acknowledged by Kafka (sum over conversations).",
	})
	inflightGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "switchboard_export_inflight_records",
		Help: "Records handed to the Kafka client and not yet acknowledged.",
	})
	recordsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_export_records_total",
		Help: "Records acknowledged by Kafka, by topic (re-exports after a failure count again).",
	}, []string{"topic"})
	failuresTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_export_failures_total",
		Help: "Records Kafka refused or log reads that failed; both are retried from the log.",
	})
	droppedNudges = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_export_nudges_dropped_total",
		Help: "Durable-message hints dropped (queue full); a sweep of every conversation follows.",
	})
)

func newCounter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	prometheus.MustRegister(c)
	return c
}

func init() {
	prometheus.MustRegister(lagGauge, inflightGauge, recordsTotal, failuresTotal, droppedNudges)
}

type nudge struct {
	conv string
	seq  uint64
}

type ack struct {
	conv string
	gen  uint64
	seq  uint64
	err  error
}

type pending struct {
	seq  uint64
	left int // records of this seq not yet acknowledged
}

// convState is the exporter's view of one conversation.
type convState struct {
	gen      uint64    // bumped on a rewind: older acks are ignored
	acked    uint64    // every seq <= acked is in Kafka (or a hole)
	sent     uint64    // every seq <= sent was read and handed to the client
	known    uint64    // highest seq the hook reported durable
	queue    []pending // handed to the client, ascending
	retryAt  time.Time
	gapSince time.Time
}

// Exporter tails the conversations' logs into Kafka. Start it once; Close
// stops it.
type Exporter struct {
	cfg   Config
	store storage.Store
	cl    producer
	log   *slog.Logger

	nudges   chan nudge
	acks     chan ack
	overflow atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once

	// Owned by the run goroutine.
	convs    map[string]*convState
	dirty    map[string]struct{}
	inflight int
	changed  bool

	// lag is the last computed lag, for tests and status.
	lag atomic.Int64
	// ready is closed once the checkpoint is loaded and every conversation
	// was listed for catch-up.
	ready chan struct{}
}

// New creates an exporter; Start begins the work.
func New(store storage.Store, cfg Config) (*Exporter, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("export: no Kafka brokers or webhook configured")
	}
	cl, err := newProducer(cfg, 2*cfg.MaxBuffered+16)
	if err != nil {
		return nil, err
	}
	return &Exporter{
		cfg: cfg, store: store, cl: cl, log: cfg.Logger.With("component", "export"),
		nudges: make(chan nudge, cfg.NudgeQueue),
		// Every record in flight sends one ack; the client holds at most
		// 2*MaxBuffered+16, so a callback never blocks on this channel.
		acks: make(chan ack, 2*cfg.MaxBuffered+32),
		stop: make(chan struct{}), done: make(chan struct{}), ready: make(chan struct{}),
		convs: map[string]*convState{}, dirty: map[string]struct{}{},
	}, nil
}

// NewClient returns a franz-go producer configured for export: records are
// partitioned by key (murmur2, like the Java client), idempotent, retried
// until delivered.
func NewClient(cfg Config, extra ...kgo.Opt) (*kgo.Client, error) {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		kgo.ClientID(cfg.ClientID),
		kgo.AllowAutoTopicCreation(),
		kgo.ProducerLinger(5 * time.Millisecond),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("export: kafka client: %w", err)
	}
	return cl, nil
}

// Start runs the exporter in the background.
func (e *Exporter) Start() { go e.run() }

// Ready is closed once the checkpoint is loaded and the catch-up listed.
func (e *Exporter) Ready() <-chan struct{} { return e.ready }

// Lag is the number of durable messages not yet acknowledged by Kafka, as
// of the last checkpoint tick.
func (e *Exporter) Lag() int64 { return e.lag.Load() }

// Notify tells the exporter that conv is durable up to seq. An empty conv
// with seq > 0 asks for a sweep of every conversation (hints were lost). It
// never blocks.
func (e *Exporter) Notify(conv string, seq uint64) {
	if conv == "" {
		if seq > 0 {
			e.overflow.Store(true)
		}
		return
	}
	select {
	case e.nudges <- nudge{conv, seq}:
	default:
		droppedNudges.Inc()
		e.overflow.Store(true)
	}
}

// Close flushes what Kafka accepts within ShutdownTimeout, saves the
// checkpoint and stops. Calling it again is a no-op.
func (e *Exporter) Close() {
	e.once.Do(func() { close(e.stop) })
	<-e.done
}

func (e *Exporter) run() {
	defer close(e.done)
	defer e.cl.Close()
	for {
		err := e.load()
		if err == nil {
			break
		}
		e.log.Warn("export: loading checkpoint / listing conversations failed; retrying", "err", err)
		select {
		case <-time.After(e.cfg.RetryInterval):
		case <-e.stop:
			return
		}
	}
	close(e.ready)
	flush := time.NewTicker(e.cfg.FlushInterval)
	defer flush.Stop()
	cp := time.NewTicker(e.cfg.CheckpointInterval)
	defer cp.Stop()
	for {
		select {
		case n := <-e.nudges:
			e.onNudge(n)
		case a := <-e.acks:
			e.onAck(a)
		case <-flush.C:
			if e.overflow.Swap(false) {
				if err := e.sweep(context.Background()); err != nil {
					e.overflow.Store(true)
					e.log.Warn("export: sweep failed", "err", err)
				}
			}
			e.pump()
		case <-cp.C:
			e.checkpoint()
		case <-e.stop:
			e.shutdown()
			return
		}
	}
}

func (e *Exporter) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownTimeout)
	defer cancel()
	if err := e.cl.Flush(ctx); err != nil {
		e.log.Warn("export: records still unacknowledged at shutdown; they are re-exported from the log", "err", err)
	}
	for {
		select {
		case a := <-e.acks:
			e.onAck(a)
			continue
		default:
		}
		break
	}
	e.changed = true
	e.checkpoint()
}

// load restores the checkpoint and marks every conversation for catch-up.
func (e *Exporter) load() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cp, err := e.store.LoadCheckpoint(ctx, e.cfg.CheckpointKey)
	switch {
	case err == nil:
		for id, seq := range cp.ConvSeqs {
			e.convs[id] = &convState{acked: seq, sent: seq}
		}
	case errors.Is(err, storage.ErrNotFound):
	default:
		return fmt.Errorf("load export checkpoint: %w", err)
	}
	return e.sweep(context.Background())
}

// sweep marks every stored conversation for a log read.
func (e *Exporter) sweep(ctx context.Context) error {
	cursor := ""
	for {
		page, next, err := e.store.ListConversations(ctx, cursor, 500)
		if err != nil {
			return fmt.Errorf("list conversations: %w", err)
		}
		for _, c := range page {
			st := e.state(c.ID)
			if c.LastSeq > st.known {
				st.known = c.LastSeq
			}
			e.dirty[c.ID] = struct{}{}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

func (e *Exporter) state(id string) *convState {
	st := e.convs[id]
	if st == nil {
		st = &convState{}
		e.convs[id] = st
	}
	return st
}

func (e *Exporter) onNudge(n nudge) {
	st := e.state(n.conv)
	if n.seq > st.known {
		st.known = n.seq
	}
	if n.seq > st.sent {
		e.dirty[n.conv] = struct{}{}
	}
}

// pump reads the logs of conversations with unexported messages.
func (e *Exporter) pump() {
	now := time.Now()
	for id := range e.dirty {
		if e.inflight >= e.cfg.MaxBuffered {
			return
		}
		st := e.convs[id]
		if now.Before(st.retryAt) {
			continue
		}
		done, err := e.readConv(id, st, now)
		if err != nil {
			failuresTotal.Inc()
			e.log.Warn("export: log read failed; retrying", "conv", id, "err", err)
			st.retryAt = now.Add(e.cfg.RetryInterval)
			continue
		}
		if done {
			delete(e.dirty, id)
		}
	}
}

// readConv hands the conversation's messages after sent to the client; it
// reports whether the conversation is exhausted.
func (e *Exporter) readConv(id string, st *convState, now time.Time) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		msgs, err := e.store.ListMessages(ctx, id, st.sent+1, math.MaxUint64, storage.OldestFirst, e.cfg.Page)
		if err != nil {
			return false, err
		}
		for _, m := range msgs {
			if m.Seq != st.sent+1 && m.Seq-1 > st.known {
				// A gap above what the hook reported durable may still
				// fill (a write in flight): wait for it, up to GapTimeout.
				if st.gapSince.IsZero() {
					st.gapSince = now
				}
				if now.Sub(st.gapSince) < e.cfg.GapTimeout {
					return false, nil
				}
			}
			st.gapSince = time.Time{}
			e.produce(id, st, m)
			if e.inflight >= e.cfg.MaxBuffered {
				return false, nil
			}
		}
		if len(msgs) < e.cfg.Page {
			return true, nil
		}
	}
}

func (e *Exporter) produce(id string, st *convState, m storage.Message) {
	recs := records(e.cfg.Format, m)
	st.sent = m.Seq
	if len(recs) == 0 {
		// Nothing to publish for this seq (cannot encode): never blocks the rest.
		e.advance(st)
		return
	}
	st.queue = append(st.queue, pending{seq: m.Seq, left: len(recs)})
	gen, seq := st.gen, m.Seq
	for _, r := range recs {
		e.inflight++
		topic := r.Topic
		e.cl.TryProduce(context.Background(), r, func(_ *kgo.Record, err error) {
			if err == nil {
				recordsTotal.WithLabelValues(topic).Inc()
			}
			e.acks <- ack{conv: id, gen: gen, seq: seq, err: err}
		})
	}
}

func (e *Exporter) onAck(a ack) {
	e.inflight--
	st := e.convs[a.conv]
	if st == nil || a.gen != st.gen {
		return
	}
	if a.err != nil {
		failuresTotal.Inc()
		e.log.Warn("export: Kafka refused a record; re-reading the conversation from its last acknowledged seq",
			"conv", a.conv, "seq", a.seq, "err", a.err)
		// Rewind: everything after acked is read and sent again (same event
		// ids); acks of the abandoned attempt are ignored by generation.
		st.gen++
		st.queue = nil
		st.sent = st.acked
		st.gapSince = time.Time{}
		if !errors.Is(a.err, kgo.ErrMaxBuffered) {
			st.retryAt = time.Now().Add(e.cfg.RetryInterval)
		}
		e.dirty[a.conv] = struct{}{}
		return
	}
	for i := range st.queue {
		if st.queue[i].seq == a.seq {
			st.queue[i].left--
			break
		}
	}
	e.advance(st)
}

// advance moves acked past every fully acknowledged seq at the queue head.
func (e *Exporter) advance(st *convState) {
	i := 0
	for i < len(st.queue) && st.queue[i].left == 0 {
		i++
	}
	st.queue = st.queue[i:]
	to := st.sent
	if len(st.queue) > 0 {
		to = st.queue[0].seq - 1
	}
	if to > st.acked {
		st.acked = to
		e.changed = true
	}
}

func (e *Exporter) checkpoint() {
	var lag int64
	for _, st := range e.convs {
		top := st.known
		if st.sent > top {
			top = st.sent
		}
		if top > st.acked {
			lag += int64(top - st.acked)
		}
	}
	e.lag.Store(lag)
	lagGauge.Set(float64(lag))
	inflightGauge.Set(float64(e.inflight))
	if !e.changed {
		return
	}
	seqs := make(map[string]uint64, len(e.convs))
	for id, st := range e.convs {
		if st.acked > 0 {
			seqs[id] = st.acked
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.store.SaveCheckpoint(ctx, storage.Checkpoint{Key: e.cfg.CheckpointKey, ConvSeqs: seqs, At: time.Now()}); err != nil {
		e.log.Warn("export: saving checkpoint failed", "err", err)
		return
	}
	e.changed = false
}
