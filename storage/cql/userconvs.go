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
	ReadSeq      *int64     `db:"read_seq"`
	Pinned       bool       `db:"pinned"`
	Muted        bool       `db:"muted"`
	LastActivity *time.Time `db:"last_activity"`
}

func (r userConvRow) userConv() storage.UserConv {
	return storage.UserConv{
		UserID:       r.UserID,
		ConvID:       r.ConvID,
		ReadSeq:      u64(r.ReadSeq),
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

var ucCols = []string{"user_id", "conv_id", "read_seq", "pinned", "muted", "last_activity"}

var (
	ucGet     = mk(qb.Select("user_convs").Columns(ucCols...).Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucGetMany = mk(qb.Select("user_convs").Columns(ucCols...).Where(qb.Eq("user_id"), qb.In("conv_id")).ToCql())
	// "IF read_seq = null" also applies when the row is missing.
	ucReadIfNull = mk(qb.Update("user_convs").SetNamed("read_seq", "seq").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).If(qb.EqLit("read_seq", "null")).ToCql())
	ucReadIfLess = mk(qb.Update("user_convs").SetNamed("read_seq", "seq").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).If(qb.LtNamed("read_seq", "seq")).ToCql())
	ucSetPinned   = mk(qb.Update("user_convs").Set("pinned").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetMuted    = mk(qb.Update("user_convs").Set("muted").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetActivity = mk(qb.Update("user_convs").Set("last_activity").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())

	actInsert = mk(qb.Insert("user_conv_activity").Columns("user_id", "activity", "conv_id").ToCql())
	actDelete = mk(qb.Delete("user_conv_activity").Where(qb.Eq("user_id"), qb.Eq("activity"), qb.Eq("conv_id")).ToCql())
	actFirst  = mk(qb.Select("user_conv_activity").Columns("activity", "conv_id").
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

// AdvanceReadCursor raises read_seq with a lightweight transaction, so
// concurrent calls cannot move it backwards. Like every first write of a
// user's conversation state it also lists the conversation (with no
// activity yet) in the activity index.
func (s *Store) AdvanceReadCursor(ctx context.Context, userID, convID string, seq uint64) (uint64, error) {
	if err := s.checkUserConv(userID, convID); err != nil {
		return 0, err
	}
	if err := checkSeq("read seq", seq); err != nil {
		return 0, err
	}
	key := map[string]any{"user_id": userID, "conv_id": convID, "seq": int64(seq)}
	var unindexed bool
	got, err := s.raise(ctx, seq,
		func() (*int64, error) {
			row, found, err := s.getUserConv(ctx, userID, convID)
			unindexed = !found || row.LastActivity == nil
			return row.ReadSeq, err
		},
		func(ifNull bool) (bool, *int64, error) {
			st := ucReadIfLess
			if ifNull {
				st = ucReadIfNull
			}
			var cur struct {
				ReadSeq *int64 `db:"read_seq"`
			}
			applied, err := s.lwt(ctx, st).BindMap(key).GetCASRelease(&cur)
			return applied, cur.ReadSeq, s.wrap("advance read cursor", err)
		})
	if err != nil {
		return 0, err
	}
	if unindexed {
		if err := s.indexInactive(ctx, userID, convID); err != nil {
			return 0, err
		}
	}
	return got, nil
}

// indexInactive lists a conversation without activity in the activity
// index. Idempotent; if a touch races it, the entry is stale and skipped.
func (s *Store) indexInactive(ctx context.Context, userID, convID string) error {
	err := s.query(ctx, actInsert).Bind(userID, int64(math.MinInt64), convID).ExecRelease()
	return s.wrap(fmt.Sprintf("index %q/%q", userID, convID), err)
}

// raise moves a monotonic bigint up to target: read it, then a conditional
// update (IF v = null, or IF v < target); when another writer got there
// first the returned value decides, or the loop reads again.
func (s *Store) raise(ctx context.Context, target uint64, read func() (*int64, error),
	update func(ifNull bool) (applied bool, cur *int64, err error)) (uint64, error) {
	for attempt := 0; ; attempt++ {
		cur, err := read()
		if err != nil {
			return 0, err
		}
		if cur != nil && uint64(*cur) >= target {
			return uint64(*cur), nil
		}
		applied, now, err := update(cur == nil)
		if err != nil {
			return 0, err
		}
		if applied {
			return target, nil
		}
		if now != nil && uint64(*now) >= target {
			return uint64(*now), nil
		}
		if attempt >= 10 {
			return 0, fmt.Errorf("cql: raise a cursor to %d: still contended after %d attempts", target, attempt+1)
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
	}
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
// index entry in the same logged batch.
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
	b := s.sess.Session.NewBatch(gocql.LoggedBatch).WithContext(ctx)
	b.Query(st.cql, v, userID, convID)
	b.Query(actInsert.cql, userID, int64(math.MinInt64), convID)
	return s.wrap(op, s.sess.Session.ExecuteBatch(b))
}

// TouchConversation moves last_activity forward and its index entry with
// it (delete old + insert new), all in one logged batch. The user grain is
// the single writer of its rows; should two calls still race, the index
// may keep a stale entry, which ListUserConvs recognises and skips.
func (s *Store) TouchConversation(ctx context.Context, userID, convID string, at time.Time) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	at = storage.Millis(at)
	if at.IsZero() {
		return nil
	}
	row, _, err := s.getUserConv(ctx, userID, convID)
	if err != nil {
		return err
	}
	old := fromTS(row.LastActivity)
	if !at.After(old) {
		return nil
	}
	b := s.sess.Session.NewBatch(gocql.LoggedBatch).WithContext(ctx)
	b.Query(ucSetActivity.cql, at, userID, convID)
	b.Query(actDelete.cql, userID, activityKey(row.LastActivity), convID)
	b.Query(actInsert.cql, userID, at.UnixMilli(), convID)
	return s.wrap(fmt.Sprintf("touch %q/%q", userID, convID), s.sess.Session.ExecuteBatch(b))
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
		for _, e := range entries {
			if r, ok := byConv[e.ConvID]; ok && activityKey(r.LastActivity) == e.Activity {
				out = append(out, r.userConv())
			}
		}
		last := entries[len(entries)-1]
		started, atKey, afterConv = true, last.Activity, last.ConvID
		if len(entries) < want {
			break
		}
	}
	return out, nil
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
