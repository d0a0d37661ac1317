package bench

import (
	"math"
	"testing"
)

// The node's send (and scheduling) quantiles come from the difference of
// two histogram scrapes: only what was recorded during the run counts.
func TestHistQuantile(t *testing.T) {
	first := serverSample{sendBuckets: map[float64]float64{0.001: 50, 0.01: 100, 0.1: 100, inf(): 100}}
	last := serverSample{sendBuckets: map[float64]float64{0.001: 50, 0.01: 190, 0.1: 199, inf(): 200}}
	for _, c := range []struct{ q, want float64 }{{0.5, 10}, {0.9, 10}, {0.99, 100}, {1, inf()}} {
		if got := histQuantile(first.sendBuckets, last.sendBuckets, c.q); got != c.want {
			t.Errorf("q%g = %g ms, want %g", c.q, got, c.want)
		}
	}
	if got := histQuantile(last.sendBuckets, last.sendBuckets, 0.99); got != 0 {
		t.Errorf("no sends answered: q0.99 = %g, want 0", got)
	}
	if v, ok := labelValue(`code="OK",op="send",le="0.5"}`, "le"); !ok || v != "0.5" {
		t.Errorf("le = %q %v", v, ok)
	}
}

func inf() float64 { return math.Inf(1) }
