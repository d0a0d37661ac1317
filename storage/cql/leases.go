package cql

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gocql/gocql"

	"github.com/switchboard-im/switchboard/storage"
)

// lease is what this process knows of a conversation's head: the newest
// epoch it saw and that epoch's reservation.
type lease struct{ epoch, reserved uint64 }

// leases caches the head's (epoch, reservation) per conversation, so a
// fenced append can be refused before it writes (a stale epoch, a seq
// outside the reservation) without a read in the common case. It is a
// cache: the read after the write (confirm) is what fences.
type leases struct {
	mu    sync.Mutex
	m     map[string]lease
	max   int
	fence stmt   // reads (epoch, reserved_seq) of one head by its key
	what  string // "append to" or "write inbox of", for errors
}

func newLeases(max int, fence stmt, what string) *leases {
	return &leases{m: map[string]lease{}, max: max, fence: fence, what: what}
}

// note records a head seen or written; an older epoch never replaces a
// newer one, and within an epoch the reservation only grows.
func (l *leases) note(convID string, epoch, reserved uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.m[convID]
	switch {
	case ok && cur.epoch > epoch:
		return
	case ok && cur.epoch == epoch:
		reserved = max(reserved, cur.reserved)
	}
	if !ok && len(l.m) >= l.max {
		clear(l.m) // bounded memory; a forgotten lease is read again
	}
	l.m[convID] = lease{epoch, reserved}
}

func (l *leases) get(convID string) (lease, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.m[convID]
	return v, ok
}

// admit checks a fenced batch before it is written, reading the head when
// the cached lease cannot decide.
func (l *leases) admit(ctx context.Context, s *Store, convID string, epoch, maxSeq uint64) error {
	if v, ok := l.get(convID); ok && (v.epoch > epoch || (v.epoch == epoch && maxSeq <= v.reserved)) {
		return v.check(l.what, convID, epoch, maxSeq)
	}
	v, err := l.read(ctx, s, convID)
	if err != nil {
		return err
	}
	return v.check(l.what, convID, epoch, maxSeq)
}

func (l *leases) read(ctx context.Context, s *Store, convID string) (lease, error) {
	var head casHead
	err := s.query(ctx, l.fence).Bind(convID).GetRelease(&head)
	if errors.Is(err, gocql.ErrNotFound) {
		return lease{}, nil
	}
	if err != nil {
		return lease{}, s.wrap(fmt.Sprintf("read the epoch of %q", convID), err)
	}
	v := lease{epoch: u64(head.Epoch), reserved: u64(head.ReservedSeq)}
	l.note(convID, v.epoch, v.reserved)
	return v, nil
}

func (v lease) check(what, key string, epoch, maxSeq uint64) error {
	if v.epoch != epoch {
		return fmt.Errorf("cql: %s %q: epoch is %d, not %d: %w", what, key, v.epoch, epoch, storage.ErrEpochLost)
	}
	if maxSeq > v.reserved {
		return fmt.Errorf("cql: %s %q: seq %d above the reservation %d: %w", what, key, maxSeq, v.reserved, storage.ErrInvalid)
	}
	return nil
}

// confirms coalesces the post-write epoch reads of one conversation: at
// most one read per conversation is in flight, and the batches that
// finish writing meanwhile share the next one. Each read starts after
// every batch it answers for was durable, which is all the fence needs.
type confirms struct {
	mu     sync.Mutex
	convs  map[string]*convConfirms
	leases *leases // whose fence read confirms
}

type convConfirms struct {
	running bool
	next    *confirmGroup // batches waiting for the read after the running one
}

type confirmGroup struct {
	done chan struct{}
	v    lease
	err  error
}

func newConfirms(l *leases) *confirms { return &confirms{convs: map[string]*convConfirms{}, leases: l} }

// confirm reads the head (or joins a read not yet started) after a fenced
// batch is durable and checks the batch against it.
func (c *confirms) confirm(ctx context.Context, s *Store, convID string, epoch, maxSeq uint64) error {
	c.mu.Lock()
	cc := c.convs[convID]
	if cc == nil {
		cc = &convConfirms{}
		c.convs[convID] = cc
	}
	if cc.next == nil {
		cc.next = &confirmGroup{done: make(chan struct{})}
	}
	g := cc.next
	if !cc.running {
		cc.running, cc.next = true, nil
		workers.Go(func() { c.run(s, convID, cc, g) })
	}
	c.mu.Unlock()
	select {
	case <-g.done:
	case <-ctx.Done():
		return fmt.Errorf("cql: %s %q: check epoch: %w", c.leases.what, convID, ctx.Err())
	}
	if g.err != nil {
		return g.err
	}
	return g.v.check(c.leases.what, convID, epoch, maxSeq)
}

func (c *confirms) run(s *Store, convID string, cc *convConfirms, g *confirmGroup) {
	for g != nil {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		g.v, g.err = c.leases.read(ctx, s, convID)
		cancel()
		close(g.done)
		c.mu.Lock()
		g, cc.next = cc.next, nil
		if g == nil {
			cc.running = false
			delete(c.convs, convID)
		}
		c.mu.Unlock()
	}
}
