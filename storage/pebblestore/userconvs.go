package pebblestore

import (
	"context"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// User–conversation state: read cursors, pins, mutes, last activity.

func (s *Store) GetUserConv(ctx context.Context, userID, convID string) (storage.UserConv, error) {
	if err := s.checkPair("user", userID, "conversation", convID); err != nil {
		return storage.UserConv{}, err
	}
	var u storage.UserConv
	err := s.read(func(db *pebble.DB) error {
		var err error
		u, _, err = loadUserConv(db, userID, convID)
		return err
	})
	return u, err
}

func loadUserConv(r pebble.Reader, userID, convID string) (storage.UserConv, bool, error) {
	v, found, err := get(r, userConvKey(userID, convID))
	if err != nil || !found {
		return storage.UserConv{UserID: userID, ConvID: convID}, false, err
	}
	u, err := decodeUserConv(userID, convID, v)
	return u, true, err
}

// updateUserConv applies fn to the user's state of a conversation and
// writes the row if fn changed it (or there was none).
func (s *Store) updateUserConv(ctx context.Context, userID, convID string, fn func(u *storage.UserConv) bool) (storage.UserConv, error) {
	if err := s.checkPair("user", userID, "conversation", convID); err != nil {
		return storage.UserConv{}, err
	}
	var result storage.UserConv
	err := s.commit.do(ctx, func(b *pebble.Batch) error {
		old, found, err := loadUserConv(b, userID, convID)
		if err != nil {
			return err
		}
		u := old
		if !fn(&u) && found {
			result = old
			return nil
		}
		result = u
		return b.Set(userConvKey(userID, convID), encodeUserConv(u), nil)
	})
	return result, err
}

func (s *Store) AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error) {
	u, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		if seq <= u.ReadSeq {
			return false
		}
		u.ReadSeq = seq
		return true
	})
	return u.ReadSeq, err
}

func (s *Store) SetPinned(ctx context.Context, userID, convID string, pinned bool) error {
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.Pinned != pinned
		u.Pinned = pinned
		return changed
	})
	return err
}

func (s *Store) SetMuted(ctx context.Context, userID, convID string, muted bool, until time.Time) error {
	if !muted {
		until = time.Time{}
	}
	until = storage.Millis(until)
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.Muted != muted || !u.MutedUntil.Equal(until)
		u.Muted, u.MutedUntil = muted, until
		return changed
	})
	return err
}

func (s *Store) SetArchived(ctx context.Context, userID, convID string, seq uint64, until time.Time) error {
	until = storage.Millis(until)
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.ArchivedSeq != seq || !u.ArchivedUntil.Equal(until)
		u.ArchivedSeq, u.ArchivedUntil = seq, until
		return changed
	})
	return err
}

func (s *Store) SetMarkedUnread(ctx context.Context, userID, convID string, marked bool) error {
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := u.MarkedUnread != marked
		u.MarkedUnread = marked
		return changed
	})
	return err
}

func (s *Store) SetLabels(ctx context.Context, userID, convID string, labels []string) error {
	if err := storage.CheckLabels(labels); err != nil {
		return err
	}
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		changed := !slices.Equal(u.Labels, labels)
		u.Labels = slices.Clone(labels)
		return changed
	})
	return err
}

func (s *Store) TouchConversation(ctx context.Context, userID, convID string, at time.Time) error {
	at = storage.Millis(at)
	_, err := s.updateUserConv(ctx, userID, convID, func(u *storage.UserConv) bool {
		if !at.After(u.LastActivity) {
			return false
		}
		u.LastActivity = at
		return true
	})
	return err
}
