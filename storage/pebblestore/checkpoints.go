package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Metrics checkpoints.

func (s *Store) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
	if err := s.limits.CheckID("checkpoint", cp.Key); err != nil {
		return err
	}
	for conv := range cp.ConvSeqs {
		if err := s.limits.CheckID("conversation", conv); err != nil {
			return err
		}
	}
	cp.At = storage.Millis(cp.At)
	k, v := checkpointKey(cp.Key), encodeCheckpoint(cp)
	return s.commit.do(ctx, func(b *pebble.Batch) error { return b.Set(k, v, nil) })
}

func (s *Store) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if err := s.limits.CheckID("checkpoint", key); err != nil {
		return storage.Checkpoint{}, err
	}
	v, found, err := s.sget(checkpointKey(key))
	if err != nil {
		return storage.Checkpoint{}, fmt.Errorf("load checkpoint: %w", err)
	}
	if !found {
		return storage.Checkpoint{}, fmt.Errorf("checkpoint %q: %w", key, storage.ErrNotFound)
	}
	return decodeCheckpoint(key, v)
}
