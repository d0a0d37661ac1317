package actors

import (
	"errors"
	"testing"
	"time"
)

// TestRetryAfterGrowsWithOverload: a second in which the node refused k
// sends per accepted one makes the next refusals ask for at least k ×
// BusyRetryAfter (±50% jitter), doubling while refusals outnumber
// admissions, never more than MaxBusyRetryAfter; each calm second (under
// one refusal per four admissions) halves it back towards BusyRetryAfter.
// The clock is stepped by hand: no timing is asserted.
func TestRetryAfterGrowsWithOverload(t *testing.T) {
	clk := time.Unix(1e9, 0)
	cfg := Config{MaxPendingSends: 1, MaxPendingDeliveries: 1000, BusyRetryAfter: 100 * time.Millisecond, MaxBusyRetryAfter: time.Second}
	a := steppedAdmission(cfg, &clk)
	// One send holds the only slot; every other is refused.
	release, err := a.admitSend()
	if err != nil {
		t.Fatal(err)
	}
	refuse := func(n int) (lo, hi time.Duration) {
		t.Helper()
		for i := range n {
			_, err := a.admitSend()
			var e *Error
			if !errors.As(err, &e) || e.RetryAfterMs == 0 {
				t.Fatalf("refusal %d: %v, want BUSY with a retry-after", i, err)
			}
			d := time.Duration(e.RetryAfterMs) * time.Millisecond
			if i == 0 || d < lo {
				lo = d
			}
			hi = max(hi, d)
		}
		return lo, hi
	}
	// The first second: nothing measured yet, so the base retry-after.
	if lo, hi := refuse(6); lo < 50*time.Millisecond || hi >= 150*time.Millisecond {
		t.Fatalf("first second: retry-after %s..%s, want the base 100 ms ±50%%", lo, hi)
	}
	// 6 refused per admitted: 600 ms ±50%.
	clk = clk.Add(time.Second)
	if lo, hi := refuse(40); lo < 300*time.Millisecond || hi >= 900*time.Millisecond {
		t.Fatalf("after 6 refusals per admission: retry-after %s..%s, want 600 ms ±50%%", lo, hi)
	}
	// 40 refused, none admitted: capped at 1 s ±50%.
	clk = clk.Add(time.Second)
	if lo, hi := refuse(5); lo < 500*time.Millisecond || hi >= 1500*time.Millisecond {
		t.Fatalf("past the cap: retry-after %s..%s, want MaxBusyRetryAfter 1 s ±50%%", lo, hi)
	}
	// Calm seconds: admitted, none refused. Each halves the scale: 10 → 5
	// → 2 → 1.
	release()
	calm := func() {
		t.Helper()
		clk = clk.Add(time.Second)
		for range 10 {
			r, err := a.admitSend()
			if err != nil {
				t.Fatal(err)
			}
			r()
		}
	}
	calm()                   // ends the capped second
	calm()                   // the first calm second ends: 5
	hold, _ := a.admitSend() // hold the slot to see refusals
	if lo, hi := refuse(1); lo < 250*time.Millisecond || hi >= 750*time.Millisecond {
		t.Fatalf("after a calm second: retry-after %s..%s, want 500 ms ±50%%", lo, hi)
	}
	hold()
	calm()
	calm()
	calm()
	hold, _ = a.admitSend()
	if lo, hi := refuse(1); lo < 50*time.Millisecond || hi >= 150*time.Millisecond {
		t.Fatalf("after calm seconds: retry-after %s..%s, want the base 100 ms ±50%%", lo, hi)
	}
	hold()

	// Refusals that keep outnumbering admissions only 2 to 1 still double
	// the retry-after every second: it was not long enough.
	clk = clk.Add(time.Second)
	hold, _ = a.admitSend()
	for want := time.Duration(200); want <= 800; want *= 2 {
		refuse(2)
		clk = clk.Add(time.Second)
		if lo, hi := refuse(1); lo < want*time.Millisecond/2 || hi >= want*time.Millisecond*3/2 {
			t.Fatalf("refusals 2:1 again: retry-after %s..%s, want %d ms ±50%%", lo, hi, want)
		}
	}
	hold()
}
