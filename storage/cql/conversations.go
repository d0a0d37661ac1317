package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type convRow struct {
	ID          string     `db:"id"`
	Kind        int        `db:"kind"`
	Title       string     `db:"title"`
	CreatedAt   *time.Time `db:"created_at"`
	Epoch       int64      `db:"epoch"`
	ReservedSeq int64      `db:"reserved_seq"`
}

func (r convRow) conv() storage.Conversation {
	return storage.Conversation{
		ID:          r.ID,
		Kind:        storage.ConvKind(r.Kind),
		Title:       r.Title,
		CreatedAt:   fromTS(r.CreatedAt),
		Epoch:       uint64(r.Epoch),
		ReservedSeq: uint64(r.ReservedSeq),
	}
}

// casHead receives the current epoch and reservation when a conditional
// update on the head is not applied; nil fields mean the row is missing.
type casHead struct {
	Epoch       *int64 `db:"epoch"`
	ReservedSeq *int64 `db:"reserved_seq"`
}

var convCols = []string{"id", "kind", "title", "created_at", "epoch", "reserved_seq"}

var (
	convInsert    = mk(qb.Insert("conversations").Columns(convCols...).Unique().ToCql())
	convGet       = mk(qb.Select("conversations").Columns(convCols...).Where(qb.Eq("id")).ToCql())
	convListFirst = mk(qb.Select("conversations").Columns(convCols...).LimitNamed("lim").ToCql())
	convListAfter = mk(qb.Select("conversations").Columns(convCols...).
			Where(qb.Token("id").GtNamed("after")).LimitNamed("lim").ToCql())
	convAcquire = mk(qb.Update("conversations").SetNamed("epoch", "next").
			Where(qb.Eq("id")).If(qb.EqNamed("epoch", "seen")).ToCql())
	convFence = mk(qb.Select("conversations").Columns("epoch", "reserved_seq").Where(qb.Eq("id")).ToCql())
	msgClose  = mk(qb.Delete("messages").Where(qb.Eq("conv_id"), qb.Eq("bucket"),
		qb.GtNamed("seq", "lo"), qb.LtOrEqNamed("seq", "hi")).ToCql())
	convReserve = mk(qb.Update("conversations").SetNamed("reserved_seq", "up_to").
			Where(qb.Eq("id")).If(qb.Eq("epoch"), qb.LtNamed("reserved_seq", "up_to")).ToCql())
)

// CreateConversation inserts the head with IF NOT EXISTS.
func (s *Store) CreateConversation(ctx context.Context, c storage.Conversation) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", c.ID); err != nil {
		return err
	}
	if !c.Kind.Valid() {
		return fmt.Errorf("conversation kind %d: %w", c.Kind, storage.ErrInvalid)
	}
	row := convRow{ID: c.ID, Kind: int(c.Kind), Title: c.Title, CreatedAt: ts(c.CreatedAt)}
	applied, err := s.lwt(ctx, convInsert).BindStruct(row).ExecCASRelease()
	if err != nil {
		return s.wrap("create conversation", err)
	}
	if !applied {
		return fmt.Errorf("cql: conversation %q: %w", c.ID, storage.ErrExists)
	}
	return nil
}

// GetConversation reads the head and computes LastSeq (hint + probe).
func (s *Store) GetConversation(ctx context.Context, id string) (storage.Conversation, error) {
	if err := s.check(); err != nil {
		return storage.Conversation{}, err
	}
	if err := s.lim.CheckID("conversation", id); err != nil {
		return storage.Conversation{}, err
	}
	// Head and hint in parallel; the probe needs both.
	var row convRow
	var hint uint64
	err := parallel(2, 2, func(i int) error {
		if i == 1 {
			h, err := s.readHint(ctx, convHintGet, id)
			hint = h
			return err
		}
		return s.wrap(fmt.Sprintf("get conversation %q", id), s.query(ctx, convGet).Bind(id).GetRelease(&row))
	})
	if err != nil {
		return storage.Conversation{}, err
	}
	c := row.conv()
	last, err := s.probeAbove(ctx, msgProbe, id, hint, c.ReservedSeq, s.cfg.MessageBucketSize, maxDownProbe)
	if err != nil {
		return storage.Conversation{}, err
	}
	c.LastSeq = last
	return c, nil
}

