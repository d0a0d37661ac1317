package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"
)

// Point is one second of a run, for the time series of the reports.
type Point struct {
	T             float64 `json:"t_s"`
	SentPerS      float64 `json:"sent_per_s"`
	AckedPerS     float64 `json:"acked_per_s"`
	DeliveredPerS float64 `json:"delivered_per_s"`
	AckP50        float64 `json:"ack_p50_ms"`
	AckP99        float64 `json:"ack_p99_ms"`
	DlvP50        float64 `json:"delivery_p50_ms"`
	DlvP99        float64 `json:"delivery_p99_ms"`
	Errors        int64   `json:"errors"`
	Conns         int64   `json:"conns,omitempty"`
	ServerRSS     float64 `json:"server_rss_bytes,omitempty"`
	ServerCores   float64 `json:"server_cpu_cores,omitempty"`
	// ServerSchedP90: the node's run-queue wait over the second, 90th
	// percentile in ms (bucket upper bound; ServerReport.NodeSchedP90Ms).
	ServerSchedP90 float64 `json:"server_sched_p90_ms,omitempty"`
	BenchCores     float64 `json:"bench_cpu_cores"`
	BenchHeap      uint64  `json:"bench_heap_bytes"`
}

// sampler takes a Point every interval and prints the progress line.
type sampler struct {
	label    string
	every    time.Duration
	out      io.Writer
	tty      bool
	c        *counters
	ack, dlv *latency
	errs     *errCount
	conns    func() int64
	adminURL string

	mu     sync.Mutex
	points []Point
	srv    serverStats
	cpu0   time.Duration
	stop   chan struct{}
	done   chan struct{}
}

// serverStats are the node's figures over the run.
type serverStats struct {
	ok                   bool
	rssStart, rssMax     float64
	rssEnd, cpu0, cpuEnd float64
	first, last          serverSample // the store counters at begin and end
}

func newSampler(label string, out io.Writer, adminURL string, c *counters, ack, dlv *latency, errs *errCount) *sampler {
	s := &sampler{label: label, every: time.Second, out: out, c: c, ack: ack, dlv: dlv, errs: errs, adminURL: adminURL}
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			s.tty = true
		}
	}
	return s
}

// begin takes the starting figures and starts sampling.
func (s *sampler) begin(ctx context.Context) {
	s.cpu0 = selfCPU()
	if s.adminURL != "" {
		if v, err := scrape(ctx, s.adminURL); err == nil {
			s.srv = serverStats{ok: true, rssStart: v.rss, rssMax: v.rss, rssEnd: v.rss, cpu0: v.cpu, cpuEnd: v.cpu, first: v, last: v}
		}
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.loop(ctx)
}

// end stops sampling and takes the final server figures.
func (s *sampler) end(ctx context.Context) {
	close(s.stop)
	<-s.done
	if s.out != nil && s.tty {
		fmt.Fprintln(s.out)
	}
	if s.adminURL != "" && s.srv.ok {
		if v, err := scrape(ctx, s.adminURL); err == nil {
			s.srv.rssEnd, s.srv.cpuEnd = v.rss, v.cpu
			s.srv.rssMax = max(s.srv.rssMax, v.rss)
			s.srv.last = v
		}
	}
}

func (s *sampler) loop(ctx context.Context) {
	defer close(s.done)
	start := time.Now()
	last, lastCPU := start, s.cpu0
	var lastSent, lastAcked, lastDlv int64
	lastSrvCPU, lastSched := s.srv.cpu0, s.srv.first.schedBuckets
	tick := time.NewTicker(s.every)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ctx.Done():
			return
		case now := <-tick.C:
			dt := now.Sub(last).Seconds()
			p := Point{T: now.Sub(start).Seconds()}
			if s.c != nil {
				sent, acked, dlv := s.c.sent.Load(), s.c.acked.Load(), s.c.delivered.Load()
				p.SentPerS, p.AckedPerS, p.DeliveredPerS = float64(sent-lastSent)/dt, float64(acked-lastAcked)/dt, float64(dlv-lastDlv)/dt
				lastSent, lastAcked, lastDlv = sent, acked, dlv
			}
			if s.ack != nil {
				a := percentiles(s.ack.interval())
				p.AckP50, p.AckP99 = a.P50, a.P99
			}
			if s.dlv != nil {
				d := percentiles(s.dlv.interval())
				p.DlvP50, p.DlvP99 = d.P50, d.P99
			}
			if s.errs != nil {
				p.Errors = s.errs.total()
			}
			if s.conns != nil {
				p.Conns = s.conns()
			}
			cpu := selfCPU()
			p.BenchCores = (cpu - lastCPU).Seconds() / dt
			lastCPU = cpu
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			p.BenchHeap = ms.HeapAlloc
			if s.srv.ok {
				if v, err := scrape(ctx, s.adminURL); err == nil {
					p.ServerRSS = v.rss
					p.ServerCores = (v.cpu - lastSrvCPU) / dt
					p.ServerSchedP90 = histQuantile(lastSched, v.schedBuckets, 0.9)
					lastSrvCPU, lastSched = v.cpu, v.schedBuckets
					s.mu.Lock()
					s.srv.rssMax = max(s.srv.rssMax, v.rss)
					s.srv.rssEnd, s.srv.cpuEnd = v.rss, v.cpu
					s.mu.Unlock()
				}
			}
			last = now
			s.mu.Lock()
			s.points = append(s.points, p)
			s.mu.Unlock()
			s.print(p)
		}
	}
}

func (s *sampler) print(p Point) {
	if s.out == nil {
		return
	}
	var line string
	if s.conns != nil && s.c == nil {
		line = fmt.Sprintf("[%s %5.0fs] conns %d  errors %d  bench cpu %.0f%%", s.label, p.T, p.Conns, p.Errors, p.BenchCores*100)
	} else {
		line = fmt.Sprintf("[%s %5.0fs] sent %6.0f/s  acked %6.0f/s  delivered %7.0f/s  ack p99 %6.1fms  delivery p99 %6.1fms  errors %d  bench cpu %.0f%%",
			s.label, p.T, p.SentPerS, p.AckedPerS, p.DeliveredPerS, p.AckP99, p.DlvP99, p.Errors, p.BenchCores*100)
	}
	if s.srv.ok {
		line += fmt.Sprintf("  server cpu %.0f%% rss %.0fMiB", p.ServerCores*100, p.ServerRSS/(1<<20))
	}
	if s.tty {
		fmt.Fprintf(s.out, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(s.out, line)
	}
}

func (s *sampler) series() []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Point(nil), s.points...)
}

func (s *sampler) benchCPU() time.Duration { return selfCPU() - s.cpu0 }
