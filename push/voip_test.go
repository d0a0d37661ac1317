package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/storage"
)

// A call's VoIP push: Apple's PushKit topic and push type, the highest
// priority, no later than the ring ends, and what the app reports to
// CallKit; an invalid VoIP token is reported like any other.
func TestAPNsVoIPRequestFormat(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(30 * time.Second).UnixMilli()
	srv := h2(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("apns-topic") != "im.switchboard.app.voip" || r.Header.Get("apns-push-type") != "voip" || r.Header.Get("apns-priority") != "10" ||
			r.Header.Get("apns-expiration") != strconv.FormatInt(until/1000, 10) {
			t.Errorf("headers %v", r.Header)
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || body["kind"] != "call" || body["call_id"] != "c1" || body["video"] != true ||
			body["caller"] != "buyer" || body["caller_name"] != "Bea" || body["conv"] != "d:buyer:seller" || body["expires_at_ms"] != float64(until) {
			t.Errorf("body %s: %v", b, err)
		}
		if aps, _ := body["aps"].(map[string]any); aps == nil || len(aps) != 0 {
			t.Errorf("aps of a VoIP push: %v (the app shows the call, not an alert)", body["aps"])
		}
		if strings.HasSuffix(r.URL.Path, "/gone") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"reason":"BadDeviceToken"}`)
		}
	})
	a := &push.APNs{BaseURL: srv.URL, Topic: "im.switchboard.app", TeamID: "T", KeyID: "K", Key: key, Client: srv.Client()}
	res, err := a.VoIP().Send(context.Background(), push.Notification{ID: "call:d:buyer:seller:c1", Kind: push.KindCall, User: "seller",
		Conv: "d:buyer:seller", From: "buyer", FromName: "Bea", CallID: "c1", Video: true, ExpiresAtMs: until, Tokens: []string{"live", "gone"}})
	if err != nil || len(res.InvalidTokens) != 1 || res.InvalidTokens[0] != "gone" {
		t.Fatalf("result %+v %v", res, err)
	}
}

// record is a Gateway that keeps the targets each notification went
// to, and reports the tokens named invalid.
type record struct {
	mu      sync.Mutex
	sent    map[string][]push.Target // notification id → targets
	invalid map[string]bool
}

func (g *record) Send(_ context.Context, n push.Notification) (push.Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.sent == nil {
		g.sent = map[string][]push.Target{}
	}
	g.sent[n.ID] = append(g.sent[n.ID], n.Targets...)
	var res push.Result
	for _, t := range n.Tokens {
		if g.invalid[t] {
			res.InvalidTokens = append(res.InvalidTokens, t)
		}
	}
	return res, nil
}

func (g *record) of(id string) []push.Target {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sent[id]
}

// tokens are the tokens notification id went to.
func (g *record) tokens(id string) []string {
	var out []string
	for _, t := range g.of(id) {
		out = append(out, t.Token)
	}
	return out
}

// The dispatcher rings a device that registered a VoIP token through the
// VoIP gateway, and only for a call; a message goes to its APNs token. A
// device without one rings by an alert, as does every device where the
// node has no VoIP gateway. A VoIP token the gateway rejects is taken off
// its device, whose APNs token stays.
func TestDispatcherRingsVoIPTokens(t *testing.T) {
	s := tokenStore(t)
	ctx := context.Background()
	for _, tok := range []storage.PushToken{
		{UserID: "u", DeviceID: "iphone", Platform: "apns", Token: "alert-1", VoIPToken: "voip-1"},
		{UserID: "u", DeviceID: "ipad", Platform: "apns", Token: "alert-2"},
		{UserID: "u", DeviceID: "old", Platform: "apns", Token: "alert-3", VoIPToken: "voip-gone"},
	} {
		if err := s.SetPushToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	apns, voip := &record{}, &record{invalid: map[string]bool{"voip-gone": true}}
	d := &push.Dispatcher{Tokens: s, Gateways: map[string]push.Gateway{"apns": apns, push.PlatformVoIP: voip}}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "call", Kind: push.KindCall, User: "u", Conv: "d:u:v", CallID: "c1"})
	d.Enqueue(push.Notification{ID: "msg", User: "u", Conv: "d:u:v", Count: 1})
	eventually(t, func() bool { return len(apns.tokens("msg")) == 3 && len(apns.tokens("call")) == 1 })
	if got := strings.Join(voip.tokens("call"), ","); got != "voip-1,voip-gone" {
		t.Fatalf("VoIP pushes of the call to %s", got)
	}
	if got := strings.Join(apns.tokens("call"), ","); got != "alert-2" {
		t.Fatalf("alerts of the call to %s (the device without a VoIP token)", got)
	}
	if got := strings.Join(apns.tokens("msg"), ","); got != "alert-2,alert-1,alert-3" { // by device id
		t.Fatalf("the message to %s", got)
	}
	var toks []storage.PushToken
	eventually(t, func() bool {
		toks, _ = s.ListPushTokens(ctx, "u")
		return len(toks) == 3 && toks[2].DeviceID == "old" && toks[2].VoIPToken == ""
	})
	if toks[2].Token != "alert-3" || toks[1].VoIPToken != "voip-1" {
		t.Fatalf("after the rejected VoIP token: %+v", toks)
	}

	// Without a VoIP gateway every device rings by an alert.
	plain := &record{}
	d2 := &push.Dispatcher{Tokens: s, Gateways: map[string]push.Gateway{"apns": plain}}
	if err := d2.Start(); err != nil {
		t.Fatal(err)
	}
	defer d2.Stop()
	d2.Enqueue(push.Notification{ID: "call2", Kind: push.KindCall, User: "u", Conv: "d:u:v", CallID: "c2"})
	eventually(t, func() bool { return len(plain.tokens("call2")) == 3 })
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("timed out")
}

// fcmServer stands in for FCM's v1 API; last is the message of the
// latest request.
func fcmServer(t *testing.T) (srv *httptest.Server, last func() map[string]any) {
	var mu sync.Mutex
	var got map[string]any
	srv = h2(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Message map[string]any `json:"message"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		mu.Lock()
		got = body.Message
		mu.Unlock()
	})
	return srv, func() map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// With CallsAsData a ringing call reaches Android as data only, at high
