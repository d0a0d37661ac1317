package pebblestore

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// convFence is what an epoch-fenced append checks of its conversation's
// head: the epoch of the activation that may write, and how far its seqs
// are reserved.
type convFence struct{ epoch, reserved uint64 }

// convFenceCache mirrors the conversation heads' fences, so that an append
// checks its epoch without a memtable read per batch (the read was ~2 % of
// a chat message's CPU). The rules are inboxHeadCache's: only ops touch
// it, on the committer goroutine; an op puts a fence only once its batch
// write succeeded (or it read the head), so an entry is what a read of the
// group's batch would return; a group that fails after its ops ran, and
// the reopen after a failed WAL, clear it; a missing entry is read.
type convFenceCache struct {
	fences map[string]convFence
	limit  int
}

func newConvFenceCache(limit int) *convFenceCache {
	return &convFenceCache{fences: make(map[string]convFence), limit: limit}
}

// get returns conv's fence, reading its head through r (the group's
// indexed batch) when not cached; found is false when there is no head
// (not cached: the conversation may be created later).
func (c *convFenceCache) get(r pebble.Reader, conv string) (f convFence, found bool, err error) {
	if f, ok := c.fences[conv]; ok {
		return f, true, nil
	}
	v, found, err := get(r, convKey(conv))
	if err != nil || !found {
		return convFence{}, false, err
	}
	h, err := decodeConv(conv, v)
	if err != nil {
		return convFence{}, false, err
	}
	f = convFence{epoch: h.Epoch, reserved: h.ReservedSeq}
	c.put(conv, f)
	return f, true, nil
}

// put records the fence of a head an op just wrote (or read).
func (c *convFenceCache) put(conv string, f convFence) {
	if _, ok := c.fences[conv]; !ok && len(c.fences) >= c.limit {
		clear(c.fences) // bounded memory; a cleared fence is read again
	}
	c.fences[conv] = f
}

func (c *convFenceCache) clear() { clear(c.fences) }

// checkEpoch fails an epoch-fenced append whose epoch moved on
// (ErrEpochLost) or that writes above the reservation (ErrInvalid).
// Committer goroutine only.
func (s *Store) checkEpoch(b *pebble.Batch, convID string, epoch, maxSeq uint64) error {
	f, found, err := s.convFences.get(b, convID)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("append to %q with epoch %d: no conversation head: %w", convID, epoch, storage.ErrEpochLost)
	}
	if f.epoch != epoch {
		return fmt.Errorf("append to %q: epoch is %d, not %d: %w", convID, f.epoch, epoch, storage.ErrEpochLost)
	}
	if maxSeq > f.reserved {
		return fmt.Errorf("append to %q: seq %d above the reservation %d: %w", convID, maxSeq, f.reserved, storage.ErrInvalid)
	}
	return nil
}
