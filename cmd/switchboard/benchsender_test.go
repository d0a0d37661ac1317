package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/bench"
)

// `bench group` against a dev node runs its senders in a second process
// of this binary (bench-sender) and still verifies every message: all
// sent messages acked, every delivery made, nothing lost; with
// --senders-in-process it runs them in its own process as before.
func TestBenchGroupSenderProcess(t *testing.T) {
	n := newDevNode(t)
	n.start()
	for _, tc := range []struct {
		name     string
		flags    []string
		separate bool
	}{
		{"separate", nil, true},
		// The bench's own CPU profile rides along on one of the runs.
		{"in-process", []string{"--senders-in-process", "--cpuprofile", "PROFILE"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out, prof := filepath.Join(dir, "r.json"), filepath.Join(dir, "cpu.pprof")
			for i, f := range tc.flags {
				if f == "PROFILE" {
					tc.flags[i] = prof
				}
			}
			args := append([]string{"bench", "group", "--members", "20", "--senders", "2", "--rate", "10", "--duration", "2s",
				"--drain", "30s", "--data-dir", n.dir, "--quiet", "--json", out}, tc.flags...)
			table := n.run(args...)
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			var res bench.Result
			mustJSON(t, b, &res)
			if res.Sent == 0 || res.Acked != res.Sent || res.Failed != 0 || res.NeverDelivered != 0 || res.Late != 0 || res.Delivered != res.Expected || res.Expected == 0 {
				t.Fatalf("sent %d acked %d failed %d never delivered %d late %d delivered %d of %d\n%s", res.Sent, res.Acked, res.Failed, res.NeverDelivered, res.Late, res.Delivered, res.Expected, table)
			}
			if res.AckMs.N != res.Acked {
				t.Fatalf("%d ack latencies recorded for %d acks\n%s", res.AckMs.N, res.Acked, table)
			}
			if slices.Contains(tc.flags, prof) {
				if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
					t.Fatalf("--cpuprofile: %v", err)
				}
			}
			sp := res.Bench.SenderProcess
			if !tc.separate {
				if sp != nil || res.Params["sender_process"] != nil {
					t.Fatalf("senders in process, report says %+v\n%s", sp, table)
				}
				return
			}
			if sp == nil || sp.PID <= 0 || sp.Clients != 2 || res.Params["sender_process"] != "separate" {
				t.Fatalf("sender process report %+v, params %v\n%s", sp, res.Params, table)
			}
			// 2 senders in a group of 20: each message owes the 18 members
			// that do not send (senders are not recipients here).
			if res.Expected != 18*res.Acked {
				t.Fatalf("%d deliveries expected for %d acked messages", res.Expected, res.Acked)
			}
			// The parent closed its connections of the sender users on
			// purpose: that is not a disconnect.
			if res.Errors["disconnects"] != 0 {
				t.Fatalf("errors %v", res.Errors)
			}
		})
	}
}
