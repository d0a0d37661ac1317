package actors

import (
	"context"
	"errors"
	"fmt"
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

// slowClaims is the real store whose first claims fail as a starved
// replica's do (a driver timeout), some after the lease was written.
type slowClaims struct {
	storage.Store
	fail, applied int // claims still to fail; of them, how many first write
	calls         int
}

func (s *slowClaims) ClaimNodeSlot(ctx context.Context, slot uint32, owner string, now, expires time.Time) error {
	s.calls++
	if s.fail > 0 {
		s.fail--
		if s.applied > 0 {
			s.applied--
			if err := s.Store.ClaimNodeSlot(ctx, slot, owner, now, expires); err != nil {
				return err
			}
		}
		return errors.New("gocql: no response received from cassandra within timeout period")
	}
	return s.Store.ClaimNodeSlot(ctx, slot, owner, now, expires)
}

// A claim that times out is repeated on the same number until it answers
// (one that went through is then a renewal of its own lease), within the
// caller's deadline; a store refusing writes is not retried.
func TestNodeSlotClaimRetriesTimeouts(t *testing.T) {
	store := &slowClaims{Store: openSlotStore(t), fail: 3, applied: 2}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slot, err := claimSlot(ctx, store, "node-a", 42, time.Minute)
	if err != nil || slot != 42 || store.calls != 4 {
		t.Fatalf("claim after 3 timeouts: slot %d, %v, %d calls; want 42 after 4", slot, err, store.calls)
	}
	// A deadline ends the retries with the last error.
	store = &slowClaims{Store: openSlotStore(t), fail: 1 << 30}
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := claimSlot(short, store, "node-a", 42, time.Minute); err == nil || !errors.Is(err, context.DeadlineExceeded) || store.calls < 2 {
		t.Fatalf("claim timing out until the deadline: %v after %d calls", err, store.calls)
	}
	if retryableClaim(fmt.Errorf("x: %w", storage.ErrUnavailable)) || retryableClaim(storage.ErrClosed) || !retryableClaim(errors.New("timeout")) {
		t.Fatal("retryableClaim: refusing and closed stores must not be retried, timeouts must")
	}
}
