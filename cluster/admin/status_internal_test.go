package admin

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// cluster status reports the team-wide ("*") value of a per-agent gauge,
// never the sum over agents and lines, and the mean of a per-agent
// histogram over all its series.
func TestStatusTeamWideValues(t *testing.T) {
	rate := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_test_status_rate", Help: "test"}, []string{"agent", "window"})
	resp := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "switchboard_test_status_seconds", Help: "test"}, []string{"agent"})
	prometheus.MustRegister(rate, resp)
	defer prometheus.Unregister(rate)
	defer prometheus.Unregister(resp)
	rate.WithLabelValues("*", "1h").Set(0.9)
	rate.WithLabelValues("ann", "1h").Set(0.5)
	rate.WithLabelValues("line:cars", "1h").Set(0.7)
	resp.WithLabelValues("ann").Observe(1)
	resp.WithLabelValues("bob").Observe(3)
	resp.WithLabelValues("bob").Observe(5)

	st := Status{Counters: map[string]float64{}, Latency: map[string]float64{}}
	gatherInto(&st)
	if got := st.Counters["switchboard_test_status_rate"]; got != 0.9 {
		t.Errorf("status rate %v, want the \"*\" value 0.9", got)
	}
	if got := st.Latency["switchboard_test_status_seconds"]; got != 3000 {
		t.Errorf("status mean %v ms, want 3000 (the mean of 1, 3 and 5 s)", got)
	}
}
