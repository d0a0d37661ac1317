package bench

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/switchboard-im/switchboard/transport/client"
)

// The group scenario can run its senders in a process of their own (see
// Options.SenderExec): a bench holding 10,000 receiving connections uses
// most of a core, and a sender living in that process waits behind
// thousands of runnable goroutines for its acks, so the bench would
// measure its own starvation. The sender process does little work and the
// kernel serves it promptly.
//
// The protocol, JSON lines: the parent writes a senderSpec on the child's
// stdin; the child connects the senders, sends one warm-up message each,
// waits for their acks and writes a senderReport of phase "warm"; the
// parent waits for the warm-up deliveries and writes a senderGo line;
// the child runs the schedule, writes a "delta" report every second and a
// "done" report after its drain, and exits. Closing its stdin stops it.
// Its stderr is for logs.

// senderSpec is what the sender process is asked to do.
type senderSpec struct {
	// StartUnixNano is the parent's traffic start: the headers' intended
	// offsets count from it in both processes.
	StartUnixNano   int64         `json:"start_unix_nano"`
	Rate            float64       `json:"rate"`
	Duration        time.Duration `json:"duration_ns"`
	BodySize        int           `json:"body_size"`
	WarmupTimeout   time.Duration `json:"warmup_timeout_ns"`
	Drain           time.Duration `json:"drain_ns"`
	DialConcurrency int           `json:"dial_concurrency"`
	Senders         []senderRef   `json:"senders"`
}

// senderRef is one sender: its index in the parent (written in every
// header), its user (device "bench"), where it sends, and how many
// deliveries each acked message owes.
type senderRef struct {
	Idx        int    `json:"idx"`
	User       string `json:"user"`
	Conv       string `json:"conv,omitempty"`
	ToUser     string `json:"to_user,omitempty"`
	Recipients int    `json:"recipients"`
}

// senderGo starts the measured phase.
type senderGo struct {
	Go bool `json:"go"`
}

// senderReport is what the sender process reports: counts and the ack
// latencies since its previous report (so the parent's live line and time
// series keep working), and at the end what was acked.
type senderReport struct {
	Phase    string `json:"phase"` // warm, delta, done
	Sent     int64  `json:"sent"`
	Acked    int64  `json:"acked"`
	Failed   int64  `json:"failed"`
	Expected int64  `json:"expected"` // deliveries owed, warm-up included
	// RefusedBusy and RefusedLocal: measured sends refused BUSY (by the
	// server or by the client during a retry-after; the latter also counts
	// in RefusedLocal).
	RefusedBusy  int64            `json:"refused_busy,omitempty"`
	RefusedLocal int64            `json:"refused_local,omitempty"`
	Errors       map[string]int64 `json:"errors,omitempty"`
	// AckHist is the ack latencies (µs) recorded since the previous
	// report, HdrHistogram V2 compressed and base64.
	AckHist string   `json:"ack_hist,omitempty"`
	Notes   []string `json:"notes,omitempty"`

	// done only
	AckedBits    []senderAcked `json:"acked_bits,omitempty"`
	CPUSeconds   float64       `json:"cpu_seconds,omitempty"`
	HeapBytesMax uint64        `json:"heap_bytes_max,omitempty"`
	Clients      int           `json:"clients,omitempty"`
}

// senderAcked is the bitset of a sender's acknowledged numbers.
type senderAcked struct {
	Idx   int      `json:"idx"`
	Acked []uint64 `json:"acked"`
}

// maxSpecLine bounds a protocol line (the spec names every sender).
const maxSpecLine = 64 << 20

