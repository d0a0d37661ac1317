package pebblestore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// The inbox head (epoch and reservation) and the one-call flush of a user
// grain. Every op runs inside the single committer, so checking the epoch
// there and writing in the same op admits exactly one writer per inbox: an
// earlier activation's WriteUser after AcquireInbox fails whole.

const tagInboxHead = 'I' // I user -> epoch(8) reserved(8)

func inboxHeadKey(user string) []byte { return key(tagInboxHead, user) }

type inboxHead struct{ epoch, reserved uint64 }

func loadInboxHead(r pebble.Reader, user string) (inboxHead, error) {
	v, found, err := get(r, inboxHeadKey(user))
	if err != nil || !found {
		return inboxHead{}, err
	}
	if len(v) != 16 {
		return inboxHead{}, fmt.Errorf("inbox head of %q: %d bytes, want 16: %w", user, len(v), errCorrupt)
	}
	return inboxHead{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, nil
}

func (h inboxHead) encode() []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, h.epoch), h.reserved)
}

// lastInboxSeqIn is LastInboxSeq inside a writeOp (the group batch sees
// what earlier ops of the group wrote).
func lastInboxSeqIn(b *pebble.Batch, user string) (uint64, error) {
	p := prefix(tagInbox, user)
	it, err := b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: upperBound(p)})
	if err != nil {
		return 0, err
	}
	var last uint64
	if it.Last() {
		last = seqSuffix(it.Key())
	}
	return last, it.Close()
}

func (s *Store) AcquireInbox(ctx context.Context, userID string) (storage.InboxLease, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return storage.InboxLease{}, err
	}
	var lease storage.InboxLease
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		h, err := s.inboxHeads.get(b, userID)
		if err != nil {
			return err
		}
		last, err := lastInboxSeqIn(b, userID)
		if err != nil {
			return err
		}
		h.epoch++
		lease = storage.InboxLease{Epoch: h.epoch, ReservedSeq: h.reserved, LastSeq: last}
		if err := b.Set(inboxHeadKey(userID), h.encode(), nil); err != nil {
			return err
		}
		s.inboxHeads.put(userID, h)
		return nil
	})
	return lease, err
}

func (s *Store) ReserveInboxSeqs(ctx context.Context, userID string, epoch, upTo uint64) error {
	if err := s.limits.CheckID("user", userID); err != nil {
		return err
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		h, err := s.inboxHeads.get(b, userID)
		if err != nil {
			return err
		}
		if h.epoch != epoch {
			return fmt.Errorf("inbox of %q: epoch is %d, not %d: %w", userID, h.epoch, epoch, storage.ErrEpochLost)
		}
		if upTo <= h.reserved {
			return nil
		}
		h.reserved = upTo
		if err := b.Set(inboxHeadKey(userID), h.encode(), nil); err != nil {
			return err
		}
		s.inboxHeads.put(userID, h)
		return nil
	})
}

// WriteUser checks everything (epoch, reservation, free seqs) before it
// writes anything: an op that fails must leave the group batch untouched.
func (s *Store) WriteUser(ctx context.Context, userID string, epoch uint64, w storage.UserWrite) error {
	if err := s.limits.CheckUserWrite(userID, &w); err != nil {
		return err
	}
	if w.Empty() {
		return nil
	}
	entries := make([][2][]byte, len(w.Inbox))
	var maxSeq uint64
	for i := range w.Inbox {
		e := w.Inbox[i]
		e.UserID, e.At = userID, storage.Millis(e.At)
		entries[i] = [2][]byte{inboxKey(userID, e.Seq), encodeInbox(&e)}
		maxSeq = max(maxSeq, e.Seq)
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		if len(entries) > 0 {
			h, err := s.inboxHeads.get(b, userID)
			if err != nil {
				return err
			}
			if h.epoch != epoch {
				return fmt.Errorf("write inbox of %q: epoch is %d, not %d: %w", userID, h.epoch, epoch, storage.ErrEpochLost)
			}
			if maxSeq > h.reserved {
				return fmt.Errorf("write inbox of %q: seq %d above the reservation %d: %w", userID, maxSeq, h.reserved, storage.ErrInvalid)
			}
			last, err := s.lastInbox.get(b, userID)
			if err != nil {
				return err
			}
			for i, kv := range entries {
				if w.Inbox[i].Seq > last {
					continue // above everything stored: cannot exist
				}
				found, err := exists(b, kv[0])
				if err != nil {
					return err
				}
				if found {
					return fmt.Errorf("inbox of %q seq %d: %w", userID, w.Inbox[i].Seq, storage.ErrSeqExists)
				}
			}
		}
		// The rest only moves values forward: read, merge, then write.
		type kv struct{ k, v []byte }
		var sets, dels []kv
		ucs := map[string]*storage.UserConv{}
		ucOld := map[string]storage.UserConv{}
		ucFound := map[string]bool{}
		uc := func(conv string) (*storage.UserConv, error) {
			if u, ok := ucs[conv]; ok {
				return u, nil
			}
			old, found, err := loadUserConv(b, userID, conv)
			if err != nil {
				return nil, err
			}
			u := old
			ucs[conv], ucOld[conv], ucFound[conv] = &u, old, found
			return &u, nil
		}
		for _, r := range w.Reads {
			u, err := uc(r.ConvID)
			if err != nil {
				return err
			}
			u.ReadSeq = max(u.ReadSeq, r.Seq)
		}
		for _, a := range w.Activity {
			u, err := uc(a.ConvID)
			if err != nil {
				return err
			}
			if at := storage.Millis(a.At); at.After(u.LastActivity) {
				u.LastActivity = at
			}
		}
		for conv, u := range ucs {
			old, found := ucOld[conv], ucFound[conv]
			if found && u.Equal(old) {
				continue
			}
			sets = append(sets, kv{userConvKey(userID, conv), encodeUserConv(*u)})
		}
		for _, d := range w.Devices {
			k := deviceKey(userID, d.DeviceID)
			cur := storage.Device{UserID: userID, DeviceID: d.DeviceID}
			v, found, err := get(b, k)
			if err != nil {
				return err
			}
			if found {
				if cur, err = decodeDevice(userID, d.DeviceID, v); err != nil {
					return err
				}
			}
			cur.Cursor = max(cur.Cursor, d.Cursor)
			if seen := storage.Millis(d.LastSeen); seen.After(cur.LastSeen) {
				cur.LastSeen = seen
			}
			sets = append(sets, kv{k, encodeDevice(cur)})
		}
		for _, e := range entries {
			if err := b.Set(e[0], e[1], nil); err != nil {
				return err
			}
		}
		if len(entries) > 0 {
			s.lastInbox.raise(userID, maxSeq)
		}
		for _, d := range dels {
			if err := b.Delete(d.k, nil); err != nil {
				return err
			}
		}
		for _, x := range sets {
			if err := b.Set(x.k, x.v, nil); err != nil {
				return err
			}
		}
		return nil
	})
}
