// Package bench drives a Switchboard node or cluster with load over real
// QUIC through the client SDK (transport/client), verifies every message
// it sends, and reports throughput and latency: `switchboard bench`.
//
// Scenarios: chat (1:1 pairs), group (groups of M members), connect
// (many concurrent connections), sync (reconnecting after many changes)
// and soak (chat and group together, with reconnects, for a long time).
// Sends follow an open-loop schedule and latency is taken from each
// message's intended send time, so a stalled server shows up as latency
// instead of silently slowing the schedule down.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
)

// Options choose the scenario and its size. Zero fields take the defaults
// given.
type Options struct {
	Scenario string
	// Duration of the measured phase of chat, group and soak (10 s), and
	// of holding the connections in connect.
	Duration time.Duration
	// Rate is the total send rate in messages/s (chat 1000, group 20,
	// soak 500).
	Rate float64
	// Users in chat: they form Users/2 pairs, each user sending to its
	// peer (default Rate/10, at least 2: 10 messages/s per sender keeps
	// well under the server's per-connection and per-sender limits).
	Users int
	// Groups of Members (including its Senders) in group (1 × 100, 1 sender).
	Groups, Members, Senders int
	// Conns to ramp up to over Ramp in connect (1000 over 10 s).
	Conns int
	Ramp  time.Duration
	// SyncUsers reconnect after Convs conversations changed in sync (4 × 1000).
	SyncUsers, Convs int
	// BodySize pads message bodies (default 100 bytes; the header needs ~40).
	BodySize int
	// Drain is how long to wait after sending for outstanding acks and
	// deliveries before counting the rest lost (default 30 s).
	Drain time.Duration
	// DialConcurrency bounds the connects in flight (default 64).
	DialConcurrency int
	// RunID prefixes every user id, so runs against one node never share
	// users (default random).
	RunID string
	// Progress receives the live progress line (nil: none).
	Progress io.Writer
	// SenderExec, when set, runs the group scenario's senders in a
	// process of their own: the argv that starts it (its program runs
	// RunSender on its stdin and stdout, as `switchboard bench-sender`
	// does). The members still connect, and the group is made, here; the
	// senders' schedule, sends and ack latencies are the child's, so a
	// bench busy receiving on thousands of connections does not delay
	// its own acks. Empty: senders in this process.
	SenderExec []string
}

func (o *Options) defaults() error {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Rate <= 0 {
		switch o.Scenario {
		case "group":
			o.Rate = 20
		case "soak":
			o.Rate = 500
		default:
			o.Rate = 1000
		}
	}
	if o.Users <= 0 {
		o.Users = max(2, int(math.Ceil(o.Rate/10)))
	}
	o.Users += o.Users % 2
	set(&o.Groups, 1)
	set(&o.Members, 100)
	set(&o.Senders, 1)
	if o.Senders > o.Members {
		return fmt.Errorf("bench: %d senders in groups of %d", o.Senders, o.Members)
	}
	set(&o.Conns, 1000)
	if o.Ramp <= 0 {
		o.Ramp = 10 * time.Second
	}
	set(&o.SyncUsers, 4)
	set(&o.Convs, 1000)
	set(&o.BodySize, 100)
	if o.Drain <= 0 {
		o.Drain = 30 * time.Second
	}
	set(&o.DialConcurrency, 64)
	if o.RunID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		o.RunID = "b" + hex.EncodeToString(b[:])
	}
	return nil
}

// maxSenderRate is the highest rate one sender is asked for without a
// warning: the server allows 50 requests/s per connection (acks included)
// and 50 sends/s per sender and conversation.
const maxSenderRate = 25

// Scenarios lists the scenario names.
var Scenarios = []string{"chat", "group", "connect", "sync", "soak"}

