package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/storage"
)

// The roster of open sessions. After a crash a thread grain is active
// nowhere until something touches it: its inactivity timer does not run,
// and neither does what its activation repairs (a queue entry or an
// agent's hold that the crash lost). So every thread with an open session
// is listed in one of rosterShards roster grains, and node start-up wakes
// the threads they list (Desk.WakeOpenThreads).
const (
	KindRoster   = "desk-roster"
	rosterShards = 16
	// wakeConcurrency bounds the wake calls in flight (a roster shard's
	// threads, the agents of WakeAgents).
	wakeConcurrency = 8
)

// rosterOf is the roster shard that lists thread.
func rosterOf(thread string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(thread))
	return strconv.Itoa(int(h.Sum32() % rosterShards))
}

// rosterGrain lists the threads of one shard whose session is open.
type rosterGrain struct {
	Open   idSet `json:"open"`
	waking bool
	// again: a wake was asked during a round. The round's list predates
	// that start-up or departure, whose node may have hosted threads the
	// round had already woken, so one more round follows it.
	again bool
}

func (r *rosterGrain) state() any { return r }

func (r *rosterGrain) load(_ *grain, blob []byte, found bool) error {
	r.Open = idSet{}
	if found {
		return json.Unmarshal(blob, r)
	}
	return nil
}

func (r *rosterGrain) self(g *grain, ctx actor.Context, msg any) {
	if msg.(selfMsg).what == "woken" {
		r.waking = false
		if r.again {
			r.again = false
			r.startWake(g, ctx)
		}
	}
}

func (r *rosterGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "add", "remove":
		return nil, r.Open.change(g, ctx, op, body)
	case "wake":
		// One round at a time; a wake asked during a round brings one
		// more after it (however many were asked).
		if r.waking {
			r.again = true
			return len(r.Open), nil
		}
		r.startWake(g, ctx)
		return len(r.Open), nil
	}
	return nil, invalid("unknown op %q", op)
}

// startWake wakes the listed threads in the background and tells the
// grain when the round is over.
func (r *rosterGrain) startWake(g *grain, ctx actor.Context) {
	threads := r.Open.sorted()
	r.waking = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		g.d.wakeThreads(threads)
		root.Send(self, selfMsg{what: "woken"})
	}()
}

// wakeThreads activates each thread: its activation arms the inactivity
// timer and repairs what a crash cut, and one whose session is no longer
// open unlists itself.
func (d *Desk) wakeThreads(threads []string) {
	d.wake(context.Background(), KindThread, "wake", threads)
}

// WakeOpenThreads wakes the threads with an open session, so their
// inactivity timers run and their activations repair what a crash cut; it
// returns how many it found. Node start-up calls it. As ResumeMerges, it
// reads the shards' saved lists first and asks only a shard that names a
// thread.
func (d *Desk) WakeOpenThreads(ctx context.Context) (int, error) {
	total := 0
	var errs []error
	for i := range rosterShards {
		shard := strconv.Itoa(i)
		cp, err := d.store().LoadCheckpoint(ctx, "desk/"+KindRoster+"/"+shard)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var saved rosterGrain
		if err := json.Unmarshal(cp.State, &saved); err != nil {
			errs = append(errs, fmt.Errorf("roster %s: %w", shard, err))
			continue
		}
		if len(saved.Open) == 0 {
			continue
		}
		var n int
		if err := d.call(ctx, KindRoster, shard, "wake", nil, &n); err != nil {
			errs = append(errs, fmt.Errorf("roster %s: %w", shard, err))
			continue
		}
		total += n
	}
	return total, errors.Join(errs...)
}
