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

type userConvRow struct {
	UserID       string     `db:"user_id"`
	ConvID       string     `db:"conv_id"`
	ReadSeq      *int64     `db:"read_seq"` // written by conditional updates before 0002
	ReadMax      *int64     `db:"read_max"` // max-wins
	Pinned       bool       `db:"pinned"`
	Muted        bool       `db:"muted"`
	LastActivity *time.Time `db:"last_activity"`
}

func (r userConvRow) userConv() storage.UserConv {
	return storage.UserConv{
		UserID:       r.UserID,
		ConvID:       r.ConvID,
		ReadSeq:      max(u64(r.ReadSeq), u64(r.ReadMax)),
		Pinned:       r.Pinned,
		Muted:        r.Muted,
		LastActivity: fromTS(r.LastActivity),
	}
}

// activityKey is the clustering value of user_conv_activity: milliseconds,
// the lowest bigint for "no activity" (ordered last).
func activityKey(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMilli()
}

var ucCols = []string{"user_id", "conv_id", "read_seq", "read_max", "pinned", "muted", "last_activity"}

var (
	ucGet     = mk(qb.Select("user_convs").Columns(ucCols...).Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucGetMany = mk(qb.Select("user_convs").Columns(ucCols...).Where(qb.Eq("user_id"), qb.In("conv_id")).ToCql())
	// Max-wins writes: the timestamp is the value (the seq; the activity's
	// microseconds), so the highest value wins in any order of arrival.
	ucReadMax = mk(qb.Update("user_convs").TimestampNamed("ts").SetNamed("read_max", "seq").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetPinned   = mk(qb.Update("user_convs").Set("pinned").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetMuted    = mk(qb.Update("user_convs").Set("muted").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetActivity = mk(qb.Update("user_convs").TimestampNamed("ts").Set("last_activity").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())

	// Index entries are written with the activity's microseconds as their
	// timestamp ("no activity" entries with 1), and deleted with the newer
	// activity's: a late or repeated write of a superseded entry stays
	// deleted.
	actInsert = mk(qb.Insert("user_conv_activity").Columns("user_id", "activity", "conv_id").TimestampNamed("ts").ToCql())
	actDelete = mk(qb.Delete("user_conv_activity").Where(qb.Eq("user_id"), qb.Eq("activity"), qb.Eq("conv_id")).
			TimestampNamed("ts").ToCql())
	actFirst = mk(qb.Select("user_conv_activity").Columns("activity", "conv_id").
			Where(qb.Eq("user_id")).LimitNamed("lim").ToCql())
	actTies = mk(qb.Select("user_conv_activity").Columns("activity", "conv_id").
		Where(qb.Eq("user_id"), qb.Eq("activity"), qb.GtNamed("conv_id", "after")).LimitNamed("lim").ToCql())
	actOlder = mk(qb.Select("user_conv_activity").Columns("activity", "conv_id").
			Where(qb.Eq("user_id"), qb.LtNamed("activity", "before")).LimitNamed("lim").ToCql())
)

func (s *Store) checkUserConv(userID, convID string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return err
	}
	return s.lim.CheckID("conversation", convID)
}

// getUserConv returns the row, ok=false if none.
func (s *Store) getUserConv(ctx context.Context, userID, convID string) (userConvRow, bool, error) {
	var row userConvRow
	err := s.query(ctx, ucGet).Bind(userID, convID).GetRelease(&row)
	if errors.Is(err, gocql.ErrNotFound) {
		return userConvRow{UserID: userID, ConvID: convID}, false, nil
	}
	if err != nil {
		return row, false, s.wrap(fmt.Sprintf("get user conversation %q/%q", userID, convID), err)
	}
	return row, true, nil
}

// GetUserConv returns the stored state or the zero state.
func (s *Store) GetUserConv(ctx context.Context, userID, convID string) (storage.UserConv, error) {
	if err := s.checkUserConv(userID, convID); err != nil {
		return storage.UserConv{}, err
	}
	row, _, err := s.getUserConv(ctx, userID, convID)
	if err != nil {
		return storage.UserConv{}, err
	}
	return row.userConv(), nil
}

// AdvanceReadCursor is a max-wins write of read_max (USING TIMESTAMP =
// the seq). The resulting cursor comes from the remembered highest cursor
// (readCursors); without one, the row is read in parallel with the write,
// which also tells whether the user's state of the conversation is new:
// like every first write of that state it then lists the conversation
// (with no activity yet) in the activity index. A seq at or below the
// remembered cursor writes nothing.
func (s *Store) AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error) {
	if err := s.checkUserConv(userID, convID); err != nil {
		return 0, err
	}
	if err := checkSeq("read seq", seq); err != nil {
		return 0, err
	}
	known, ok := s.readCursors.get(userID, convID)
	if ok && seq <= uint64(known) {
		return uint64(known), nil
	}
	write := func() error {
		err := s.query(ctx, ucReadMax).BindMap(map[string]any{
			"ts": int64(seq), "seq": int64(seq), "user_id": userID, "conv_id": convID,
		}).ExecRelease()
		return s.wrap(fmt.Sprintf("advance read cursor %q/%q", userID, convID), err)
	}
	if ok {
		if err := write(); err != nil {
			return 0, err
		}
		s.readCursors.raise(userID, convID, int64(seq))
		return seq, nil
	}
	var row userConvRow
	var found bool
	err := parallel(2, 2, func(i int) error {
		if i == 1 {
			var err error
			row, found, err = s.getUserConv(ctx, userID, convID)
			return err
		}
		return write()
	})
	if err != nil {
		return 0, err
	}
	if !found || row.LastActivity == nil {
		if _, touched := s.activity.get(userID, convID); !touched {
			if err := s.indexInactive(ctx, userID, convID); err != nil {
				return 0, err
			}
			s.activity.raise(userID, convID, math.MinInt64) // indexed: not again
		}
	}
	got := max(seq, row.userConv().ReadSeq)
	s.readCursors.raise(userID, convID, int64(got))
	return got, nil
}

// indexInactive lists a conversation without activity in the activity
// index. Idempotent; written with timestamp 1, so the first touch's delete
// removes it.
func (s *Store) indexInactive(ctx context.Context, userID, convID string) error {
	err := s.query(ctx, actInsert).Bind(userID, int64(math.MinInt64), convID, int64(1)).ExecRelease()
	return s.wrap(fmt.Sprintf("index %q/%q", userID, convID), err)
}

// SetPinned sets one column.
func (s *Store) SetPinned(ctx context.Context, userID, convID string, pinned bool) error {
	return s.setFlag(ctx, ucSetPinned, userID, convID, pinned)
}

// SetMuted sets one column.
func (s *Store) SetMuted(ctx context.Context, userID, convID string, muted bool) error {
	return s.setFlag(ctx, ucSetMuted, userID, convID, muted)
}

// setFlag is an upsert of one boolean; a row without activity gets its
// index entry in the same single-partition batch.
func (s *Store) setFlag(ctx context.Context, st stmt, userID, convID string, v bool) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	row, found, err := s.getUserConv(ctx, userID, convID)
	if err != nil {
		return err
	}
	op := fmt.Sprintf("set %s of %q/%q", st.names[0], userID, convID)
	if found && row.LastActivity != nil {
		return s.wrap(op, s.query(ctx, st).Bind(v, userID, convID).ExecRelease())
	}
	b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	b.Query(st.cql, v, userID, convID)
	b.Query(actInsert.cql, userID, int64(math.MinInt64), convID, int64(1))
	return s.wrap(op, s.sess.Session.ExecuteBatch(b))
}

// TouchConversation moves last_activity forward without a read: a
// max-wins write (USING TIMESTAMP = the activity's microseconds) and the
// activity index entry for the new time, in one single-partition batch
// (user_convs and user_conv_activity share the partition key). The entry
// it replaces is deleted in the same batch when this store remembers it
// (the user grain is the single writer of its rows, so on its node the
// memory is exact); otherwise the old entry stays, is skipped on read as
// stale, and deleted by the next ListUserConvs that meets it.
func (s *Store) TouchConversation(ctx context.Context, userID, convID string, at time.Time) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	at = storage.Millis(at)
	if at.IsZero() {
		return nil
	}
	prev, known := s.activity.get(userID, convID)
	if known && at.UnixMilli() <= prev {
		return nil // already at or past at: max-wins would keep the row anyway
	}
	wts := at.UnixMicro()
	b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
	b.Query(ucSetActivity.cql, wts, at, userID, convID)
	b.Query(actInsert.cql, userID, at.UnixMilli(), convID, wts)
	old := int64(math.MinInt64) // a first touch replaces the "no activity" entry
	if known {
		old = prev
	}
	b.Query(actDelete.cql, wts, userID, old, convID)
	if err := s.sess.Session.ExecuteBatch(b); err != nil {
		return s.wrap(fmt.Sprintf("touch %q/%q", userID, convID), err)
	}
	s.activity.raise(userID, convID, at.UnixMilli())
	return nil
}

