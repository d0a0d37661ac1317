package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeTrace makes a random service-desk trace: several conversations,
// customers following up, agents replying (and transferring), a system
// note, jittered and slightly out-of-order client times, one event too far
// in the future and one too late.
func writeTrace(t *testing.T, path string, seed uint64) int {
	rng := rand.New(rand.NewPCG(seed, seed))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	base := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	n := 0
	line := func(ts time.Time, conv, from, role, text string) {
		_ = enc.Encode(map[string]string{"ts": ts.UTC().Format("2006-01-02T15:04:05.000Z"), "conv": conv, "from": from, "role": role, "text": text})
		n++
	}
	for c := 0; c < 6; c++ {
		conv := fmt.Sprintf("s:%d", 1000+c)
		cust := fmt.Sprintf("c%d", c)
		ts := base.Add(time.Duration(rng.IntN(3600)) * time.Second)
		for turn := 0; turn < 4+rng.IntN(4); turn++ {
			for q := 0; q <= rng.IntN(3); q++ {
				ts = ts.Add(time.Duration(1+rng.IntN(40)) * time.Second)
				line(ts, conv, cust, "customer", "question")
			}
			ts = ts.Add(time.Duration(5+rng.IntN(120)) * time.Second)
			line(ts.Add(-time.Duration(rng.IntN(3))*time.Second), conv, fmt.Sprintf("a%d", rng.IntN(3)), "agent", "answer")
			if rng.IntN(5) == 0 {
				ts = ts.Add(31 * time.Minute) // a new session
			}
		}
		line(ts.Add(time.Second), conv, "bot", "system", "closed")
	}
	line(time.Now().Add(time.Hour), "s:1000", "c0", "customer", "from the future")
	line(base.Add(-24*time.Hour), "s:1001", "c1", "customer", "far too late")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReplayMetricsEqualRecompute replays a generated trace through a real
// node and the real client path, then checks that the streaming metrics
// equal the batch recomputation over the log, and that they count what the
// trace holds.
func TestReplayMetricsEqualRecompute(t *testing.T) {
	n := newDevNode(t)
	n.start()
	trace := filepath.Join(t.TempDir(), "trace.jsonl")
	lines := writeTrace(t, trace, 42)
	out := n.run("replay", "--data-dir", n.dir, "--file", trace, "--json")
	var res replayCounts
	mustJSON(t, out, &res)
	if res.Lines != lines || res.Stored != lines || res.Deduplicated != 0 || res.Refused != 0 {
		t.Fatalf("replay of %d lines: %+v", lines, res)
	}
	// Replaying the same trace again stores nothing new (client ids).
	mustJSON(t, n.run("replay", "--data-dir", n.dir, "--file", trace, "--json"), &res)
	if res.Stored != 0 || res.Deduplicated != lines {
		t.Fatalf("second replay of the same %d lines: %+v", lines, res)
	}

	for _, window := range []string{"1h", "1m"} {
		streaming := n.run("metrics", "--data-dir", n.dir, "--window", window, "--json")
		batch := n.run("metrics", "recompute", "--data-dir", n.dir, "--window", window, "--json")
		if !bytes.Equal(streaming, batch) {
			t.Fatalf("window %s: streaming and recompute differ:\n%s\n%s", window, streaming, batch)
		}
		var rep struct {
			Late   int `json:"late_events"`
			Future int `json:"future_events"`
			Rows   []struct {
				Key       string `json:"key"`
				Questions int    `json:"questions"`
				Sessions  int    `json:"sessions"`
			} `json:"rows"`
		}
		mustJSON(t, streaming, &rep)
		if rep.Late != 1 || rep.Future != 1 {
			t.Fatalf("window %s: late %d future %d, want 1 and 1", window, rep.Late, rep.Future)
		}
		questions := 0
		for _, r := range rep.Rows {
			if r.Key == "*" {
				questions += r.Questions
			}
		}
		if questions == 0 {
			t.Fatalf("window %s: no answered questions in %s", window, streaming)
		}
	}
}
