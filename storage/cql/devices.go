package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type deviceRow struct {
	UserID   string     `db:"user_id"`
	DeviceID string     `db:"device_id"`
	Cursor   *int64     `db:"cursor"`
	LastSeen *time.Time `db:"last_seen"`
}

func (r deviceRow) device() storage.Device {
	return storage.Device{UserID: r.UserID, DeviceID: r.DeviceID, Cursor: u64(r.Cursor), LastSeen: fromTS(r.LastSeen)}
}

var devCols = []string{"user_id", "device_id", "cursor", "last_seen"}

var (
	devGet    = mk(qb.Select("devices").Columns(devCols...).Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
	devList   = mk(qb.Select("devices").Columns(devCols...).Where(qb.Eq("user_id")).ToCql())
	devIfNull = mk(qb.Update("devices").Set("cursor").
			Where(qb.Eq("user_id"), qb.Eq("device_id")).If(qb.EqLit("cursor", "null")).ToCql())
	devIfLess = mk(qb.Update("devices").Set("cursor").
			Where(qb.Eq("user_id"), qb.Eq("device_id")).If(qb.LtNamed("cursor", "cursor")).ToCql())
	devSeen = mk(qb.Update("devices").Set("last_seen").Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
)

// SetDeviceCursor raises the cursor with a lightweight transaction (like
// AdvanceReadCursor), then records seen as the last-seen time (a plain
// write: it is informational, not monotonic).
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
	args := map[string]any{"user_id": userID, "device_id": deviceID, "cursor": int64(cursor), "last_seen": ts(seen)}
	got, err := s.raise(ctx, cursor,
		func() (*int64, error) {
			row, err := s.getDevice(ctx, userID, deviceID)
			if err != nil && !isNotFound(err) {
				return nil, err
			}
			if err != nil {
				return nil, nil
			}
			return row.Cursor, nil
		},
		func(ifNull bool) (bool, *int64, error) {
			st := devIfLess
			if ifNull {
				st = devIfNull
			}
			var cur struct {
				Cursor *int64 `db:"cursor"`
			}
			applied, err := s.lwt(ctx, st).BindMap(args).GetCASRelease(&cur)
			return applied, cur.Cursor, s.wrap("set device cursor", err)
		})
	if err != nil {
		return 0, err
	}
	if !seen.IsZero() {
		err := s.query(ctx, devSeen).BindMap(args).ExecRelease()
		if err != nil {
			return 0, s.wrap(fmt.Sprintf("set device last seen %q/%q", userID, deviceID), err)
		}
	}
	return got, nil
}

func (s *Store) getDevice(ctx context.Context, userID, deviceID string) (deviceRow, error) {
	var row deviceRow
	err := s.query(ctx, devGet).Bind(userID, deviceID).GetRelease(&row)
	return row, s.wrap(fmt.Sprintf("get device %q/%q", userID, deviceID), err)
}

// GetDevice reads one device row.
func (s *Store) GetDevice(ctx context.Context, userID, deviceID string) (storage.Device, error) {
	if err := s.check(); err != nil {
		return storage.Device{}, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return storage.Device{}, err
	}
	if err := s.lim.CheckID("device", deviceID); err != nil {
		return storage.Device{}, err
	}
	row, err := s.getDevice(ctx, userID, deviceID)
	if err != nil {
		return storage.Device{}, err
	}
	return row.device(), nil
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
