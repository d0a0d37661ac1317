package instrumented

import (
	"context"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

func (s *Store) ClaimNodeSlot(ctx context.Context, slot uint32, owner string, now, expires time.Time) error {
	start := time.Now()
	err := s.next.ClaimNodeSlot(ctx, slot, owner, now, expires)
	s.observe("ClaimNodeSlot", start, err)
	return err
}

func (s *Store) ReleaseNodeSlot(ctx context.Context, slot uint32, owner string) error {
	start := time.Now()
	err := s.next.ReleaseNodeSlot(ctx, slot, owner)
	s.observe("ReleaseNodeSlot", start, err)
	return err
}

// Limits are the wrapped store's (no I/O, not timed).
func (s *Store) Limits() storage.Limits { return s.next.Limits() }