// RunSender is the sender process of a group run (see
// Options.SenderExec): it reads its orders from in, sends through t and
// writes its reports to out. The switchboard binary runs it as the
// hidden command `bench-sender`.
func RunSender(ctx context.Context, t Target, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	br := bufio.NewReaderSize(in, 64<<10)
	line, err := readLine(br)
	if err != nil {
		return fmt.Errorf("bench sender: read spec: %w", err)
	}
	var spec senderSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("bench sender: spec: %w", err)
	}
	if len(spec.Senders) == 0 || spec.Rate <= 0 || spec.Duration <= 0 || spec.StartUnixNano == 0 {
		return fmt.Errorf("bench sender: spec needs senders, a rate, a duration and a start time (got %d senders, rate %g, duration %s)", len(spec.Senders), spec.Rate, spec.Duration)
	}
	spec.WarmupTimeout = cmp.Or(spec.WarmupTimeout, 60*time.Second)
	spec.Drain = cmp.Or(spec.Drain, 30*time.Second)
	if t.Logger == nil {
		t.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	t.Sockets = max(1, min(cmp.Or(t.Sockets, 8), len(spec.Senders)))
	p, err := newPool(t)
	if err != nil {
		return err
	}
	defer p.close()

	// The rest of stdin: the go line, then EOF when the parent is done
	// with us (or died): stop then.
	goSignal := make(chan struct{})
	go func() {
		defer cancel()
		started := false
		for {
			l, err := readLine(br)
			if err != nil {
				return
			}
			var g senderGo
			if json.Unmarshal(l, &g) == nil && g.Go && !started {
				close(goSignal)
				started = true
			}
		}
	}()

	errs := newErrCount()
	tr := newTraffic(spec.BodySize, errs)
	tr.start = time.Unix(0, spec.StartUnixNano)
	tr.acksOnly = true
	users := make([]string, len(spec.Senders))
	for i, s := range spec.Senders {
		users[i] = s.User
	}
	clients, err := connectMany(ctx, p, Options{DialConcurrency: max(1, spec.DialConcurrency)}, users, nil)
	if err != nil {
		return fmt.Errorf("bench sender: %w", err)
	}
	defer closeAll(clients)
	for i, ref := range spec.Senders {
		to := client.ToConv(ref.Conv)
		if ref.ToUser != "" {
			to = client.ToUser(ref.ToUser)
		}
		s := tr.addSender(clients[i], to, nil)
		s.idx, s.fanout = ref.Idx, ref.Recipients
	}
	rep := &reporter{out: json.NewEncoder(out), t: tr}
	cpu0 := selfCPU()
	tr.startAckWaiters()
	defer tr.stopAckWaiters()

	var notes []string
	for _, s := range tr.senders {
		tr.send(s, time.Since(tr.start), true)
	}
	if err := tr.settle(ctx, spec.WarmupTimeout); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		notes = append(notes, "warm-up (sender process): "+err.Error())
	}
	if err := rep.write("warm", notes); err != nil {
		return err
	}
	notes = nil
	select {
	case <-goSignal:
	case <-ctx.Done():
		return fmt.Errorf("bench sender: stopped before the measured phase: %w", ctx.Err())
	}

	tick := time.NewTicker(time.Second)
	tickDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				_ = rep.write("delta", nil)
			case <-tickDone:
				return
			}
		}
	}()
	tr.schedule(ctx, spec.Rate, spec.Duration)
	if err := tr.settle(ctx, spec.Drain); err != nil {
		notes = append(notes, fmt.Sprintf("drain (%s, sender process): %v", spec.Drain, err))
	}
	close(tickDone)
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("bench sender: stopped: %w", ctx.Err())
	}
	rep.done = func(r *senderReport) {
		for _, s := range tr.senders {
			s.mu.Lock()
			r.AckedBits = append(r.AckedBits, senderAcked{Idx: s.idx, Acked: append([]uint64(nil), s.acked...)})
			s.mu.Unlock()
		}
		r.CPUSeconds = (selfCPU() - cpu0).Seconds()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		r.HeapBytesMax, r.Clients = ms.HeapAlloc, len(clients)
	}
	return rep.write("done", notes)
}

// reporter writes the sender process's reports, each with what changed
// since the one before.
type reporter struct {
	mu   sync.Mutex
	out  *json.Encoder
	t    *traffic
	last struct {
		sent, acked, failed, expected, refused, refusedLocal int64
		errs                                                 map[string]int64
	}
	done func(*senderReport)
}

func (r *reporter) write(phase string, notes []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.t.c
	sent, acked, failed, expected := c.sent.Load(), c.acked.Load(), c.failed.Load(), c.expected.Load()
	refused, refusedLocal := c.refused.Load(), c.refusedLocal.Load()
	rep := senderReport{Phase: phase, Sent: sent - r.last.sent, Acked: acked - r.last.acked, Failed: failed - r.last.failed,
		Expected: expected - r.last.expected, RefusedBusy: refused - r.last.refused, RefusedLocal: refusedLocal - r.last.refusedLocal,
		Notes: notes}
	r.last.sent, r.last.acked, r.last.failed, r.last.expected = sent, acked, failed, expected
	r.last.refused, r.last.refusedLocal = refused, refusedLocal
	errs := r.t.errs.snapshot()
	for k, v := range errs {
		if d := v - r.last.errs[k]; d != 0 {
			if rep.Errors == nil {
				rep.Errors = map[string]int64{}
			}
			rep.Errors[k] = d
		}
	}
	r.last.errs = errs
	if h := r.t.ack.interval(); h.TotalCount() > 0 {
		b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
		if err != nil {
			return fmt.Errorf("bench sender: encode histogram: %w", err)
		}
		rep.AckHist = string(b)
	}
	if phase == "done" && r.done != nil {
		r.done(&rep)
	}
	if err := r.out.Encode(&rep); err != nil {
		return fmt.Errorf("bench sender: write report: %w", err)
	}
	return nil
}

// readLine reads one line of at most maxSpecLine bytes, without its
// newline.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := br.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > maxSpecLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxSpecLine)
		}
		if !isPrefix {
			return line, nil
		}
	}
}
