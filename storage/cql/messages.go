package cql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type msgRow struct {
	ConvID      string     `db:"conv_id"`
	Bucket      int64      `db:"bucket"`
	Seq         int64      `db:"seq"`
	MsgID       int64      `db:"msg_id"`
	ClientMsgID string     `db:"client_msg_id"`
	Sender      string     `db:"sender"`
	SenderRole  int        `db:"sender_role"`
	Kind        int        `db:"kind"`
	RefSeq      int64      `db:"ref_seq"`
	ReplyTo     int64      `db:"reply_to"` // null (read as 0) in rows written before replies
	Mentions    []string   `db:"mentions"` // null (read as none) in rows written before mentions
	MediaID     string     `db:"media_id"` // the attachment: null (none) in rows written before media
	MediaName   string     `db:"media_name"`
	MediaType   string     `db:"media_type"`
	MediaSize   int64      `db:"media_size"`
	MediaWidth  int64      `db:"media_width"` // null (0) in rows written before previews
	MediaHeight int64      `db:"media_height"`
	MediaThumb  []byte     `db:"media_thumb"`
	MediaLength int64      `db:"media_duration_ms"` // null (0) in rows written before files' lengths
	Body        []byte     `db:"body"`
	Flags       int64      `db:"flags"`
	ClientTS    *time.Time `db:"client_ts"`
	ServerTS    *time.Time `db:"server_ts"`
	ExpiresAt   *time.Time `db:"expires_at"` // the epoch (no null, no tombstone) or null in older rows: the message stays
	Location    []byte     `db:"location"`   // storage.EncodeLocation; empty (not null) for none, null in older rows
	Meta        []byte     `db:"meta"`       // storage.EncodeMeta; likewise
}

func (s *Store) msgRow(convID string, m *storage.Message) msgRow {
	return msgRow{
		ConvID:      convID,
		Bucket:      bucketOf(m.Seq, s.cfg.MessageBucketSize),
		Seq:         int64(m.Seq),
		MsgID:       int64(m.MsgID), // bit pattern kept: ids are only compared for equality
		ClientMsgID: m.ClientMsgID,
		Sender:      m.Sender,
		SenderRole:  int(m.SenderRole),
		Kind:        int(m.Kind),
		RefSeq:      int64(m.RefSeq),
		ReplyTo:     int64(m.ReplyTo),
		Mentions:    m.Mentions,
		MediaID:     m.Media.ID,
		MediaName:   m.Media.Name,
		MediaType:   m.Media.MIME,
		MediaSize:   m.Media.Size,
		MediaWidth:  int64(m.Media.Preview.Width),
		MediaHeight: int64(m.Media.Preview.Height),
		MediaThumb:  emptyNotNull(m.Media.Preview.Thumb),
		MediaLength: int64(m.Media.Preview.DurationMs),
		Body:        m.Body,
		Flags:       int64(m.Flags),
		ClientTS:    ts(m.ClientTS),
		ServerTS:    ts(m.ServerTS),
		ExpiresAt:   endColumn(m.ExpiresAt),
		Location:    emptyNotNull(storage.EncodeLocation(m.Location)),
		Meta:        emptyNotNull(storage.EncodeMeta(m.Meta)),
	}
}

// endColumn is an end to write (untilColumn): the epoch for none, so no
// row of the many that stay writes a null (a cell tombstone).
func endColumn(end time.Time) *time.Time {
	t := untilColumn(end)
	return &t
}

func (r msgRow) msg() storage.Message {
	// Only EncodeLocation writes the column; a value it cannot have
	// written reads as none.
	loc, _ := storage.DecodeLocation(r.Location)
	meta, _ := storage.DecodeMeta(r.Meta)
	return storage.Message{
		ConvID:      r.ConvID,
		Seq:         uint64(r.Seq),
		MsgID:       uint64(r.MsgID),
		ClientMsgID: r.ClientMsgID,
		Sender:      r.Sender,
		SenderRole:  storage.SenderRole(r.SenderRole),
		Kind:        storage.MessageKind(r.Kind),
		RefSeq:      uint64(r.RefSeq),
		ReplyTo:     uint64(r.ReplyTo),
		Mentions:    noneIfEmpty(r.Mentions),
		Media: storage.MediaRef{ID: r.MediaID, Name: r.MediaName, MIME: r.MediaType, Size: r.MediaSize,
			Preview: storage.Preview{Width: uint32(r.MediaWidth), Height: uint32(r.MediaHeight), Thumb: noEmpty(r.MediaThumb), DurationMs: uint32(r.MediaLength)}},
		Body:      noEmpty(r.Body),
		Flags:     uint32(r.Flags),
		ClientTS:  fromTS(r.ClientTS),
		ServerTS:  fromTS(r.ServerTS),
		ExpiresAt: mutedUntil(r.ExpiresAt), // an end column: null and the epoch are none
		Location:  loc,
		Meta:      meta,
	}
}

