package actors

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
)

// broadcaster pushes read fan-out groups' messages to the connections of
// this node that subscribed to them, in rounds, so that a large group's
// fan-out neither starves the node nor grows without bound:
//
//   - A round takes every message that arrived since the previous round,
//     per group, and gives each subscriber of the group all of them as one
//     batch (session.SharedBatch: encoded once, one write per connection).
//     While a round is going out the next round's messages pile up, so the
//     busier the node, the more messages share a write and a packet: the
//     fan-out gets cheaper per message exactly when it has to.
//   - A round goes out Config.BroadcastChunk connections at a time and
//     waits for a chunk's writes before the next (at most
//     Config.BroadcastChunkWait). The Go scheduler is first in, first out:
//     without the chunks one message to 10,000 connections makes 10,000
//     writers and 10,000 QUIC send loops runnable at once, and the sends
//     and acks of everybody else wait behind them.
//   - At most Config.BroadcastMaxPending messages of one group wait for a
//     round; past that the oldest are dropped (counted): the clients see
//     the gap in seqs and fetch it, as after any lost push.
//
// Subscriptions are local and soft: a session subscribes after it
// connected (RegisterDeviceResponse.large_convs) and when it is told it
// joined a large group, and is dropped when it closes.
type broadcaster struct {
	chunk      int
	chunkWait  time.Duration
	maxPending int

	mu      sync.Mutex
	subs    map[string]map[*deviceSession]struct{} // conv → subscribers
	byConn  map[*deviceSession][]string            // subscriber → convs, to drop it
	pending map[string][]*pb.Push                  // conv → messages for the next round
	order   []string                               // convs with pending messages, first come first
	wake    chan struct{}
	stop    chan struct{}
	stopped sync.Once
	done    chan struct{}
}

var (
	metricBroadcastRounds = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_broadcast_rounds_total",
		Help: "Rounds of the large-group broadcaster: each pushes every group message that arrived since the previous round to the group's connections on this node (broadcast.go).",
	})
	metricBroadcastBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "switchboard_broadcast_batch_messages",
		Help:    "Messages of one group sent to its connections together in one round (more under load: they share a write).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12),
	})
	metricBroadcastDeliveries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_broadcast_deliveries_total",
		Help: "Large-group messages handed to connections on this node (one per message per connection).",
	})
	metricBroadcastDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_broadcast_dropped_total",
		Help: "Large-group messages dropped before a round because more than BroadcastMaxPending of one group waited; clients fetch the gap.",
	})
	metricBroadcastSlowChunks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "switchboard_broadcast_slow_chunks_total",
		Help: "Chunks of a broadcast round whose writes were not all done within BroadcastChunkWait (the round went on).",
	})
)

func init() {
	prometheus.MustRegister(metricBroadcastRounds, metricBroadcastBatch, metricBroadcastDeliveries, metricBroadcastDropped, metricBroadcastSlowChunks)
}

func newBroadcaster(cfg Config) *broadcaster {
	b := &broadcaster{
		chunk: cfg.BroadcastChunk, chunkWait: cfg.BroadcastChunkWait, maxPending: cfg.BroadcastMaxPending,
		subs: map[string]map[*deviceSession]struct{}{}, byConn: map[*deviceSession][]string{},
		pending: map[string][]*pb.Push{},
		wake:    make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.run()
	return b
}

// close stops the rounds; what waits is dropped (the clients sync).
func (b *broadcaster) close() {
	b.stopped.Do(func() { close(b.stop) })
	<-b.done
}

// subscribe adds (or with unsubscribe removes) s as a subscriber of convs.
// A closed session is not added: Close marks it closed before it drops it,
// so checking under the lock leaves nothing behind.
func (b *broadcaster) subscribe(s *deviceSession, convs []string, unsubscribe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.closed.Load() && !unsubscribe {
		return
	}
	for _, conv := range convs {
		set := b.subs[conv]
		if unsubscribe {
			if _, ok := set[s]; ok {
				delete(set, s)
				if len(set) == 0 {
					delete(b.subs, conv)
				}
				if i := slices.Index(b.byConn[s], conv); i >= 0 {
					b.byConn[s] = slices.Delete(b.byConn[s], i, i+1)
				}
				if len(b.byConn[s]) == 0 {
					delete(b.byConn, s)
				}
			}
			continue
		}
		if set == nil {
			set = map[*deviceSession]struct{}{}
			b.subs[conv] = set
		}
		if _, ok := set[s]; !ok {
			set[s] = struct{}{}
			b.byConn[s] = append(b.byConn[s], conv)
		}
	}
}

// drop forgets every subscription of s (it closed).
func (b *broadcaster) drop(s *deviceSession) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, conv := range b.byConn[s] {
		delete(b.subs[conv], s)
		if len(b.subs[conv]) == 0 {
			delete(b.subs, conv)
		}
	}
	delete(b.byConn, s)
}

