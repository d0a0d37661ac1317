package pebblestore

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// The per-user inbox and device cursors.

func (s *Store) AppendInbox(ctx context.Context, userID string, entries []storage.InboxEntry) error {
	if err := s.limits.CheckInbox(userID, entries); err != nil {
		return err
	}
	keys := make([][]byte, len(entries))
	vals := make([][]byte, len(entries))
	for i := range entries {
		e := entries[i]
		e.At = storage.Millis(e.At)
		keys[i], vals[i] = inboxKey(userID, e.Seq), encodeInbox(&e)
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		for i, k := range keys {
			found, err := exists(b, k)
			if err != nil {
				return err
			}
			if found {
				return fmt.Errorf("inbox of %q seq %d: %w", userID, entries[i].Seq, storage.ErrSeqExists)
			}
		}
		var maxSeq uint64
		for i, k := range keys {
			if err := b.Set(k, vals[i], nil); err != nil {
				return err
			}
			maxSeq = max(maxSeq, entries[i].Seq)
		}
		s.lastInbox.raise(userID, maxSeq)
		return nil
	})
}

func (s *Store) ListInbox(ctx context.Context, userID string, after uint64, limit int) ([]storage.InboxEntry, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	if after == ^uint64(0) {
		return nil, nil
	}
	p := prefix(tagInbox, userID)
	var out []storage.InboxEntry
	err := s.scan(inboxKey(userID, after+1), upperBound(p), false, func(k, v []byte) (bool, error) {
		e, err := decodeInbox(userID, seqSuffix(k), v)
		if err != nil {
			return false, err
		}
		out = append(out, e)
		return len(out) < limit, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list inbox of %q: %w", userID, err)
	}
	return out, nil
}

func (s *Store) LastInboxSeq(ctx context.Context, userID string) (uint64, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return 0, err
	}
	p := prefix(tagInbox, userID)
	var last uint64
	err := s.scan(p, upperBound(p), true, func(k, _ []byte) (bool, error) {
		last = seqSuffix(k)
		return false, nil
	})
	return last, err
}

func (s *Store) SetDeviceCursor(ctx context.Context, userID, deviceID string, cursor uint64, seen time.Time) (uint64, error) {
	if err := s.checkPair("user", userID, "device", deviceID); err != nil {
		return 0, err
	}
	seen = storage.Millis(seen)
	k := deviceKey(userID, deviceID)
	var result uint64
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		d := storage.Device{UserID: userID, DeviceID: deviceID}
		v, found, err := get(b, k)
		if err != nil {
			return err
		}
		if found {
			if d, err = decodeDevice(userID, deviceID, v); err != nil {
				return err
			}
		}
		if cursor > d.Cursor {
			d.Cursor = cursor
		}
		if seen.After(d.LastSeen) {
			d.LastSeen = seen
		}
		result = d.Cursor
		return b.Set(k, encodeDevice(d), nil)
	})
	return result, err
}

func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	p := prefix(tagDevice, userID)
	var out []storage.Device
	err := s.scan(p, upperBound(p), false, func(k, v []byte) (bool, error) {
		d, err := decodeDevice(userID, string(k[len(p):]), v)
		out = append(out, d)
		return true, err
	})
	if err != nil {
		return nil, fmt.Errorf("list devices of %q: %w", userID, err)
	}
	return out, nil
}