var msgCols = []string{"conv_id", "bucket", "seq", "msg_id", "client_msg_id", "sender", "sender_role",
	"kind", "ref_seq", "reply_to", "mentions", "media_id", "media_name", "media_type", "media_size", "media_width", "media_height", "media_thumb", "media_duration_ms", "body", "flags", "client_ts", "server_ts", "expires_at", "location", "meta"}

var (
	msgInsert      = mk(qb.Insert("messages").Columns(msgCols...).Unique().ToCql())
	msgInsertPlain = mk(qb.Insert("messages").Columns(msgCols...).ToCql())
	msgGet         = mk(qb.Select("messages").Columns(msgCols...).
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.Eq("seq")).ToCql())
	msgPageDesc = mk(qb.Select("messages").Columns(msgCols...).
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.GtOrEqNamed("seq", "lo"), qb.LtOrEqNamed("seq", "hi")).
			LimitNamed("lim").ToCql())
	msgPageAsc = mk(qb.Select("messages").Columns(msgCols...).
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.GtOrEqNamed("seq", "lo"), qb.LtOrEqNamed("seq", "hi")).
			OrderBy("seq", qb.ASC).LimitNamed("lim").ToCql())
	msgGetWT = mk(qb.Select("messages").Columns(append(slices.Clone(msgCols), "WRITETIME(flags) AS wt")...).
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.Eq("seq")).ToCql())
	// msgRewrite writes a row's body, flags and attachments (a recall; a redaction).
	msgRewrite = mk(qb.Update("messages").Set("body", "flags", "media_id", "media_name", "media_type", "media_size", "media_width", "media_height", "media_thumb", "media_duration_ms", "location", "meta").
			Where(qb.Eq("conv_id"), qb.Eq("bucket"), qb.Eq("seq")).ToCql())
)

// Conditional batches are cut at these sizes: one Paxos round per batch,
// and a mutation must stay well under half a commit log segment.
const (
	maxBatchRows  = 128
	maxBatchBytes = 2 << 20
)

// AppendMessages writes the batch. Unfenced (epoch 0): INSERT ... IF NOT
// EXISTS, one conditional batch per (conv_id, bucket) partition, then the
// last-seq hint. Fenced (epoch > 0): see
// appendFenced.
func (s *Store) AppendMessages(ctx context.Context, convID string, epoch uint64, msgs []storage.Message) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.appendMessages(ctx, convID, epoch, msgs)
}

func (s *Store) appendMessages(ctx context.Context, convID string, epoch uint64, msgs []storage.Message) error {
	if err := s.lim.CheckMessages(convID, msgs); err != nil {
		return err
	}
	if err := checkEpoch(epoch); err != nil {
		return err
	}
	var maxSeq uint64
	for i := range msgs {
		if err := checkSeq("seq", msgs[i].Seq); err != nil {
			return err
		}
		maxSeq = max(maxSeq, msgs[i].Seq)
	}
	if epoch > 0 {
		return s.appendFenced(ctx, convID, epoch, msgs, maxSeq)
	}

	for _, chunk := range s.partitionChunks(convID, msgs) {
		if err := s.insertIfNotExists(ctx, msgInsert, chunk); err != nil {
			return fmt.Errorf("cql: append to %q: %w", convID, err)
		}
	}

	// The hint only after the rows: it may not point at a failed append.
	return s.setHint(ctx, convHintSet, convID, maxSeq)
}

