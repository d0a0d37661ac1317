package cql

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type inboxRow struct {
	UserID  string     `db:"user_id"`
	Bucket  int64      `db:"bucket"`
	Seq     int64      `db:"seq"`
	Kind    int        `db:"kind"`
	ConvID  string     `db:"conv_id"`
	ConvSeq int64      `db:"conv_seq"`
	At      *time.Time `db:"at"`
	Payload []byte     `db:"payload"`
}

func (r inboxRow) entry() storage.InboxEntry {
	return storage.InboxEntry{
		UserID:  r.UserID,
		Seq:     uint64(r.Seq),
		Kind:    storage.InboxKind(r.Kind),
		ConvID:  r.ConvID,
		ConvSeq: uint64(r.ConvSeq),
		At:      fromTS(r.At),
		Payload: noEmpty(r.Payload),
	}
}

var inboxCols = []string{"user_id", "bucket", "seq", "kind", "conv_id", "conv_seq", "at", "payload"}

var (
	inboxInsert = mk(qb.Insert("inbox").Columns(inboxCols...).Unique().ToCql())
	inboxPage   = mk(qb.Select("inbox").Columns(inboxCols...).
			Where(qb.Eq("user_id"), qb.Eq("bucket"), qb.Gt("seq")).LimitNamed("lim").ToCql())
)

// AppendInbox writes entries with IF NOT EXISTS per (user, bucket)
// partition (the user grain is the single writer of its inbox, but it has
// no epoch to fence a second activation with, so "never overwrite an inbox
// seq" still costs a Paxos round per call).
func (s *Store) AppendInbox(ctx context.Context, userID string, entries []storage.InboxEntry) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckInbox(userID, entries); err != nil {
		return err
	}
	size := s.cfg.InboxBucketSize
	var order []int64
	groups := map[int64][]any{}
	var maxSeq uint64
	for i := range entries {
		e := &entries[i]
		if err := checkSeq("inbox seq", e.Seq); err != nil {
			return err
		}
		if err := checkSeq("conversation seq", e.ConvSeq); err != nil {
			return err
		}
		maxSeq = max(maxSeq, e.Seq)
		b := bucketOf(e.Seq, size)
		if _, ok := groups[b]; !ok {
			order = append(order, b)
		}
		groups[b] = append(groups[b], inboxRow{
			UserID: userID, Bucket: b, Seq: int64(e.Seq), Kind: int(e.Kind), ConvID: e.ConvID,
			ConvSeq: int64(e.ConvSeq), At: ts(e.At), Payload: e.Payload,
		})
	}
	for _, b := range order {
		rows := groups[b]
		for len(rows) > 0 {
			n := min(len(rows), maxBatchRows)
			if err := s.insertIfNotExists(ctx, inboxInsert, rows[:n]); err != nil {
				return fmt.Errorf("cql: append inbox of %q: %w", userID, err)
			}
			rows = rows[n:]
		}
	}
	// The hint is raised only when the entries enter a new bucket: reads
	// walk forward from the hint's bucket while buckets are full, so a hint
	// less than a bucket behind costs them nothing, and an append one round
	// trip less.
	for i := range entries {
		if entries[i].Seq%size == 0 {
			s.raiseHintBestEffort(ctx, inboxHintSet, userID, maxSeq)
			break
		}
	}
	return nil
}

// ListInbox slices buckets upwards from the one holding after+1. It goes
// on to the next bucket while below the bucket of the inbox_seq hint (read
// in parallel with the first slice) or while a bucket is full to its end,
// which finds rows a crashed writer left above the hint.
func (s *Store) ListInbox(ctx context.Context, userID string, after uint64, limit int) ([]storage.InboxEntry, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	if after >= math.MaxInt64 {
		return nil, nil
	}
	size := s.cfg.InboxBucketSize
	slice := func(b int64, n int) ([]inboxRow, error) {
		var rows []inboxRow
		err := s.query(ctx, inboxPage).BindMap(map[string]any{
			"user_id": userID, "bucket": b, "seq": int64(after), "lim": n,
		}).SelectRelease(&rows)
		return rows, s.wrap(fmt.Sprintf("list inbox of %q", userID), err)
	}
	b := bucketOf(after+1, size)
	var hint uint64
	var rows []inboxRow
	err := parallel(2, 2, func(i int) (err error) {
		if i == 0 {
			hint, err = s.readHint(ctx, inboxHintGet, userID)
		} else {
			rows, err = slice(b, limit)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var out []storage.InboxEntry
	for {
		for _, r := range rows {
			out = append(out, r.entry())
		}
		full := len(rows) > 0 && uint64(rows[len(rows)-1].Seq) == bucketEnd(uint64(b)*size, size)
		if len(out) >= limit || (b >= bucketOf(hint+1, size) && !full) {
			return out, nil
		}
		b++
		if rows, err = slice(b, limit-len(out)); err != nil {
			return nil, err
		}
	}
}

// LastInboxSeq is the inbox_seq hint plus a probe above it.
func (s *Store) LastInboxSeq(ctx context.Context, userID string) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return 0, err
	}
	return s.lastInboxSeq(ctx, userID)
}
