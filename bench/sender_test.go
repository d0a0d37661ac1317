package bench_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/bench"
)

// A sender process that fails makes the group run fail with an error
// that quotes its stderr, whether it dies before its first report or in
// the middle of the measured phase, and the bench does not hang.
func TestSenderProcessFailure(t *testing.T) {
	for name, script := range map[string]string{
		"at once": `echo boom-at-once >&2; exit 3`,
		// Reads the spec, reports its warm-up, then dies after the go.
		"mid-run": `read spec; echo '{"phase":"warm"}'; read go; echo boom-mid-run >&2; exit 3`,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			began := time.Now()
			_, err := bench.Run(ctx, node(t), bench.Options{Scenario: "group", Members: 10, Rate: 10, Duration: 2 * time.Second,
				Drain: 5 * time.Second, SenderExec: []string{"sh", "-c", script}})
			if err == nil {
				t.Fatal("the run succeeded with a failing sender process")
			}
			if !strings.Contains(err.Error(), "sender process") || !strings.Contains(err.Error(), "boom-") || !strings.Contains(err.Error(), "exit status 3") {
				t.Fatalf("error does not say what failed: %v", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("the run only ended at the test's deadline (%s)", time.Since(began))
			}
		})
	}
}

// The sender process refuses orders it cannot carry out with an error
// that says why, before it connects anything.
func TestRunSenderBadSpec(t *testing.T) {
	tg := bench.Target{Addrs: []string{"127.0.0.1:1"}}
	for in, want := range map[string]string{
		"":                   "read spec",
		"not json\n":         "spec:",
		`{"rate":10}` + "\n": "needs senders",
		`{"rate":10,"duration_ns":1000000000,"start_unix_nano":1,"senders":[{"idx":0,"user":"u"}]}` + "\n": "no TLS configuration",
	} {
		var out strings.Builder
		err := bench.RunSender(context.Background(), tg, strings.NewReader(in), &out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("spec %q: error %v, want %q", in, err, want)
		}
		if out.Len() != 0 {
			t.Errorf("spec %q: reported %q", in, out.String())
		}
	}
}
