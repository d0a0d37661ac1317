package storagetest

import (
	"errors"
	"hash/fnv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// testNodeSlots checks the node-number lease: one holder at a time, renewal
// by the holder, takeover only after expiry (the edge instant still held),
// release only by the holder, and exactly one winner of a race.
func testNodeSlots(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	a, b := id("a"), id("b")
	// Slots are a small shared space in a long-lived database: start from
	// one derived from this run, and use times from now so that leases an
	// earlier run left behind have expired.
	h := fnv.New32a()
	_, _ = h.Write([]byte(id("")))
	slot := h.Sum32() % (storage.MaxNodeSlots - 1)
	now := storage.Millis(time.Now())
	sec := func(n float64) time.Time { return now.Add(time.Duration(n * float64(time.Second))) }

	must(t, s.ClaimNodeSlot(c, slot, a, sec(0), sec(10)))
	wantErr(t, s.ClaimNodeSlot(c, slot, b, sec(5), sec(15)), storage.ErrExists)
	wantErr(t, s.ClaimNodeSlot(c, slot, b, sec(10), sec(15)), storage.ErrExists) // expiry instant: still held
	must(t, s.ClaimNodeSlot(c, slot, a, sec(5), sec(20)))                        // renewal
	wantErr(t, s.ClaimNodeSlot(c, slot, b, sec(15), sec(25)), storage.ErrExists)
	must(t, s.ClaimNodeSlot(c, slot, b, sec(20.001), sec(40))) // expired: taken over
	wantErr(t, s.ClaimNodeSlot(c, slot, a, sec(21), sec(41)), storage.ErrExists)
	must(t, s.ReleaseNodeSlot(c, slot, a)) // not the holder: no-op
	wantErr(t, s.ClaimNodeSlot(c, slot, a, sec(22), sec(42)), storage.ErrExists)
	must(t, s.ReleaseNodeSlot(c, slot, b))
	must(t, s.ClaimNodeSlot(c, slot, a, sec(22), sec(42))) // free again
	must(t, s.ReleaseNodeSlot(c, slot, a))

	wantErr(t, s.ClaimNodeSlot(c, storage.MaxNodeSlots, a, sec(0), sec(10)), storage.ErrInvalid)
	wantErr(t, s.ClaimNodeSlot(c, slot, "", sec(0), sec(10)), storage.ErrInvalid)

	// A race for one free slot has exactly one winner.
	race := slot + 1
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.ClaimNodeSlot(c, race, id(string(rune('p'+i))), sec(0), sec(10))
		}()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			defer func() { must(t, s.ReleaseNodeSlot(c, race, id(string(rune('p'+i))))) }()
		case !errors.Is(err, storage.ErrExists):
			t.Fatalf("claim %d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d claims of one free slot won, want exactly 1", won)
	}
}
