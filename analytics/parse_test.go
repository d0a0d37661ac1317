package analytics

import (
	"testing"
	"time"
)

func TestParseWindow(t *testing.T) {
	for _, c := range []struct {
		in   string
		want WindowSpec
	}{
		{"1h", Tumbling(time.Hour)},
		{"60m", Tumbling(time.Hour)},
		{"30s/15s", Sliding(30*time.Second, 15*time.Second)},
		{"1m/1m", Tumbling(time.Minute)},
	} {
		got, err := ParseWindow(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if back, err := ParseWindow(got.Flag()); err != nil || back != got {
			t.Errorf("%q: Flag %q does not read back: %v %v", c.in, got.Flag(), back, err)
		}
	}
	for _, bad := range []string{"", "hourly", "0s", "-1h", "1h/", "/15s", "30s/0s", "30s/-1s", "1h/x"} {
		if w, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) = %v, want an error", bad, w)
		}
	}
}

// BenchmarkRowsOneKey is what one my_metrics request costs the metrics
// grain: one agent's rows of the hour family, out of a state of 5000
// conversations and 50 agents (the rest of the answer, JSON and the actor
// round trip, comes on top).
func BenchmarkRowsOneKey(b *testing.B) {
	cfg := DefaultConfig()
	e := newEngine(b, cfg)
	for _, ev := range benchTrace(1<<18, 5000) {
		if err := e.Process(ev); err != nil {
			b.Fatal(err)
		}
	}
	q := Query{Size: time.Hour, Slide: time.Hour, Key: "agent-07"}
	if len(e.Rows(q)) == 0 {
		b.Fatal("agent-07 has no rows")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Rows(q)
	}
}
