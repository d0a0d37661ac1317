package pebblestore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Scheduled sends: one key per send under its user, and an empty one
// under when it is due, written and removed in the same batch.

func scheduledKey(user, id string) []byte { return key(tagScheduled, user, id) }

func schedDueKey(due time.Time, user, id string) []byte {
	k := appendUint64([]byte{tagSchedDue}, uint64(due.UnixMilli()))
	return append(append(append(k, user...), 0), id...)
}

func encodeScheduled(s storage.ScheduledSend) []byte {
	e := newEncoder(24 + len(s.Send))
	e.time(s.DueAt)
	e.time(s.CreatedAt)
	e.bytes(s.Send)
	return e.b
}

func decodeScheduled(user, id string, b []byte) (storage.ScheduledSend, error) {
	d := newDecoder(b)
	s := storage.ScheduledSend{User: user, ID: id}
	s.DueAt = d.time()
	s.CreatedAt = d.time()
	s.Send = d.bytes()
	return s, d.err
}

func getScheduled(r pebble.Reader, user, id string) (storage.ScheduledSend, bool, error) {
	v, found, err := get(r, scheduledKey(user, id))
	if err != nil || !found {
		return storage.ScheduledSend{}, false, err
	}
	s, err := decodeScheduled(user, id, v)
	return s, true, err
}

func (s *Store) PutScheduled(ctx context.Context, sc storage.ScheduledSend) error {
	if err := s.limits.CheckScheduled(sc); err != nil {
		return err
	}
	sc.DueAt, sc.CreatedAt = storage.Millis(sc.DueAt), storage.Millis(sc.CreatedAt)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		old, found, err := getScheduled(b, sc.User, sc.ID)
		if err != nil {
			return err
		}
		if found {
			if err := b.Delete(schedDueKey(old.DueAt, sc.User, sc.ID), nil); err != nil {
				return err
			}
		}
		if err := b.Set(schedDueKey(sc.DueAt, sc.User, sc.ID), nil, nil); err != nil {
			return err
		}
		return b.Set(scheduledKey(sc.User, sc.ID), encodeScheduled(sc), nil)
	})
}

func (s *Store) ScheduledOf(ctx context.Context, user string, limit int) ([]storage.ScheduledSend, error) {
	if err := s.limits.CheckID("user", user); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("limit %d: %w", limit, storage.ErrInvalid)
	}
	p := prefix(tagScheduled, user)
	var out []storage.ScheduledSend
	err := s.scan(p, upperBound(p), false, func(k, v []byte) (bool, error) {
		sc, err := decodeScheduled(user, string(k[len(p):]), v)
		if err != nil {
			return false, err
		}
		out = append(out, sc)
		return len(out) < limit, nil
	})
	return out, err
}

func (s *Store) ScheduledDue(ctx context.Context, day, until time.Time, limit int) ([]storage.ScheduledSend, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("limit %d: %w", limit, storage.ErrInvalid)
	}
	day = storage.ScheduleDay(day)
	end := min(day.Add(24*time.Hour).UnixMilli(), until.UnixMilli()+1)
	if end <= day.UnixMilli() {
		return nil, nil
	}
	lower := appendUint64([]byte{tagSchedDue}, uint64(day.UnixMilli()))
	upper := appendUint64([]byte{tagSchedDue}, uint64(end))
	var out []storage.ScheduledSend
	err := s.read(func(db *pebble.DB) error {
		return scanDB(db, lower, upper, false, func(k, _ []byte) (bool, error) {
			user, id, ok := bytes.Cut(k[len(lower):], []byte{0})
			if !ok {
				return false, fmt.Errorf("scheduled send key %q: %w", k, errCorrupt)
			}
			sc, found, err := getScheduled(db, string(user), string(id))
			if err != nil {
				return false, err
			}
			if found {
				out = append(out, sc)
			}
			return len(out) < limit, nil
		})
	})
	return out, err
}

func (s *Store) DeleteScheduled(ctx context.Context, user, id string) error {
	if err := s.checkPair("user", user, "scheduled send", id); err != nil {
		return err
	}
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		old, found, err := getScheduled(b, user, id)
		if err != nil || !found {
			return err
		}
		if err := b.Delete(schedDueKey(old.DueAt, user, id), nil); err != nil {
			return err
		}
		return b.Delete(scheduledKey(user, id), nil)
	})
}
