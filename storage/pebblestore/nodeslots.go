package pebblestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Node-number leases live under their own tag:
//
//	'n'  n slot(4)                                   owner, expires
const tagNodeSlot = 'n'

func nodeSlotKey(slot uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{tagNodeSlot}, slot)
}

type nodeLease struct {
	owner   string
	expires time.Time
}

func encodeNodeLease(l nodeLease) []byte {
	e := newEncoder(len(l.owner) + 16)
	e.string(l.owner)
	e.time(l.expires)
	return e.b
}

func decodeNodeLease(b []byte) (nodeLease, error) {
	d := newDecoder(b)
	l := nodeLease{owner: d.string()}
	l.expires = d.time()
	return l, d.err
}

// ClaimNodeSlot reads and writes the lease inside the committer, which runs
// one write at a time: the read-check-write is atomic.
func (s *Store) ClaimNodeSlot(ctx context.Context, slot uint32, owner string, now, expires time.Time) error {
	if err := s.limits.CheckNodeSlot(slot, owner); err != nil {
		return err
	}
	k := nodeSlotKey(slot)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if found {
			cur, err := decodeNodeLease(v)
			if err != nil {
				return err
			}
			if cur.owner != owner && !cur.expires.Before(storage.Millis(now)) {
				return fmt.Errorf("node slot %d held by %q until %v: %w", slot, cur.owner, cur.expires, storage.ErrExists)
			}
		}
		return b.Set(k, encodeNodeLease(nodeLease{owner: owner, expires: storage.Millis(expires)}), nil)
	})
}

// ReleaseNodeSlot deletes the lease if owner holds it.
func (s *Store) ReleaseNodeSlot(ctx context.Context, slot uint32, owner string) error {
	if err := s.limits.CheckNodeSlot(slot, owner); err != nil {
		return err
	}
	k := nodeSlotKey(slot)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		v, found, err := get(b, k)
		if err != nil || !found {
			return err
		}
		cur, err := decodeNodeLease(v)
		if err != nil || cur.owner != owner {
			return err
		}
		return b.Delete(k, nil)
	})
}

// Limits are the limits this store was opened with.
func (s *Store) Limits() storage.Limits { return s.limits }
