package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestServeBodyLimitFeedsStore: --max-body-bytes raised to 128 KiB reaches
// the store too, so a 70 KiB message is stored (not fenced off in the
// store and retried until the client gives up), a body at the limit too,
// and one byte more is TOO_LARGE.
func TestServeBodyLimitFeedsStore(t *testing.T) {
	const limit = 128 << 10
	n := newDevNode(t)
	n.extra = []string{"--max-body-bytes", "131072"}
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, n.clientConfig("alice", "phone"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, size := range []int{70 << 10, limit, limit + 1} {
		p, err := c.Send(client.ToUser("bob"), bytes.Repeat([]byte{'x'}, size), "")
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Wait(ctx)
		if size > limit {
			if code := wirepb.CodeOf(err); code != wirepb.Code_TOO_LARGE {
				t.Fatalf("body of %d bytes: %v (code %v), want TOO_LARGE", size, err, code)
			}
			continue
		}
		if err != nil || m.Seq == 0 {
			t.Fatalf("body of %d bytes: %+v %v", size, m, err)
		}
	}
	hist, err := c.History(ctx, wirepb.DirectConvID("alice", "bob"), client.HistoryOptions{})
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %d messages, %v; want 2", len(hist), err)
	}
}

// A body limit no frame can carry is refused at start.
func TestServeRefusesBodyLimitAboveFrame(t *testing.T) {
	bin := binary(t)
	out, err := exec.Command(bin, "serve", "--dev", "--data-dir", t.TempDir(), "--max-body-bytes", "300000",
		"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--max-body-bytes 300000") {
		t.Fatalf("serve with a body limit above the frame: %v\n%s", err, out)
	}
}
