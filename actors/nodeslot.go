package actors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// nodeSlot holds this node's lease of a node number in the store and
// renews it; the id generator uses whatever number it holds. A node that
// loses its lease (it could not renew for a whole lease, and another node
// took the number) claims another before making more ids with the old one
// is at risk: that is why renewal runs at a third of the lease.
type nodeSlot struct {
	store storage.Store
	owner string
	ttl   time.Duration
	log   *slog.Logger
	ids   *idGen

	mu   sync.Mutex
	slot uint32
	held bool // false while a claim waits for a writable store

	stop      chan struct{}
	closeOnce sync.Once
	done      chan struct{}
}

// claimRetryMax caps the pause between claims of one number that failed
// for a reason other than its being leased (a replica timing out).
const claimRetryMax = 2 * time.Second

// claimSlot claims the first free node number, probing from start. A claim
// that fails for another reason than the number being leased (a timeout of
// a starved or restarting replica) is tried again until ctx ends: the
// claim is safe to repeat, since the owner claiming again renews its own
// lease. A refusing (full), closed or invalid store fails at once.
func claimSlot(ctx context.Context, store storage.Store, owner string, start uint32, ttl time.Duration) (uint32, error) {
	for i := uint32(0); i < storage.MaxNodeSlots; i++ {
		slot := (start + i) % storage.MaxNodeSlots
		pause := 50 * time.Millisecond
		for {
			now := time.Now()
			err := store.ClaimNodeSlot(ctx, slot, owner, now, now.Add(ttl))
			if err == nil {
				return slot, nil
			}
			if errors.Is(err, storage.ErrExists) {
				break
			}
			if !retryableClaim(err) || ctx.Err() != nil {
				return 0, fmt.Errorf("claim node number %d: %w", slot, err)
			}
			select {
			case <-ctx.Done():
				return 0, fmt.Errorf("claim node number %d: %w (before: %w)", slot, ctx.Err(), err)
			case <-time.After(pause):
			}
			pause = min(2*pause, claimRetryMax)
		}
	}
	return 0, fmt.Errorf("all %d node numbers are leased: %w", storage.MaxNodeSlots, storage.ErrExists)
}

// retryableClaim reports whether a failed claim may succeed when repeated.
func retryableClaim(err error) bool {
	return !errors.Is(err, storage.ErrUnavailable) && !errors.Is(err, storage.ErrClosed) &&
		!errors.Is(err, storage.ErrInvalid) && !errors.Is(err, context.Canceled)
}

// startSlot is where owner starts probing: spread by a hash so that nodes
// starting together rarely contend for one number.
func startSlot(owner string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(owner))
	return h.Sum32() % storage.MaxNodeSlots
}

func newNodeSlot(ctx context.Context, store storage.Store, owner string, ttl time.Duration, log *slog.Logger) (*nodeSlot, error) {
	slot, err := claimSlot(ctx, store, owner, startSlot(owner), ttl)
	held := err == nil
	if errors.Is(err, storage.ErrUnavailable) {
		// A node started on a full disk serves reads: it leases its
		// number once the store takes writes again (it retries every
		// second; until then no message can be stored anyway), with the
		// hash-spread number meanwhile.
		slot, err = startSlot(owner), nil
		log.Warn("node number not leased yet: the store refuses writes", "node_number", slot)
	}
	if err != nil {
		return nil, err
	}
	s := &nodeSlot{store: store, owner: owner, ttl: ttl, log: log, ids: newIDGen(slot), slot: slot, held: held,
		stop: make(chan struct{}), done: make(chan struct{})}
	if held {
		log.Info("node number leased", "node_number", slot, "owner", owner, "lease", ttl)
	}
	go s.renewLoop()
	return s, nil
}

// Slot is the node number currently held.
func (s *nodeSlot) Slot() uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.slot
}

func (s *nodeSlot) renewLoop() {
	defer close(s.done)
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	retry := time.NewTicker(time.Second)
	defer retry.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.renew()
		case <-retry.C:
			s.mu.Lock()
			held := s.held
			s.mu.Unlock()
			if held {
				retry.Stop()
			} else {
				s.claimLate()
			}
		}
	}
}

// claimLate leases a number for a node that started while the store
// refused writes.
func (s *nodeSlot) claimLate() {
	ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
	defer cancel()
	slot, err := claimSlot(ctx, s.store, s.owner, startSlot(s.owner), s.ttl)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.slot, s.held = slot, true
	s.mu.Unlock()
	s.ids.setNode(slot)
	s.log.Info("node number leased", "node_number", slot, "owner", s.owner, "lease", s.ttl)
}

func (s *nodeSlot) renew() {
	s.mu.Lock()
	held := s.held
	s.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
	defer cancel()
	slot := s.Slot()
	now := time.Now()
	err := s.store.ClaimNodeSlot(ctx, slot, s.owner, now, now.Add(s.ttl))
	if err == nil {
		return
	}
	if !errors.Is(err, storage.ErrExists) {
		s.log.Warn("node number lease not renewed; retrying", "node_number", slot, "err", err)
		return
	}
	// Another node holds it now: take another before making more ids.
	next, err := claimSlot(ctx, s.store, s.owner, startSlot(s.owner), s.ttl)
	if err != nil {
		s.log.Error("node number lease lost and none free", "node_number", slot, "err", err)
		return
	}
	s.mu.Lock()
	s.slot = next
	s.mu.Unlock()
	s.ids.setNode(next)
	s.log.Error("node number lease lost; leased another", "old", slot, "node_number", next)
}

// close stops renewal and, with release, frees the lease so a new node can
// take the number at once. Calling it again is a no-op.
func (s *nodeSlot) close(ctx context.Context, release bool) {
	s.closeOnce.Do(func() { close(s.stop) })
	<-s.done
	if !release {
		return
	}
	if err := s.store.ReleaseNodeSlot(ctx, s.Slot(), s.owner); err != nil {
		s.log.Warn("node number not released; it frees when its lease ends", "node_number", s.Slot(), "err", err)
	}
}
