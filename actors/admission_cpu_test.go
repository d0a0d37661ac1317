package actors

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestAdmissionCPUBound: sends that all meet SendLatencyTarget still lower
// the bound on pending sends after an interval in which the process's
// goroutines waited more than SchedLatencyTarget to run (a saturated CPU),
// and the refusal says so; a wait of exactly the target leaves it growing
// back; an admission built without the target never reads the runtime.
// The clock and the scheduling latency are stepped by hand.
func TestAdmissionCPUBound(t *testing.T) {
	clk := time.Unix(1e9, 0)
	cfg := Config{MaxPendingSends: 100, MinPendingSends: 10, MaxPendingDeliveries: 1000, BusyRetryAfter: 200 * time.Millisecond,
		SendLatencyTarget: 100 * time.Millisecond, SendLatencyInterval: 100 * time.Millisecond, SchedLatencyTarget: 20 * time.Millisecond}
	a := steppedAdmission(cfg, &clk)
	sched := time.Duration(0)
	a.schedP90 = func() time.Duration { return sched }
	interval := func(pending int) {
		t.Helper()
		var rs []func()
		for i := range pending {
			r, err := a.admitSend()
			if err != nil {
				t.Fatalf("send %d of %d (limit %d): %v", i+1, pending, a.limit.Load(), err)
			}
			rs = append(rs, r)
		}
		clk = clk.Add(100 * time.Millisecond) // each send took 100 ms: the target, not over it
		for _, r := range rs {
			r()
		}
	}

	sched = 21 * time.Millisecond
	interval(40)
	if l := a.limit.Load(); l != 30 {
		t.Fatalf("after an interval of fast sends on a saturated CPU: limit %d, want 30 (3/4 of 40)", l)
	}
	var rs []func()
	for range 30 {
		r, err := a.admitSend()
		if err != nil {
			t.Fatalf("within the new limit: %v", err)
		}
		rs = append(rs, r)
	}
	_, err := a.admitSend()
	e, ok := err.(*Error)
	if !ok || e.Code != pb.Code_BUSY || e.RetryAfterMs == 0 {
		t.Fatalf("the 31st send: %v, want BUSY with a retry-after", err)
	}
	if !strings.Contains(e.Message, "CPU is saturated") || !strings.Contains(e.Message, "21ms") || !strings.Contains(e.Message, "20ms") {
		t.Fatalf("refusal %q does not say the CPU is saturated, with the wait seen and the target", e.Message)
	}
	for _, r := range rs {
		r() // still the same interval: the bound does not move
	}

	sched = 20 * time.Millisecond
	interval(30)
	if l := a.limit.Load(); l != 34 {
		t.Fatalf("after an interval whose goroutines waited exactly the target: limit %d, want 34 (30 + 30/8 + 1)", l)
	}

	// Slow sends and a saturated CPU together: the refusal names the sends.
	a.target = 50 * time.Millisecond
	a.winStart, a.winSends, a.winSlow = clk, 0, 0 // the sends above met the old target
	sched = time.Second
	interval(34)
	if _, err := a.admitSendN(26); err == nil || !strings.Contains(err.Error(), "sends are taking longer than 50ms") {
		t.Fatalf("after slow sends on a saturated CPU: %v, want the sends' reason", err)
	}

	off := newAdmission(Config{MaxPendingSends: 100, MinPendingSends: 10, MaxPendingDeliveries: 1000, BusyRetryAfter: 200 * time.Millisecond,
		SendLatencyTarget: 100 * time.Millisecond, SendLatencyInterval: 100 * time.Millisecond, SchedLatencyTarget: -1})
	if off.schedP90 != nil || off.schedTarget != 0 {
		t.Fatal("a negative SchedLatencyTarget still reads the scheduling latency")
	}
}

// admitSendN admits n sends and returns the first refusal, releasing
// what it admitted.
func (a *admission) admitSendN(n int) (int, error) {
	var rs []func()
	defer func() {
		for _, r := range rs {
			r()
		}
	}()
	for i := range n {
		r, err := a.admitSend()
		if err != nil {
			return i, err
		}
		rs = append(rs, r)
	}
	return n, nil
}

// TestSchedLatencyOfASaturatedProcess: the runtime's scheduling latency,
// read as the admission reads it, is 0 on the first read and tens of
// milliseconds at the 90th percentile while eight goroutines per P spin
// (each waits for the others' 10 ms time slices). Nothing is asserted of
// a quiet process: the machine running the test may not be quiet.
func TestSchedLatencyOfASaturatedProcess(t *testing.T) {
	s := newSchedLatency()
	if q := s.quantile(0.9); q != 0 {
		t.Fatalf("first read: %s, want 0", q)
	}
	stop := time.Now().Add(400 * time.Millisecond)
	var wg sync.WaitGroup
	for range 8 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; time.Now().Before(stop); n++ {
			}
		}()
	}
	wg.Wait()
	if q := s.quantile(0.9); q < 10*time.Millisecond {
		t.Fatalf("90th percentile wait to run while %d goroutines spun on %d Ps: %s, want at least 10ms", 8*runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0), q)
	}
}
