package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/gocql/gocql"
	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type deviceRow struct {
	UserID    string     `db:"user_id"`
	DeviceID  string     `db:"device_id"`
	Cursor    *int64     `db:"cursor"`     // written by conditional updates before 0002
	CursorMax *int64     `db:"cursor_max"` // max-wins
	LastSeen  *time.Time `db:"last_seen"`
}

func (r deviceRow) device() storage.Device {
	return storage.Device{UserID: r.UserID, DeviceID: r.DeviceID, Cursor: max(u64(r.Cursor), u64(r.CursorMax)), LastSeen: fromTS(r.LastSeen)}
}

var devCols = []string{"user_id", "device_id", "cursor", "cursor_max", "last_seen"}

var (
	devGet  = mk(qb.Select("devices").Columns(devCols...).Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
	devList = mk(qb.Select("devices").Columns(devCols...).Where(qb.Eq("user_id")).ToCql())
	// Max-wins: the timestamp is the value, so the highest value wins.
	devCursor = mk(qb.Update("devices").TimestampNamed("ts").Set("cursor_max").
			Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
	devSeen = mk(qb.Update("devices").TimestampNamed("seen_ts").Set("last_seen").
		Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
)

// SetDeviceCursor is a max-wins write of the cursor (USING TIMESTAMP =
// the cursor) and of the last-seen time (USING TIMESTAMP = its
// microseconds), one single-partition batch: no lightweight transaction
// and no read before the write. The resulting cursor comes from the
// remembered highest cursor (devCursors); without one, the row is read in
// parallel with the write.
func (s *Store) SetDeviceCursor(ctx context.Context, userID, deviceID string, cursor uint64, seen time.Time) (uint64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return 0, err
	}
	if err := s.lim.CheckID("device", deviceID); err != nil {
		return 0, err
	}
	if err := checkSeq("device cursor", cursor); err != nil {
		return 0, err
	}
	seen = storage.Millis(seen)
	write := func() error {
		b := s.sess.Session.NewBatch(gocql.UnloggedBatch).WithContext(ctx)
		b.Query(devCursor.cql, int64(cursor), int64(cursor), userID, deviceID)
		if !seen.IsZero() {
			b.Query(devSeen.cql, seen.UnixMicro(), seen, userID, deviceID)
		}
		return s.wrap(fmt.Sprintf("set device cursor %q/%q", userID, deviceID), s.sess.Session.ExecuteBatch(b))
	}
	if known, ok := s.devCursors.get(userID, deviceID); ok {
		if err := write(); err != nil {
			return 0, err
		}
		got := max(cursor, uint64(known))
		s.devCursors.raise(userID, deviceID, int64(got))
		return got, nil
	}
	var row deviceRow
	var found bool
	err := parallel(2, 2, func(i int) error {
		if i == 1 {
			r, err := s.getDevice(ctx, userID, deviceID)
			row, found = r, err == nil
			if isNotFound(err) {
				err = nil
			}
			return err
		}
		return write()
	})
	if err != nil {
		return 0, err
	}
	got := cursor
	if found {
		got = max(cursor, row.device().Cursor)
	}
	s.devCursors.raise(userID, deviceID, int64(got))
	return got, nil
}

func (s *Store) getDevice(ctx context.Context, userID, deviceID string) (deviceRow, error) {
	var row deviceRow
	err := s.query(ctx, devGet).Bind(userID, deviceID).GetRelease(&row)
	return row, s.wrap(fmt.Sprintf("get device %q/%q", userID, deviceID), err)
}

// ListDevices reads the user's partition (ordered by device id).
func (s *Store) ListDevices(ctx context.Context, userID string) ([]storage.Device, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return nil, err
	}
	var rows []deviceRow
	if err := s.query(ctx, devList).Bind(userID).SelectRelease(&rows); err != nil {
		return nil, s.wrap(fmt.Sprintf("list devices of %q", userID), err)
	}
	out := make([]storage.Device, len(rows))
	for i, r := range rows {
		out[i] = r.device()
	}
	return out, nil
}
