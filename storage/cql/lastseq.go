package cql

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"
)

// The highest stored seq of a log (messages or inbox) is a hint written
// after each append, plus a probe of the partitions above the hint. The
// hint is written USING TIMESTAMP <seq>, so among concurrent or reordered
// hint writes the highest seq wins, and the hint never moves backwards.
// It lags only when a writer stopped between its rows and its hint; the
// probe finds those rows.

var (
	convHintSet = mk(qb.Update("conversation_hints").TimestampNamed("ts").Set("last_seq").Where(qb.Eq("conv_id")).ToCql())
	convHintGet = mk(qb.Select("conversation_hints").Columns("last_seq").Where(qb.Eq("conv_id")).ToCql())
	msgProbe    = mk(qb.Select("messages").Columns("seq").
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.Gt("seq")).Limit(1).ToCql())

	inboxHintSet = mk(qb.Update("user_heads").TimestampNamed("ts").Set("inbox_seq").Where(qb.Eq("user_id")).ToCql())
	inboxHintGet = mk(qb.Select("user_heads").Columns("inbox_seq").Where(qb.Eq("user_id")).ToCql())
	inboxProbe   = mk(qb.Select("inbox").Columns("seq").
			Where(qb.Eq("user_id"), qb.Eq("bucket"), qb.Gt("seq")).OrderBy("seq", qb.DESC).Limit(1).ToCql())
)

// maxDownProbe bounds the buckets probed between the reservation and the
// hint: seqs past a crash are near the last reservation, and an unbounded
// walk would cost a read per empty bucket.
const maxDownProbe = 8

// readHint reads a hint row; a missing row is 0.
func (s *Store) readHint(ctx context.Context, st stmt, key string) (uint64, error) {
	var v *int64
	err := s.query(ctx, st).Bind(key).Scan(&v)
	if errors.Is(err, gocql.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap("read seq hint", err)
	}
	return u64(v), nil
}

// probe returns the highest seq above after in one bucket, ok=false if none.
func (s *Store) probe(ctx context.Context, st stmt, key string, bucket int64, after uint64) (uint64, bool, error) {
	var seq int64
	err := s.query(ctx, st).Bind(key, bucket, int64(after)).Scan(&seq)
	if errors.Is(err, gocql.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, s.wrap("probe seqs", err)
	}
	return uint64(seq), true, nil
}

// lastSeq returns the highest seq in convID's messages. reserved (the head's
// ReservedSeq) bounds where a writer may have stopped before its hint.
func (s *Store) lastSeq(ctx context.Context, convID string, reserved uint64) (uint64, error) {
	hint, err := s.readHint(ctx, convHintGet, convID)
	if err != nil {
		return 0, err
	}
	return s.probeAbove(ctx, msgProbe, convID, hint, reserved, s.cfg.MessageBucketSize, maxDownProbe)
}

// exactLastSeq is lastSeq without the bound on the downward probe: the
// takeover's close must not take a stale hint for the last seq.
func (s *Store) exactLastSeq(ctx context.Context, convID string, reserved uint64) (uint64, error) {
	hint, err := s.readHint(ctx, convHintGet, convID)
	if err != nil {
		return 0, err
	}
	return s.probeAbove(ctx, msgProbe, convID, hint, reserved, s.cfg.MessageBucketSize, math.MaxInt)
}

// lastInboxSeq is lastSeq for a user's inbox; inbox seqs have no reservation.
func (s *Store) lastInboxSeq(ctx context.Context, userID string) (uint64, error) {
	hint, err := s.readHint(ctx, inboxHintGet, userID)
	if err != nil {
		return 0, err
	}
	return s.probeAbove(ctx, inboxProbe, userID, hint, 0, s.cfg.InboxBucketSize, maxDownProbe)
}

func (s *Store) probeAbove(ctx context.Context, st stmt, key string, hint, reserved, size uint64, maxDown int) (uint64, error) {
	best := hint
	// From the reservation's bucket down to the hint's, newest first.
	lo := bucketOf(hint+1, size)
	top := bucketOf(max(reserved, hint+1), size)
	for b, n := top, 0; b >= lo && n < maxDown; b, n = b-1, n+1 {
		seq, ok, err := s.probe(ctx, st, key, b, hint)
		if err != nil {
			return 0, err
		}
		if ok {
			best = seq
			break
		}
	}
	// Then forward while the last bucket found is full to its end.
	for best > 0 && best == bucketEnd(best, size) {
		seq, ok, err := s.probe(ctx, st, key, bucketOf(best+1, size), best)
		if err != nil {
			return 0, err
		}
		if !ok {
			break
		}
		best = seq
	}
	return best, nil
}

// setHint raises a hint to seq (USING TIMESTAMP seq: the highest wins).
func (s *Store) setHint(ctx context.Context, st stmt, key string, seq uint64) error {
	err := s.query(ctx, st).BindMap(map[string]any{"ts": int64(seq), "last_seq": int64(seq), "inbox_seq": int64(seq),
		"conv_id": key, "user_id": key}).ExecRelease()
	if err != nil {
		return s.wrap(fmt.Sprintf("raise seq hint of %q", key), err)
	}
	return nil
}