// ListConversations pages in token order; the cursor is the last id.
// LastSeq is filled like GetConversation's, for the page in parallel.
func (s *Store) ListConversations(ctx context.Context, cursor string, limit int) ([]storage.Conversation, string, error) {
	if err := s.check(); err != nil {
		return nil, "", err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	var q = s.query(ctx, convListFirst).BindMap(map[string]any{"lim": limit})
	if cursor != "" {
		q = s.query(ctx, convListAfter).BindMap(map[string]any{"after": cursor, "lim": limit})
	}
	var rows []convRow
	if err := q.SelectRelease(&rows); err != nil {
		return nil, "", s.wrap("list conversations", err)
	}
	out := make([]storage.Conversation, len(rows))
	err := parallel(len(rows), 16, func(i int) error {
		out[i] = rows[i].conv()
		last, err := s.lastSeq(ctx, out[i].ID, out[i].ReservedSeq)
		out[i].LastSeq = last
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) == limit {
		next = rows[len(rows)-1].ID
	}
	return out, next, nil
}

// Write timestamps of fenced appends: the epoch in the high bits, so that
// every write of a later epoch wins over every write of an earlier one.
// The low bits order one epoch's own writes: 0 for the range tombstone
// that closes the previous epochs, 1 for rows, above for updates of a row
// (TombstoneMessage writes the row's timestamp + 1).
const (
	epochShift = 40
	// MaxEpoch is the highest epoch a conversation can reach (the write
	// timestamp must stay a positive int64): 8,388,607 activations.
	MaxEpoch = 1<<(63-epochShift) - 1
)

func epochTS(epoch uint64, low int64) int64 { return int64(epoch)<<epochShift | low }

func checkEpoch(epoch uint64) error {
	if epoch > MaxEpoch {
		return fmt.Errorf("epoch %d is above %d: %w", epoch, uint64(MaxEpoch), storage.ErrInvalid)
	}
	return nil
}

// AcquireEpoch is UPDATE ... SET epoch = seen+1 IF epoch = seen, then the
// close of the previous epochs' range: with the epoch moved, no earlier
// writer can reserve more, so its rows can only be at seqs up to the head's
// ReservedSeq. The last seq is read (after the epoch moved, so every row
// an earlier writer may still acknowledge is in it, see appendFenced), and
// one range tombstone per bucket of (last, reserved], written with
// epochTS(new, 0), hides whatever an earlier writer still lands there.
// These writes (and the activation's gap placeholders) can themselves land
// after a later epoch read the rows they remove: that epoch acknowledges
// such a row only after AdoptMessage.
func (s *Store) AcquireEpoch(ctx context.Context, id string, seen uint64) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := s.lim.CheckID("conversation", id); err != nil {
		return 0, err
	}
	if err := checkSeq("epoch", seen+1); err != nil {
		return 0, err
	}
	if err := checkEpoch(seen + 1); err != nil {
		return 0, err
	}
	var cur casHead
	applied, err := s.lwt(ctx, convAcquire).
		BindMap(map[string]any{"next": int64(seen + 1), "id": id, "seen": int64(seen)}).
		GetCASRelease(&cur)
	if err != nil {
		return 0, s.wrap("acquire epoch", err)
	}
	if !applied {
		if cur.Epoch == nil {
			return 0, fmt.Errorf("cql: acquire epoch of %q: %w", id, storage.ErrNotFound)
		}
		return 0, fmt.Errorf("cql: acquire epoch of %q: at %d, not %d: %w", id, *cur.Epoch, seen, storage.ErrEpochLost)
	}
	if err := s.closeRange(ctx, id, seen+1); err != nil {
		return 0, fmt.Errorf("cql: acquire epoch of %q: close the previous range: %w", id, err)
	}
	return seen + 1, nil
}

func (s *Store) closeRange(ctx context.Context, id string, epoch uint64) error {
	var head casHead
	if err := s.query(ctx, convFence).Bind(id).GetRelease(&head); err != nil {
		return s.wrap("read head", err)
	}
	reserved := u64(head.ReservedSeq)
	s.leases.note(id, epoch, reserved)
	last, err := s.exactLastSeq(ctx, id, reserved)
	if err != nil {
		return err
	}
	size := s.cfg.MessageBucketSize
	var buckets []int64
	if reserved > last {
		for b := bucketOf(last+1, size); b <= bucketOf(reserved, size); b++ {
			buckets = append(buckets, b)
		}
	}
	wts := epochTS(epoch, 0)
	return parallel(len(buckets)+1, 16, func(i int) error {
		if i == len(buckets) {
			// The hint as of the takeover keeps the next reads' probes short.
			return s.setHint(ctx, convHintSet, id, last)
		}
		err := s.query(ctx, msgClose).BindMap(map[string]any{
			"conv_id": id, "bucket": buckets[i], "lo": int64(last), "hi": int64(reserved),
		}).WithTimestamp(wts).ExecRelease()
		return s.wrap("close range", err)
	})
}

// ReserveSeqs is UPDATE ... SET reserved_seq = upTo IF epoch = ? AND
// reserved_seq < upTo; when not applied the returned row tells a lost
// epoch from a reservation that is already high enough.
func (s *Store) ReserveSeqs(ctx context.Context, id string, epoch uint64, upTo uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", id); err != nil {
		return err
	}
	if err := checkSeq("reserved seq", upTo); err != nil {
		return err
	}
	if err := checkSeq("epoch", epoch); err != nil {
		return err
	}
	var cur casHead
	applied, err := s.lwt(ctx, convReserve).
		BindMap(map[string]any{"up_to": int64(upTo), "id": id, "epoch": int64(epoch)}).
		GetCASRelease(&cur)
	if err != nil {
		return s.wrap("reserve seqs", err)
	}
	if applied {
		s.leases.note(id, epoch, upTo)
		return nil
	}
	if cur.Epoch == nil {
		// Cassandra returns no columns for a missing row, Scylla nulls; a
		// row is never without an epoch, so both mean "not found".
		return fmt.Errorf("cql: reserve seqs of %q: %w", id, storage.ErrNotFound)
	}
	s.leases.note(id, uint64(*cur.Epoch), u64(cur.ReservedSeq))
	if uint64(*cur.Epoch) != epoch {
		return fmt.Errorf("cql: reserve seqs of %q: epoch %d, not %d: %w", id, *cur.Epoch, epoch, storage.ErrEpochLost)
	}
	return nil // already reserved up to upTo or beyond: lowering is a no-op
}
