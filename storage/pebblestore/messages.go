package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Messages: appends checked on the committer, pages, client-id lookups, tombstones.

// appendMessagesOp encodes the batch on the caller's goroutine and returns
// the op that checks and writes it on the committer.
// With epoch > 0 the op also checks, serialised with AcquireEpoch, that the
// epoch is still the conversation's and the seqs are reserved; the per-row
// seq check stays (it is cheap here).
func (s *Store) appendMessagesOp(convID string, epoch uint64, msgs []storage.Message) (writeOp, *appendInfo, error) {
	if err := s.limits.CheckMessages(convID, msgs); err != nil {
		return nil, nil, err
	}
	type kv struct{ k, v []byte }
	rows := make([]kv, 0, len(msgs))
	for i := range msgs {
		m := msgs[i]
		m.ClientTS, m.ServerTS = storage.Millis(m.ClientTS), storage.Millis(m.ServerTS)
		rows = append(rows, kv{messageKey(convID, m.Seq), encodeMessage(&m)})
	}
	var batchMax uint64
	for i := range msgs {
		batchMax = max(batchMax, msgs[i].Seq)
	}
	op := func(b *pebble.Batch) error {
		if epoch > 0 {
			if err := s.checkEpoch(b, convID, epoch, batchMax); err != nil {
				return err
			}
		}
		last, err := s.lastSeqs.get(b, convID)
		if err != nil {
			return err
		}
		for i, r := range rows {
			if msgs[i].Seq > last {
				continue // above everything stored: cannot exist
			}
			found, err := exists(b, r.k)
			if err != nil {
				return err
			}
			if found {
				return fmt.Errorf("conversation %q seq %d: %w", convID, msgs[i].Seq, storage.ErrSeqExists)
			}
		}
		s.lastSeqs.raise(convID, batchMax)
		for _, r := range rows {
			if err := b.Set(r.k, r.v, nil); err != nil {
				return err
			}
		}
		return nil
	}
	app := &appendInfo{conv: convID, first: ^uint64(0), undo: make([][]byte, 0, len(rows))}
	for i, r := range rows {
		app.first = min(app.first, msgs[i].Seq)
		app.undo = append(app.undo, r.k)
	}
	return op, app, nil
}

func (s *Store) AppendMessages(ctx context.Context, convID string, epoch uint64, msgs []storage.Message) error {
	ch := make(chan error, 1)
	s.AppendMessagesAsync(ctx, convID, epoch, msgs, func(err error) { ch <- err })
	return <-ch
}

func (s *Store) AppendMessagesAsync(ctx context.Context, convID string, epoch uint64, msgs []storage.Message, done func(error)) {
	op, app, err := s.appendMessagesOp(convID, epoch, msgs)
	if err != nil {
		done(err)
		return
	}
	s.commit.submit(ctx, op, app, done)
}

func (s *Store) GetMessage(ctx context.Context, convID string, seq uint64) (storage.Message, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return storage.Message{}, err
	}
	v, found, err := s.sget(messageKey(convID, seq))
	if err != nil {
		return storage.Message{}, fmt.Errorf("get message: %w", err)
	}
	if from, ok := s.unsynced.hideFrom(convID); ok && seq >= from {
		found = false // not yet durable
	}
	if !found {
		return storage.Message{}, fmt.Errorf("conversation %q seq %d: %w", convID, seq, storage.ErrNotFound)
	}
	return decodeMessage(convID, seq, v)
}

func (s *Store) ListMessages(ctx context.Context, convID string, fromSeq, toSeq uint64, order storage.Order, limit int) ([]storage.Message, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	p := prefix(tagMessage, convID)
	lower := messageKey(convID, fromSeq)
	upper := upperBound(p)
	if toSeq != 0 {
		if toSeq < fromSeq {
			return nil, nil
		}
		if toSeq < ^uint64(0) {
			upper = messageKey(convID, toSeq+1)
		}
	}
	if from, ok := s.unsynced.hideFrom(convID); ok {
		if from <= fromSeq {
			return nil, nil
		}
		if toSeq == 0 || toSeq >= from {
			upper = messageKey(convID, from) // not yet durable
		}
	}
	var out []storage.Message
	err := s.scan(lower, upper, order == storage.NewestFirst, func(k, v []byte) (bool, error) {
		m, err := decodeMessage(convID, seqSuffix(k), v)
		if err != nil {
			return false, err
		}
		out = append(out, m)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list messages of %q: %w", convID, err)
	}
	return out, nil
}

// AdoptMessage only checks the epoch and that seq holds the message: a
// Pebble commit checks the epoch in the same batch, so no write of an
// earlier epoch lands after a later one took over, and nothing can
// replace the row.
func (s *Store) AdoptMessage(ctx context.Context, convID string, epoch, seq uint64, sender, clientMsgID string) error {
	head, err := s.GetConversation(ctx, convID)
	if err != nil {
		return err
	}
	if head.Epoch != epoch {
		return fmt.Errorf("adopt %q seq %d: epoch is %d, not %d: %w", convID, seq, head.Epoch, epoch, storage.ErrEpochLost)
	}
	m, err := s.GetMessage(ctx, convID, seq)
	if err != nil {
		return err
	}
	if m.Sender != sender || m.ClientMsgID != clientMsgID {
		return fmt.Errorf("conversation %q seq %d holds another message: %w", convID, seq, storage.ErrNotFound)
	}
	return nil
}

func (s *Store) RedactMessage(ctx context.Context, convID string, seq uint64, body []byte) error {
	return s.rewriteMessage(ctx, convID, seq, func(m *storage.Message) { m.Body = body })
}

func (s *Store) TombstoneMessage(ctx context.Context, convID string, seq uint64) error {
	return s.rewriteMessage(ctx, convID, seq, func(m *storage.Message) {
		m.Flags |= storage.FlagRecalled
		m.Body, m.Media, m.Location, m.Meta = nil, storage.MediaRef{}, nil, nil
	})
}

// rewriteMessage changes a stored message in place with change, unless it
// is recalled (a recall is final: nothing writes its body again).
func (s *Store) rewriteMessage(ctx context.Context, convID string, seq uint64, change func(*storage.Message)) error {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return err
	}
	k := messageKey(convID, seq)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("conversation %q seq %d: %w", convID, seq, storage.ErrNotFound)
		}
		m, err := decodeMessage(convID, seq, v)
		if err != nil {
			return err
		}
		if m.Recalled() {
			return nil
		}
		change(&m)
		return b.Set(k, encodeMessage(&m), nil)
	})
}
