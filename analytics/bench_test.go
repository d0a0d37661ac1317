package analytics

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// benchTrace is a realistic stream: many conversations, customers asking
// one to three messages, one of a few agents replying, client clocks
// jittered, occasional session gaps, interleaved in server-time order.
func benchTrace(n, convs int) []Event {
	rng := rand.New(rand.NewPCG(7, 7))
	agents := make([]string, 50)
	for i := range agents {
		agents[i] = fmt.Sprintf("agent-%02d", i)
	}
	type conv struct {
		id, customer string
		seq          uint64
		at           time.Time
		toAsk        int
		agent        string
	}
	cs := make([]*conv, convs)
	for i := range cs {
		cs[i] = &conv{id: fmt.Sprintf("conv-%06d", i), customer: fmt.Sprintf("cust-%06d", i),
			at: base.Add(time.Duration(rng.IntN(600)) * time.Second), agent: agents[rng.IntN(len(agents))]}
	}
	out := make([]Event, 0, n)
	for len(out) < n {
		c := cs[rng.IntN(len(cs))]
		step := time.Duration(rng.IntN(40_000)) * time.Millisecond
		if rng.IntN(200) == 0 {
			step = 45 * time.Minute // a new session
		}
		c.at = c.at.Add(step)
		c.seq++
		ev := Event{Conv: c.id, Seq: c.seq, ServerTS: c.at,
			ClientTS: c.at.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond)}
		if c.toAsk == 0 {
			c.toAsk = 1 + rng.IntN(3)
		}
		if c.toAsk > 0 {
			ev.Role, ev.Sender = storage.SenderCustomer, c.customer
			c.toAsk--
			if c.toAsk == 0 {
				c.toAsk = -1 // next: the reply
			}
		} else {
			if rng.IntN(20) == 0 {
				c.agent = agents[rng.IntN(len(agents))]
			}
			ev.Role, ev.Sender = storage.SenderAgent, c.agent
			c.toAsk = 0
		}
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b Event) int { return a.ServerTS.Compare(b.ServerTS) })
	// Per-conversation seq order must survive the sort: renumber.
	next := make(map[string]uint64)
	for i := range out {
		next[out[i].Conv]++
		out[i].Seq = next[out[i].Conv]
	}
	return out
}

// BenchmarkEngine measures single-goroutine throughput with both response
// models, sessions, tumbling 1 min and 1 h and sliding 30 s by 15 s windows.
func BenchmarkEngine(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(30*time.Second, 15*time.Second))
	benchEngine(b, cfg)
}

// BenchmarkEngineZoned is BenchmarkEngine with the windows in a time zone
// (America/New_York) plus local days, and a business line per
// conversation: the cost of the zone lookups and the third key.
func BenchmarkEngineZoned(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(30*time.Second, 15*time.Second), Tumbling(24*time.Hour))
	cfg.Location = loadZone(b, "America/New_York")
	benchEngine(b, cfg)
}

func benchEngine(b *testing.B, cfg Config) {
	evs := benchTrace(1<<20, 5000)
	if cfg.Location != nil {
		lines := []string{"cars", "homes", "jobs"}
		for i := range evs {
			if evs[i].Seq == 1 {
				evs[i].Line = lines[len(evs[i].Conv)%len(lines)]
			}
		}
	}
	e := newEngine(b, cfg)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	paused := time.Duration(0)
	for i := 0; i < b.N; i++ {
		j := i % len(evs)
		if j == 0 && i > 0 {
			// Seqs would be duplicates now: start over with a fresh engine.
			b.StopTimer()
			t0 := time.Now()
			e = newEngine(b, cfg)
			paused += time.Since(t0)
			b.StartTimer()
		}
		if err := e.Process(evs[j]); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start) - paused
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