// add queues a group's message for the next round. It never blocks (it
// runs on the hub's mailbox).
func (b *broadcaster) add(conv string, m *pb.Message) {
	b.mu.Lock()
	if len(b.subs[conv]) == 0 {
		b.mu.Unlock()
		return
	}
	list, ok := b.pending[conv]
	if !ok {
		b.order = append(b.order, conv)
	}
	if len(list) >= b.maxPending {
		list = append(list[:0], list[1:]...)
		metricBroadcastDropped.Inc()
	}
	b.pending[conv] = append(list, &pb.Push{Event: &pb.Push_Message{Message: m}})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// roundPart is one group's part of a round: its batch and who gets it.
type roundPart struct {
	batch *session.SharedBatch
	to    []*deviceSession
}

func (b *broadcaster) run() {
	defer close(b.done)
	for {
		select {
		case <-b.stop:
			return
		case <-b.wake:
		}
		parts := b.take()
		if len(parts) == 0 {
			continue
		}
		metricBroadcastRounds.Inc()
		for _, p := range parts {
			metricBroadcastBatch.Observe(float64(len(p.batch.Pushes)))
			if !b.send(p) {
				return
			}
		}
	}
}

// take moves the waiting messages into this round's parts, with the
// subscribers each group has now.
func (b *broadcaster) take() []roundPart {
	b.mu.Lock()
	defer b.mu.Unlock()
	parts := make([]roundPart, 0, len(b.order))
	for _, conv := range b.order {
		msgs := b.pending[conv]
		delete(b.pending, conv)
		set := b.subs[conv]
		if len(set) == 0 || len(msgs) == 0 {
			continue
		}
		to := make([]*deviceSession, 0, len(set))
		for s := range set {
			to = append(to, s)
		}
		parts = append(parts, roundPart{batch: session.NewSharedBatch(msgs), to: to})
	}
	b.order = b.order[:0]
	return parts
}

// send gives one group's batch to its subscribers, a chunk at a time; it
// reports false when the broadcaster stopped.
func (b *broadcaster) send(p roundPart) bool {
	for start := 0; start < len(p.to); start += b.chunk {
		chunk := p.to[start:min(len(p.to), start+b.chunk)]
		w := newChunkWait(len(chunk))
		for _, s := range chunk {
			s.pushBatch(p.batch, w.done)
		}
		metricBroadcastDeliveries.Add(float64(len(chunk) * len(p.batch.Pushes)))
		t := time.NewTimer(b.chunkWait)
		select {
		case <-w.all:
		case <-t.C:
			metricBroadcastSlowChunks.Inc()
		case <-b.stop:
			t.Stop()
			return false
		}
		t.Stop()
	}
	return true
}

// chunkWait is closed (all) once done was called n times.
type chunkWait struct {
	left atomic.Int32
	all  chan struct{}
}

func newChunkWait(n int) *chunkWait {
	w := &chunkWait{all: make(chan struct{})}
	w.left.Store(int32(n))
	return w
}

func (w *chunkWait) done() {
	if w.left.Add(-1) == 0 {
		close(w.all)
	}
}
