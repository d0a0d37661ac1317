package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// What a starting node wakes besides the roster's threads (roster.go):
// grains whose timers or checks run only while they are active.

// wakeRetries bounds the rounds that try again the grains a wake could
// not reach (their store or their member not ready yet): the first a
// second later, each next one twice as late (15 s in all).
const wakeRetries = 4

// wake activates each grain of kind with op, wakeConcurrency at a time,
// and tries the ones that failed again (wakeRetries), until ctx ends.
func (d *Desk) wake(ctx context.Context, kind, op string, ids []string) {
	delay := time.Second
	for round := 0; ; round++ {
		failed := d.wakeOnce(kind, op, ids)
		if len(failed) == 0 {
			return
		}
		if round == wakeRetries {
			d.log.Warn("desk: grains not woken; they wait for the next request that touches them", "kind", kind, "count", len(failed), "first", failed[0])
			return
		}
		resends.WithLabelValues("wake").Add(float64(len(failed)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay *= 2
		ids = failed
	}
}

// wakeOnce asks each grain once and returns those that failed.
func (d *Desk) wakeOnce(kind, op string, ids []string) []string {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed []string
	)
	sem := make(chan struct{}, wakeConcurrency)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(context.Background(), 4*d.rt.Config().RequestTimeout)
			defer cancel()
			if err := d.call(ctx, kind, id, op, nil, nil); err != nil {
				d.log.Debug("desk: a grain not woken", "kind", kind, "id", id, "err", err)
				mu.Lock()
				failed = append(failed, id)
				mu.Unlock()
				return
			}
			grainsWoken.WithLabelValues(kind).Inc()
		}()
	}
	wg.Wait()
	slices.Sort(failed)
	return failed
}

// WakeAgents activates every agent that a queue of the scenes' routes last
// saw online or away, and the owner agents the routes name. An agent's
// grain checks its devices (the drop grace, agent_drop.go) only while it
// is active, and after a crash nothing else activates an agent without
// sessions: one whose devices went with the dead node would stay online,
// and be offered sessions, until something touched it. Node start-up
// calls it; like WakeOpenThreads it reads saved state and activates only
// the agents it names. It returns how many it woke.
func (d *Desk) WakeAgents(ctx context.Context) (int, error) {
	cp, err := d.store().LoadCheckpoint(ctx, "desk/"+KindScenes+"/"+scenesID)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var scenes scenesGrain
	if err := json.Unmarshal(cp.State, &scenes); err != nil {
		return 0, fmt.Errorf("desk: scenes: %w", err)
	}
	queues, agents := idSet{}, idSet{}
	for _, sc := range scenes.Scenes {
		for _, step := range sc.Route {
			if q, ok := stepQueue(step); ok {
				queues[q] = true
			}
		}
	}
	var errs []error
	for q := range queues {
		if owner, ok := strings.CutPrefix(q, "@"); ok {
			agents[owner] = true
			continue
		}
		cp, err := d.store().LoadCheckpoint(ctx, "desk/"+KindQueue+"/"+q)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		var saved queueGrain
		if err == nil {
			err = json.Unmarshal(cp.State, &saved)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("queue %s: %w", q, err))
			continue
		}
		for u, v := range saved.Agents {
			if v.Status != Offline {
				agents[u] = true
			}
		}
	}
	woken := agents.sorted()
	d.wake(ctx, KindAgent, "get", woken)
	return len(woken), errors.Join(errs...)
}
