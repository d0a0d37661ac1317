package cql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// Inbox fencing and the one-call flush of a user grain, the inbox's
// counterpart of the conversation's epoch (conversations.go): an
// activation takes the next epoch with one lightweight transaction
// (AcquireInbox), reserves seq ranges with one each (ReserveInboxSeqs),
// and writes its entries as plain inserts with the write timestamp
// epochTS(epoch, 1); the takeover closes the previous epoch's range with a
// range tombstone at epochTS(new, 0). A fenced-off activation's rows always
// lose, and its WriteUser fails with ErrEpochLost once they are durable
// (the confirming head read), so it never acknowledges them.

var (
	inboxFence  = mk(qb.Select("inbox_heads").Columns("epoch", "reserved_seq").Where(qb.Eq("user_id")).ToCql())
	inboxCreate = mk(qb.Insert("inbox_heads").Columns("user_id", "epoch", "reserved_seq").Unique().ToCql())
	// The reservation is in the condition so that the one read before the
	// update gives the exact range the takeover closes.
	inboxAcquire = mk(qb.Update("inbox_heads").SetNamed("epoch", "next").Where(qb.Eq("user_id")).
			If(qb.EqNamed("epoch", "seen"), qb.Eq("reserved_seq")).ToCql())
	inboxReserve = mk(qb.Update("inbox_heads").SetNamed("reserved_seq", "up_to").
			Where(qb.Eq("user_id")).If(qb.Eq("epoch"), qb.LtNamed("reserved_seq", "up_to")).ToCql())
	inboxClose = mk(qb.Delete("inbox").Where(qb.Eq("user_id"), qb.Eq("bucket"),
		qb.GtNamed("seq", "lo"), qb.LtOrEqNamed("seq", "hi")).ToCql())
	inboxInsertPlain = mk(qb.Insert("inbox").Columns(inboxCols...).ToCql())
)

// maxAcquireAttempts bounds AcquireInbox's read-and-swap rounds when other
// activations of the same user keep moving the epoch meanwhile.
const maxAcquireAttempts = 16

// userBatchStatements cuts the user-partition batch of WriteUser: well
// under Cassandra's default batch_size_fail_threshold (50 KiB).
const userBatchStatements = 64

// AcquireInbox reads the head, then moves the epoch with UPDATE ... IF
// epoch = seen AND reserved_seq = reserved (or creates the head at epoch 1
// with IF NOT EXISTS), retrying on a lost race. With the epoch moved no
// earlier writer can reserve more, so its rows can only be at seqs up to
// the reservation; the last seq is read after the move and (last,
// reserved] is closed like a conversation's range.
func (s *Store) AcquireInbox(ctx context.Context, userID string) (storage.InboxLease, error) {
	if err := s.check(); err != nil {
		return storage.InboxLease{}, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return storage.InboxLease{}, err
	}
	for attempt := 0; attempt < maxAcquireAttempts; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return storage.InboxLease{}, fmt.Errorf("cql: acquire inbox of %q: %w", userID, ctx.Err())
			case <-time.After(time.Duration(attempt) * 5 * time.Millisecond):
			}
		}
		var head casHead
		err := s.query(ctx, inboxFence).Bind(userID).GetRelease(&head)
		var applied bool
		var epoch, reserved uint64
		switch {
		case errors.Is(err, gocql.ErrNotFound):
			epoch, reserved = 1, 0
			applied, err = s.lwt(ctx, inboxCreate).Bind(userID, int64(1), int64(0)).ExecCASRelease()
		case err == nil:
			if u64(head.Epoch) >= MaxEpoch {
				return storage.InboxLease{}, fmt.Errorf("cql: acquire inbox of %q: epoch %d is at the limit: %w", userID, u64(head.Epoch), storage.ErrInvalid)
			}
			epoch, reserved = u64(head.Epoch)+1, u64(head.ReservedSeq)
			applied, err = s.lwt(ctx, inboxAcquire).BindMap(map[string]any{
				"next": int64(epoch), "user_id": userID, "seen": int64(epoch - 1), "reserved_seq": int64(reserved),
			}).ExecCASRelease()
		}
		if err != nil {
			return storage.InboxLease{}, s.wrap(fmt.Sprintf("acquire inbox of %q", userID), err)
		}
		if !applied {
			continue
		}
		last, err := s.closeInbox(ctx, userID, epoch, reserved)
		if err != nil {
			return storage.InboxLease{}, fmt.Errorf("cql: acquire inbox of %q: close the previous range: %w", userID, err)
		}
		return storage.InboxLease{Epoch: epoch, ReservedSeq: reserved, LastSeq: last}, nil
	}
	return storage.InboxLease{}, fmt.Errorf("cql: acquire inbox of %q: %d attempts lost to other activations: %w", userID, maxAcquireAttempts, storage.ErrEpochLost)
}

