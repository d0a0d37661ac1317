package client

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A BUSY with a retry-after R holds sends for R to 1.25 R, never past
// MaxBusyHold; other codes, a BUSY without a retry-after and the client's
// own refusals start nothing, and a shorter retry-after never shortens a
// hold.
func TestBusyHoldNote(t *testing.T) {
	busy := func(ms uint32) error { return &wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: ms} }
	h := &busyHold{max: time.Second}
	for _, err := range []error{nil, errors.New("x"), busy(0),
		&wirepb.Error{Code: wirepb.Code_STORAGE_UNAVAILABLE, RetryAfterMs: 500},
		fmt.Errorf("%w: %w", ErrHeldBusy, busy(500))} {
		h.note(err)
		if !h.heldUntil().IsZero() {
			t.Fatalf("%v started a hold", err)
		}
	}
	for range 100 {
		h := &busyHold{max: time.Second}
		start := time.Now()
		h.note(fmt.Errorf("send: %w", busy(400)))
		d := h.heldUntil().Sub(start)
		if d < 400*time.Millisecond || d > 600*time.Millisecond {
			t.Fatalf("hold of %s for a retry-after of 400 ms, want 400–500 ms (and a little for the call)", d)
		}
		h.note(busy(10))
		if h.heldUntil().Sub(start) != d {
			t.Fatal("a shorter retry-after shortened the hold")
		}
	}
	h = &busyHold{max: time.Second}
	start := time.Now()
	h.note(busy(60_000))
	if d := h.heldUntil().Sub(start); d > time.Second+100*time.Millisecond || d < time.Second {
		t.Fatalf("hold of %s for a retry-after of 60 s, want MaxBusyHold (1 s)", d)
	}
	off := &busyHold{max: -1}
	off.note(busy(500))
	if !off.heldUntil().IsZero() {
		t.Fatal("a hold with MaxBusyHold < 0")
	}
}

// wait returns at once with no hold; during one it fails fast with a BUSY
// that says how long is left, or waits for the end, the context or Close.
func TestBusyHoldWait(t *testing.T) {
	ctx := context.Background()
	closed := make(chan struct{})
	h := &busyHold{max: time.Minute}
	if err := h.wait(ctx, closed, true); err != nil {
		t.Fatalf("no hold: %v", err)
	}
	h.note(&wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: 30_000})
	err := h.wait(ctx, closed, true)
	var we *wirepb.Error
	if !errors.Is(err, ErrHeldBusy) || !errors.As(err, &we) || we.Code != wirepb.Code_BUSY || we.RetryAfterMs < 29_000 {
		t.Fatalf("fail fast during a 30 s hold: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "held back") || !strings.Contains(msg, "BUSY") || !strings.Contains(msg, "it ends in ") {
		t.Fatalf("the refusal's text: %q", msg)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := h.wait(tctx, closed, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past the context: %v", err)
	}
	close(closed)
	if err := h.wait(ctx, closed, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("wait on a closed client: %v", err)
	}
	short := &busyHold{max: time.Minute}
	short.note(&wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: 30})
	if err := short.wait(ctx, make(chan struct{}), false); err != nil || time.Now().Before(short.heldUntil()) {
		t.Fatalf("wait for a 30 ms hold: %v, returned %s before its end", err, time.Until(short.heldUntil()))
	}
	if got := h.held.Load(); got != 3 {
		t.Fatalf("held %d, want 3 (one per wait that met a hold)", got)
	}
}

// BenchmarkHeldBusyRefusal is what a FailOnBusy client pays for each send
// it refuses during a hold.
func BenchmarkHeldBusyRefusal(b *testing.B) {
	ctx, closed := context.Background(), make(chan struct{})
	h := &busyHold{max: time.Hour}
	h.note(&wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: 3_600_000})
	b.ReportAllocs()
	for b.Loop() {
		if err := h.wait(ctx, closed, true); err == nil {
			b.Fatal("not refused")
		}
	}
}