// appendFenced is the append of a writer that holds epoch: no Paxos round.
//
//  0. Before, the batch is checked against this process's view of the
//     conversation's lease (kept by AcquireEpoch and ReserveSeqs, read from
//     the head when missing): a writer this store already saw fenced off,
//     or a seq outside the reservation, writes nothing.
//  1. The rows go as plain inserts, one unlogged batch per (conv_id,
//     bucket) partition, in parallel and all with the write timestamp epochTS(epoch, 1): a later
//     epoch's rows and the range tombstone its AcquireEpoch writes
//     (epochTS(later, 0)) win over them whatever the arrival order.
//  2. Once they are durable, one read of the head checks the epoch (one
//     read serves every batch of the conversation that became durable
//     while the previous read was in flight, see confirms). If it is still
//     ours, AcquireEpoch of a successor had not completed when this read
//     started, so its last-seq read (made after it completed) sees these
//     rows and it neither reuses their seqs nor closes them: they are safe
//     to acknowledge. Otherwise ErrEpochLost, and the caller must not.
//
// The last-seq hint is raised only when the batch enters a new bucket: the
// head's reservation bounds where the last rows are, and the probe from
// it finds them; the hint only keeps that probe short.
func (s *Store) appendFenced(ctx context.Context, convID string, epoch uint64, msgs []storage.Message, maxSeq uint64) error {
	if err := s.leases.admit(ctx, s, convID, epoch, maxSeq); err != nil {
		return err
	}
	wts := epochTS(epoch, 1)
	chunks := s.partitionChunks(convID, msgs)
	err := parallel(len(chunks), 16, func(i int) error {
		return s.insertPlain(ctx, msgInsertPlain, chunks[i], wts)
	})
	if err != nil {
		return fmt.Errorf("cql: append to %q: %w", convID, err)
	}
	if err := s.confirms.confirm(ctx, s, convID, epoch, maxSeq); err != nil {
		return err
	}
	size := s.cfg.MessageBucketSize
	for i := range msgs {
		if msgs[i].Seq%size == 0 {
			s.raiseHintBestEffort(ctx, convHintSet, convID, maxSeq)
			break
		}
	}
	return nil
}

// raiseHintBestEffort raises a hint after an append that is already
// durable and confirmed: a failure only makes the next probes longer, so
// it must not fail the append (and have its messages retried).
func (s *Store) raiseHintBestEffort(ctx context.Context, st stmt, key string, seq uint64) {
	if err := s.setHint(ctx, st, key, seq); err != nil {
		s.cfg.Logger.WarnContext(ctx, "cql: raise a seq hint", "key", key, "seq", seq, "err", err)
	}
}

// insertPlain writes rows of one partition without a condition: one
// statement for one row, an unlogged single-partition batch for more.
func (s *Store) insertPlain(ctx context.Context, st stmt, rows []any, wts int64) error {
	if len(rows) == 1 {
		return s.wrap("insert", s.query(ctx, st).BindStruct(rows[0]).WithTimestamp(wts).ExecRelease())
	}
	b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	b.WithTimestamp(wts)
	for _, r := range rows {
		b.Query(st.cql, structArgs(st.names, r)...)
	}
	return s.wrap("batch insert", s.sess.Session.ExecuteBatch(b))
}

// partitionChunks groups rows by bucket (the input order within a bucket
// kept) and cuts each group to the batch limits.
func (s *Store) partitionChunks(convID string, msgs []storage.Message) [][]any {
	var order []int64
	groups := map[int64][]any{}
	sizes := map[int64]int{}
	var out [][]any
	for i := range msgs {
		r := s.msgRow(convID, &msgs[i])
		g, seen := groups[r.Bucket]
		if !seen {
			order = append(order, r.Bucket)
		}
		if len(g) >= maxBatchRows || (len(g) > 0 && sizes[r.Bucket]+len(r.Body) > maxBatchBytes) {
			out = append(out, g)
			g, sizes[r.Bucket] = nil, 0
		}
		groups[r.Bucket] = append(g, r)
		sizes[r.Bucket] += len(r.Body) + 256
	}
	for _, b := range order {
		out = append(out, groups[b])
	}
	return out
}

// insertIfNotExists writes rows of one partition with IF NOT EXISTS: one
// statement for one row, a conditional batch (single partition, which
// Cassandra and Scylla both accept) for more. Not applied: ErrSeqExists.
func (s *Store) insertIfNotExists(ctx context.Context, st stmt, rows []any) error {
	if len(rows) == 1 {
		applied, err := s.lwt(ctx, st).BindStruct(rows[0]).ExecCASRelease()
		if err != nil {
			return s.wrap("conditional insert", err)
		}
		if !applied {
			return fmt.Errorf("seq already stored: %w", storage.ErrSeqExists)
		}
		return nil
	}
	b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	b.SerialConsistency(s.cfg.SerialConsistency)
	for _, r := range rows {
		b.Query(st.cql, structArgs(st.names, r)...)
	}
	applied, iter, err := s.sess.Session.MapExecuteBatchCAS(b, map[string]any{})
	if err != nil {
		if iter != nil {
			iter.Close()
		}
		return s.wrap("conditional batch", err)
	}
	if err := iter.Close(); err != nil {
		return s.wrap("conditional batch", err)
	}
	if !applied {
		return fmt.Errorf("one of %d seqs already stored: %w", len(rows), storage.ErrSeqExists)
	}
	return nil
}

