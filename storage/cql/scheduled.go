package cql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

// Scheduled sends: a row under the user, and an index row under the day
// and time it is due. The index is written before the row and removed
// after it, so a crash between the two leaves an index row pointing at
// nothing (ScheduledDue drops it on the way), never a send nobody finds.

type scheduledRow struct {
	UserID    string     `db:"user_id"`
	ID        string     `db:"id"`
	DueAt     *time.Time `db:"due_at"`
	CreatedAt *time.Time `db:"created_at"`
	Send      []byte     `db:"send"`
}

func (r scheduledRow) scheduled() storage.ScheduledSend {
	return storage.ScheduledSend{User: r.UserID, ID: r.ID, DueAt: fromTS(r.DueAt), CreatedAt: fromTS(r.CreatedAt), Send: r.Send}
}

var scheduledCols = []string{"user_id", "id", "due_at", "created_at", "send"}

var (
	scheduledInsert = mk(qb.Insert("scheduled_sends").Columns(scheduledCols...).ToCql())
	scheduledGet    = mk(qb.Select("scheduled_sends").Columns(scheduledCols...).Where(qb.Eq("user_id"), qb.Eq("id")).ToCql())
	scheduledOfUser = mk(qb.Select("scheduled_sends").Columns(scheduledCols...).Where(qb.Eq("user_id")).LimitNamed("lim").ToCql())
	scheduledDelete = mk(qb.Delete("scheduled_sends").Where(qb.Eq("user_id"), qb.Eq("id")).ToCql())
	dueInsert       = mk(qb.Insert("scheduled_due").Columns("day", "due_at", "user_id", "id").ToCql())
	dueList         = mk(qb.Select("scheduled_due").Columns("due_at", "user_id", "id").Where(qb.Eq("day"), qb.LtOrEq("due_at")).ToCql())
	dueDelete       = mk(qb.Delete("scheduled_due").Where(qb.Eq("day"), qb.Eq("due_at"), qb.Eq("user_id"), qb.Eq("id")).ToCql())
)

func (s *Store) scheduledIfAny(ctx context.Context, user, id string) (storage.ScheduledSend, bool, error) {
	var row scheduledRow
	err := s.query(ctx, scheduledGet).Bind(user, id).GetRelease(&row)
	if err != nil {
		err = s.wrap(fmt.Sprintf("get scheduled send %s/%s", user, id), err)
		if errors.Is(err, storage.ErrNotFound) {
			return storage.ScheduledSend{}, false, nil
		}
		return storage.ScheduledSend{}, false, err
	}
	return row.scheduled(), true, nil
}

func (s *Store) PutScheduled(ctx context.Context, sc storage.ScheduledSend) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckScheduled(sc); err != nil {
		return err
	}
	op := fmt.Sprintf("schedule %s/%s", sc.User, sc.ID)
	old, found, err := s.scheduledIfAny(ctx, sc.User, sc.ID)
	if err != nil {
		return err
	}
	due := storage.Millis(sc.DueAt)
	if err := s.query(ctx, dueInsert).Bind(storage.ScheduleDay(due), due, sc.User, sc.ID).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	row := scheduledRow{UserID: sc.User, ID: sc.ID, DueAt: ts(due), CreatedAt: ts(sc.CreatedAt), Send: sc.Send}
	if err := s.query(ctx, scheduledInsert).BindStruct(row).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	if found && !old.DueAt.Equal(due) {
		return s.wrap(op, s.query(ctx, dueDelete).Bind(storage.ScheduleDay(old.DueAt), old.DueAt, sc.User, sc.ID).ExecRelease())
	}
	return nil
}

func (s *Store) ScheduledOf(ctx context.Context, user string, limit int) ([]storage.ScheduledSend, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", user); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("cql: limit %d: %w", limit, storage.ErrInvalid)
	}
	var rows []scheduledRow
	if err := s.query(ctx, scheduledOfUser).Bind(user, limit).SelectRelease(&rows); err != nil {
		return nil, s.wrap(fmt.Sprintf("scheduled sends of %s", user), err)
	}
	out := make([]storage.ScheduledSend, len(rows))
	for i, r := range rows {
		out[i] = r.scheduled()
	}
	return out, nil
}

// ScheduledDue reads the day's index up to until and each send's row; an
// index row whose send is gone, or is now due at another time, is
// dropped on the way.
func (s *Store) ScheduledDue(ctx context.Context, day, until time.Time, limit int) ([]storage.ScheduledSend, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, fmt.Errorf("cql: limit %d: %w", limit, storage.ErrInvalid)
	}
	day = storage.ScheduleDay(day)
	iter := s.query(ctx, dueList).Bind(day, storage.Millis(until)).PageSize(500).Iter()
	var idx struct {
		DueAt  time.Time `db:"due_at"`
		UserID string    `db:"user_id"`
		ID     string    `db:"id"`
	}
	var out []storage.ScheduledSend
	for len(out) < limit && iter.StructScan(&idx) {
		sc, found, err := s.scheduledIfAny(ctx, idx.UserID, idx.ID)
		if err != nil {
			_ = iter.Close()
			return out, err
		}
		if !found || !sc.DueAt.Equal(storage.Millis(idx.DueAt)) {
			if err := s.query(ctx, dueDelete).Bind(day, idx.DueAt, idx.UserID, idx.ID).ExecRelease(); err != nil {
				_ = iter.Close()
				return out, s.wrap("drop a stale scheduled-send index row", err)
			}
			continue
		}
		out = append(out, sc)
	}
	if err := iter.Close(); err != nil {
		return out, s.wrap(fmt.Sprintf("scheduled sends due on %v", day), err)
	}
	return out, nil
}

func (s *Store) DeleteScheduled(ctx context.Context, user, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("user", user); err != nil {
		return err
	}
	if err := s.lim.CheckID("scheduled send", id); err != nil {
		return err
	}
	old, found, err := s.scheduledIfAny(ctx, user, id)
	if err != nil || !found {
		return err
	}
	op := fmt.Sprintf("delete scheduled send %s/%s", user, id)
	if err := s.query(ctx, scheduledDelete).Bind(user, id).ExecRelease(); err != nil {
		return s.wrap(op, err)
	}
	return s.wrap(op, s.query(ctx, dueDelete).Bind(storage.ScheduleDay(old.DueAt), old.DueAt, user, id).ExecRelease())
}
