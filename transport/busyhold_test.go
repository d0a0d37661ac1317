package transport_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// The tests of this file are not parallel: they count the sends the
// process's transport servers answered (a process-wide Prometheus
// counter), and parallel tests only run once the sequential ones are done.

// sendsAnswered is how many send requests the transport servers of this
// process have answered, whatever the answer: the sends that reached a node.
func sendsAnswered(t testing.TB) uint64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_transport_request_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == "send" {
					n += m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}

// busyEnv is a node that admits one pending send at a time, so a few
// sends at once get some refused BUSY with a retry-after of about
// retryAfter (± 50%).
func busyEnv(t *testing.T, retryAfter time.Duration) *env {
	return newEnv(t, envOptions{actors: actors.Config{MaxPendingSends: 1, MinPendingSends: 1, BusyRetryAfter: retryAfter,
		SendRate: 1e6, SendBurst: 1e6}})
}

// provokeBusy sends to several new conversations at once until the node
// refuses one BUSY; it returns that refusal and the time just before the
// round that drew it. With FailOnBusy the round's sends fail or succeed;
// without, the refused ones wait, so the round is not waited for: the
// hold the refusal starts is what is looked for.
func provokeBusy(t *testing.T, c *client.Client, tag string) (*wirepb.Error, time.Time) {
	t.Helper()
	for round := range 20 {
		start := time.Now()
		var ps []*client.Pending
		for i := range 8 {
			p, err := c.Send(client.ToUser(fmt.Sprintf("%s-r%d-%d", tag, round, i)), []byte("x"), "")
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		var we *wirepb.Error
		for _, p := range ps {
			_, err := p.Wait(tctx(t))
			if err == nil {
				continue
			}
			if codeOf(err) != wirepb.Code_BUSY {
				t.Fatalf("send: %v, want success or BUSY", err)
			}
			if e := new(wirepb.Error); we == nil && !errors.Is(err, client.ErrHeldBusy) && errors.As(err, &e) {
				we = e
			}
		}
		if we != nil {
			return we, start
		}
	}
	t.Fatal("20 rounds of 8 sends at once to a node that admits 1 pending send: none refused BUSY")
	return nil, time.Time{}
}

// After the node refuses a send BUSY with retry-after R, a FailOnBusy
// client refuses its next sends itself for about R, without writing them
// (the node answers no more sends meanwhile), while other requests still
// go out; once R has passed, sends reach the node again.
func TestBusyHoldRefusesSendsLocally(t *testing.T) {
	e := busyEnv(t, 4*time.Second) // 2–6 s: room to act within it even under -race
	alice := e.dial("alice", "phone", func(c *client.Config) { c.FailOnBusy = true; c.MaxBusyHold = 10 * time.Second })
	// A machine too slow to make the sends within the hold gets another
	// hold (and a fresh recipient), never a skipped test.
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			t.Fatal("3 holds of 2–6 s each ended before 5 sends were made")
		}
		if refusesLocally(t, alice, fmt.Sprintf("carol%d", attempt)) {
			return
		}
	}
}

