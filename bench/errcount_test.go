package bench

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
)

// The report keeps the first error of each kind, so that a count of
// DISCONNECTED says what disconnected.
func TestErrorsKeepTheFirstOfEachKind(t *testing.T) {
	e := newErrCount()
	e.addErr(fmt.Errorf("%w: handshake: timeout", client.ErrDisconnected))
	e.addErr(fmt.Errorf("%w: later", client.ErrDisconnected))
	e.addErr(fmt.Errorf("dial: %w", context.DeadlineExceeded))
	e.addErr(fmt.Errorf("%s", strings.Repeat("x", 2*maxErrorSample)))

	if got := e.snapshot(); got["DISCONNECTED"] != 2 || got["TIMEOUT"] != 1 || got["OTHER"] != 1 {
		t.Fatalf("counts %v", got)
	}
	s := e.samples()
	if s["DISCONNECTED"] != "switchboard: disconnected: handshake: timeout" {
		t.Errorf("DISCONNECTED sample %q, want the first", s["DISCONNECTED"])
	}
	if !strings.Contains(s["TIMEOUT"], "deadline exceeded") {
		t.Errorf("TIMEOUT sample %q", s["TIMEOUT"])
	}
	if len(s["OTHER"]) > maxErrorSample+len("…") {
		t.Errorf("OTHER sample of %d bytes, want at most %d", len(s["OTHER"]), maxErrorSample)
	}
}
