package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/push"
)

// h2 starts a local TLS server that only accepts HTTP/2, as Apple does.
func h2(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			t.Errorf("request over %s, want HTTP/2", r.Proto)
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
			return
		}
		h(w, r)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestAPNsRequestFormat(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var tokensSeen []string
	srv := h2(t, func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.URL.Path, "/3/device/")
		tokensSeen = append(tokensSeen, tok)
		jwt := strings.TrimPrefix(r.Header.Get("authorization"), "bearer ")
		parts := strings.Split(jwt, ".")
		hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
		claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
		if len(parts) != 3 || !push.VerifyES256(&key.PublicKey, jwt) || !strings.Contains(string(hdr), `"kid":"KEY123"`) ||
			!strings.Contains(string(claims), `"iss":"TEAM42"`) {
			t.Errorf("bad provider token %q (%s %s)", jwt, hdr, claims)
		}
		if r.Method != http.MethodPost || r.Header.Get("apns-topic") != "im.switchboard.app" || r.Header.Get("apns-push-type") != "alert" ||
			r.Header.Get("apns-collapse-id") != "g:team" || len(r.Header.Get("apns-id")) != 36 {
			t.Errorf("headers %v", r.Header)
		}
		var body struct {
			Aps struct {
				Alert    map[string]string `json:"alert"`
				Badge    int               `json:"badge"`
				ThreadID string            `json:"thread-id"`
			} `json:"aps"`
			Count int `json:"count"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || body.Aps.Badge != 9 || body.Aps.ThreadID != "g:team" ||
			body.Aps.Alert["body"] != "3 new messages" || body.Aps.Alert["title"] != "alice" || body.Aps.Alert["subtitle"] != "Team" || body.Count != 3 { // no name: the id
			t.Errorf("body %s: %v", b, err)
		}
		if tok == "dead" {
			w.WriteHeader(http.StatusGone)
			_, _ = io.WriteString(w, `{"reason":"Unregistered"}`)
		}
	})
	a := &push.APNs{BaseURL: srv.URL, Topic: "im.switchboard.app", TeamID: "TEAM42", KeyID: "KEY123", Key: key, Client: srv.Client()}
	// A recalled newest message left no text: the body says how many.
	res, err := a.Send(context.Background(), push.Notification{ID: "push/u/g:team/5", User: "u", Conv: "g:team", Seq: 5, Count: 3, Badge: 9,
		From: "alice", ConvTitle: "Team", Tokens: []string{"live", "dead"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InvalidTokens) != 1 || res.InvalidTokens[0] != "dead" || len(tokensSeen) != 2 {
		t.Fatalf("result %+v, tokens seen %v", res, tokensSeen)
	}
	if _, err := (&push.APNs{Client: srv.Client(), BaseURL: srv.URL}).Send(context.Background(), push.Notification{Tokens: []string{"x"}}); err == nil {
		t.Fatal("APNs without a key sent")
	}
}

func TestFCMRequestFormat(t *testing.T) {
	srv := h2(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/projects/sb-test/messages:send" || r.Header.Get("Authorization") != "Bearer ya29.test" ||
			r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %v", r.URL.Path, r.Header)
		}
		var body struct {
			Message struct {
				Token        string            `json:"token"`
				Notification map[string]string `json:"notification"`
				Android      struct {
					CollapseKey  string         `json:"collapse_key"`
					Notification map[string]any `json:"notification"`
				} `json:"android"`
				Data map[string]string `json:"data"`
			} `json:"message"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || body.Message.Notification["body"] != "hi there" || body.Message.Notification["title"] != "Bob B. · Team" ||
			body.Message.Android.CollapseKey != "g:team" || body.Message.Android.Notification["notification_count"] != 2.0 ||
			body.Message.Data["seq"] != "8" {
			t.Errorf("body %s: %v", b, err)
		}
		if body.Message.Token == "gone" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":404,"status":"NOT_FOUND","details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":"UNREGISTERED"}]}}`)
			return
		}
		_, _ = io.WriteString(w, `{"name":"projects/sb-test/messages/1"}`)
	})
	f := &push.FCM{BaseURL: srv.URL, Project: "sb-test", Client: srv.Client(),
		TokenSource: func(context.Context) (string, error) { return "ya29.test", nil }}
	res, err := f.Send(context.Background(), push.Notification{User: "u", Conv: "g:team", Seq: 8, Count: 1, Badge: 2, From: "bob", FromName: "Bob B.", ConvTitle: "Team", Text: "hi there",
		Tokens: []string{"ok", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.InvalidTokens) != 1 || res.InvalidTokens[0] != "gone" {
		t.Fatalf("result %+v", res)
	}
}

// TestPayloadsCarryTheKind: a notification that is no message's (a request
// to join) tells the app so in its data; a message's carries no kind.
func TestPayloadsCarryTheKind(t *testing.T) {
	for _, kind := range []string{"", "join_request"} {
		n := push.Notification{Kind: kind, User: "teacher", Conv: "g:y7", From: "dad", Text: "asks to join"}
		var apns map[string]any
		b, err := push.APNsPayload(n, false)
		if err == nil {
			err = json.Unmarshal(b, &apns)
		}
		if err != nil || (kind == "" && apns["kind"] != nil) || (kind != "" && apns["kind"] != kind) {
			t.Fatalf("APNs payload of kind %q: %s, %v", kind, b, err)
		}
		var fcm struct {
			Message struct {
				Data map[string]string `json:"data"`
			} `json:"message"`
		}
		if b, err = push.FCMPayload(n, "tok", false); err == nil {
			err = json.Unmarshal(b, &fcm)
		}
		if got, ok := fcm.Message.Data["kind"]; err != nil || got != kind || ok != (kind != "") {
			t.Fatalf("FCM payload of kind %q: %s, %v", kind, b, err)
		}
	}
}

// TestPayloadsCarryTheEnd: a notification of disappearing messages tells
// each platform to keep it for an offline phone only until they are gone,
// and tells the app when to take it off the screen; one of messages that
// stay says neither.
func TestPayloadsCarryTheEnd(t *testing.T) {
	end := time.Now().Add(90 * time.Second).UnixMilli()
	for _, at := range []int64{0, end} {
		n := push.Notification{User: "pupil", Conv: "d:pupil:teacher", From: "teacher", Text: "room 4", ExpiresAtMs: at}
		var apns map[string]any
		b, err := push.APNsPayload(n, false)
		if err == nil {
			err = json.Unmarshal(b, &apns)
		}
		if err != nil || (at == 0) != (apns["expires_at_ms"] == nil) || at != 0 && apns["expires_at_ms"] != float64(at) {
			t.Fatalf("APNs payload ending at %d: %s, %v", at, b, err)
		}
		var fcm struct {
			Message struct {
				Android struct {
					TTL string `json:"ttl"`
				} `json:"android"`
				APNs struct {
					Headers map[string]string `json:"headers"`
				} `json:"apns"`
				Data map[string]string `json:"data"`
			} `json:"message"`
		}
		if b, err = push.FCMPayload(n, "tok", false); err == nil {
			err = json.Unmarshal(b, &fcm)
		}
		m := fcm.Message
		switch {
		case err != nil:
			t.Fatal(err)
		case at == 0 && (m.Android.TTL != "" || m.APNs.Headers != nil || m.Data["expires_at_ms"] != ""):
			t.Fatalf("FCM payload of messages that stay: %s", b)
		case at != 0 && (m.Android.TTL != "89s" && m.Android.TTL != "90s" || m.APNs.Headers["apns-expiration"] != strconv.FormatInt(at/1000, 10) ||
			m.Data["expires_at_ms"] != strconv.FormatInt(at, 10)):
			t.Fatalf("FCM payload ending in 90 s: %s", b)
		}
	}
}

// TestAPNsExpirationHeader: Apple is told to drop the notification when
// its messages disappear.
func TestAPNsExpirationHeader(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 2)
	srv := h2(t, func(_ http.ResponseWriter, r *http.Request) { got <- r.Header.Get("apns-expiration") })
	a := &push.APNs{BaseURL: srv.URL, Topic: "im.switchboard.app", TeamID: "T", KeyID: "K", Key: key, Client: srv.Client()}
	end := time.Now().Add(time.Hour).UnixMilli()
	for _, at := range []int64{end, 0} {
		if _, err := a.Send(context.Background(), push.Notification{User: "u", Conv: "d:u:v", Count: 1, ExpiresAtMs: at, Tokens: []string{"t"}}); err != nil {
			t.Fatal(err)
		}
		want := ""
		if at != 0 {
			want = strconv.FormatInt(at/1000, 10)
		}
		if h := <-got; h != want {
			t.Fatalf("apns-expiration %q, want %q", h, want)
		}
	}
}

