package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// FinalResyncOutcome is what CheckFinalResync saw.
type FinalResyncOutcome struct {
	Dropped, MissedBefore, NeverDelivered int64
	// LateDuplicates, LateDeliveries: what a push arriving after the
	// verdict was counted as (both should stay 0).
	LateDuplicates, LateDeliveries int64
	Errors                         map[string]int64
}

// CheckFinalResync runs the final resync against a real node: one pair
// of users, sends acked and pushed, then pushes taken away (the recipient
// "misses" up to dropped of them) and one number marked acked that was
// never sent. With closeClient the recipient's own client is closed
// first, so the resync must reconnect.
func CheckFinalResync(ctx context.Context, target Target, sends, dropped int, closeClient bool) (FinalResyncOutcome, error) {
	var out FinalResyncOutcome
	// A run id of its own per call: a pair that met an earlier call's
	// conversation would find that call's numbers in its history (one
	// above this call's last is its "never sent" number).
	p, t, errs, done, err := startPair(ctx, target, fmt.Sprintf("finalresync-%t", closeClient))
	defer done()
	if err != nil {
		return out, err
	}
	s := t.senders[0]
	// In small batches until sends are acked: on a loaded machine the
	// node's admission bound may refuse some (they owe nothing).
	for round := 0; t.c.acked.Load() < int64(sends); round++ {
		if round == 100 {
			return out, fmt.Errorf("only %d of %d sends acked: %v", t.c.acked.Load(), sends, errs.snapshot())
		}
		for range min(20, sends-int(t.c.acked.Load())) {
			t.send(s, 0, false)
		}
		if err := t.settle(ctx, 30*time.Second); err != nil {
			return out, fmt.Errorf("settle: %w", err)
		}
	}
	if f := t.c.failed.Load(); f > 0 {
		return out, fmt.Errorf("%d sends failed: %v", f, errs.snapshot())
	}
	// Take away the pushes of the first dropped acked numbers.
	r := s.recips[0]
	r.mu.Lock()
	for n := uint64(1); n <= s.next && out.Dropped < int64(dropped); n++ {
		if n/64 < uint64(len(s.acked)) && s.acked[n/64]&(1<<(n%64)) != 0 {
			if st := r.stream(s.idx); n/64 < uint64(len(st.bits)) {
				st.bits[n/64] &^= 1 << (n % 64)
			}
			out.Dropped++
		}
	}
	r.mu.Unlock()
	never := s.next + 10
	s.mu.Lock()
	for uint64(len(s.acked)) <= never/64 {
		s.acked = append(s.acked, 0)
	}
	s.acked[never/64] |= 1 << (never % 64)
	s.mu.Unlock()
	if closeClient {
		_ = r.c.Close()
	}
	out.MissedBefore, out.NeverDelivered, _ = t.verdict(ctx, p)
	// A push of a dropped message that arrives only now, after the final
	// resync found it: not a delivery, not a duplicate.
	delivered := t.c.delivered.Load()
	late := &client.Message{Conv: s.to.Conv, Seq: 1, Sender: s.c.User(), Kind: wirepb.MessageKind_NORMAL,
		Body: header{sender: s.idx, n: 1}.encode(64)}
	t.onEvent(r, r.name, 0)(client.Event{Kind: client.EventMessage, Message: late})
	out.LateDuplicates, out.LateDeliveries = t.dups.Load(), t.c.delivered.Load()-delivered
	out.Errors = errs.snapshot()
	return out, nil
}

// RefusalOutcome is what CheckRefusalCount saw: the measured sends and
// their outcomes, and the refusals the client counted in all.
type RefusalOutcome struct {
	Sent, Acked, Refused, RefusedLocal, Failed int64
	ClientRefusals                             int64
}

// CheckRefusalCount sends bursts of burst sends from each of two senders,
// first as warm-up and then measured, waiting for each burst's answers; a
// node that admits one pending send refuses part of each burst. runID
// keeps each call's users and history apart.
func CheckRefusalCount(ctx context.Context, target Target, runID string, burst, bursts int) (RefusalOutcome, error) {
	var out RefusalOutcome
	_, t, _, done, err := startPair(ctx, target, runID)
	defer done()
	if err != nil {
		return out, err
	}
	for _, warmup := range []bool{true, false} {
		for range bursts {
			for range burst {
				for _, s := range t.senders {
					t.send(s, 0, warmup)
				}
			}
			if err := t.settle(ctx, 30*time.Second); err != nil {
				return out, fmt.Errorf("settle: %w", err)
			}
		}
	}
	out.Sent, out.Acked, out.Failed = t.c.sent.Load(), t.c.acked.Load(), t.c.failed.Load()
	out.Refused, out.RefusedLocal = t.c.refused.Load(), t.c.refusedLocal.Load()
	for _, s := range t.senders {
		out.ClientRefusals += s.c.BusyRefusals()
	}
	return out, nil
}

// startPair connects one pair of users sending to each other, with their
// ack waiters running; done closes it all (call it whatever err is).
func startPair(ctx context.Context, target Target, runID string) (p *pool, t *traffic, errs *errCount, done func(), err error) {
	done = func() {}
	if p, err = newPool(target); err != nil {
		return nil, nil, nil, done, err
	}
	errs = newErrCount()
	t = newTraffic(64, errs)
	clients, err := chatSetup(ctx, p, Options{RunID: runID, DialConcurrency: 2}, t, "u", 2)
	if err != nil {
		closeAll(clients)
		p.close()
		return nil, nil, nil, done, err
	}
	t.ready.Store(int64(len(t.senders)))
	t.startAckWaiters()
	return p, t, errs, func() {
		t.stopAckWaiters()
		closeAll(clients)
		p.close()
	}, nil
}
