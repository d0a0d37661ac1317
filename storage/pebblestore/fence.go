package pebblestore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Checkpoint fences (storage.FencedCheckpoints): the epoch of a key lives
// in its own row; the check and the write run in one commit op, which the
// committer applies in order on an indexed batch, so nothing runs between
// them.

var _ storage.FencedCheckpoints = (*Store)(nil)

func fenceKey(k string) []byte { return key(tagFence, k) }

func readFence(b *pebble.Batch, k []byte) (uint64, error) {
	v, found, err := get(b, k)
	if err != nil || !found {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("fence %q: %d bytes, want 8", k, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

func (s *Store) AcquireCheckpointFence(ctx context.Context, k string) (uint64, error) {
	if err := s.limits.CheckID("checkpoint", k); err != nil {
		return 0, err
	}
	var epoch uint64
	fk := fenceKey(k)
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		cur, err := readFence(b, fk)
		if err != nil {
			return err
		}
		epoch = cur + 1
		return b.Set(fk, appendUint64(nil, epoch), nil)
	})
	if err != nil {
		return 0, fmt.Errorf("acquire fence %q: %w", k, err)
	}
	return epoch, nil
}

func (s *Store) SaveCheckpointFenced(ctx context.Context, cp storage.Checkpoint, epoch uint64) error {
	if err := s.limits.CheckID("checkpoint", cp.Key); err != nil {
		return err
	}
	for conv := range cp.ConvSeqs {
		if err := s.limits.CheckID("conversation", conv); err != nil {
			return err
		}
	}
	cp.At = storage.Millis(cp.At)
	fk, k, v := fenceKey(cp.Key), checkpointKey(cp.Key), encodeCheckpoint(cp)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		cur, err := readFence(b, fk)
		if err != nil {
			return err
		}
		if cur != epoch {
			return fmt.Errorf("checkpoint %q fenced at epoch %d, not %d: %w", cp.Key, cur, epoch, storage.ErrEpochLost)
		}
		return b.Set(k, v, nil)
	})
}
