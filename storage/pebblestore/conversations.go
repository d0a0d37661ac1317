package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Conversation heads: creation, the epoch and the seq reservation.

func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	if err := s.limits.CheckID("conversation", c.ID); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("conversation kind %d: %w", c.Kind, storage.ErrInvalid)
	}
	if len(c.Title) > s.limits.MaxPayloadBytes {
		return fmt.Errorf("title is %d bytes, limit %d: %w", len(c.Title), s.limits.MaxPayloadBytes, storage.ErrTooLarge)
	}
	c.Epoch, c.ReservedSeq, c.LastSeq = 0, 0, 0
	c.CreatedAt = storage.Millis(c.CreatedAt)
	k, v := convKey(c.ID), encodeConv(c)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		found, err := exists(b, k)
		if err != nil {
			return err
		}
		if found {
			return fmt.Errorf("conversation %q: %w", c.ID, storage.ErrExists)
		}
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
		s.convFences.put(c.ID, convFence{epoch: c.Epoch, reserved: c.ReservedSeq})
		return nil
	})
}

func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := s.limits.CheckID("conversation", id); err != nil {
		return storage.Conversation{}, err
	}
	v, found, err := s.sget(convKey(id))
	if err != nil {
		return storage.Conversation{}, fmt.Errorf("get conversation %q: %w", id, err)
	}
	if !found {
		return storage.Conversation{}, fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
	}
	c, err := decodeConv(id, v)
	if err != nil {
		return c, fmt.Errorf("conversation %q: %w", id, err)
	}
	p := prefix(tagMessage, id)
	upper := upperBound(p)
	if from, ok := s.unsynced.hideFrom(id); ok {
		upper = messageKey(id, from) // not yet durable
	}
	err = s.scan(p, upper, true, func(k, _ []byte) (bool, error) {
		c.LastSeq = seqSuffix(k)
		return false, nil
	})
	return c, err
}

func seqSuffix(k []byte) uint64 {
	var seq uint64
	for _, b := range k[len(k)-8:] {
		seq = seq<<8 | uint64(b)
	}
	return seq
}

func (s *Store) ListConversations(ctx context.Context, cursor string, limit int) ([]storage.Conversation, string, error) {
	if err := storage.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	lower := []byte{tagConv}
	if cursor != "" {
		lower = append(convKey(cursor), 0) // strictly after the cursor
	}
	var out []storage.Conversation
	err := s.scan(lower, []byte{tagConv + 1}, false, func(k, v []byte) (bool, error) {
		c, err := decodeConv(string(k[1:]), v)
		if err != nil {
			return false, err
		}
		out = append(out, c)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("list conversations: %w", err)
	}
	next := ""
	if len(out) == limit {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// updateHead runs fn on a conversation head inside the committer.
func (s *Store) updateHead(ctx context.Context, id string, fn func(c *storage.Conversation) (bool, error)) error {
	if err := s.limits.CheckID("conversation", id); err != nil {
		return err
	}
	k := convKey(id)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("conversation %q: %w", id, storage.ErrNotFound)
		}
		c, err := decodeConv(id, v)
		if err != nil {
			return err
		}
		changed, err := fn(&c)
		if err != nil || !changed {
			return err
		}
		if err := b.Set(k, encodeConv(c), nil); err != nil {
			return err
		}
		s.convFences.put(id, convFence{epoch: c.Epoch, reserved: c.ReservedSeq})
		return nil
	})
}

func (s *Store) AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error) {
	var epoch uint64
	err := s.updateHead(ctx, id, func(c *storage.Conversation) (bool, error) {
		if c.Epoch != seen {
			return false, fmt.Errorf("conversation %q epoch is %d, not %d: %w", id, c.Epoch, seen, storage.ErrEpochLost)
		}
		c.Epoch = seen + 1
		epoch = c.Epoch
		return true, nil
	})
	return epoch, err
}

func (s *Store) ReserveSeqs(ctx context.Context, id string, epoch uint64, upTo uint64) error {
	return s.updateHead(ctx, id, func(c *storage.Conversation) (bool, error) {
		if c.Epoch != epoch {
			return false, fmt.Errorf("conversation %q epoch is %d, not %d: %w", id, c.Epoch, epoch, storage.ErrEpochLost)
		}
		if upTo <= c.ReservedSeq {
			return false, nil
		}
		c.ReservedSeq = upTo
		return true, nil
	})
}
