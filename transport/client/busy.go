package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// ErrHeldBusy marks a send the client refused itself, without writing
// it: the server had answered an earlier request BUSY and its retry-after
// had not passed yet. The error also unwraps to a *wirepb.Error with code
// BUSY, so code that counts refusals counts these the same way.
var ErrHeldBusy = errors.New("switchboard: send held back until the server's retry-after")

// defaultMaxBusyHold bounds a hold when Config.MaxBusyHold is zero.
const defaultMaxBusyHold = 5 * time.Second

// busyHold is the client-wide back-off a BUSY answer starts. Honouring a
// retry-after only for the refused send is not enough: every other send
// keeps reaching the node at full rate, each refusal costs the node about
// what an accepted send costs (a packet in, a decode, a worker, a frame
// out), and refusals alone keep it saturated. So after a BUSY with a
// retry-after, no send is written on this client until it has passed.
//
// Every BUSY counts, whatever its cause: admission (node-wide: sends or
// fan-out pending past the node's bounds), MaxInflight (this connection)
// and MaxQueueWait (this connection's workers are behind, which also
// refuses the sends queued behind the late one in its lane). Each says
// that more sends on this connection now will be refused or queued, and
// all of this client's sends share the connection. The message text is
// for people, so it is not parsed.
//
// Only sends are held: sync, history, acks and pings are few, cheap for
// the node and what keeps the client's state current.
type busyHold struct {
	max time.Duration // Config.MaxBusyHold; < 0: no hold

	mu    sync.Mutex
	until time.Time

	held atomic.Int64 // sends that waited for a hold or were refused by it
}

// note starts or extends the hold when err is a BUSY with a retry-after.
// The hold is the retry-after plus up to a quarter more (the server
// jitters its retry-afters; this spreads the sends of one client that
// were all waiting for the same hold to end), never past max.
func (h *busyHold) note(err error) {
	var we *wirepb.Error
	if h.max < 0 || !errors.As(err, &we) || we.Code != wirepb.Code_BUSY || we.RetryAfterMs == 0 || errors.Is(err, ErrHeldBusy) {
		return
	}
	d := time.Duration(we.RetryAfterMs) * time.Millisecond
	d = min(d+rand.N(d/4+1), h.max)
	until := time.Now().Add(d)
	h.mu.Lock()
	if until.After(h.until) {
		h.until = until
	}
	h.mu.Unlock()
}

// heldUntil is when the current hold ends (zero or past: none).
func (h *busyHold) heldUntil() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.until
}

// wait returns once no hold is on, waiting for it to end; with failFast it
// returns at once with a BUSY of its own instead. A hold extended while
// waiting is waited for too.
func (h *busyHold) wait(ctx context.Context, closed <-chan struct{}, failFast bool) error {
	counted := false
	for {
		left := time.Until(h.heldUntil())
		if left <= 0 {
			return nil
		}
		if !counted {
			h.held.Add(1)
			counted = true
		}
		if failFast {
			ms := uint32(max(left/time.Millisecond, 1))
			return &heldBusy{busy: &wirepb.Error{Code: wirepb.Code_BUSY, RetryAfterMs: ms, Message: heldBusyMessage}, left: left}
		}
		t := time.NewTimer(left)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-closed:
			t.Stop()
			return ErrClosed
		}
	}
}

// heldBusyMessage is the message of the BUSY a held send fails with.
const heldBusyMessage = "refused by the client: the server answered BUSY and its retry-after has not passed"

// heldBusy is the error of a send refused by the client during a hold:
// ErrHeldBusy and a BUSY *wirepb.Error. Its text is built only when asked
// for: a FailOnBusy client refuses every send of a hold (thousands a
// second in a load test), and formatting each cost it ~4 % of its CPU.
type heldBusy struct {
	busy *wirepb.Error
	left time.Duration // what was left of the hold
}

func (e *heldBusy) Error() string {
	return fmt.Sprintf("%v: %v (it ends in %s)", ErrHeldBusy, e.busy, e.left.Round(time.Millisecond))
}

func (e *heldBusy) Unwrap() []error { return []error{ErrHeldBusy, e.busy} }

// BusyHeldUntil is when the back-off started by the server's last BUSY
// ends: until then sends wait (or, with FailOnBusy, fail at once with
// ErrHeldBusy). Zero or in the past: sends go out now.
func (c *Client) BusyHeldUntil() time.Time { return c.hold.heldUntil() }

// BusyHeldSends counts sends that waited for a BUSY back-off to end, or
// (with FailOnBusy) were refused by the client during one without being
// written; the latter are in BusyRefusals too.
func (c *Client) BusyHeldSends() int64 { return c.hold.held.Load() }