// priority and not after the ring, and an iPhone on FCM as an alert; a
// message is unchanged, and without the option a call is an alert.
func TestFCMCallsAsData(t *testing.T) {
	srv, last := fcmServer(t)
	until := time.Now().Add(30 * time.Second).UnixMilli()
	call := push.Notification{ID: "call:d:a:b:c1", Kind: push.KindCall, User: "b", Conv: "d:a:b", From: "a", CallID: "c1", Video: true,
		ExpiresAtMs: until, Tokens: []string{"t"}}
	call.Say(push.Say(push.KeyIncomingVideoCall))
	send := func(calls bool, n push.Notification) map[string]any {
		t.Helper()
		f := &push.FCM{BaseURL: srv.URL, Project: "p", Client: srv.Client(), CallsAsData: calls,
			TokenSource: func(context.Context) (string, error) { return "ya29", nil }}
		if _, err := f.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		return last()
	}
	m := send(true, call)
	data, _ := m["data"].(map[string]any)
	android, _ := m["android"].(map[string]any)
	alert, _ := m["apns"].(map[string]any)["payload"].(map[string]any)["aps"].(map[string]any)["alert"].(map[string]any)
	if m["notification"] != nil || android["notification"] != nil || android["priority"] != "HIGH" || android["ttl"] == nil ||
		data["kind"] != "call" || data["call_id"] != "c1" || data["video"] != "true" || data["caller"] != "a" || data["expires_at_ms"] != strconv.FormatInt(until, 10) ||
		alert["body"] != "Incoming video call" {
		t.Fatalf("a call as data: %v", m)
	}
	if m := send(false, call); m["notification"] == nil {
		t.Fatalf("a call without CallsAsData: %v", m)
	}
	if m := send(true, push.Notification{User: "b", Conv: "d:a:b", From: "a", Count: 1, Text: "hi", Tokens: []string{"t"}}); m["notification"] == nil {
		t.Fatalf("a message with CallsAsData: %v", m)
	}
}

// A call that stopped ringing reaches Android as data only (at high
// priority where calls ring as data, for the phone rings now), not after
// the ring; an iPhone on FCM as a background push with nothing to show.
func TestFCMCallEnded(t *testing.T) {
	srv, last := fcmServer(t)
	until := time.Now().Add(30 * time.Second).UnixMilli()
	for _, calls := range []bool{true, false} {
		f := &push.FCM{BaseURL: srv.URL, Project: "p", Client: srv.Client(), CallsAsData: calls,
			TokenSource: func(context.Context) (string, error) { return "ya29", nil }}
		_, err := f.Send(context.Background(), push.Notification{ID: "call_ended:d:a:b:c1", Kind: push.KindCallEnded, User: "b", Conv: "d:a:b",
			From: "a", CallID: "c1", Outcome: "cancelled", ExpiresAtMs: until, Tokens: []string{"t"}})
		if err != nil {
			t.Fatal(err)
		}
		m := last()
		data, _ := m["data"].(map[string]any)
		android, _ := m["android"].(map[string]any)
		apns, _ := m["apns"].(map[string]any)
		headers, _ := apns["headers"].(map[string]any)
		aps, _ := apns["payload"].(map[string]any)["aps"].(map[string]any)
		priority := map[bool]string{true: "HIGH", false: "NORMAL"}[calls]
		if m["notification"] != nil || android["notification"] != nil || android["priority"] != priority || android["ttl"] == nil ||
			data["kind"] != "call_ended" || data["call_id"] != "c1" || data["outcome"] != "cancelled" || data["conv"] != "d:a:b" ||
			headers["apns-push-type"] != "background" || headers["apns-priority"] != "5" || aps["content-available"] != float64(1) || aps["alert"] != nil {
			t.Fatalf("calls as data %v: a call's end as %v", calls, m)
		}
	}
}

