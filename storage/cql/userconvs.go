package cql

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	ArchivedSeq  *int64     `db:"archived_seq"`  // null before 0012
	MarkedUnread bool       `db:"marked_unread"` // null (false) before 0013
	MutedUntil   *time.Time `db:"muted_until"`   // null before 0016; the epoch: no end
	LastActivity *time.Time `db:"last_activity"`
	Labels       *string    `db:"labels"` // null before 0018; one per line
	// ArchivedUntil is null before 0019; the epoch: no end.
	ArchivedUntil *time.Time `db:"archived_until"`
}

func (r userConvRow) userConv() storage.UserConv {
	return storage.UserConv{
		UserID:        r.UserID,
		ConvID:        r.ConvID,
		ReadSeq:       max(u64(r.ReadSeq), u64(r.ReadMax)),
		Pinned:        r.Pinned,
		Muted:         r.Muted,
		ArchivedSeq:   u64(r.ArchivedSeq),
		MarkedUnread:  r.MarkedUnread,
		MutedUntil:    mutedUntil(r.MutedUntil),
		LastActivity:  fromTS(r.LastActivity),
		Labels:        splitLabels(r.Labels),
		ArchivedUntil: mutedUntil(r.ArchivedUntil),
	}
}

// splitLabels reads the labels column: one label per line ("" or null:
// none).
func splitLabels(v *string) []string {
	if v == nil || *v == "" {
		return nil
	}
	return strings.Split(*v, "\n")
}

var ucCols = []string{"user_id", "conv_id", "read_seq", "read_max", "pinned", "muted", "archived_seq", "marked_unread", "muted_until", "last_activity", "labels", "archived_until"}

var (
	ucGet = mk(qb.Select("user_convs").Columns(ucCols...).Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	// Max-wins writes: the timestamp is the value (the seq; the activity's
	// microseconds), so the highest value wins in any order of arrival.
	ucReadMax = mk(qb.Update("user_convs").TimestampNamed("ts").SetNamed("read_max", "seq").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetPinned   = mk(qb.Update("user_convs").Set("pinned").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetArchived = mk(qb.Update("user_convs").Set("archived_seq", "archived_until").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetMarked   = mk(qb.Update("user_convs").Set("marked_unread").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetLabels   = mk(qb.Update("user_convs").Set("labels").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetMuted    = mk(qb.Update("user_convs").Set("muted", "muted_until").Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
	ucSetActivity = mk(qb.Update("user_convs").TimestampNamed("ts").Set("last_activity").
			Where(qb.Eq("user_id"), qb.Eq("conv_id")).ToCql())
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
// (readCursors); without one, the row is read in parallel with the write.
// A seq at or below the remembered cursor writes nothing.
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
	err := parallel(2, 2, func(i int) error {
		if i == 1 {
			var err error
			row, _, err = s.getUserConv(ctx, userID, convID)
			return err
		}
		return write()
	})
	if err != nil {
		return 0, err
	}
	got := max(seq, row.userConv().ReadSeq)
	s.readCursors.raise(userID, convID, int64(got))
	return got, nil
}

// SetPinned sets one column.
func (s *Store) SetPinned(ctx context.Context, userID, convID string, pinned bool) error {
	return s.setFlag(ctx, ucSetPinned, userID, convID, pinned)
}

// SetMuted sets the flag and its end, without a read. No end is written
// as the epoch, not a null: a null written is a tombstone.
func (s *Store) SetMuted(ctx context.Context, userID, convID string, muted bool, until time.Time) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	if !muted {
		until = time.Time{}
	}
	op := fmt.Sprintf("set muted of %q/%q", userID, convID)
	return s.wrap(op, s.query(ctx, ucSetMuted).Bind(muted, untilColumn(until), userID, convID).ExecRelease())
}

// untilColumn writes an end: zero (no end) as the epoch, never a null,
// which would be a tombstone.
func untilColumn(until time.Time) time.Time {
	if until.IsZero() {
		return time.UnixMilli(0).UTC()
	}
	return storage.Millis(until)
}

// mutedUntil reads an end column (muted_until, archived_until): null
// (never written) and the epoch are no end.
func mutedUntil(t *time.Time) time.Time {
	if t == nil || t.UnixMilli() <= 0 {
		return time.Time{}
	}
	return storage.Millis(*t)
}

// SetMarkedUnread sets one column.
func (s *Store) SetMarkedUnread(ctx context.Context, userID, convID string, marked bool) error {
	return s.setFlag(ctx, ucSetMarked, userID, convID, marked)
}

// SetArchived sets two columns, without a read; "no end" is written as
// the epoch, never a null (a tombstone), as muted_until is.
func (s *Store) SetArchived(ctx context.Context, userID, convID string, seq uint64, until time.Time) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	if err := checkSeq("archived seq", seq); err != nil {
		return err
	}
	op := fmt.Sprintf("set archived_seq of %q/%q", userID, convID)
	return s.wrap(op, s.query(ctx, ucSetArchived).Bind(int64(seq), untilColumn(until), userID, convID).ExecRelease())
}

// SetLabels sets one column, without a read: the labels one per line,
// "" for none (never a null, which would be a tombstone).
func (s *Store) SetLabels(ctx context.Context, userID, convID string, labels []string) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	if err := storage.CheckLabels(labels); err != nil {
		return err
	}
	op := fmt.Sprintf("set labels of %q/%q", userID, convID)
	return s.wrap(op, s.query(ctx, ucSetLabels).Bind(strings.Join(labels, "\n"), userID, convID).ExecRelease())
}

// setFlag is an upsert of one boolean, without a read.
func (s *Store) setFlag(ctx context.Context, st stmt, userID, convID string, v bool) error {
	if err := s.checkUserConv(userID, convID); err != nil {
		return err
	}
	op := fmt.Sprintf("set %s of %q/%q", st.names[0], userID, convID)
	return s.wrap(op, s.query(ctx, st).Bind(v, userID, convID).ExecRelease())
}

// TouchConversation moves last_activity forward without a read: one
// max-wins write (USING TIMESTAMP = the activity's microseconds). A touch
// at or below the activity this store remembers writes nothing.
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
	err := s.query(ctx, ucSetActivity).Bind(at.UnixMicro(), at, userID, convID).ExecRelease()
	if err != nil {
		return s.wrap(fmt.Sprintf("touch %q/%q", userID, convID), err)
	}
	s.activity.raise(userID, convID, at.UnixMilli())
	return nil
}
