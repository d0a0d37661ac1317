package bench

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in microseconds, from 1 µs to 10 minutes, with
// three significant digits.
const (
	histMin    = 1
	histMax    = int64(10 * time.Minute / time.Microsecond)
	histDigits = 3
	// shards spread the delivery recording of many receiving goroutines
	// over several locks.
	shards = 16
)

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histDigits) }

// latency is an HDR histogram of the whole run plus one of the current
// interval (for the time series), sharded to keep lock contention out of
// the measurement.
type latency struct {
	sh [shards]struct {
		mu         sync.Mutex
		total, win *hdrhistogram.Histogram
		_          [40]byte
	}
}

func newLatency() *latency {
	l := &latency{}
	for i := range l.sh {
		l.sh[i].total, l.sh[i].win = newHist(), newHist()
	}
	return l
}

func (l *latency) record(shard int, d time.Duration) {
	us := max(int64(d/time.Microsecond), histMin)
	us = min(us, histMax)
	s := &l.sh[uint(shard)%shards]
	s.mu.Lock()
	_ = s.total.RecordValue(us)
	_ = s.win.RecordValue(us)
	s.mu.Unlock()
}

// interval returns the histogram of the values since the last call and
// starts a new interval.
func (l *latency) interval() *hdrhistogram.Histogram {
	h := newHist()
	for i := range l.sh {
		s := &l.sh[i]
		s.mu.Lock()
		h.Merge(s.win)
		s.win.Reset()
		s.mu.Unlock()
	}
	return h
}

// merge adds the values of h (recorded elsewhere) to the run and the
// current interval.
func (l *latency) merge(h *hdrhistogram.Histogram) {
	s := &l.sh[0]
	s.mu.Lock()
	s.total.Merge(h)
	s.win.Merge(h)
	s.mu.Unlock()
}

func (l *latency) total() *hdrhistogram.Histogram {
	h := newHist()
	for i := range l.sh {
		s := &l.sh[i]
		s.mu.Lock()
		h.Merge(s.total)
		s.mu.Unlock()
	}
	return h
}

// counters are what a run counts; all of them are read by the progress
// ticker while the run writes them.
type counters struct {
	sent, acked, failed, delivered atomic.Int64
	// refused: measured sends answered BUSY; refusedLocal: the part the
	// clients refused themselves during a retry-after. Counted here, per
	// send, so warm-up and set-up refusals stay out of the report.
	refused, refusedLocal atomic.Int64
	// expected deliveries: acked messages × their online recipients.
	expected atomic.Int64
}

// Percentiles in milliseconds, as the JSON report has them.
type Percentiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
	N    int64   `json:"count"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Percentiles{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), N: h.TotalCount()}
}

// spectrum is the latency distribution for the HTML report: the value at
// percentiles 0, 50, 75, 87.5, … (halving the rest each step) up to the
// maximum.
func spectrum(h *hdrhistogram.Histogram) []SpectrumPoint {
	if h.TotalCount() == 0 {
		return nil
	}
	var out []SpectrumPoint
	for _, b := range h.CumulativeDistributionWithTicks(4) {
		out = append(out, SpectrumPoint{Percentile: b.Quantile, Ms: float64(b.ValueAt) / 1000})
		if b.Quantile >= 100 {
			break
		}
	}
	return out
}

// SpectrumPoint is one point of a latency distribution.
type SpectrumPoint struct {
	Percentile float64 `json:"percentile"`
	Ms         float64 `json:"ms"`
}
