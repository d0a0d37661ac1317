package actors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/storage/pebblestore"
)

func openSlotStore(t *testing.T) storage.Store {
	s, err := pebblestore.Open(pebblestore.Config{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Two owners whose names would give the same node bits (same probe start)
// still get different node numbers: the lease, not the hash, decides.
func TestNodeSlotSameStartDistinct(t *testing.T) {
	store := openSlotStore(t)
	ctx := context.Background()
	start := uint32(storage.MaxNodeSlots - 1) // probing wraps around
	a, err := claimSlot(ctx, store, "node-a", start, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b, err := claimSlot(ctx, store, "node-b", start, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a != start || b != 0 {
		t.Fatalf("slots %d and %d from start %d, want %d and 0", a, b, start, start)
	}
	// The holder claiming again renews its own number.
	if again, err := claimSlot(ctx, store, "node-a", start, time.Minute); err != nil || again != a {
		t.Fatalf("renewal by the holder: %d %v", again, err)
	}
}

// When every number is leased, a new node gets a clear error.
func TestNodeSlotAllLeased(t *testing.T) {
	store := openSlotStore(t)
	ctx := context.Background()
	now := time.Now()
	for i := uint32(0); i < storage.MaxNodeSlots; i++ {
		if err := store.ClaimNodeSlot(ctx, i, "other", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := claimSlot(ctx, store, "late", 7, time.Minute); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("claim with every number leased: %v", err)
	}
}

// A node whose lease was taken over (it could not renew in time) leases
// another number at its next renewal and makes ids with it.
func TestNodeSlotLostLease(t *testing.T) {
	store := openSlotStore(t)
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	s, err := newNodeSlot(ctx, store, "node-a", ttl, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.close(ctx, true)
	old := s.Slot()
	before := s.ids.next(time.Now())
	if got := NodeOfMsgID(before); got != old {
		t.Fatalf("id made with node %d, lease is %d", got, old)
	}
	// Another node takes the number as if the lease had run out.
	later := time.Now().Add(time.Hour)
	if err := store.ClaimNodeSlot(ctx, old, "node-b", later, later.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Slot() == old {
		if time.Now().After(deadline) {
			t.Fatal("lost lease not replaced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	after := s.ids.next(time.Now())
	if got := NodeOfMsgID(after); got == old || got != s.Slot() {
		t.Fatalf("after losing %d: id made with node %d, lease is %d", old, got, s.Slot())
	}
	if after <= before {
		t.Fatalf("id %d after the switch is not above %d", after, before)
	}
}

// Switching to a lower node number within one millisecond still makes a
// larger id: ids from one node stay strictly increasing.
func TestIDGenSwitchStaysIncreasing(t *testing.T) {
	g := newIDGen(900)
	now := time.Now()
	a := g.next(now)
	g.setNode(3)
	b := g.next(now)
	if b <= a || NodeOfMsgID(a) != 900 || NodeOfMsgID(b) != 3 {
		t.Fatalf("ids %d (node %d) then %d (node %d)", a, NodeOfMsgID(a), b, NodeOfMsgID(b))
	}
}
