package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The re-registration backstop (see the top of sessions.go). One goroutine
// per node, not a timer per session: a timer per session cost a runtime
// timer each (scanned by the runtime whenever any timer moves earlier,
// which quic-go does for every packet it acknowledges) and a goroutine per
// firing. The node's sessions are dealt into reregSlices slices, each new
// one into the smallest; every Reregister/reregSlices the sweep re-registers
// the next slice with at most Config.ReregisterWorkers requests in flight.
// So every session registers again once per Reregister and the requests
// are spread evenly over it. A slice that takes longer than its turn
// delays the next (the ticker drops the turns missed): under load the
// backstop slows down instead of piling requests on the grains.

// reregSlices is how many turns one Reregister period is cut into.
const reregSlices = 64

// addSlice deals s into the smallest slice. Under x.mu.
func (x *sessionIndex) addSlice(s *deviceSession) {
	best := 0
	for i := range x.slices {
		if len(x.slices[i]) < len(x.slices[best]) {
			best = i
		}
	}
	s.slice, s.pos = uint8(best), len(x.slices[best])
	x.slices[best] = append(x.slices[best], s)
}

// removeSlice takes s out of its slice (the slice's last session takes
// its place). Under x.mu.
func (x *sessionIndex) removeSlice(s *deviceSession) {
	sl := x.slices[s.slice]
	if s.pos >= len(sl) || sl[s.pos] != s {
		return // not in the index
	}
	last := sl[len(sl)-1]
	sl[s.pos], last.pos = last, s.pos
	sl[len(sl)-1] = nil
	x.slices[s.slice] = sl[:len(sl)-1]
}

// appendSlice appends the sessions of slice i to out.
func (x *sessionIndex) appendSlice(out []*deviceSession, i int) []*deviceSession {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append(out, x.slices[i]...)
}

// reregSweep is the running sweep.
type reregSweep struct {
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	inFlight    atomic.Int64
	maxInFlight atomic.Int64 // the most requests in flight at once (tests)
}

// startReregister starts the sweep; stop ends it and waits for the
// requests in flight to return (they are cancelled).
func (n *Runtime) startReregister() *reregSweep {
	ctx, cancel := context.WithCancel(context.Background())
	w := &reregSweep{cancel: cancel, done: make(chan struct{})}
	go w.run(ctx, n)
	return w
}

func (w *reregSweep) stop() {
	w.once.Do(func() {
		w.cancel()
		<-w.done
	})
}

func (w *reregSweep) run(ctx context.Context, n *Runtime) {
	defer close(w.done)
	t := time.NewTicker(max(n.cfg.Reregister/reregSlices, time.Millisecond))
	defer t.Stop()
	var batch []*deviceSession
	for turn := 0; ; turn = (turn + 1) % reregSlices {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.leaving.Load() {
			continue // requests would only answer RETRY
		}
		batch = n.sessions.appendSlice(batch[:0], turn)
		w.reregisterAll(ctx, n.cfg.ReregisterWorkers, batch)
		clear(batch) // no closed session kept alive until its slice's next turn
	}
}

// reregisterAll re-registers batch with at most workers requests in flight.
func (w *reregSweep) reregisterAll(ctx context.Context, workers int, batch []*deviceSession) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, len(batch)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(batch) {
					return
				}
				now := w.inFlight.Add(1)
				for have := w.maxInFlight.Load(); now > have && !w.maxInFlight.CompareAndSwap(have, now); have = w.maxInFlight.Load() {
				}
				batch[i].reregister(ctx, false, nil)
				w.inFlight.Add(-1)
			}
		}()
	}
	wg.Wait()
}
