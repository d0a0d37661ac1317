package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestServeRetention: serve --retention reaches the node (store expire
// sweeps it; nothing has expired yet), and a retention under an hour, or
// under the edit window, is refused at start with the rule, a kind's own
// (--retention-service) too.
func TestServeRetention(t *testing.T) {
	n := newDevNode(t)
	n.extra = []string{"--retention", "2160h"}
	n.start()
	n.run("send", "--data-dir", n.dir, "--user", "alice", "--to", "user:bob", "--text", "hi")
	var res struct {
		Expired       *int `json:"expired"`
		Conversations int  `json:"conversations"`
	}
	mustJSON(t, n.run("store", "expire", "--data-dir", n.dir, "--json"), &res)
	if res.Expired == nil || *res.Expired != 0 || res.Conversations != 0 {
		t.Fatalf("store expire on a fresh node: %+v", res)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--retention", "59m"}, "retention 59m0s: want 0 (keep for ever) or at least 1h0m0s"},
		{[]string{"--retention", "1h", "--edit-window", "61m"}, "the edit window (1h1m0s)"},
		{[]string{"--retention-service", "30m"}, "service retention 30m0s"},
	} {
		out, err := exec.Command(n.bin, append([]string{"serve", "--dev", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, tc.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("serve %v: %v, want an error saying %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
