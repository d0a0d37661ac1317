package cql

import (
	"context"
	"slices"

	"github.com/switchboard-im/switchboard/storage"
)

// asyncJob is one AppendMessagesAsync batch waiting for a worker.
type asyncJob struct {
	ctx    context.Context
	convID string
	epoch  uint64
	msgs   []storage.Message
	done   func(error)
}

// startAsync starts the fixed pool of commit workers.
func (s *Store) startAsync() {
	s.asyncQ = make(chan asyncJob, s.cfg.AsyncQueue)
	s.casSem = make(chan struct{}, s.cfg.ConditionalAppends)
	for range s.cfg.AsyncWorkers {
		s.asyncWG.Add(1)
		go func() {
			defer s.asyncWG.Done()
			for j := range s.asyncQ {
				j.done(s.appendQueued(j))
			}
		}()
	}
}

// appendQueued commits one queued batch; unfenced batches are conditional
// writes and take a slot of ConditionalAppends first.
func (s *Store) appendQueued(j asyncJob) error {
	if j.epoch == 0 {
		s.casSem <- struct{}{}
		defer func() { <-s.casSem }()
	}
	return s.appendMessages(j.ctx, j.convID, j.epoch, j.msgs)
}

// stopAsync closes the queue and waits until the workers drained it.
func (s *Store) stopAsync() {
	s.asyncMu.Lock()
	close(s.asyncQ)
	s.asyncMu.Unlock()
	s.asyncWG.Wait()
}

// AppendMessagesAsync queues the batch for a worker. It blocks while the
// queue is full (back-pressure) or until ctx ends. Once queued, the batch
// is committed even if ctx is cancelled later (its values are kept), so
// Close can drain the queue and done always reports the real outcome.
func (s *Store) AppendMessagesAsync(ctx context.Context, convID string, epoch uint64, msgs []storage.Message, done func(error)) {
	// Invalid input fails at once, without taking a queue slot.
	if err := s.lim.CheckMessages(convID, msgs); err != nil {
		go done(err)
		return
	}
	s.asyncMu.RLock()
	if s.closed.Load() {
		s.asyncMu.RUnlock()
		go done(storage.ErrClosed)
		return
	}
	// Workers never take asyncMu, so a full queue drains while we hold it
	// for reading, and Close waits for us.
	select {
	case s.asyncQ <- asyncJob{ctx: context.WithoutCancel(ctx), convID: convID, epoch: epoch, msgs: slices.Clone(msgs), done: done}:
		s.asyncMu.RUnlock()
	case <-ctx.Done():
		s.asyncMu.RUnlock()
		go done(ctx.Err())
	}
}
