package actors

import (
	"testing"
	"time"
)

// Calls close in time share one context; each gets a bound at least as
// long as it asked and at most storeCtxSlice longer.
func TestStoreContextsShareABound(t *testing.T) {
	var s storeContexts
	check := func(name string, timeout time.Duration) {
		t.Helper()
		before := time.Now()
		ctx := s.get(timeout)
		after := time.Now()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatalf("%s: no deadline", name)
		}
		if dl.Before(before.Add(timeout)) {
			t.Fatalf("%s: ends %v after the call, asked %v", name, dl.Sub(before), timeout)
		}
		if dl.After(after.Add(timeout + storeCtxSlice)) {
			t.Fatalf("%s: ends %v after the call, asked %v (slice %v)", name, dl.Sub(after), timeout, storeCtxSlice)
		}
		if ctx.Err() != nil {
			t.Fatalf("%s: already ended: %v", name, ctx.Err())
		}
	}
	check("first", time.Second)
	a := s.get(time.Second)
	b := s.get(time.Second)
	if a != b {
		t.Error("two calls in the same slice got two contexts")
	}
	check("longer", time.Minute) // must not get the one-second context
	check("shorter", time.Second)
	time.Sleep(2 * storeCtxSlice)
	check("a slice later", time.Second)

	short := s.get(10 * time.Millisecond)
	select {
	case <-short.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a shared context never ended")
	}
}
