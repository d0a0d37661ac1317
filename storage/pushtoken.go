package storage

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// PushToken is one device's registration with a platform push service,
// used to notify the user while none of its devices is connected.
type PushToken struct {
	UserID    string
	DeviceID  string
	Platform  string // "apns", "fcm" or "webhook" (the deployment's own relay)
	Token     string // the platform's device token, opaque here
	UpdatedAt time.Time
}

// MaxPushTokenBytes bounds a push token (APNs tokens are 64 hex
// characters, FCM registration tokens about 160 bytes; room to spare).
const MaxPushTokenBytes = 1024

// PushPlatforms are the platforms a push token may name.
var PushPlatforms = []string{"apns", "fcm", "webhook"}

// CheckPushToken validates t before a write.
func (l Limits) CheckPushToken(t PushToken) error {
	if err := l.CheckID("user", t.UserID); err != nil {
		return err
	}
	if err := l.CheckID("device", t.DeviceID); err != nil {
		return err
	}
	known := false
	for _, p := range PushPlatforms {
		known = known || p == t.Platform
	}
	if !known {
		return fmt.Errorf("push platform %q is not one of %v: %w", t.Platform, PushPlatforms, ErrInvalid)
	}
	switch {
	case t.Token == "":
		return fmt.Errorf("push token is empty: %w", ErrInvalid)
	case len(t.Token) > MaxPushTokenBytes:
		return fmt.Errorf("push token is %d bytes, limit %d: %w", len(t.Token), MaxPushTokenBytes, ErrInvalid)
	case !utf8.ValidString(t.Token):
		return fmt.Errorf("push token is not UTF-8: %w", ErrInvalid)
	}
	return nil
}
