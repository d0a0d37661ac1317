package cql

import (
	"context"
	"errors"
	"fmt"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// Checkpoint fences (storage.FencedCheckpoints): the epoch is the
// checkpoints row's fence column, moved and checked by lightweight
// transactions on that one partition. Fenced grains (the desk's) save
// rarely, so a Paxos round per save is affordable.

var _ storage.FencedCheckpoints = (*Store)(nil)

var (
	fenceGet  = mk(qb.Select("checkpoints").Columns("fence").Where(qb.Eq("key")).ToCql())
	fenceMove = mk(qb.Update("checkpoints").SetNamed("fence", "next").
			Where(qb.Eq("key")).If(qb.EqNamed("fence", "seen")).ToCql())
	fenceSave = mk(qb.Update("checkpoints").Set("state", "conv_seqs", "at").
			Where(qb.Eq("key")).If(qb.EqNamed("fence", "epoch")).ToCql())
)

type fenceRow struct {
	Fence *int64 `db:"fence"`
}

// maxFenceTries bounds AcquireCheckpointFence's retries when other
// activations move the fence between its read and its write.
const maxFenceTries = 16

func (s *Store) AcquireCheckpointFence(ctx context.Context, key string) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := s.lim.CheckID("checkpoint", key); err != nil {
		return 0, err
	}
	var seen *int64
	var cur fenceRow
	err := s.query(ctx, fenceGet).Bind(key).GetRelease(&cur)
	switch {
	case err == nil:
		seen = cur.Fence
	case !errors.Is(err, gocql.ErrNotFound):
		return 0, s.wrap(fmt.Sprintf("read fence %q", key), err)
	}
	for range maxFenceTries {
		next := int64(1)
		if seen != nil {
			next = *seen + 1
		}
		// seen nil: IF fence = null, which a missing row satisfies too.
		cur = fenceRow{}
		applied, err := s.lwt(ctx, fenceMove).
			BindMap(map[string]any{"next": next, "key": key, "seen": seen}).
			GetCASRelease(&cur)
		if err != nil {
			return 0, s.wrap(fmt.Sprintf("acquire fence %q", key), err)
		}
		if applied {
			return uint64(next), nil
		}
		seen = cur.Fence // another activation moved it: go past that one
	}
	return 0, fmt.Errorf("cql: acquire fence %q: moved by others %d times in a row: %w", key, maxFenceTries, storage.ErrUnavailable)
}

func (s *Store) SaveCheckpointFenced(ctx context.Context, cp storage.Checkpoint, epoch uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("checkpoint", cp.Key); err != nil {
		return err
	}
	seqs, err := s.checkpointSeqs(cp)
	if err != nil {
		return err
	}
	var cur fenceRow
	applied, err := s.lwt(ctx, fenceSave).
		BindMap(map[string]any{"state": cp.State, "conv_seqs": seqs, "at": ts(cp.At), "key": cp.Key, "epoch": int64(epoch)}).
		GetCASRelease(&cur)
	if err != nil {
		return s.wrap(fmt.Sprintf("save checkpoint %q", cp.Key), err)
	}
	if !applied {
		at := int64(0)
		if cur.Fence != nil {
			at = *cur.Fence
		}
		return fmt.Errorf("cql: checkpoint %q fenced at epoch %d, not %d: %w", cp.Key, at, epoch, storage.ErrEpochLost)
	}
	return nil
}
