package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Members, by conversation and by user.

func (s *Store) checkPair(a, aID, b, bID string) error {
	if err := s.limits.CheckID(a, aID); err != nil {
		return err
	}
	return s.limits.CheckID(b, bID)
}

func (s *Store) PutMember(ctx context.Context, m storage.Member) error {
	if err := s.checkPair("conversation", m.ConvID, "user", m.UserID); err != nil {
		return err
	}
	if m.Role > storage.RoleAgent {
		return fmt.Errorf("role %d: %w", m.Role, storage.ErrInvalid)
	}
	if err := storage.CheckSeqSet("hidden seqs", m.Hidden); err != nil {
		return err
	}
	m.JoinedAt = storage.Millis(m.JoinedAt)
	m.MutedUntil = storage.Millis(m.MutedUntil)
	v := encodeMember(m)
	mk, uk := memberKey(m.ConvID, m.UserID), membershipKey(m.UserID, m.ConvID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		if err := b.Set(mk, v, nil); err != nil {
			return err
		}
		return b.Set(uk, v, nil)
	})
}

func (s *Store) GetMember(ctx context.Context, convID, userID string) (storage.Member, error) {
	if err := s.checkPair("conversation", convID, "user", userID); err != nil {
		return storage.Member{}, err
	}
	v, found, err := s.sget(memberKey(convID, userID))
	if err != nil {
		return storage.Member{}, fmt.Errorf("get member: %w", err)
	}
	if !found {
		return storage.Member{}, fmt.Errorf("member %q of %q: %w", userID, convID, storage.ErrNotFound)
	}
	return decodeMember(convID, userID, v)
}

// listAfter pages the keys below prefix p whose last part is after `after`,
// decoding each with fn.
func (s *Store) listAfter(p []byte, after string, limit int, fn func(last string, v []byte) error) error {
	if err := storage.CheckLimit(limit); err != nil {
		return err
	}
	lower := p
	if after != "" {
		lower = append(append(append([]byte(nil), p...), after...), 0)
	}
	n := 0
	return s.scan(lower, upperBound(p), false, func(k, v []byte) (bool, error) {
		if err := fn(string(k[len(p):]), v); err != nil {
			return false, err
		}
		n++
		return n < limit, nil
	})
}

func (s *Store) ListMembers(ctx context.Context, convID, afterUser string, limit int) ([]storage.Member, error) {
	if err := s.limits.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	var out []storage.Member
	err := s.listAfter(prefix(tagMember, convID), afterUser, limit, func(user string, v []byte) error {
		m, err := decodeMember(convID, user, v)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %q: %w", convID, err)
	}
	return out, nil
}

func (s *Store) ListMemberships(ctx context.Context, userID, afterConv string, limit int) ([]storage.Member, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	var out []storage.Member
	err := s.listAfter(prefix(tagMembership, userID), afterConv, limit, func(conv string, v []byte) error {
		m, err := decodeMember(conv, userID, v)
		out = append(out, m)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list memberships of %q: %w", userID, err)
	}
	return out, nil
}
