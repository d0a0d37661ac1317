package analytics

import (
	"fmt"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// Checkpoint packs the state and the seqs it covers for
// storage.Store.SaveCheckpoint, which writes both atomically.
func (e *Engine) Checkpoint(key string, at time.Time) (storage.Checkpoint, error) {
	state, err := e.Snapshot()
	if err != nil {
		return storage.Checkpoint{}, fmt.Errorf("metrics: checkpoint %q: %w", key, err)
	}
	return storage.Checkpoint{Key: key, ConvSeqs: e.ConvSeqs(), State: state, At: at}, nil
}

// RestoreCheckpoint restores a checkpoint written by Checkpoint and checks
// that its seqs agree with the state.
func (e *Engine) RestoreCheckpoint(cp storage.Checkpoint) error {
	// Decode into a scratch engine so that a mismatch leaves e unchanged.
	probe, err := New(e.cfg)
	if err != nil {
		return err
	}
	if err := probe.Restore(cp.State); err != nil {
		return fmt.Errorf("metrics: checkpoint %q: %w", cp.Key, err)
	}
	for id, cs := range probe.convs {
		if cp.ConvSeqs[id] != cs.lastSeq {
			return fmt.Errorf("metrics: checkpoint %q: conversation %q seq %d in the state, %d in the checkpoint: %w",
				cp.Key, id, cs.lastSeq, cp.ConvSeqs[id], ErrBadSnapshot)
		}
	}
	if len(cp.ConvSeqs) != len(probe.convs) {
		return fmt.Errorf("metrics: checkpoint %q: %d conversations in the state, %d in the checkpoint: %w",
			cp.Key, len(probe.convs), len(cp.ConvSeqs), ErrBadSnapshot)
	}
	e.convs, e.keyIDs, e.keys, e.aggs = probe.convs, probe.keyIDs, probe.keys, probe.aggs
	e.late, e.futureN, e.maxT = probe.late, probe.futureN, probe.maxT
	e.resetCache()
	return nil
}
