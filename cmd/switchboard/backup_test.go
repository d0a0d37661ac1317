package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A running node backs its store up through the admin API; a store
// restored from that backup (into another data directory) serves what was
// acknowledged before it, not what came after, and numbers new messages
// above every seq the first node had given.
func TestStoreBackupAndRestore(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	for _, text := range []string{"one", "two"} {
		n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", text)
	}
	var info struct {
		Dir   string `json:"dir"`
		Files int    `json:"files"`
	}
	mustJSON(t, n.run("store", "backup", "--data-dir", d, "--json"), &info)
	if filepath.Dir(info.Dir) != filepath.Join(d, "backups") || info.Files == 0 {
		t.Fatalf("backup: %+v", info)
	}
	n.run("send", "--data-dir", d, "--user", "alice", "--to", "user:bob", "--text", "three")
	n.kill()

	r := newDevNode(t)
	restoredAt := time.Now()
	var rr struct {
		Conversations int `json:"conversations_moved"`
		GapRows       int `json:"gap_rows"`
	}
	mustJSON(t, r.run("store", "restore", "--from", info.Dir, "--data-dir", r.dir, "--seq-skip", "10", "--json"), &rr)
	if rr.Conversations != 1 || rr.GapRows < 10 {
		t.Fatalf("restore: %+v", rr)
	}
	r.start()
	var hist []struct {
		Seq  uint64 `json:"seq"`
		From string `json:"from"`
		Text string `json:"text"`
	}
	mustJSON(t, r.run("history", "--data-dir", r.dir, "--user", "bob", "--conv", "d:alice:bob", "--from", "1", "--to", "5", "--json"), &hist)
	var texts []string
	for _, m := range hist {
		if m.From == "alice" {
			texts = append(texts, m.Text)
		}
	}
	if got := strings.Join(texts, ","); got != "two,one" && got != "one,two" {
		t.Fatalf("restored history: %+v", hist)
	}
	// The gaps stand for no message: the conversation's last message and
	// last activity are still the last one written's.
	var convs []struct {
		Unread   uint64 `json:"unread"`
		Activity int64  `json:"last_activity_ms"`
		Last     struct {
			Text string `json:"text"`
		} `json:"last_message"`
	}
	mustJSON(t, r.run("convs", "--data-dir", r.dir, "--user", "bob", "--json"), &convs)
	if len(convs) != 1 || convs[0].Last.Text != "two" || convs[0].Unread != 2 || convs[0].Activity >= restoredAt.UnixMilli() {
		t.Fatalf("bob's conversations after the restore: %+v", convs)
	}
	var sent struct {
		Seq uint64 `json:"seq"`
	}
	mustJSON(t, r.run("send", "--data-dir", r.dir, "--user", "alice", "--to", "user:bob", "--text", "four", "--json"), &sent)
	if sent.Seq <= 3 {
		t.Fatalf("a message after the restore took seq %d; the first node had given 3", sent.Seq)
	}
	// The restored node refuses a restore over its store.
	if out, err := runCmd("store", "restore", "--from", info.Dir, "--data-dir", r.dir); err == nil {
		t.Fatalf("restore over a store: %s", out)
	}
}
