package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linesOf counts a trace file's lines per conversation.
func linesOf(t *testing.T, path string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxTraceLine)
	for sc.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out[l.Conv]++
	}
	return out
}

// TestReplayOverlappingTraces: two trace files that touch the same
// conversations are both stored in full (their client ids differ), a
// replay of either again is deduplicated, and a line the node refuses is
// counted as refused, not as sent.
func TestReplayOverlappingTraces(t *testing.T) {
	n := newDevNode(t)
	n.start()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")
	na := writeTrace(t, a, 1)
	nb := writeTrace(t, b, 2)
	// One line of b is over the node's body limit (64 KiB by default).
	big, _ := json.Marshal(map[string]string{"ts": "2026-05-01T10:00:00.000Z", "conv": "s:1000", "from": "c0", "role": "customer", "text": strings.Repeat("x", 70<<10)})
	f, err := os.OpenFile(b, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write(append(big, '\n'))
	_ = f.Close()
	nb++

	var res replayCounts
	mustJSON(t, n.run("replay", "--data-dir", n.dir, "--file", a, "--json"), &res)
	if res.Stored != na || res.Deduplicated != 0 || res.Refused != 0 {
		t.Fatalf("replay of a (%d lines): %+v", na, res)
	}
	mustJSON(t, n.run("replay", "--data-dir", n.dir, "--file", b, "--json"), &res)
	if res.Lines != nb || res.Stored != nb-1 || res.Deduplicated != 0 || res.Refused != 1 {
		t.Fatalf("replay of b (%d lines, one too large) after a: %+v", nb, res)
	}
	mustJSON(t, n.run("replay", "--data-dir", n.dir, "--file", a, "--json"), &res)
	if res.Stored != 0 || res.Deduplicated != na {
		t.Fatalf("replay of a again: %+v", res)
	}

	// Every conversation holds the lines of both files.
	ca, cb := linesOf(t, a), linesOf(t, b)
	cb["s:1000"]-- // the refused line
	for conv, want := range ca {
		want += cb[conv]
		var hist []struct {
			Kind string `json:"kind"`
		}
		cust := "c" + strings.TrimPrefix(conv, "s:100") // writeTrace: s:100N's customer is cN
		mustJSON(t, n.run("history", "--data-dir", n.dir, "--user", cust, "--conv", conv, "--limit", "200", "--json"), &hist)
		got := 0
		for _, m := range hist {
			if m.Kind == "normal" {
				got++
			}
		}
		if got != want {
			t.Fatalf("%s: %d messages, want %d from both files", conv, got, want)
		}
	}
}
