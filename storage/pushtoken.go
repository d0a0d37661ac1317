package storage

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// PushToken is one device's registration with a platform push service,
// used to notify the user while none of its devices is connected.
type PushToken struct {
	UserID   string
	DeviceID string
	Platform string // "apns", "fcm" or "webhook" (the deployment's own relay)
	Token    string // the platform's device token, opaque here
	// VoIPToken: on iOS ("apns"), the app's PushKit token, by which a call
	// rings the phone as a call (CallKit) rather than as a notification;
	// empty: none. At most MaxPushTokenBytes.
	VoIPToken string
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
	return CheckPushRegistration(t.Platform, t.Token, t.VoIPToken)
}

// CheckPushRegistration is the rule for a device's push registration,
// wherever it is first read (the protocol) and where it is stored.
func CheckPushRegistration(platform, token, voipToken string) error {
	if !slices.Contains(PushPlatforms, platform) {
		return fmt.Errorf("push platform %q is not one of %v: %w", platform, PushPlatforms, ErrInvalid)
	}
	switch {
	case token == "":
		return fmt.Errorf("push token is empty: %w", ErrInvalid)
	case len(token) > MaxPushTokenBytes:
		return fmt.Errorf("push token is %d bytes, limit %d: %w", len(token), MaxPushTokenBytes, ErrInvalid)
	case !utf8.ValidString(token):
		return fmt.Errorf("push token is not UTF-8: %w", ErrInvalid)
	case voipToken != "" && platform != "apns":
		return fmt.Errorf("a VoIP push token is for platform apns, not %q: %w", platform, ErrInvalid)
	case len(voipToken) > MaxPushTokenBytes:
		return fmt.Errorf("VoIP push token is %d bytes, limit %d: %w", len(voipToken), MaxPushTokenBytes, ErrInvalid)
	case !utf8.ValidString(voipToken):
		return fmt.Errorf("VoIP push token is not UTF-8: %w", ErrInvalid)
	}
	return nil
}