// GetMessage reads one row.
func (s *Store) GetMessage(ctx context.Context, convID string, seq uint64) (storage.Message, error) {
	if err := s.check(); err != nil {
		return storage.Message{}, err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return storage.Message{}, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return storage.Message{}, fmt.Errorf("cql: message %q/%d: %w", convID, seq, storage.ErrNotFound)
	}
	return s.getMessage(ctx, convID, seq)
}

func (s *Store) getMessage(ctx context.Context, convID string, seq uint64) (storage.Message, error) {
	var row msgRow
	err := s.query(ctx, msgGet).Bind(convID, bucketOf(seq, s.cfg.MessageBucketSize), int64(seq)).GetRelease(&row)
	if err != nil {
		return storage.Message{}, s.wrap(fmt.Sprintf("get message %q/%d", convID, seq), err)
	}
	return row.msg(), nil
}

// ListMessages walks the buckets of [fromSeq, toSeq] in the requested
// order, one single-partition slice per bucket, until limit.
func (s *Store) ListMessages(ctx context.Context, convID string, fromSeq, toSeq uint64, order storage.Order, limit int) ([]storage.Message, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	if order != storage.NewestFirst && order != storage.OldestFirst {
		return nil, fmt.Errorf("message order %d: %w", order, storage.ErrInvalid)
	}
	fromSeq = max(fromSeq, 1)
	size := s.cfg.MessageBucketSize
	top := int64(-1) // the walk's first bucket when newest-first is unbounded
	if toSeq == 0 || toSeq > math.MaxInt64 {
		reserved, hint, err := s.headAndHint(ctx, convID)
		if err != nil {
			return nil, err
		}
		top = bucketOf(max(reserved, hint+1), size)
		if order == storage.NewestFirst && top-bucketOf(hint+1, size) < maxDownProbe {
			// Slicing down from the reservation's bucket reads the newest
			// rows directly; the slices double as the probe above the hint.
			toSeq = math.MaxInt64
		} else if toSeq, err = s.probeAbove(ctx, msgProbe, convID, hint, reserved, size, maxDownProbe); err != nil {
			return nil, err
		}
	}
	if fromSeq > toSeq {
		return nil, nil
	}

	first, last, step, st := bucketOf(toSeq, size), bucketOf(fromSeq, size), int64(-1), msgPageDesc
	if toSeq == math.MaxInt64 {
		first = top
	}
	if order == storage.OldestFirst {
		first, last, step, st = last, first, 1, msgPageAsc
	}
	var out []storage.Message
	for b := first; len(out) < limit; b += step {
		var rows []msgRow
		err := s.query(ctx, st).BindMap(map[string]any{
			"conv_id": convID, "bucket": b, "lo": int64(fromSeq), "hi": int64(toSeq), "lim": limit - len(out),
		}).SelectRelease(&rows)
		if err != nil {
			return nil, s.wrap(fmt.Sprintf("list messages of %q", convID), err)
		}
		for _, r := range rows {
			out = append(out, r.msg())
		}
		if b == last {
			break
		}
	}
	if toSeq == math.MaxInt64 && len(out) > 0 && out[0].Seq == bucketEnd(out[0].Seq, size) && bucketOf(out[0].Seq, size) == top {
		// The top bucket is full: later buckets may hold rows nobody
		// reserved or hinted. Rare; take the exact last seq and redo.
		lastSeq, err := s.lastSeq(ctx, convID, out[0].Seq)
		if err != nil {
			return nil, err
		}
		if lastSeq > out[0].Seq {
			return s.ListMessages(ctx, convID, fromSeq, lastSeq, order, limit)
		}
	}
	return out, nil
}

// headAndHint reads the head's reservation (0 without a head) and the
// last-seq hint, concurrently.
func (s *Store) headAndHint(ctx context.Context, convID string) (reserved, hint uint64, err error) {
	err = parallel(2, 2, func(i int) error {
		if i == 1 {
			h, err := s.readHint(ctx, convHintGet, convID)
			hint = h
			return err
		}
		var head convRow
		switch err := s.query(ctx, convGet).Bind(convID).GetRelease(&head); {
		case err == nil:
			reserved = uint64(head.ReservedSeq)
		case !errors.Is(err, gocql.ErrNotFound):
			return s.wrap("read conversation head", err)
		}
		return nil
	})
	return reserved, hint, err
}

