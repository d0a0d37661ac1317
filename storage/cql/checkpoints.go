package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type checkpointRow struct {
	Key      string           `db:"key"`
	State    []byte           `db:"state"`
	ConvSeqs map[string]int64 `db:"conv_seqs"`
	At       *time.Time       `db:"at"`
}

var cpCols = []string{"key", "state", "conv_seqs", "at"}

var (
	// INSERT of a whole row, map included, is one mutation of one
	// partition: state and seqs are replaced together or not at all.
	cpInsert = mk(qb.Insert("checkpoints").Columns(cpCols...).ToCql())
	cpGet    = mk(qb.Select("checkpoints").Columns(cpCols...).Where(qb.Eq("key")).ToCql())
)

// SaveCheckpoint replaces the checkpoint's row.
func (s *Store) SaveCheckpoint(ctx context.Context, cp storage.Checkpoint) error {
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
	row := checkpointRow{Key: cp.Key, State: cp.State, ConvSeqs: seqs, At: ts(cp.At)}
	err = s.query(ctx, cpInsert).BindStruct(row).ExecRelease()
	return s.wrap(fmt.Sprintf("save checkpoint %q", cp.Key), err)
}

// checkpointSeqs checks cp's conversation seqs and returns them as the
// conv_seqs column holds them.
func (s *Store) checkpointSeqs(cp storage.Checkpoint) (map[string]int64, error) {
	seqs := make(map[string]int64, len(cp.ConvSeqs))
	for conv, seq := range cp.ConvSeqs {
		if err := s.lim.CheckID("conversation", conv); err != nil {
			return nil, err
		}
		if err := checkSeq("checkpoint seq", seq); err != nil {
			return nil, err
		}
		seqs[conv] = int64(seq)
	}
	return seqs, nil
}

// LoadCheckpoint reads the checkpoint's row.
func (s *Store) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if err := s.check(); err != nil {
		return storage.Checkpoint{}, err
	}
	if err := s.lim.CheckID("checkpoint", key); err != nil {
		return storage.Checkpoint{}, err
	}
	var row checkpointRow
	if err := s.query(ctx, cpGet).Bind(key).GetRelease(&row); err != nil {
		return storage.Checkpoint{}, s.wrap(fmt.Sprintf("load checkpoint %q", key), err)
	}
	if row.State == nil && row.At == nil && len(row.ConvSeqs) == 0 {
		// Only a fence (AcquireCheckpointFence), no checkpoint yet.
		return storage.Checkpoint{}, fmt.Errorf("cql: load checkpoint %q: %w", key, storage.ErrNotFound)
	}
	cp := storage.Checkpoint{Key: row.Key, State: noEmpty(row.State), At: fromTS(row.At),
		ConvSeqs: make(map[string]uint64, len(row.ConvSeqs))}
	for conv, seq := range row.ConvSeqs {
		cp.ConvSeqs[conv] = uint64(seq)
	}
	return cp, nil
}
