package actors

import (
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestAdmissionEdges: exactly MaxPendingSends sends are admitted and the
// next is BUSY; a released slot admits again; the node refuses once pending
// deliveries reach MaxPendingDeliveries and not one job before.
func TestAdmissionEdges(t *testing.T) {
	a := newAdmission(Config{MaxPendingSends: 2, MaxPendingDeliveries: 3, BusyRetryAfter: 200 * time.Millisecond})
	busy := func(err error) bool { return CodeOf(err) == pb.Code_BUSY }
	r1, err := a.admitSend()
	if err != nil {
		t.Fatal(err)
	}
	r2, err := a.admitSend()
	if err != nil {
		t.Fatalf("second send, at the bound: %v", err)
	}
	_, err = a.admitSend()
	if !busy(err) {
		t.Fatalf("send over the bound: %v, want BUSY", err)
	}
	if e := err.(*Error); e.RetryAfterMs < 100 || e.RetryAfterMs > 300 {
		t.Fatalf("retry-after %d ms, want 100–300 (200 ± 50%%)", e.RetryAfterMs)
	}
	r1()
	r3, err := a.admitSend()
	if err != nil {
		t.Fatalf("send after a release: %v", err)
	}
	r3()
	r2()        // no send pending: only deliveries decide below
	a.queued(2) // one job under the bound
	r4, err := a.admitSend()
	if err != nil {
		t.Fatalf("send with deliveries under the bound: %v", err)
	}
	r4()
	a.queued(1) // at the bound
	if _, err := a.admitSend(); !busy(err) {
		t.Fatalf("send with deliveries at the bound: %v, want BUSY", err)
	}
	a.done(1)
	r5, err := a.admitSend()
	if err != nil {
		t.Fatalf("send once a delivery finished: %v", err)
	}
	r5()
	if a.sends.Load() != 0 || a.deliveries.Load() != 2 {
		t.Fatalf("counters %d sends, %d deliveries, want 0 and 2", a.sends.Load(), a.deliveries.Load())
	}
}