func (s *Store) closeInbox(ctx context.Context, userID string, epoch, reserved uint64) (uint64, error) {
	s.inboxLeases.note(userID, epoch, reserved)
	size := s.cfg.InboxBucketSize
	hint, err := s.readHint(ctx, inboxHintGet, userID)
	if err != nil {
		return 0, err
	}
	last, err := s.probeAbove(ctx, inboxProbe, userID, hint, reserved, size, math.MaxInt)
	if err != nil {
		return 0, err
	}
	var buckets []int64
	if reserved > last {
		for b := bucketOf(last+1, size); b <= bucketOf(reserved, size); b++ {
			buckets = append(buckets, b)
		}
	}
	wts := epochTS(epoch, 0)
	err = parallel(len(buckets)+1, 16, func(i int) error {
		if i == len(buckets) {
			return s.setHint(ctx, inboxHintSet, userID, last)
		}
		err := s.query(ctx, inboxClose).BindMap(map[string]any{
			"user_id": userID, "bucket": buckets[i], "lo": int64(last), "hi": int64(reserved),
		}).WithTimestamp(wts).ExecRelease()
		return s.wrap("close inbox range", err)
	})
	return last, err
}

// ReserveInboxSeqs is ReserveSeqs on the inbox head.
func (s *Store) ReserveInboxSeqs(ctx context.Context, userID string, epoch, upTo uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return err
	}
	if err := checkSeq("reserved inbox seq", upTo); err != nil {
		return err
	}
	if err := checkEpoch(epoch); err != nil {
		return err
	}
	var cur casHead
	applied, err := s.lwt(ctx, inboxReserve).
		BindMap(map[string]any{"up_to": int64(upTo), "user_id": userID, "epoch": int64(epoch)}).
		GetCASRelease(&cur)
	if err != nil {
		return s.wrap("reserve inbox seqs", err)
	}
	if applied {
		s.inboxLeases.note(userID, epoch, upTo)
		return nil
	}
	if cur.Epoch == nil {
		return fmt.Errorf("cql: reserve inbox seqs of %q: no inbox head: %w", userID, storage.ErrEpochLost)
	}
	s.inboxLeases.note(userID, uint64(*cur.Epoch), u64(cur.ReservedSeq))
	if uint64(*cur.Epoch) != epoch {
		return fmt.Errorf("cql: reserve inbox seqs of %q: epoch %d, not %d: %w", userID, *cur.Epoch, epoch, storage.ErrEpochLost)
	}
	return nil
}