// refusesLocally provokes a hold and checks it; false when the hold ended
// before the sends were made (nothing was checked).
func refusesLocally(t *testing.T, alice *client.Client, to string) bool {
	t.Helper()
	refusal, start := provokeBusy(t, alice, "bob")
	until := alice.BusyHeldUntil()
	r := time.Duration(refusal.RetryAfterMs) * time.Millisecond
	if until.Before(start.Add(r)) {
		t.Fatalf("hold ends %s after the round began, before the retry-after %s", until.Sub(start), r)
	}
	if until.After(time.Now().Add(10 * time.Second)) {
		t.Fatalf("hold ends in %s, past MaxBusyHold 10s", time.Until(until))
	}
	before, refusedBefore, heldBefore := sendsAnswered(t), alice.BusyRefusals(), alice.BusyHeldSends()
	const n = 5
	for i := range n {
		p, err := alice.Send(client.ToUser(to), []byte(fmt.Sprint(i)), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = p.Wait(tctx(t))
		if !errors.Is(err, client.ErrHeldBusy) || codeOf(err) != wirepb.Code_BUSY {
			if time.Now().After(until) {
				t.Logf("the hold (%s) ended before send %d was made: again", r, i)
				time.Sleep(time.Until(alice.BusyHeldUntil()))
				return false
			}
			t.Fatalf("send %d during the hold: %v, want a local BUSY (ErrHeldBusy)", i, err)
		}
	}
	if _, err := alice.Ping(tctx(t)); err != nil {
		t.Fatalf("ping during the hold: %v (only sends are held)", err)
	}
	if got := sendsAnswered(t); got != before {
		t.Fatalf("the node answered %d sends during the hold, want 0", got-before)
	}
	if got := alice.BusyRefusals() - refusedBefore; got != n {
		t.Fatalf("BusyRefusals grew by %d, want %d (local refusals count as refusals)", got, n)
	}
	if got := alice.BusyHeldSends() - heldBefore; got != n {
		t.Fatalf("BusyHeldSends grew by %d, want %d", got, n)
	}
	time.Sleep(time.Until(alice.BusyHeldUntil()))
	m, err := alice.SendText(tctx(t), client.ToUser(to), "after")
	if err != nil {
		t.Fatalf("send after the hold: %v", err)
	}
	if m.Seq != 1 {
		t.Fatalf("first send to %s after the hold got seq %d, want 1 (the held ones never reached the node)", to, m.Seq)
	}
	if got := sendsAnswered(t); got != before+1 {
		t.Fatalf("the node answered %d sends after the hold, want 1", got-before)
	}
	return true
}

// Without FailOnBusy, sends made during the hold wait for it to end, then
// all go through, in the order made: the node sequences none of them
// before the hold ends.
func TestBusyHoldDelaysSends(t *testing.T) {
	e := busyEnv(t, 600*time.Millisecond)
	carol := e.dial("carol", "phone")
	// A machine too slow to make the sends within the hold gets another
	// hold (and a fresh recipient), never a skipped test.
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			t.Fatal("3 holds ended before 4 sends were made")
		}
		if delaysSends(t, carol, fmt.Sprintf("erin%d", attempt), fmt.Sprintf("dave%d", attempt)) {
			break
		}
	}
	if carol.BusyHeldSends() < 1 {
		t.Fatalf("BusyHeldSends %d, want at least 1 (a send made during the hold waited)", carol.BusyHeldSends())
	}
}

// MaxBusyHold bounds the hold whatever the retry-after; a negative one
// turns the client-wide hold off (only the refused send waits, so the
// next one reaches the node at once).
func TestBusyHoldBound(t *testing.T) {
	e := busyEnv(t, 4*time.Second)
	const bound = 300 * time.Millisecond
	capped := e.dial("frank", "phone", func(c *client.Config) { c.FailOnBusy = true; c.MaxBusyHold = bound })
	refusal, _ := provokeBusy(t, capped, "gina")
	if refusal.RetryAfterMs < 2000 {
		t.Fatalf("retry-after %d ms, want at least 2000 (4 s ± 50%%)", refusal.RetryAfterMs)
	}
	if left := time.Until(capped.BusyHeldUntil()); left > bound {
		t.Fatalf("hold of %s with MaxBusyHold %s", left, bound)
	}
	time.Sleep(time.Until(capped.BusyHeldUntil()))
	before := sendsAnswered(t)
	if _, err := capped.SendText(tctx(t), client.ToUser("hank"), "x"); err != nil {
		t.Fatalf("send after MaxBusyHold (the retry-after has not passed): %v", err)
	}
	if got := sendsAnswered(t); got != before+1 {
		t.Fatalf("the node answered %d sends, want 1", got-before)
	}

	off := e.dial("ivan", "phone", func(c *client.Config) { c.FailOnBusy = true; c.MaxBusyHold = -1 })
	provokeBusy(t, off, "jane")
	if until := off.BusyHeldUntil(); !until.IsZero() {
		t.Fatalf("hold until %s with MaxBusyHold < 0, want none", until)
	}
	before = sendsAnswered(t)
	_, err := off.SendText(tctx(t), client.ToUser("kate"), "x")
	if errors.Is(err, client.ErrHeldBusy) {
		t.Fatalf("send with the hold off: %v", err)
	}
	if got := sendsAnswered(t); got != before+1 {
		t.Fatalf("the node answered %d sends, want 1", got-before)
	}
}

