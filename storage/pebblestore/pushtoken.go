package pebblestore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/switchboard-im/switchboard/storage"
)

// Push tokens: one key per device, beside (not inside) the device cursor
// row, so the hot cursor writes never rewrite the token.

func pushTokenKey(user, device string) []byte { return key(tagPushToken, user, device) }

func encodePushToken(t storage.PushToken) []byte {
	e := newEncoder(16 + len(t.Platform) + len(t.Token) + len(t.VoIPToken))
	e.string(t.Platform)
	e.string(t.Token)
	e.time(t.UpdatedAt)
	e.string(t.VoIPToken) // last: rows written before it have none
	return e.b
}

func decodePushToken(user, device string, b []byte) (storage.PushToken, error) {
	d := newDecoder(b)
	t := storage.PushToken{UserID: user, DeviceID: device}
	t.Platform = d.string()
	t.Token = d.string()
	t.UpdatedAt = d.time()
	if len(d.b) > 0 {
		t.VoIPToken = d.string()
	}
	return t, d.err
}

func (s *Store) SetPushToken(ctx context.Context, t storage.PushToken) error {
	if err := s.limits.CheckPushToken(t); err != nil {
		return err
	}
	t.UpdatedAt = storage.Millis(t.UpdatedAt)
	k := pushTokenKey(t.UserID, t.DeviceID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		return b.Set(k, encodePushToken(t), nil)
	})
}

func (s *Store) DeletePushToken(ctx context.Context, userID, deviceID, token string) error {
	if err := s.checkPair("user", userID, "device", deviceID); err != nil {
		return err
	}
	k := pushTokenKey(userID, deviceID)
	return s.commit.do(ctx, func(b *pebble.Batch) error {
		if token != "" {
			v, found, err := get(b, k)
			if err != nil || !found {
				return err
			}
			cur, err := decodePushToken(userID, deviceID, v)
			if err != nil {
				return err
			}
			if cur.Token != token {
				return nil // re-registered since: keep the new token
			}
		}
		return b.Delete(k, nil)
	})
}

func (s *Store) ListPushTokens(ctx context.Context, userID string) ([]storage.PushToken, error) {
	if err := s.limits.CheckID("user", userID); err != nil {
		return nil, err
	}
	p := prefix(tagPushToken, userID)
	var out []storage.PushToken
	err := s.scan(p, upperBound(p), false, func(k, v []byte) (bool, error) {
		t, err := decodePushToken(userID, string(k[len(p):]), v)
		out = append(out, t)
		return true, err
	})
	if err != nil {
		return nil, fmt.Errorf("list push tokens of %q: %w", userID, err)
	}
	return out, nil
}
