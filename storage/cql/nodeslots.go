package cql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// nodeSlotRow is a lease row; nil fields mean the row is missing (Scylla
// answers a failed conditional update of a missing row with nulls).
type nodeSlotRow struct {
	Owner     *string `db:"owner"`
	ExpiresMs *int64  `db:"expires_ms"`
}

var (
	slotGet    = mk(qb.Select("node_slots").Columns("owner", "expires_ms").Where(qb.Eq("slot")).ToCql())
	slotInsert = mk(qb.Insert("node_slots").Columns("slot", "owner", "expires_ms").Unique().ToCql())
	// Compare-and-set on the lease as read: a claim that raced another
	// is not applied.
	slotSwap = mk(qb.Update("node_slots").SetNamed("owner", "owner").SetNamed("expires_ms", "expires_ms").
			Where(qb.Eq("slot")).If(qb.EqNamed("owner", "seen_owner"), qb.EqNamed("expires_ms", "seen_expires")).ToCql())
	slotRelease = mk(qb.Update("node_slots").SetLit("expires_ms", "0").
			Where(qb.Eq("slot")).If(qb.Eq("owner")).ToCql())
)

// claimAttempts bounds the read-then-swap retries when the row changes
// between the read and the conditional write.
const claimAttempts = 4

// ClaimNodeSlot reads the lease at serial consistency, then writes it with
// a lightweight transaction conditioned on what it read (INSERT IF NOT
// EXISTS for a free slot).
func (s *Store) ClaimNodeSlot(ctx context.Context, slot uint32, owner string, now, expires time.Time) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckNodeSlot(slot, owner); err != nil {
		return err
	}
	nowMs, expMs := storage.Millis(now).UnixMilli(), storage.Millis(expires).UnixMilli()
	for attempt := 0; attempt < claimAttempts; attempt++ {
		var cur nodeSlotRow
		q := s.query(ctx, slotGet).Bind(int(slot))
		q.Consistency(gocql.Consistency(s.cfg.SerialConsistency)) // linearizable with the conditional writes
		err := q.GetRelease(&cur)
		missing := errors.Is(err, gocql.ErrNotFound)
		if err != nil && !missing {
			return s.wrap(fmt.Sprintf("read node slot %d", slot), err)
		}
		if missing || cur.Owner == nil || cur.ExpiresMs == nil {
			var seen nodeSlotRow
			applied, err := s.lwt(ctx, slotInsert).Bind(int(slot), owner, expMs).GetCASRelease(&seen)
			if err != nil {
				return s.wrap(fmt.Sprintf("claim node slot %d", slot), err)
			}
			if applied {
				return nil
			}
			continue
		}
		if *cur.Owner != owner && *cur.ExpiresMs >= nowMs {
			return fmt.Errorf("cql: node slot %d held by %q until %v: %w", slot, *cur.Owner,
				time.UnixMilli(*cur.ExpiresMs).UTC(), storage.ErrExists)
		}
		var seen nodeSlotRow
		applied, err := s.lwt(ctx, slotSwap).BindMap(map[string]any{
			"owner": owner, "expires_ms": expMs, "slot": int(slot), "seen_owner": *cur.Owner, "seen_expires": *cur.ExpiresMs,
		}).GetCASRelease(&seen)
		if err != nil {
			return s.wrap(fmt.Sprintf("claim node slot %d", slot), err)
		}
		if applied {
			return nil
		}
	}
	return fmt.Errorf("cql: node slot %d changed under %d claims: %w", slot, claimAttempts, storage.ErrExists)
}

// ReleaseNodeSlot marks the lease expired if owner holds it.
func (s *Store) ReleaseNodeSlot(ctx context.Context, slot uint32, owner string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckNodeSlot(slot, owner); err != nil {
		return err
	}
	var seen nodeSlotRow
	_, err := s.lwt(ctx, slotRelease).Bind(int(slot), owner).GetCASRelease(&seen)
	return s.wrap(fmt.Sprintf("release node slot %d", slot), err)
}

// Limits are the limits this store was opened with.
func (s *Store) Limits() storage.Limits { return s.lim }
