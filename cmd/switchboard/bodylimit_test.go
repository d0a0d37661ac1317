package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport"
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
	c := n.dial(ctx, "alice", "phone")
	sendBodies(ctx, t, c, limit, 70<<10, limit, limit+1)
	hist, err := c.History(ctx, wirepb.DirectConvID("alice", "bob"), client.HistoryOptions{})
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %d messages, %v; want 2", len(hist), err)
	}
}

// TestServeMaxFrame: --max-frame reaches the Welcome, and a body limit of
// the frame less its envelope (the largest serve takes) carries a message
// of exactly that size; one byte more is TOO_LARGE.
func TestServeMaxFrame(t *testing.T) {
	const frame = 1 << 20
	const limit = frame - transport.FrameEnvelope
	n := newDevNode(t)
	n.extra = []string{"--max-frame", strconv.Itoa(frame), "--max-body-bytes", strconv.Itoa(limit)}
	n.start()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := n.dial(ctx, "alice", "phone")
	if got := c.Welcome().GetMaxFrame(); got != frame {
		t.Fatalf("Welcome.max_frame %d, want %d", got, frame)
	}
	sendBodies(ctx, t, c, limit, limit, limit+1)
}

// sendBodies sends bob a body of each size: stored up to limit, TOO_LARGE
// over it.
func sendBodies(ctx context.Context, t *testing.T, c *client.Client, limit int, sizes ...int) {
	t.Helper()
	for _, size := range sizes {
		p, err := c.Send(client.ToUser("bob"), bytes.Repeat([]byte{'x'}, size), "")
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Wait(ctx)
		if size > limit {
			if code := wirepb.CodeOf(err); code != wirepb.Code_TOO_LARGE {
				t.Fatalf("body of %d bytes: %v (code %v), want TOO_LARGE", size, err, code)
			}
		} else if err != nil || m.Seq == 0 {
			t.Fatalf("body of %d bytes: %+v %v", size, m, err)
		}
	}
}

// A frame size outside its range, or a body limit the frame cannot carry,
// is refused at start with an error naming the flag.
func TestServeRefusesFrameAndBodyLimits(t *testing.T) {
	serveRefuses(t, []refusedServe{
		{[]string{"--max-body-bytes", "300000"}, "--max-body-bytes 300000"},
		{[]string{"--max-frame", strconv.Itoa(transport.MinMaxFrame - 1)}, "--max-frame " + strconv.Itoa(transport.MinMaxFrame-1)},
		{[]string{"--max-frame", strconv.Itoa(wirepb.MaxMaxFrame + 1)}, "--max-frame " + strconv.Itoa(wirepb.MaxMaxFrame+1)},
		{[]string{"--max-frame", "200000", "--max-body-bytes", strconv.Itoa(200000 - transport.FrameEnvelope + 1)}, "--max-body-bytes"},
	})
}

// STUN and TURN servers the node cannot hand out are refused at start:
// TURN without the shared secret, a URL of another scheme, an empty
// secret file.
func TestServeRefusesICEServers(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "turn-secret")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serveRefuses(t, []refusedServe{
		{[]string{"--ice-servers", "turn:turn.example.org:3478"}, "needs the secret"},
		{[]string{"--ice-servers", "https://turn.example.org"}, `scheme "https"`},
		{[]string{"--ice-servers", "turn:turn.example.org", "--turn-secret-file", empty}, "is empty"},
	})
}

// Anonymous visitors need the web listener their tokens are minted on,
// and a positive token life and rate; a trusted proxy must be an address
// or a CIDR: refused at start otherwise.
func TestServeRefusesVisitorsAndProxies(t *testing.T) {
	serveRefuses(t, []refusedServe{
		{[]string{"--visitor-scenes", "listing"}, "give --web"},
		{[]string{"--visitor-scenes", "listing", "--web", "127.0.0.1:0", "--webtransport", "", "--visitor-tokens-per-minute", "0"}, "must be positive"},
		{[]string{"--visitor-scenes", "listing", "--web", "127.0.0.1:0", "--webtransport", "", "--visitor-token-ttl", "-1h"}, "must be positive"},
		{[]string{"--web", "127.0.0.1:0", "--webtransport", "", "--web-trusted-proxies", "10.0.0.0/8,proxy.local"}, `--web-trusted-proxies "proxy.local"`},
	})
}

// refusedServe is serve's extra flags and what its error must say.
type refusedServe struct {
	args []string
	want string
}

// serveRefuses starts a dev node with each case's flags: each must fail
// at start with an error holding its want.
func serveRefuses(t *testing.T, cases []refusedServe) {
	t.Helper()
	bin := binary(t)
	for _, tc := range cases {
		args := append([]string{"serve", "--dev", "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"}, tc.args...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Fatalf("serve %v: %v, want an error naming %q\n%s", tc.args, err, tc.want, out)
		}
	}
}