// TestPayloadsPresentTheKind: each kind of notification reaches iOS under
// its category (the app's actions) with mutable-content (the app's
// extension may rewrite it), calls and reminders time-sensitive; and
// Android on its channel, calls and reminders at high priority.
func TestPayloadsPresentTheKind(t *testing.T) {
	for _, tc := range []struct {
		kind, category, channel string
		urgent                  bool
	}{
		{push.KindMessage, "sb.message", "sb_messages", false},
		{push.KindJoinRequest, "sb.join_request", "sb_join_requests", false},
		{push.KindCall, "sb.call", "sb_calls", true},
		{push.KindReminder, "sb.reminder", "sb_reminders", true},
		{"from_a_newer_node", "sb.message", "sb_messages", false}, // unknown: as a message
	} {
		n := push.Notification{Kind: tc.kind, User: "bob", Conv: "d:alice:bob", From: "alice", Count: 1, Text: "hi"}
		var apns struct {
			Aps map[string]any `json:"aps"`
		}
		b, err := push.APNsPayload(n, false)
		if err == nil {
			err = json.Unmarshal(b, &apns)
		}
		level, hasLevel := apns.Aps["interruption-level"]
		if err != nil || apns.Aps["category"] != tc.category || apns.Aps["mutable-content"] != 1.0 ||
			hasLevel != tc.urgent || tc.urgent && level != "time-sensitive" {
			t.Errorf("kind %q: APNs aps %v, %v", tc.kind, apns.Aps, err)
		}
		var fcm struct {
			Message struct {
				Android struct {
					Priority     string         `json:"priority"`
					Notification map[string]any `json:"notification"`
				} `json:"android"`
				APNs struct {
					Payload struct {
						Aps map[string]any `json:"aps"`
					} `json:"payload"`
				} `json:"apns"`
			} `json:"message"`
		}
		if b, err = push.FCMPayload(n, "tok", false); err == nil {
			err = json.Unmarshal(b, &fcm)
		}
		android, aps := fcm.Message.Android, fcm.Message.APNs.Payload.Aps
		if err != nil || android.Notification["channel_id"] != tc.channel || (android.Priority == "HIGH") != tc.urgent ||
			aps["category"] != tc.category || aps["mutable-content"] != 1.0 {
			t.Errorf("kind %q: FCM payload %s, %v", tc.kind, b, err)
		}
	}
}
