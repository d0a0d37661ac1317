package storagetest

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/storage"
)

func testPushTokens(t *testing.T, s storage.Store, id func(string) string) {
	c := ctx(t)
	u := id("u")
	ts, err := s.ListPushTokens(c, u)
	must(t, err)
	if len(ts) != 0 {
		t.Fatalf("push tokens of a new user: %+v", ts)
	}
	must(t, s.SetPushToken(c, storage.PushToken{UserID: u, DeviceID: "phone", Platform: "apns", Token: "tok-1", UpdatedAt: at(1)}))
	must(t, s.SetPushToken(c, storage.PushToken{UserID: u, DeviceID: "tablet", Platform: "fcm", Token: "tok-t", UpdatedAt: at(1)}))
	// A new registration replaces the device's token.
	must(t, s.SetPushToken(c, storage.PushToken{UserID: u, DeviceID: "phone", Platform: "apns", Token: "tok-2", VoIPToken: "voip-2", UpdatedAt: at(2)}))
	ts, err = s.ListPushTokens(c, u)
	must(t, err)
	if len(ts) != 2 || ts[0].DeviceID != "phone" || ts[0].Token != "tok-2" || ts[0].VoIPToken != "voip-2" || ts[0].Platform != "apns" || !ts[0].UpdatedAt.Equal(at(2)) ||
		ts[1].DeviceID != "tablet" || ts[1].Platform != "fcm" || ts[1].VoIPToken != "" {
		t.Fatalf("tokens %+v", ts)
	}
	// A gateway rejected the old token: the newer registration stays.
	must(t, s.DeletePushToken(c, u, "phone", "tok-1"))
	// Deleting what is not there is no error.
	must(t, s.DeletePushToken(c, u, "watch", "x"))
	must(t, s.DeletePushToken(c, u, "watch", ""))
	ts, err = s.ListPushTokens(c, u)
	must(t, err)
	if len(ts) != 2 {
		t.Fatalf("a stale token's delete removed the newer one: %+v", ts)
	}
	must(t, s.DeletePushToken(c, u, "phone", "tok-2"))
	must(t, s.DeletePushToken(c, u, "tablet", ""))
	ts, err = s.ListPushTokens(c, u)
	must(t, err)
	if len(ts) != 0 {
		t.Fatalf("tokens after deletes: %+v", ts)
	}
	for _, bad := range []storage.PushToken{
		{UserID: u, DeviceID: "d", Platform: "pager", Token: "x"},
		{UserID: u, DeviceID: "d", Platform: "apns", Token: ""},
		{UserID: u, DeviceID: "d", Platform: "apns", Token: strings.Repeat("a", storage.MaxPushTokenBytes+1)},
		{UserID: u, DeviceID: "", Platform: "apns", Token: "x"},
		{UserID: "", DeviceID: "d", Platform: "apns", Token: "x"},
		{UserID: u, DeviceID: "d", Platform: "fcm", Token: "x", VoIPToken: "v"}, // PushKit is Apple's
		{UserID: u, DeviceID: "d", Platform: "apns", Token: "x", VoIPToken: strings.Repeat("v", storage.MaxPushTokenBytes+1)},
		{UserID: u, DeviceID: "d", Platform: "apns", Token: "x", VoIPToken: "\xff"},
	} {
		if err := s.SetPushToken(c, bad); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("SetPushToken(%.40v): %v, want ErrInvalid", bad, err)
		}
	}
	// The longest token accepted.
	must(t, s.SetPushToken(c, storage.PushToken{UserID: u, DeviceID: "d", Platform: "webhook", Token: strings.Repeat("a", storage.MaxPushTokenBytes)}))
	must(t, s.SetPushToken(c, storage.PushToken{UserID: u, DeviceID: "d", Platform: "apns", Token: "x", VoIPToken: strings.Repeat("v", storage.MaxPushTokenBytes)}))
}
