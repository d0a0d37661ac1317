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
