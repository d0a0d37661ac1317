package actors

import (
	"strings"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestAdmissionLatencyBound: the bound on pending sends stays put after an
// interval whose median send took exactly SendLatencyTarget, drops to
// three quarters of the sends in use after one whose median took a
// nanosecond more (the next send past it is BUSY with a retry-after and
// says why) even when some sends of it were fast, never drops below
// MinPendingSends, and grows back by an eighth after an interval whose
// median met the target even when some sends of it were slow. The clock
// is stepped by hand: no timing is asserted.
func TestAdmissionLatencyBound(t *testing.T) {
	clk := time.Unix(1e9, 0)
	cfg := Config{MaxPendingSends: 100, MinPendingSends: 10, MaxPendingDeliveries: 1000, BusyRetryAfter: 200 * time.Millisecond,
		SendLatencyTarget: 200 * time.Millisecond, SendLatencyInterval: 100 * time.Millisecond}
	a := steppedAdmission(cfg, &clk)
	admit := func(n int) []func() {
		t.Helper()
		var rs []func()
		for i := range n {
			r, err := a.admitSend()
			if err != nil {
				t.Fatalf("send %d of %d (limit %d): %v", i+1, n, a.limit.Load(), err)
			}
			rs = append(rs, r)
		}
		return rs
	}
	releaseAll := func(rs []func()) {
		for _, r := range rs {
			r()
		}
	}
	refused := func(why string) {
		t.Helper()
		_, err := a.admitSend()
		e, ok := err.(*Error)
		if !ok || e.Code != pb.Code_BUSY {
			t.Fatalf("%s: %v, want BUSY", why, err)
		}
		if e.RetryAfterMs < 100 || e.RetryAfterMs > 300 {
			t.Fatalf("%s: retry-after %d ms, want 100–300", why, e.RetryAfterMs)
		}
		if !strings.Contains(e.Message, "longer than 200ms") {
			t.Fatalf("%s: %q does not say the sends are slow", why, e.Message)
		}
	}

	// At the target: no standing queue, the bound stays at the maximum.
	rs := admit(40)
	clk = clk.Add(200 * time.Millisecond)
	rs[0]() // took exactly the target, and ends the interval
	if l := a.limit.Load(); l != 100 {
		t.Fatalf("after a send of exactly the target: limit %d, want 100", l)
	}

	// A nanosecond over: the bound drops to 3/4 of the 40 in use.
	rs = append(admit(1), rs[1:]...)
	clk = clk.Add(200*time.Millisecond + time.Nanosecond)
	rs[0]() // took 200 ms + 1 ns, the fastest of the interval
	if l := a.limit.Load(); l != 30 {
		t.Fatalf("after a send over the target: limit %d, want 30", l)
	}
	refused("39 pending over a limit of 30")
	releaseAll(rs[1:]) // same interval: the bound does not move again
	if l := a.limit.Load(); l != 30 {
		t.Fatalf("within one interval: limit %d, want 30", l)
	}
	rs = admit(30) // exactly at the bound
	refused("the 31st send")
	releaseAll(rs)

	// Slow intervals one after another stop at the floor.
	for range 20 {
		rs = admit(int(a.limit.Load()))
		clk = clk.Add(time.Second)
		releaseAll(rs)
	}
	if l := a.limit.Load(); l != 10 {
		t.Fatalf("after many slow intervals: limit %d, want the floor 10", l)
	}
	rs = admit(10)
	refused("the 11th send at the floor")

	// The queue is gone: most sends fast again (one slow one does not
	// count against them), the bound grows by an eighth.
	slow := rs[9]
	a.winStart, a.winSends, a.winSlow = clk, 0, 0 // the slow sends above are behind us
	clk = clk.Add(100 * time.Millisecond)         // the interval is over, and these took 100 ms
	releaseAll(rs[:9])
	if l := a.limit.Load(); l != 12 {
		t.Fatalf("after a fast interval: limit %d, want 12 (10 + 10/8 + 1)", l)
	}
	clk = clk.Add(time.Second)
	slow()

	// A standing queue that some sends slip past: in one interval 5 sends
	// took 350 ms and 4 took 50 ms or less. The fastest met the target; the
	// median did not.
	a.limit.Store(100)
	slowOnes := admit(5)
	clk = clk.Add(300 * time.Millisecond)
	a.winStart, a.winSends, a.winSlow = clk, 0, 0
	fastOnes := admit(3)
	clk = clk.Add(50 * time.Millisecond)
	releaseAll(fastOnes)
	releaseAll(slowOnes)
	clk = clk.Add(70 * time.Millisecond) // the interval is over
	releaseAll(admit(1))                 // took 0: ends it
	if l := a.limit.Load(); l >= 100 {
		t.Fatalf("after an interval whose median send was slow: limit %d, want it lowered", l)
	}
	if a.sends.Load() != 0 {
		t.Fatalf("%d sends still counted, want 0", a.sends.Load())
	}
}

// steppedAdmission is an admission whose clock reads *clk, which the test
// steps by hand: its latency interval and its second of refusals start at
// *clk.
func steppedAdmission(cfg Config, clk *time.Time) *admission {
	a := newAdmission(cfg)
	a.now = func() time.Time { return *clk }
	a.winStart = *clk
	a.scaleStart.Store(clk.UnixNano())
	return a
}
