package push_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/switchboard-im/switchboard/push"
)

// TestWordsInEnglish: each key's English, with its arguments in place.
func TestWordsInEnglish(t *testing.T) {
	for _, tc := range []struct {
		words push.Words
		want  string
	}{
		{push.Say(push.KeyNewMessage), "New message"},
		{push.Say(push.KeyNewMessages, "3"), "3 new messages"},
		{push.Say(push.KeyJoinRequest), "asks to join"},
		{push.Say(push.KeyJoinRequestNote, "I'm Sam's father"), "asks to join: I'm Sam's father"},
		{push.Say(push.KeyIncomingCall), "Incoming call"},
		{push.Say(push.KeyIncomingVideoCall), "Incoming video call"},
		{push.Say(push.KeyMissedCall), "Missed call"},
		{push.Say(push.KeyMissedVideoCall), "Missed video call"},
		{push.Say(push.KeyReminder), "Reminder"},
		{push.Say(push.KeyLocation), "📍 Location"},
		{push.Say(push.KeyLocationNamed, "Café am Markt"), "📍 Café am Markt"},
		{push.Say(push.KeyFile, "bike.jpg"), "📎 bike.jpg"},
		{push.Say(push.KeyPoll, "100% sure?"), "📊 100% sure?"}, // an argument's % is text
	} {
		if got := tc.words.English(); got != tc.want {
			t.Errorf("%v in English = %q, want %q", tc.words, got, tc.want)
		}
	}
}

// apnsAlert is the alert of the APNs payload of n.
func apnsAlert(t *testing.T, n push.Notification, localized bool) map[string]any {
	t.Helper()
	b, err := push.APNsPayload(n, localized)
	var p struct {
		Aps struct {
			Alert map[string]any `json:"alert"`
		} `json:"aps"`
	}
	if err == nil {
		err = json.Unmarshal(b, &p)
	}
	if err != nil {
		t.Fatalf("APNs payload %s: %v", b, err)
	}
	return p.Aps.Alert
}

// TestPayloadsSayTheCount: a notification that shows no message's text
// says how many, in the singular for one (before: "1 new messages").
func TestPayloadsSayTheCount(t *testing.T) {
	for count, want := range map[int]string{1: "New message", 3: "3 new messages"} {
		n := push.Notification{User: "u", Conv: "g:team", Count: count, From: "alice"}
		if body := apnsAlert(t, n, false)["body"]; body != want {
			t.Errorf("APNs body of %d messages: %q, want %q", count, body, want)
		}
		var fcm struct {
			Message struct {
				Notification map[string]string `json:"notification"`
			} `json:"message"`
		}
		b, err := push.FCMPayload(n, "tok", false)
		if err == nil {
			err = json.Unmarshal(b, &fcm)
		}
		if err != nil || fcm.Message.Notification["body"] != want {
			t.Errorf("FCM payload of %d messages: %s, %v; want body %q", count, b, err, want)
		}
	}
}