// ListUserConvs reads the activity index after the cursor, then the
// user_convs rows of that page in one single-partition IN query; index
// entries that disagree with their row are stale and skipped.
func (s *Store) ListUserConvs(ctx context.Context, userID string, after storage.ActivityCursor, limit int) ([]storage.UserConv, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return nil, err
	}
	if err := storage.CheckLimit(limit); err != nil {
		return nil, err
	}
	atKey, afterConv := activityKey(&after.At), after.ConvID
	started := !after.At.IsZero() || after.ConvID != ""
	var out []storage.UserConv
	for len(out) < limit {
		want := limit - len(out)
		entries, err := s.activityPage(ctx, userID, started, atKey, afterConv, want)
		if err != nil {
			return nil, err
		}
		if len(entries) == 0 {
			break
		}
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.ConvID
		}
		var rows []userConvRow
		if err := s.query(ctx, ucGetMany).Bind(userID, ids).SelectRelease(&rows); err != nil {
			return nil, s.wrap("list user conversations", err)
		}
		byConv := make(map[string]userConvRow, len(rows))
		for _, r := range rows {
			byConv[r.ConvID] = r
		}
		var stale []activityEntry
		for _, e := range entries {
			r, ok := byConv[e.ConvID]
			switch {
			case ok && activityKey(r.LastActivity) == e.Activity:
				out = append(out, r.userConv())
			case ok && activityKey(r.LastActivity) > e.Activity:
				stale = append(stale, e)
			}
		}
		s.dropStale(ctx, userID, stale)
		last := entries[len(entries)-1]
		started, atKey, afterConv = true, last.Activity, last.ConvID
		if len(entries) < want {
			break
		}
	}
	return out, nil
}