// A call's end goes to an iPhone as a background push on its APNs token,
// never on its PushKit token (iOS wants a new call reported for each VoIP
// push), with the call and why it ended.
func TestAPNsCallEnded(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := tokenStore(t)
	ctx := context.Background()
	if err := s.SetPushToken(ctx, storage.PushToken{UserID: "u", DeviceID: "iphone", Platform: "apns", Token: "alert-1", VoIPToken: "voip-1"}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(30 * time.Second).UnixMilli()
	var mu sync.Mutex
	var paths []string
	srv := h2(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if r.Header.Get("apns-topic") != "im.switchboard.app" || r.Header.Get("apns-push-type") != "background" || r.Header.Get("apns-priority") != "5" ||
			r.Header.Get("apns-expiration") != strconv.FormatInt(until/1000, 10) {
			t.Errorf("headers %v", r.Header)
		}
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || body["kind"] != "call_ended" || body["call_id"] != "c1" || body["outcome"] != "answered" || body["conv"] != "d:u:v" {
			t.Errorf("body %s: %v", b, err)
		}
		if aps, _ := body["aps"].(map[string]any); len(aps) != 1 || aps["content-available"] != float64(1) {
			t.Errorf("aps %v: a background push shows nothing", body["aps"])
		}
	})
	a := &push.APNs{BaseURL: srv.URL, Topic: "im.switchboard.app", TeamID: "T", KeyID: "K", Key: key, Client: srv.Client()}
	d := &push.Dispatcher{Tokens: s, Gateways: map[string]push.Gateway{"apns": a, push.PlatformVoIP: a.VoIP()}}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "call_ended:d:u:v:c1", Kind: push.KindCallEnded, User: "u", Conv: "d:u:v", CallID: "c1",
		Outcome: "answered", ExpiresAtMs: until})
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(paths) == 1
	})
	if paths[0] != "/3/device/alert-1" {
		t.Fatalf("sent to %s, want the APNs token", paths[0])
	}
}

// The relay (the default gateway) is told each token's platform, so one
// relay serves iPhones and Androids; without the node's own APNs gateway
// it rings a call on an iPhone's PushKit token (platform apns_voip), and
// a PushKit token it rejects is taken off its device.
func TestRelayGetsEachTokensPlatform(t *testing.T) {
	s := tokenStore(t)
	ctx := context.Background()
	for _, tok := range []storage.PushToken{
		{UserID: "u", DeviceID: "iphone", Platform: "apns", Token: "alert-1", VoIPToken: "voip-1"},
		{UserID: "u", DeviceID: "pixel", Platform: "fcm", Token: "fcm-1"},
	} {
		if err := s.SetPushToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	relay := &record{invalid: map[string]bool{"voip-1": true}}
	d := &push.Dispatcher{Tokens: s, Default: relay}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	d.Enqueue(push.Notification{ID: "msg", User: "u", Conv: "d:u:v", Count: 1})
	d.Enqueue(push.Notification{ID: "call", Kind: push.KindCall, User: "u", Conv: "d:u:v", CallID: "c1"})
	eventually(t, func() bool { return len(relay.of("msg")) == 2 && len(relay.of("call")) == 2 })
	want := map[string][]push.Target{
		"msg":  {{Platform: "apns", Token: "alert-1"}, {Platform: "fcm", Token: "fcm-1"}},
		"call": {{Platform: push.PlatformVoIP, Token: "voip-1"}, {Platform: "fcm", Token: "fcm-1"}},
	}
	for id, w := range want {
		if got := relay.of(id); len(got) != 2 || got[0] != w[0] || got[1] != w[1] {
			t.Errorf("%s to %+v, want %+v", id, got, w)
		}
	}
	eventually(t, func() bool {
		toks, _ := s.ListPushTokens(ctx, "u")
		return len(toks) == 2 && toks[0].VoIPToken == "" && toks[0].Token == "alert-1"
	})
}