// TestLocalizedPayloads: with the app's strings (Localized), the node's
// own words go as a key and arguments, on both platforms, with the
// English body beside them; a user's text never does; without, no key.
func TestLocalizedPayloads(t *testing.T) {
	call := push.Notification{Kind: "call", User: "bob", Conv: "d:alice:bob", From: "alice"}
	call.Say(push.Say(push.KeyIncomingVideoCall))
	count := push.Notification{User: "bob", Conv: "g:team", From: "alice", ConvTitle: "Team", Count: 4}
	text := push.Notification{User: "bob", Conv: "g:team", From: "alice", Count: 1, Text: "hi there"}
	for _, tc := range []struct {
		name string
		n    push.Notification
		key  string
		args []string
		body string
	}{
		{"a call", call, push.KeyIncomingVideoCall, []string{}, "Incoming video call"},
		{"a count", count, push.KeyNewMessages, []string{"4"}, "4 new messages"},
		{"a user's text", text, "", nil, "hi there"},
	} {
		alert := apnsAlert(t, tc.n, true)
		if tc.key == "" {
			if alert["loc-key"] != nil || alert["body"] != tc.body {
				t.Errorf("%s: APNs alert %v, want the body alone", tc.name, alert)
			}
		} else if alert["loc-key"] != tc.key || !sameArgs(alert["loc-args"], tc.args) || alert["body"] != tc.body {
			t.Errorf("%s: APNs alert %v, want loc-key %s, loc-args %v, body %q", tc.name, alert, tc.key, tc.args, tc.body)
		}
		if plain := apnsAlert(t, tc.n, false); plain["loc-key"] != nil || plain["body"] != tc.body {
			t.Errorf("%s, not localized: APNs alert %v", tc.name, plain)
		}

		var fcm struct {
			Message struct {
				Notification map[string]string `json:"notification"`
				Android      struct {
					Notification map[string]any `json:"notification"`
				} `json:"android"`
				APNs struct {
					Payload struct {
						Aps struct {
							Alert map[string]any `json:"alert"`
						} `json:"aps"`
					} `json:"payload"`
				} `json:"apns"`
			} `json:"message"`
		}
		b, err := push.FCMPayload(tc.n, "tok", true)
		if err == nil {
			err = json.Unmarshal(b, &fcm)
		}
		if err != nil {
			t.Fatalf("%s: FCM payload %s: %v", tc.name, b, err)
		}
		android, ios := fcm.Message.Android.Notification, fcm.Message.APNs.Payload.Aps.Alert
		switch {
		case fcm.Message.Notification["body"] != tc.body:
			t.Errorf("%s: FCM body %q, want %q", tc.name, fcm.Message.Notification["body"], tc.body)
		case tc.key == "" && (android["body_loc_key"] != nil || ios != nil):
			t.Errorf("%s: FCM payload keyed a user's text: %s", tc.name, b)
		case tc.key != "" && (android["body_loc_key"] != tc.key || !sameArgs(android["body_loc_args"], tc.args)):
			t.Errorf("%s: FCM android notification %v, want body_loc_key %s", tc.name, android, tc.key)
		case tc.key != "" && (ios["loc-key"] != tc.key || ios["title"] != tc.n.Heading() || ios["body"] != tc.body):
			t.Errorf("%s: FCM's APNs alert %v, want loc-key %s", tc.name, ios, tc.key)
		}
	}
}

func sameArgs(got any, want []string) bool {
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i, a := range list {
		if a != want[i] {
			return false
		}
	}
	return true
}

// TestWebhookCarriesTheKey: the relay gets the key of the node's words,
// the count's too (whose text stays absent, as before, for the relay to
// write), and none for a user's text.
func TestWebhookCarriesTheKey(t *testing.T) {
	srv, _, got := receiver(t, []int{200}, `{}`)
	w := &push.Webhook{URL: srv.URL, Secret: secret}
	missed := push.Notification{ID: "1", User: "bob", Conv: "d:alice:bob", Count: 1}
	missed.Say(push.Say(push.KeyMissedCall))
	for _, tc := range []struct {
		n    push.Notification
		text string
		key  string
		args []string
	}{
		{missed, "Missed call", push.KeyMissedCall, nil},
		{push.Notification{ID: "2", User: "bob", Conv: "g:team", Count: 2}, "", push.KeyNewMessages, []string{"2"}},
		{push.Notification{ID: "3", User: "bob", Conv: "g:team", Count: 1, Text: "hi"}, "hi", "", nil},
	} {
		if _, err := w.Send(context.Background(), tc.n); err != nil {
			t.Fatal(err)
		}
		if n := <-got; n.Text != tc.text || n.LocKey != tc.key || !reflect.DeepEqual(n.LocArgs, tc.args) {
			t.Errorf("relay got text %q, key %q %v; want %q, %q %v", n.Text, n.LocKey, n.LocArgs, tc.text, tc.key, tc.args)
		}
	}
}
