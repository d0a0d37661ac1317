package main

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// switchboard send --in and scheduled against a dev node: two messages
// scheduled, listed, one cancelled, the other in the group's history once
// due; --at in the past refused INVALID.
func TestScheduleCommand(t *testing.T) {
	n := newDevNode(t)
	n.start()
	d := n.dir
	n.run("group", "create", "--data-dir", d, "--user", "olga", "--id", "g:class", "--members", "mia")
	var s struct {
		ID   string `json:"id"`
		AtMs int64  `json:"at_ms"`
	}
	mustJSON(t, n.run("send", "--data-dir", d, "--user", "olga", "--conv", "g:class", "--in", "2s", "--text", "homework: page 14", "--json"), &s)
	if s.ID == "" || s.AtMs < time.Now().UnixMilli() {
		t.Fatalf("scheduled: %+v", s)
	}
	out := string(n.run("send", "--data-dir", d, "--user", "olga", "--conv", "g:class", "--in", "1h", "--text", "never"))
	cancel, ok := strings.CutPrefix(out, "scheduled ")
	if !ok {
		t.Fatalf("scheduling: %s", out)
	}
	cancel = strings.Fields(cancel)[0]
	if out := string(n.run("scheduled", "--data-dir", d, "--user", "olga")); !strings.Contains(out, cancel) || !strings.Contains(out, "g:class: never") {
		t.Fatalf("scheduled:\n%s", out)
	}
	n.run("scheduled", "--data-dir", d, "--user", "olga", "--cancel", cancel)
	res, err := exec.Command(n.bin, "send", "--data-dir", d, "--user", "olga", "--conv", "g:class", "--at", "2020-01-01T00:00:00Z", "--text", "late").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "INVALID") {
		t.Fatalf("scheduling in the past: %v\n%s", err, res)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		out := string(n.run("history", "--data-dir", d, "--user", "mia", "--conv", "g:class"))
		if strings.Contains(out, "olga: homework: page 14") {
			if strings.Contains(out, "never") {
				t.Fatalf("the cancelled message went out:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled message did not go out:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out := string(n.run("scheduled", "--data-dir", d, "--user", "olga")); !strings.Contains(out, "no scheduled messages") {
		t.Fatalf("after it went out:\n%s", out)
	}
}
