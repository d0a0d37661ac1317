package web_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/testenv"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/web"
)

// An idle WebSocket costs the server one goroutine, the connection's
// reader, which reads the WebSocket itself: the carrier starts none of
// its own, and the upgrade handler's goroutine has returned.
func TestIdleWebSocketGoroutines(t *testing.T) {
	const side = "switchboard-web-side"
	conns := 100
	if raceEnabled {
		conns = 30
	}
	// The node and its HTTP server start from a labelled goroutine: theirs
	// carry the label, the test's clients do not.
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(side, "server")))
	n := newNode(t, transport.Config{}, web.Config{})
	pprof.SetGoroutineLabels(context.Background())

	base := testenv.SettledGoroutines(t, side, "server")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	stackBase := ms.StackInuse
	for i := range conns {
		p := mustDial(t, dialWS, n)
		p.hello(token(t, fmt.Sprintf("idle%d", i), "d"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for n.ts.Connections() != conns {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections up", n.ts.Connections(), conns)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := testenv.SettledGoroutines(t, side, "server") - base
	runtime.ReadMemStats(&ms)
	t.Logf("%d idle WebSockets: %d server goroutines (%.2f each), stacks %+d KiB (client stacks included)",
		conns, got, float64(got)/float64(conns), (int64(ms.StackInuse)-int64(stackBase))>>10)
	// Slack for the node's own goroutines that come and go.
	if limit := conns + 20; got > limit {
		t.Fatalf("%d idle WebSockets hold %d server goroutines, want at most %d (one each)", conns, got, limit)
	}
}
