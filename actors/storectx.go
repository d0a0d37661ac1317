package actors

import (
	"context"
	"sync/atomic"
	"time"
)

// A grain bounds each store call it makes while it waits (a user grain's
// flush, once per message) by the request time-out. A context.WithTimeout
// per call cost a context, a runtime timer and their closures: ~7 of the
// ~120 objects a chat message allocated. The calls only need *a* bound of
// about that length, so they share one context per slice of time: every
// call in the same storeCtxSlice gets the same context, ending between
// RequestTimeout and RequestTimeout + storeCtxSlice after the call.

// storeCtxSlice is how much later than asked a shared store context may
// end, and how often a new one is made under steady calls.
const storeCtxSlice = 50 * time.Millisecond

// sharedDeadline is one shared store context and when it ends.
type sharedDeadline struct {
	ctx   context.Context
	until time.Time
	// cancel is never called: calls still share the context. It ends,
	// and frees its timer, at its deadline.
	cancel context.CancelFunc
}

// storeContexts hands out the shared contexts of one runtime.
type storeContexts struct {
	cur atomic.Pointer[sharedDeadline]
}

// get returns a context that ends at least timeout from now (at most
// storeCtxSlice later than that) and is never cancelled before: the
// caller must not cancel it, and has nothing to release.
func (s *storeContexts) get(timeout time.Duration) context.Context {
	now := time.Now()
	want := now.Add(timeout)
	cur := s.cur.Load()
	if cur != nil && !cur.until.Before(want) && cur.until.Sub(want) <= storeCtxSlice {
		return cur.ctx
	}
	until := want.Add(storeCtxSlice)
	ctx, cancel := context.WithDeadline(context.Background(), until)
	next := &sharedDeadline{ctx: ctx, until: until, cancel: cancel}
	s.cur.CompareAndSwap(cur, next) // lost to another caller: theirs serves the next calls
	return ctx
}
