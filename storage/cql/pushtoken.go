package cql

import (
	"context"
	"fmt"
	"time"

	"github.com/scylladb/gocqlx/v2/qb"

	"github.com/switchboard-im/switchboard/storage"
)

type pushTokenRow struct {
	UserID    string     `db:"user_id"`
	DeviceID  string     `db:"device_id"`
	Platform  string     `db:"platform"`
	Token     string     `db:"push_token"`
	VoIPToken *string    `db:"voip_token"` // null in rows written before it
	UpdatedAt *time.Time `db:"updated_at"`
}

var pushCols = []string{"user_id", "device_id", "platform", "push_token", "voip_token", "updated_at"}

var (
	pushSet  = mk(qb.Insert("push_tokens").Columns(pushCols...).ToCql())
	pushList = mk(qb.Select("push_tokens").Columns(pushCols...).Where(qb.Eq("user_id")).ToCql())
	pushDel  = mk(qb.Delete("push_tokens").Where(qb.Eq("user_id"), qb.Eq("device_id")).ToCql())
	// Conditional: a token re-registered since the gateway rejected the
	// old one stays.
	pushDelIf = mk(qb.Delete("push_tokens").Where(qb.Eq("user_id"), qb.Eq("device_id")).If(qb.Eq("push_token")).ToCql())
)

// SetPushToken upserts the device's row.
func (s *Store) SetPushToken(ctx context.Context, t storage.PushToken) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckPushToken(t); err != nil {
		return err
	}
	at := storage.Millis(t.UpdatedAt)
	err := s.query(ctx, pushSet).BindStruct(pushTokenRow{UserID: t.UserID, DeviceID: t.DeviceID, Platform: t.Platform, Token: t.Token,
		VoIPToken: &t.VoIPToken, UpdatedAt: &at}).ExecRelease()
	return s.wrap(fmt.Sprintf("set push token %q/%q", t.UserID, t.DeviceID), err)
}

// DeletePushToken deletes the row; with token set, conditionally (a
// lightweight transaction: rejected tokens are rare).
func (s *Store) DeletePushToken(ctx context.Context, userID, deviceID, token string) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return err
	}
	if err := s.lim.CheckID("device", deviceID); err != nil {
		return err
	}
	op := fmt.Sprintf("delete push token %q/%q", userID, deviceID)
	if token == "" {
		return s.wrap(op, s.query(ctx, pushDel).Bind(userID, deviceID).ExecRelease())
	}
	_, err := s.lwt(ctx, pushDelIf).Bind(userID, deviceID, token).ExecCASRelease()
	return s.wrap(op, err)
}

// ListPushTokens reads the user's partition (ordered by device id).
func (s *Store) ListPushTokens(ctx context.Context, userID string) ([]storage.PushToken, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if err := s.lim.CheckID("user", userID); err != nil {
		return nil, err
	}
	var rows []pushTokenRow
	if err := s.query(ctx, pushList).Bind(userID).SelectRelease(&rows); err != nil {
		return nil, s.wrap(fmt.Sprintf("list push tokens of %q", userID), err)
	}
	out := make([]storage.PushToken, len(rows))
	for i, r := range rows {
		out[i] = storage.PushToken{UserID: r.UserID, DeviceID: r.DeviceID, Platform: r.Platform, Token: r.Token, UpdatedAt: fromTS(r.UpdatedAt)}
		if r.VoIPToken != nil {
			out[i].VoIPToken = *r.VoIPToken
		}
	}
	return out, nil
}