// AdoptMessage re-writes the row at seq with epoch's write timestamp, then
// confirms the epoch as an append does. An earlier epoch k's row can land
// late (after k+1 took over: k never acknowledged it) and still be read
// by a later activation m, because the write of an epoch j between them
// that removes it (j's range tombstone over (last, reserved], or j's gap
// placeholder over a seq j found missing) is sent after j's read and can
// land after m's. m's history holds the row, but j's write, timestamped
// above k's rows, hides it when it lands: a duplicate answer m gave for it
// would be an acknowledged message lost. Re-written at epochTS(m, 1) the
// row wins over every write of an epoch before m, and the confirming read
// puts it in the view of every later epoch (see appendFenced), so it can
// be acknowledged. The row is re-written as read (a recall included).
func (s *Store) AdoptMessage(ctx context.Context, convID string, epoch, seq uint64, sender, clientMsgID string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return err
	}
	if err := checkEpoch(epoch); err != nil {
		return err
	}
	op := fmt.Sprintf("adopt %q/%d", convID, seq)
	if seq == 0 || seq > math.MaxInt64 {
		return fmt.Errorf("cql: %s: %w", op, storage.ErrNotFound)
	}
	if err := s.leases.admit(ctx, s, convID, epoch, seq); err != nil {
		return err
	}
	var row struct {
		msgRow
		WT int64 `db:"wt"`
	}
	err := s.query(ctx, msgGetWT).Bind(convID, bucketOf(seq, s.cfg.MessageBucketSize), int64(seq)).GetRelease(&row)
	if err != nil {
		return s.wrap(op, err)
	}
	if row.Sender != sender || row.ClientMsgID != clientMsgID {
		return fmt.Errorf("cql: %s: the seq holds another message: %w", op, storage.ErrNotFound)
	}
	if wts := epochTS(epoch, 1); row.WT < wts {
		if err := s.insertPlain(ctx, msgInsertPlain, []any{row.msgRow}, wts); err != nil {
			return fmt.Errorf("cql: %s: %w", op, err)
		}
	}
	return s.confirms.confirm(ctx, s, convID, epoch, seq)
}

// RedactMessage replaces the body (writing the flags as they are, so that
// the row's timestamp moves on with it).
func (s *Store) RedactMessage(ctx context.Context, convID string, seq uint64, body []byte) error {
	return s.rewriteMessage(ctx, "redact", convID, seq, func(m *storage.Message) bool {
		m.Body = body
		return !m.Recalled()
	})
}

// TombstoneMessage clears the body and the attachment and sets FlagRecalled.
func (s *Store) TombstoneMessage(ctx context.Context, convID string, seq uint64) error {
	return s.rewriteMessage(ctx, "tombstone", convID, seq, func(m *storage.Message) bool {
		write := !m.Recalled() || len(m.Body) > 0 || m.Media.ID != "" || !m.Media.Preview.IsZero() || m.Location != nil || len(m.Meta) > 0
		m.Body, m.Flags, m.Media, m.Location, m.Meta = nil, m.Flags|storage.FlagRecalled, storage.MediaRef{}, nil, nil
		return write
	})
}

// rewriteMessage writes a message's body, flags and attachment as change
// leaves them (it returns false: leave the row). Read first: an UPDATE alone would create a
// row for a missing seq. The update is written just above the row's own
// timestamp, which a fenced append set to its epoch's (ahead of or behind
// the wall clock).
func (s *Store) rewriteMessage(ctx context.Context, what, convID string, seq uint64,
	change func(*storage.Message) (write bool)) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("conversation", convID); err != nil {
		return err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return fmt.Errorf("cql: message %q/%d: %w", convID, seq, storage.ErrNotFound)
	}
	var row struct {
		msgRow
		WT int64 `db:"wt"`
	}
	op := fmt.Sprintf("%s %q/%d", what, convID, seq)
	err := s.query(ctx, msgGetWT).Bind(convID, bucketOf(seq, s.cfg.MessageBucketSize), int64(seq)).GetRelease(&row)
	if err != nil {
		return s.wrap(op, err)
	}
	m := row.msg()
	if !change(&m) {
		return nil
	}
	p := m.Media.Preview
	err = s.query(ctx, msgRewrite).Bind(m.Body, int64(m.Flags), m.Media.ID, m.Media.Name, m.Media.MIME, m.Media.Size,
		int64(p.Width), int64(p.Height), emptyNotNull(p.Thumb), int64(p.DurationMs), emptyNotNull(storage.EncodeLocation(m.Location)),
		emptyNotNull(storage.EncodeMeta(m.Meta)), convID, bucketOf(seq, s.cfg.MessageBucketSize), int64(seq)).WithTimestamp(row.WT + 1).ExecRelease()
	return s.wrap(op, err)
}

// noneIfEmpty reads an empty list (null in rows written before the column)
// as none, as the other store does.
func noneIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
