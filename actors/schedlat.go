package actors

import (
	"math"
	"runtime/metrics"
	"time"
)

// schedLatency reads how long this process's goroutines waited, runnable,
// before they ran (the Go runtime's /sched/latencies:seconds histogram).
// It is the node's CPU saturation signal: on a node with CPU to spare a
// goroutine that becomes runnable runs within a fraction of a millisecond,
// whatever the load; once the process's work outgrows its CPU, every
// packet, grain message and write waits in the run queues, tens to
// hundreds of milliseconds at each hop, and a send's own measured latency
// cannot see that (it starts once the request was read).
type schedLatency struct {
	sample []metrics.Sample
	prev   []uint64
}

func newSchedLatency() *schedLatency {
	return &schedLatency{sample: []metrics.Sample{{Name: "/sched/latencies:seconds"}}}
}

// quantile is the q-quantile (0 < q < 1) of the waits recorded since the
// previous call, as the upper bound of the histogram bucket it falls in
// (the lower bound for the last, unbounded bucket); 0 on the first call
// and when nothing was recorded.
func (s *schedLatency) quantile(q float64) time.Duration {
	metrics.Read(s.sample)
	if s.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return 0 // a runtime without the metric
	}
	h := s.sample[0].Value.Float64Histogram()
	defer func() { s.prev = append(s.prev[:0], h.Counts...) }()
	if len(s.prev) != len(h.Counts) {
		return 0
	}
	var total uint64
	for i, c := range h.Counts {
		total += c - s.prev[i]
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var seen uint64
	for i, c := range h.Counts {
		if seen += c - s.prev[i]; seen > want {
			bound := h.Buckets[i+1]
			if math.IsInf(bound, 1) {
				bound = h.Buckets[i]
			}
			return time.Duration(bound * float64(time.Second))
		}
	}
	return 0
}