// WriteUser sends, in parallel, the inbox rows (one unlogged batch per
// (user, bucket) partition, write timestamp epochTS(epoch, 1), no
// condition) and the user partition's max-wins writes (read cursors,
// activities with their index entries, device cursors and last-seen) as
// unlogged batches of one partition key; then, when there were inbox
// rows, one confirming read of the inbox head, shared by every write of
// the user that became durable while the previous read was in flight.
func (s *Store) WriteUser(ctx context.Context, userID string, epoch uint64, w storage.UserWrite) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckUserWrite(userID, &w); err != nil {
		return err
	}
	if err := checkEpoch(epoch); err != nil {
		return err
	}
	var maxSeq uint64
	rows := map[int64][]any{}
	var order []int64
	for i := range w.Inbox {
		e := &w.Inbox[i]
		if err := checkSeq("inbox seq", e.Seq); err != nil {
			return err
		}
		if err := checkSeq("conversation seq", e.ConvSeq); err != nil {
			return err
		}
		maxSeq = max(maxSeq, e.Seq)
		b := bucketOf(e.Seq, s.cfg.InboxBucketSize)
		if _, ok := rows[b]; !ok {
			order = append(order, b)
		}
		rows[b] = append(rows[b], inboxRow{
			UserID: userID, Bucket: b, Seq: int64(e.Seq), Kind: int(e.Kind), ConvID: e.ConvID,
			ConvSeq: int64(e.ConvSeq), At: ts(e.At), Payload: e.Payload,
		})
	}
	for _, r := range w.Reads {
		if err := checkSeq("read seq", r.Seq); err != nil {
			return err
		}
	}
	for _, d := range w.Devices {
		if err := checkSeq("device cursor", d.Cursor); err != nil {
			return err
		}
	}
	if len(w.Inbox) > 0 {
		if err := s.inboxLeases.admit(ctx, s, userID, epoch, maxSeq); err != nil {
			return err
		}
	}
	var chunks [][]any
	for _, b := range order {
		for r := rows[b]; len(r) > 0; {
			n := min(len(r), maxBatchRows)
			chunks = append(chunks, r[:n])
			r = r[n:]
		}
	}
	user, after := s.userStatements(userID, &w)
	wts := epochTS(epoch, 1)
	err := parallel(len(chunks)+len(user), 16, func(i int) error {
		if i < len(chunks) {
			return s.insertPlain(ctx, inboxInsertPlain, chunks[i], wts)
		}
		b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
		for _, st := range user[i-len(chunks)] {
			b.Query(st.cql, st.args...)
		}
		return s.wrap("write user state", s.sess.Session.ExecuteBatch(b))
	})
	if err != nil {
		return fmt.Errorf("cql: write user %q: %w", userID, err)
	}
	after()
	if len(w.Inbox) == 0 {
		return nil
	}
	if err := s.inboxConfirms.confirm(ctx, s, userID, epoch, maxSeq); err != nil {
		return err
	}
	for i := range w.Inbox {
		if w.Inbox[i].Seq%s.cfg.InboxBucketSize == 0 {
			s.raiseHintBestEffort(ctx, inboxHintSet, userID, maxSeq)
			break
		}
	}
	return nil
}

type boundStmt struct {
	cql  string
	args []any
}

// userStatements builds the max-wins writes of the user's partition, cut
// into batches, and the cache updates to make once they are durable.
// Writes the caches show to be no-ops are left out.
func (s *Store) userStatements(userID string, w *storage.UserWrite) ([][]boundStmt, func()) {
	var all []boundStmt
	var raises []func()
	touched := map[string]bool{}
	for _, a := range w.Activity {
		at := storage.Millis(a.At)
		if at.IsZero() {
			continue
		}
		prev, known := s.activity.get(userID, a.ConvID)
		if known && at.UnixMilli() <= prev {
			touched[a.ConvID] = true
			continue
		}
		wts := at.UnixMicro()
		all = append(all, boundStmt{ucSetActivity.cql, []any{wts, at, userID, a.ConvID}})
		touched[a.ConvID] = true
		conv, ms := a.ConvID, at.UnixMilli()
		raises = append(raises, func() { s.activity.raise(userID, conv, ms) })
	}
	for _, r := range w.Reads {
		if known, ok := s.readCursors.get(userID, r.ConvID); ok && r.Seq <= uint64(known) {
			continue
		}
		all = append(all, boundStmt{ucReadMax.cql, []any{int64(r.Seq), int64(r.Seq), userID, r.ConvID}})
		conv, seq := r.ConvID, int64(r.Seq)
		raises = append(raises, func() {
			// Only a remembered cursor is raised: the cache stands for the
			// stored maximum (AdvanceReadCursor returns it).
			if _, ok := s.readCursors.get(userID, conv); ok {
				s.readCursors.raise(userID, conv, seq)
			}
		})
	}
	for _, d := range w.Devices {
		all = append(all, boundStmt{devCursor.cql, []any{int64(d.Cursor), int64(d.Cursor), userID, d.DeviceID}})
		if seen := storage.Millis(d.LastSeen); !seen.IsZero() {
			all = append(all, boundStmt{devSeen.cql, []any{seen.UnixMicro(), seen, userID, d.DeviceID}})
		}
		dev, c := d.DeviceID, int64(d.Cursor)
		raises = append(raises, func() {
			if _, ok := s.devCursors.get(userID, dev); ok {
				s.devCursors.raise(userID, dev, c)
			}
		})
	}
	var batches [][]boundStmt
	for len(all) > 0 {
		n := min(len(all), userBatchStatements)
		batches = append(batches, all[:n])
		all = all[n:]
	}
	return batches, func() {
		for _, f := range raises {
			f()
		}
	}
}
