package client

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The pipeline's window is a congestion window: a BUSY shrinks it to one
// send, each acknowledged send widens it by one, never past SendPipeline;
// other refusals and lost connections leave it as it is.
func TestPipelineWindowAfterBusy(t *testing.T) {
	c := &Client{cfg: Config{SendPipeline: 4, SendTimeout: time.Minute}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ctx: context.Background(), store: newStore(0), events: make(chan Event, 1024), hold: busyHold{max: time.Second}}
	p := &pipeline{c: c, conv: "g:1", b: newBackoff(time.Millisecond, time.Millisecond), cwnd: c.cfg.SendPipeline}
	n := 0
	next := func() *outgoing {
		n++
		o := &outgoing{msg: Message{Conv: "g:1", ClientMsgID: "m" + string(rune('a'+n))}, done: make(chan struct{})}
		c.store.addPending(o)
		p.list = append(p.list, o)
		return o
	}
	ack := func() {
		o := next()
		p.outcome(o, &wirepb.Response{Result: &wirepb.Response_Send{Send: &wirepb.SendResult{Seq: uint64(n)}}}, nil)
	}
	refuse := func(code wirepb.Code) {
		o := next()
		p.outcome(o, nil, &wirepb.Error{Code: code, RetryAfterMs: 1})
		p.paused, p.backoff = false, false
	}
	if p.cwnd != 4 {
		t.Fatalf("window %d at start, want SendPipeline 4", p.cwnd)
	}
	refuse(wirepb.Code_BUSY)
	if p.cwnd != 1 {
		t.Fatalf("window %d after a BUSY, want 1", p.cwnd)
	}
	for want := 2; want <= 4; want++ {
		ack()
		if p.cwnd != want {
			t.Fatalf("window %d after an ack, want %d", p.cwnd, want)
		}
	}
	ack()
	if p.cwnd != 4 {
		t.Fatalf("window %d past SendPipeline", p.cwnd)
	}
	refuse(wirepb.Code_RATE_LIMITED)
	if p.cwnd != 4 {
		t.Fatalf("window %d after a refusal that is not BUSY, want 4", p.cwnd)
	}
}