// dropStale deletes index entries a newer activity superseded (left by a
// touch that did not know the entry it replaced). Best effort: a failure
// leaves an entry that the next read skips again.
func (s *Store) dropStale(ctx context.Context, userID string, stale []activityEntry) {
	now := time.Now().UnixMicro()
	for _, e := range stale {
		if e.Activity != math.MinInt64 && e.Activity*1000 >= now {
			continue // ahead of this clock: its delete could not win
		}
		err := s.query(ctx, actDelete).Bind(now, userID, e.Activity, e.ConvID).ExecRelease()
		if err != nil {
			s.cfg.Logger.DebugContext(ctx, "cql: drop a stale activity entry", "user", userID, "conv", e.ConvID, "err", err)
			return
		}
	}
}

type activityEntry struct {
	Activity int64  `db:"activity"`
	ConvID   string `db:"conv_id"`
}

// activityPage returns up to n index entries after (atKey, afterConv) in
// index order. Two slices (ties, then older) because a multi-column slice
// over clustering columns of mixed order is not portable.
func (s *Store) activityPage(ctx context.Context, userID string, started bool, atKey int64, afterConv string, n int) ([]activityEntry, error) {
	var out []activityEntry
	if !started {
		err := s.query(ctx, actFirst).BindMap(map[string]any{"user_id": userID, "lim": n}).SelectRelease(&out)
		return out, s.wrap("read activity index", err)
	}
	err := s.query(ctx, actTies).BindMap(map[string]any{
		"user_id": userID, "activity": atKey, "after": afterConv, "lim": n,
	}).SelectRelease(&out)
	if err != nil || len(out) == n {
		return out, s.wrap("read activity index", err)
	}
	var older []activityEntry
	err = s.query(ctx, actOlder).BindMap(map[string]any{
		"user_id": userID, "before": atKey, "lim": n - len(out),
	}).SelectRelease(&older)
	return append(out, older...), s.wrap("read activity index", err)
}
