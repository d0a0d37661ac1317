package warm

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every function handed to the pool runs, including many at once.
func TestGoRunsEveryFunction(t *testing.T) {
	p := New()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ran := map[int]bool{}
	for i := range 1000 {
		wg.Add(1)
		p.Go(func() {
			defer wg.Done()
			mu.Lock()
			ran[i] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(ran) != 1000 {
		t.Fatalf("%d of 1000 functions ran", len(ran))
	}
}

// A function that blocks does not hold up the next one: there is no
// limit on goroutines, so functions waiting on each other cannot deadlock.
func TestBlockedFunctionDoesNotHoldUpAnother(t *testing.T) {
	p := New()
	release, second := make(chan struct{}), make(chan struct{})
	p.Go(func() { <-release })
	p.Go(func() { close(second) })
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("the second function waited for the blocked first one")
	}
	close(release)
}

// Functions run one after another run on the goroutine that waits for
// them (and keep its stack) instead of starting one each.
func TestGoroutinesAreReused(t *testing.T) {
	p := New()
	ids := map[string]int{}
	for range 100 {
		got := make(chan string)
		p.Go(func() { got <- goroutineID() })
		ids[<-got]++
		time.Sleep(time.Millisecond) // let the goroutine get back to waiting
	}
	most := 0
	for _, n := range ids {
		most = max(most, n)
	}
	if most < 90 {
		t.Fatalf("100 functions run one after another ran on %d goroutines (at most %d on one), want one for nearly all", len(ids), most)
	}
}

// goroutineID reads the running goroutine's number from its stack header
// ("goroutine 7 [running]:").
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// A burst's goroutines wait for more work, then exit once idle for Idle:
// a pool that is not used holds no goroutine.
func TestIdleGoroutinesExit(t *testing.T) {
	p := New()
	var started, release sync.WaitGroup
	var mu sync.Mutex
	ids := map[string]bool{}
	release.Add(1)
	for range 20 {
		started.Add(1)
		p.Go(func() {
			mu.Lock()
			ids[goroutineID()] = true
			mu.Unlock()
			started.Done()
			release.Wait()
		})
	}
	started.Wait()
	release.Done()
	waiting := func() int {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.idle)
	}
	deadline := time.Now().Add(Idle / 2)
	for waiting() < 20 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := waiting(); n != 20 {
		t.Fatalf("%d of the burst's 20 goroutines wait for more, just after it", n)
	}
	p.Go(func() {}) // reuses one, and keeps it for another Idle
	deadline = time.Now().Add(4 * Idle)
	for alive(ids) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := alive(ids); n > 0 || waiting() > 0 {
		t.Fatalf("%d goroutines left %s after the last function (%d waiting)", n, 4*Idle, waiting())
	}
}

// alive counts the goroutines of ids that still exist.
func alive(ids map[string]bool) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, line := range strings.Split(string(buf), "\n") {
		if f := strings.Fields(line); len(f) > 2 && f[0] == "goroutine" && ids[f[1]] {
			n++
		}
	}
	return n
}

//go:noinline
func deepStack(n int) int {
	var buf [512]byte
	buf[n%len(buf)] = byte(n)
	if n == 0 {
		return int(buf[0])
	}
	return deepStack(n-1) + int(buf[n%len(buf)])
}

// handoff: four callers, each waiting for its function, which needs an
// ~8 KiB stack (as a request's store call and encode do).
func handoff(b *testing.B, spawn func(func())) {
	b.SetParallelism(2)
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan struct{})
		for pb.Next() {
			spawn(func() { deepStack(16); done <- struct{}{} })
			<-done
		}
	})
}

// BenchmarkHandoff against BenchmarkGoStatement: what the pool saves.
func BenchmarkHandoff(b *testing.B)     { handoff(b, New().Go) }
func BenchmarkGoStatement(b *testing.B) { handoff(b, func(fn func()) { go fn() }) }