// Run runs one scenario against t. The error is for runs that could not
// be carried out; verification faults are in Result.Faults.
func Run(ctx context.Context, t Target, o Options) (*Result, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if t.Logger == nil {
		t.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	p, err := newPool(t)
	if err != nil {
		return nil, err
	}
	defer p.close()
	res := &Result{Scenario: o.Scenario, StartedAt: time.Now(), Params: map[string]any{"run_id": o.RunID}}
	res.Bench.UDPSockets, res.Bench.WebSocket = len(p.trs), len(t.WebSocketURLs) > 0
	udpBefore, udpOK := readUDPStats()
	var clients []*client.Client
	switch o.Scenario {
	case "chat":
		clients, err = runChat(ctx, p, o, res)
	case "group":
		clients, err = runGroup(ctx, p, o, res)
	case "soak":
		clients, err = runSoak(ctx, p, o, res)
	case "connect":
		clients, err = runConnect(ctx, p, o, res)
	case "sync":
		clients, err = runSync(ctx, p, o, res)
	default:
		return nil, fmt.Errorf("bench: unknown scenario %q (want one of %v)", o.Scenario, Scenarios)
	}
	res.Bench.Clients = len(clients)
	if after, ok := readUDPStats(); ok && udpOK {
		drops, received := after.ReceiveDrops-udpBefore.ReceiveDrops, after.Received-udpBefore.Received
		res.Bench.UDPReceiveDrops, res.Bench.UDPReceived = &drops, &received
	}
	closeAll(clients)
	for _, pt := range res.Series {
		res.Bench.HeapBytesMax = max(res.Bench.HeapBytesMax, pt.BenchHeap)
	}
	return res, err
}

// connectMany connects users (device "bench"), DialConcurrency at a time;
// onEvent(i) is the handler of user i (nil: events dropped).
func connectMany(ctx context.Context, p *pool, o Options, users []string, onEvent func(i int) func(client.Event)) ([]*client.Client, error) {
	clients := make([]*client.Client, len(users))
	sem := make(chan struct{}, o.DialConcurrency)
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for i, u := range users {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			closeAll(clients)
			return nil, ctx.Err()
		}
		if firstErr.Load() != nil {
			<-sem
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var h func(client.Event)
			if onEvent != nil {
				h = onEvent(i)
			}
			c, err := p.dial(ctx, u, "bench", h)
			if err != nil {
				err = fmt.Errorf("connect %s: %w", u, err)
				firstErr.CompareAndSwap(nil, &err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		closeAll(clients)
		return nil, *e
	}
	return clients, nil
}

func closeAll(cs []*client.Client) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range cs {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() { defer wg.Done(); _ = c.Close(); <-sem }()
	}
	wg.Wait()
}

// runTraffic warms up, runs the schedule, drains and fills res.
func runTraffic(ctx context.Context, t *traffic, o Options, p *pool, res *Result, errs *errCount) error {
	t.ready.Store(int64(len(t.senders)))
	rateNote(t, o, res)
	t.startAckWaiters()
	defer t.stopAckWaiters()
	if err := t.warmup(ctx, 60*time.Second); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res.Notes = append(res.Notes, "warm-up: "+err.Error())
	}
	smp := newSampler(o.Scenario, o.Progress, p.t.AdminURL, &t.c, t.ack, t.dlv, errs)
	smp.begin(ctx)
	began := time.Now()
	t.schedule(ctx, o.Rate, o.Duration)
	if err := t.settle(ctx, o.Drain); err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("drain (%s): %v", o.Drain, err))
	}
	elapsed := time.Since(began)
	smp.end(context.WithoutCancel(ctx))
	fillTraffic(ctx, res, t, p, elapsed, smp, errs)
	return ctx.Err()
}

// rateNote warns when each sender is asked for more than the server
// allows it.
func rateNote(t *traffic, o Options, res *Result) {
	perSender := o.Rate / float64(len(t.senders))
	if perSender > maxSenderRate {
		res.Notes = append(res.Notes, fmt.Sprintf("%.0f messages/s per sender is above %d/s: expect RATE_LIMITED (use more users or senders)", perSender, maxSenderRate))
	}
}

// fillTraffic fills res once the drain is over. Acked messages not seen
// by then are looked up by a final resync (not timed): found, they are
// late; not found, never delivered.
func fillTraffic(ctx context.Context, res *Result, t *traffic, p *pool, elapsed time.Duration, smp *sampler, errs *errCount) {
	missed, never, sample := t.verdict(ctx, p)
	res.NeverDelivered, res.LostSample, res.Late = never, sample, missed-never
	res.DurationS = elapsed.Seconds()
	res.Sent, res.Acked, res.Failed, res.Delivered = t.c.sent.Load(), t.c.acked.Load(), t.c.failed.Load(), t.c.delivered.Load()
	res.RefusedBusy, res.RefusedLocal = t.c.refused.Load(), t.c.refusedLocal.Load()
	res.Expected = t.c.expected.Load() - (t.unique.Load() - t.c.delivered.Load()) // without warm-up deliveries
	res.Duplicates, res.OutOfOrder, res.Reordered = t.dups.Load(), t.ooo.Load(), t.reordered.Load()
	res.ThroughputAckedPerS = float64(res.Acked) / res.DurationS
	res.ThroughputDeliveredPerS = float64(res.Delivered) / res.DurationS
	ack, dlv := t.ack.total(), t.dlv.total()
	res.AckMs, res.DeliveryMs = percentiles(ack), percentiles(dlv)
	res.AckSpectrum, res.DeliverySpectrum = spectrum(ack), spectrum(dlv)
	fillCommon(res, smp, elapsed, errs)
}

func fillCommon(res *Result, smp *sampler, elapsed time.Duration, errs *errCount) {
	if res.DurationS == 0 {
		res.DurationS = elapsed.Seconds()
	}
	res.Series = smp.series()
	res.Errors, res.ErrorSamples = errs.snapshot(), errs.samples()
	res.Bench.CPUSeconds = smp.benchCPU().Seconds()
	res.Bench.CPUCoresAvg = res.Bench.CPUSeconds / max(elapsed.Seconds(), 1e-9)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.Bench.HeapBytesMax = ms.HeapAlloc
	if s := smp.srv; s.ok {
		res.Server = ServerReport{Measured: true, RSSBytesMax: s.rssMax, RSSBytesStart: s.rssStart, RSSBytesEnd: s.rssEnd, CPUSeconds: s.cpuEnd - s.cpu0}
		res.Server.setStore(s.first, s.last, res.Acked)
		res.Server.setCPU(res.Acked, res.Delivered)
	}
}