// delaysSends provokes a hold (sends to tag-…) and checks that sends to
// `to` made during it wait for its end, in order; false when the hold
// ended before they were made (nothing was checked).
func delaysSends(t *testing.T, carol *client.Client, tag, to string) bool {
	t.Helper()
	var until time.Time
	for round := 0; ; round++ {
		if round == 20 {
			t.Fatal("20 rounds of 4 sends at once to a node that admits 1 pending send: none refused BUSY")
		}
		// Few: every refused one is resent, and at most a few get through
		// each time a hold ends.
		for i := range 4 {
			if _, err := carol.Send(client.ToUser(fmt.Sprintf("%s-r%d-%d", tag, round, i)), []byte("x"), ""); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) && !time.Now().Before(carol.BusyHeldUntil()) {
			time.Sleep(time.Millisecond)
		}
		if until = carol.BusyHeldUntil(); time.Now().Before(until) {
			break
		}
	}
	const n = 4
	var ps []*client.Pending
	for i := range n {
		p, err := carol.Send(client.ToUser(to), []byte(fmt.Sprint(i)), "")
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	if time.Now().After(until) {
		t.Logf("the hold ended before the sends were made: again")
		for _, p := range ps {
			_, _ = p.Wait(tctx(t))
		}
		return false
	}
	for i, p := range ps {
		m, err := p.Wait(tctx(t))
		if err != nil {
			t.Fatalf("send %d made during the hold: %v", i, err)
		}
		if m.Seq != uint64(i+1) {
			t.Fatalf("send %d got seq %d, want %d: order kept", i, m.Seq, i+1)
		}
		// Server times are in milliseconds.
		if m.ServerTime.Before(until.Truncate(time.Millisecond)) {
			t.Fatalf("send %d sequenced at %s, %s before the hold ended", i, m.ServerTime.Format(time.StampMilli), until.Sub(m.ServerTime))
		}
	}
	if got := texts(t, carol, wirepb.DirectConvID("carol", to)); joined(got) != "0,1,2,3" {
		t.Fatalf("carol holds %v with %s, want 0,1,2,3", got, to)
	}
	return true
}

// TestNewDirectRefusedAtOnce: a send that would open one direct
// conversation too many in the hour fails at once with RATE_LIMITED and
// the server's wait, instead of being retried until it times out: the
// wait (20 min here) ends past the send's deadline (2 min).
func TestNewDirectRefusedAtOnce(t *testing.T) {
	e := newEnv(t, envOptions{actors: actors.Config{NewDirectPerHour: 3}})
	c := e.dial("spammer", "phone")
	send := func(to string) error {
		p, err := c.Send(client.ToUser(to), []byte("hi"), "")
		if err != nil {
			return err
		}
		// Far shorter than the wait: a client that retried would time out here.
		ctx, cancel := context.WithTimeout(tctx(t), 30*time.Second)
		defer cancel()
		_, err = p.Wait(ctx)
		return err
	}
	for i := range 3 {
		if err := send(fmt.Sprintf("buyer%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	err := send("buyer3")
	var we *wirepb.Error
	if !errors.As(err, &we) || we.Code != wirepb.Code_RATE_LIMITED || we.RetryAfterMs < 19*60*1000 {
		t.Fatalf("the fourth new conversation: %v; want RATE_LIMITED with a wait of about 20 min", err)
	}
}
