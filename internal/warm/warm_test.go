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
	base := runtime.NumGoroutine()
	p := New()
	var started, release sync.WaitGroup
	release.Add(1)
	for range 20 {
		started.Add(1)
		p.Go(func() { started.Done(); release.Wait() })
	}
	started.Wait()
	release.Done()
	time.Sleep(Idle / 4)
	if n := runtime.NumGoroutine() - base; n < 20 {
		t.Fatalf("%d of the burst's 20 goroutines still wait, just after it", n)
	}
	p.Go(func() {}) // reuses one, and keeps it for another Idle
	deadline := time.Now().Add(4 * Idle)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine() - base; n > 0 {
		t.Fatalf("%d goroutines left %s after the last function", n, 4*Idle)
	}
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
