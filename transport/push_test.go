package transport_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

var pushSecret = []byte("push-test-secret-0123456789abcdef")

// gateway is a real HTTP server standing in for the deployment's push
// relay: it checks every request's HMAC signature and answers as told
// per user (by default 200).
type gateway struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  map[string]int                 // requests per user
	got    map[string][]push.Notification // accepted notifications per user
	answer map[string]func(call int) (int, string)
}

func newGateway(t *testing.T) *gateway {
	g := &gateway{t: t, calls: map[string]int{}, got: map[string][]push.Notification{}, answer: map[string]func(int) (int, string){}}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if !push.Verify(pushSecret, r.Header.Get("X-Switchboard-Timestamp"), b, r.Header.Get("X-Switchboard-Signature")) {
			t.Errorf("unsigned push request: %s", b)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var n push.Notification
		if err := json.Unmarshal(b, &n); err != nil {
			t.Errorf("push body %s: %v", b, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		call := g.calls[n.User]
		g.calls[n.User]++
		code, body := http.StatusOK, ""
		if f := g.answer[n.User]; f != nil {
			code, body = f(call)
		}
		if code == http.StatusOK {
			g.got[n.User] = append(g.got[n.User], n)
		}
		g.mu.Unlock()
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gateway) notes(user string) []push.Notification {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]push.Notification(nil), g.got[user]...)
}

func (g *gateway) callsOf(user string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[user]
}

func (g *gateway) answerFor(user string, f func(call int) (int, string)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.answer[user] = f
}

// offline waits until user has no device online on e's first node (the
// node hears of a closed connection a moment after it closed).
func (e *env) offline(t *testing.T, user string) {
	t.Helper()
	ctx := tctx(t)
	eventually(t, user+" offline", func() bool {
		p, err := e.nodes[0].Runtime.Presence(ctx, user, user, "")
		return err == nil && len(p.Devices) == 0
	})
}

// TestOfflinePush runs a node whose push gateway is a local webhook
// server, over real QUIC connections and a real Pebble store.
func TestOfflinePush(t *testing.T) {
	gw := newGateway(t)
	var deadMu sync.Mutex
	dead := map[string]int{}
	// Long enough that a burst lands in one interval on a loaded machine.
	const coalesce = time.Second
	e := newEnv(t, envOptions{actors: actors.Config{Push: actors.PushConfig{
		// The dispatcher owns the retries: one post per attempt.
		Default:     &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1},
		Coalesce:    coalesce,
		MaxAttempts: 3, BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		DeadLetter: func(n push.Notification, _ error) { deadMu.Lock(); dead[n.User]++; deadMu.Unlock() },
	}}})
	ctx := tctx(t)
	rt := e.nodes[0].Runtime

	// offline registers user's phone for push and disconnects it.
	offline := func(user, token string) {
		t.Helper()
		c := e.dial(user, "phone")
		if err := c.RegisterPush(ctx, "webhook", token); err != nil {
			t.Fatalf("register push for %s: %v", user, err)
		}
		_ = c.Close()
		e.offline(t, user)
	}
	alice := e.dial("alice", "phone")
	send := func(to, text string) client.Message {
		t.Helper()
		m, err := alice.SendText(ctx, client.ToUser(to), text)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// quiet asserts user got no notification over a few coalescing intervals.
	quiet := func(user string) {
		t.Helper()
		time.Sleep(2 * coalesce)
		if n := gw.notes(user); len(n) != 0 || gw.callsOf(user) != 0 {
			t.Fatalf("%s: %d calls, notifications %+v; want none", user, gw.callsOf(user), n)
		}
	}

	t.Run("OfflineGetsOneOnlineNone", func(t *testing.T) {
		offline("bob1", "bob1-tok")
		carol := e.dial("carol1", "phone")
		if err := carol.RegisterPush(ctx, "webhook", "carol1-tok"); err != nil {
			t.Fatal(err)
		}
		send("bob1", "hello bob")
		send("carol1", "hello carol")
		eventually(t, "bob1's notification", func() bool { return len(gw.notes("bob1")) == 1 })
		n := gw.notes("bob1")[0]
		if n.Count != 1 || n.Text != "hello bob" || n.From != "alice" || n.Badge != 1 || n.Conv != wirepb.DirectConvID("alice", "bob1") ||
			len(n.Tokens) != 1 || n.Tokens[0] != "bob1-tok" || n.ID == "" {
			t.Fatalf("notification %+v", n)
		}
		quiet("carol1") // online: the message reached the device itself
		if len(gw.notes("bob1")) != 1 {
			t.Fatalf("bob1 notified %d times", len(gw.notes("bob1")))
		}
	})

	t.Run("SuspendedGetsNone", func(t *testing.T) {
		offline("mal", "mal-tok")
		if _, err := rt.Suspend(ctx, "mal", time.Time{}, "spam"); err != nil {
			t.Fatal(err)
		}
		send("mal", "you cannot read this now")
		quiet("mal")
		if err := rt.Unsuspend(ctx, "mal"); err != nil {
			t.Fatal(err)
		}
		send("mal", "welcome back")
		eventually(t, "mal's notification after the lift", func() bool { return len(gw.notes("mal")) == 1 })
	})

	t.Run("Coalesced", func(t *testing.T) {
		offline("bob2", "bob2-tok")
		for _, text := range []string{"one", "two", "three"} {
			send("bob2", text)
		}
		eventually(t, "bob2's notification", func() bool { return len(gw.notes("bob2")) > 0 })
		time.Sleep(coalesce + coalesce/2)
		ns := gw.notes("bob2")
		if len(ns) != 1 || ns[0].Count != 3 || ns[0].Badge != 3 || ns[0].Text != "three" {
			t.Fatalf("notifications %+v, want one with count 3, badge 3, the newest text", ns)
		}
	})

	t.Run("RetriedOn5xx", func(t *testing.T) {
		gw.answerFor("bob3", func(call int) (int, string) {
			if call < 2 {
				return http.StatusServiceUnavailable, ""
			}
			return http.StatusOK, ""
		})
		offline("bob3", "bob3-tok")
		send("bob3", "retry me")
		eventually(t, "bob3's notification", func() bool { return len(gw.notes("bob3")) == 1 })
		if c := gw.callsOf("bob3"); c != 3 {
			t.Fatalf("%d gateway calls, want 3 (two 503s, then 200)", c)
		}
	})

	t.Run("DeadLettered", func(t *testing.T) {
		gw.answerFor("bob4", func(int) (int, string) { return http.StatusBadGateway, "" })
		offline("bob4", "bob4-tok")
		send("bob4", "never arrives")
		eventually(t, "bob4's dead letter", func() bool { deadMu.Lock(); defer deadMu.Unlock(); return dead["bob4"] == 1 })
		time.Sleep(coalesce + coalesce/2)
		if c := gw.callsOf("bob4"); c != 3 {
			t.Fatalf("%d gateway calls, want MaxAttempts = 3", c)
		}
		// A 4xx is not retried: dead-lettered after one call.
		gw.answerFor("bob5", func(int) (int, string) { return http.StatusBadRequest, "" })
		offline("bob5", "bob5-tok")
		send("bob5", "refused")
		eventually(t, "bob5's dead letter", func() bool { deadMu.Lock(); defer deadMu.Unlock(); return dead["bob5"] == 1 })
		if c := gw.callsOf("bob5"); c != 1 {
			t.Fatalf("%d gateway calls for a 400, want 1", c)
		}
	})

	t.Run("Muted", func(t *testing.T) {
		bob := e.dial("bob6", "phone")
		send("bob6", "before mute")
		if _, err := bob.SetMuted(ctx, wirepb.DirectConvID("alice", "bob6"), true); err != nil {
			t.Fatal(err)
		}
		_ = bob.Close()
		offline("bob6", "bob6-tok")
		send("bob6", "muted: no push")
		// Another conversation of bob6's still notifies (and shows the
		// pipeline works while the muted one stays silent).
		dave := e.dial("dave", "phone")
		if _, err := dave.SendText(ctx, client.ToUser("bob6"), "not muted"); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob6's notification from dave", func() bool { return len(gw.notes("bob6")) > 0 })
		time.Sleep(coalesce + coalesce/2)
		ns := gw.notes("bob6")
		if len(ns) != 1 || ns[0].Conv != wirepb.DirectConvID("bob6", "dave") || ns[0].Text != "not muted" {
			t.Fatalf("notifications %+v, want only dave's", ns)
		}
	})

	t.Run("MentionedWhileMuted", func(t *testing.T) {
		conv, err := alice.CreateGroup(ctx, "", "class", []string{"bob9", "carl9"})
		if err != nil {
			t.Fatal(err)
		}
		bob := e.dial("bob9", "phone")
		if _, err := bob.SetMuted(ctx, conv, true); err != nil {
			t.Fatal(err)
		}
		_ = bob.Close()
		offline("bob9", "bob9-tok")
		if _, err := alice.SendText(ctx, client.ToConv(conv), "to everyone: no push"); err != nil {
			t.Fatal(err)
		}
		p, err := alice.Mention(conv, []string{"bob9"}, []byte("@bob9 your turn"), "")
		if err == nil {
			_, err = p.Wait(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob9's notification of the mention", func() bool { return len(gw.notes("bob9")) > 0 })
		time.Sleep(coalesce + coalesce/2)
		if ns := gw.notes("bob9"); len(ns) != 1 || ns[0].Conv != conv || ns[0].Text != "@bob9 your turn" {
			t.Fatalf("notifications %+v, want only the mention", ns)
		}
	})

	t.Run("Recalled", func(t *testing.T) {
		offline("bob7", "bob7-tok")
		conv := wirepb.DirectConvID("alice", "bob7")
		// Recalled before the notification went out: nothing is sent.
		m := send("bob7", "oops, secret")
		if _, err := alice.Recall(ctx, conv, m.Seq); err != nil {
			t.Fatal(err)
		}
		quiet("bob7")
		// With another message pending, the recalled one neither counts
		// nor shows its text.
		send("bob7", "kept")
		m = send("bob7", "oops again")
		if _, err := alice.Recall(ctx, conv, m.Seq); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bob7's notification", func() bool { return len(gw.notes("bob7")) > 0 })
		time.Sleep(coalesce + coalesce/2)
		ns := gw.notes("bob7")
		if len(ns) != 1 || ns[0].Count != 1 || strings.Contains(ns[0].Text, "oops") {
			t.Fatalf("notifications %+v, want one counting 1 without the recalled text", ns)
		}
	})

	t.Run("InvalidTokenRemoved", func(t *testing.T) {
		// bob8 has two devices; the gateway reports the tablet's token dead.
		tab := e.dial("bob8", "tablet")
		if err := tab.RegisterPush(ctx, "webhook", "bob8-dead"); err != nil {
			t.Fatal(err)
		}
		_ = tab.Close()
		gw.answerFor("bob8", func(int) (int, string) { return http.StatusOK, `{"invalid_tokens":["bob8-dead"]}` })
		offline("bob8", "bob8-live")
		toks, err := e.store.ListPushTokens(ctx, "bob8")
		if err != nil || len(toks) != 2 {
			t.Fatalf("tokens before: %+v, %v", toks, err)
		}
		send("bob8", "hi")
		eventually(t, "the dead token dropped", func() bool {
			toks, err := e.store.ListPushTokens(ctx, "bob8")
			return err == nil && len(toks) == 1 && toks[0].Token == "bob8-live" && toks[0].DeviceID == "phone"
		})
		if ns := gw.notes("bob8"); len(ns) != 1 || len(ns[0].Tokens) != 2 {
			t.Fatalf("notifications %+v, want one to both tokens", ns)
		}
	})

	t.Run("BadRegistration", func(t *testing.T) {
		c := e.dial("erin", "phone")
		for _, tc := range []struct{ platform, token string }{
			{"pager", "x"}, {"apns", ""}, {"fcm", strings.Repeat("t", 1025)},
		} {
			if err := c.RegisterPush(ctx, tc.platform, tc.token); codeOf(err) != wirepb.Code_INVALID {
				t.Errorf("register %q/%d bytes: %v, want INVALID", tc.platform, len(tc.token), err)
			}
		}
		if err := c.RegisterPush(ctx, "fcm", strings.Repeat("t", 1024)); err != nil {
			t.Fatalf("a token at the limit: %v", err)
		}
		if err := c.UnregisterPush(ctx); err != nil {
			t.Fatal(err)
		}
		if toks, err := e.store.ListPushTokens(ctx, "erin"); err != nil || len(toks) != 0 {
			t.Fatalf("tokens after unregister: %+v, %v", toks, err)
		}
	})
}

// TestOfflinePushAPNsAndFCM routes tokens by platform to APNs and FCM,
// both local HTTP/2 TLS servers, and drops the token APNs answers 410.
func TestOfflinePushAPNsAndFCM(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct{ path, auth, body string }
	var mu sync.Mutex
	var apnsHits, fcmHits []hit
	h2 := func(record *[]hit, answer func(r *http.Request) int) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			*record = append(*record, hit{r.URL.Path, r.Header.Get("Authorization"), string(b)})
			mu.Unlock()
			if r.ProtoMajor != 2 {
				t.Errorf("push over %s, want HTTP/2", r.Proto)
			}
			w.WriteHeader(answer(r))
		}))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	apns := h2(&apnsHits, func(r *http.Request) int {
		if strings.HasSuffix(r.URL.Path, "/gone-token") {
			return http.StatusGone
		}
		return http.StatusOK
	})
	fcm := h2(&fcmHits, func(*http.Request) int { return http.StatusOK })
	e := newEnv(t, envOptions{actors: actors.Config{Push: actors.PushConfig{
		Gateways: map[string]push.Gateway{
			"apns": &push.APNs{BaseURL: apns.URL, Topic: "im.switchboard.test", TeamID: "TEAM", KeyID: "KEY", Key: key, Client: apns.Client()},
			"fcm": &push.FCM{BaseURL: fcm.URL, Project: "sb", Client: fcm.Client(),
				TokenSource: func(context.Context) (string, error) { return "ya29.test", nil }},
		},
		Coalesce: 200 * time.Millisecond, BaseBackoff: 5 * time.Millisecond,
	}}})
	ctx := tctx(t)
	for dev, reg := range map[string][2]string{"iphone": {"apns", "live-token"}, "ipad": {"apns", "gone-token"}, "pixel": {"fcm", "fcm-token"}} {
		c := e.dial("bob", dev)
		if err := c.RegisterPush(ctx, reg[0], reg[1]); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
	}
	e.offline(t, "bob")
	if _, err := e.dial("alice", "phone").SendText(ctx, client.ToUser("bob"), "via the platforms"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the gone token dropped and FCM called", func() bool {
		toks, err := e.store.ListPushTokens(ctx, "bob")
		mu.Lock()
		defer mu.Unlock()
		return err == nil && len(toks) == 2 && len(fcmHits) == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(apnsHits) != 2 || len(fcmHits) != 1 {
		t.Fatalf("APNs got %d requests, FCM %d; want 2 and 1", len(apnsHits), len(fcmHits))
	}
	for _, h := range apnsHits {
		if !strings.HasPrefix(h.path, "/3/device/") || !strings.Contains(h.body, "via the platforms") {
			t.Errorf("APNs request %+v", h)
		}
	}
	if h := fcmHits[0]; h.path != "/v1/projects/sb/messages:send" || h.auth != "Bearer ya29.test" || !strings.Contains(h.body, `"token":"fcm-token"`) {
		t.Errorf("FCM request %+v", h)
	}
	toks, _ := e.store.ListPushTokens(ctx, "bob")
	for _, tk := range toks {
		if tk.Token == "gone-token" {
			t.Fatalf("the token APNs answered 410 is still stored: %+v", toks)
		}
	}
}

// TestCallRingsAsVoIP, with the node's APNs gateway a local HTTP/2
// server: an iPhone that registered its PushKit token beside its APNs
// token rings for a call by a VoIP push (PushKit's topic and push type,
// the call's id, kind and caller, not after the ring ends), and gets no
// alert for it; a message still comes as an alert. A bad PushKit token
// is taken off the device, and its next call rings by an alert.
func TestCallRingsAsVoIP(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	type hit struct{ token, pushType, topic, body string }
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		tok := strings.TrimPrefix(r.URL.Path, "/3/device/")
		mu.Lock()
		hits = append(hits, hit{tok, r.Header.Get("apns-push-type"), r.Header.Get("apns-topic"), string(b)})
		mu.Unlock()
		if tok == "voip-bad" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"reason":"BadDeviceToken"}`)
		}
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	apns := &push.APNs{BaseURL: srv.URL, Topic: "im.switchboard.test", TeamID: "TEAM", KeyID: "KEY", Key: key, Client: srv.Client()}
	e := newEnv(t, envOptions{actors: actors.Config{CallRingTimeout: 2 * time.Second, Push: actors.PushConfig{
		Gateways: map[string]push.Gateway{"apns": apns, push.PlatformVoIP: apns.VoIP()},
		Coalesce: 50 * time.Millisecond, BaseBackoff: 5 * time.Millisecond,
	}}})
	ctx := tctx(t)
	hitsTo := func(token string) []hit {
		mu.Lock()
		defer mu.Unlock()
		var out []hit
		for _, h := range hits {
			if h.token == token {
				out = append(out, h)
			}
		}
		return out
	}
	buyer := e.dial("buyer", "phone")
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "still for sale?"); err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("buyer", "seller")
	iphone := e.dial("seller", "iphone")
	if err := iphone.RegisterPush(ctx, "apns", "alert-tok", client.WithVoIPToken("voip-tok")); err != nil {
		t.Fatal(err)
	}
	if err := iphone.RegisterPush(ctx, "fcm", "x", client.WithVoIPToken("v")); wirepb.CodeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a PushKit token for FCM: %v, want INVALID", err)
	}
	_ = iphone.Close()
	e.offline(t, "seller")

	if _, err := buyer.StartCall(ctx, conv, "c1", true, []byte("v=0 offer")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the iPhone rings by a VoIP push", func() bool { return len(hitsTo("voip-tok")) == 1 })
	h := hitsTo("voip-tok")[0]
	var body map[string]any
	if err := json.Unmarshal([]byte(h.body), &body); err != nil || h.pushType != "voip" || h.topic != "im.switchboard.test.voip" ||
		body["kind"] != "call" || body["call_id"] != "c1" || body["video"] != true || body["caller"] != "buyer" || body["conv"] != conv ||
		body["expires_at_ms"] == nil {
		t.Fatalf("the VoIP push: %+v (%v)", h, err)
	}
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "hello?"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the message comes as an alert", func() bool { return len(hitsTo("alert-tok")) > 0 })
	for _, h := range hitsTo("alert-tok") {
		if h.pushType != "alert" || h.topic != "im.switchboard.test" || strings.Contains(h.body, `"call"`) {
			t.Fatalf("an alert for the call, or a message not as an alert: %+v", h)
		}
	}

	// A bad PushKit token: the device keeps its APNs token, without it.
	ipad := e.dial("seller", "ipad")
	if err := ipad.RegisterPush(ctx, "apns", "ipad-alert", client.WithVoIPToken("voip-bad")); err != nil {
		t.Fatal(err)
	}
	_ = ipad.Close()
	e.offline(t, "seller")
	if err := buyer.EndCall(ctx, conv, "c1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.StartCall(ctx, conv, "c2", false, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the bad PushKit token is dropped", func() bool {
		toks, err := e.store.ListPushTokens(ctx, "seller")
		return err == nil && len(toks) == 2 && toks[0].DeviceID == "ipad" && toks[0].VoIPToken == "" && toks[0].Token == "ipad-alert"
	})
	if err := buyer.EndCall(ctx, conv, "c2", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := buyer.StartCall(ctx, conv, "c3", false, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the iPad's next call rings by an alert", func() bool {
		for _, h := range hitsTo("ipad-alert") {
			if h.pushType == "alert" && strings.Contains(h.body, `"kind":"call"`) {
				return true
			}
		}
		return false
	})
	// One delivery sends to the iPad's APNs token, then to the iPhone's
	// PushKit token: the third VoIP push may come a moment after.
	eventually(t, "the iPhone rung by a VoIP push for each of the three calls", func() bool { return len(hitsTo("voip-tok")) >= 3 })
	for _, h := range hitsTo("voip-tok") {
		if h.pushType != "voip" {
			t.Fatalf("a push of another type on the PushKit token: %+v", h)
		}
	}
	if n := len(hitsTo("voip-tok")); n != 3 {
		t.Fatalf("the iPhone rang by %d VoIP pushes for three calls", n)
	}
}

// TestOfflinePushMentionInLargeGroup: a large group (above the fan-out
// threshold) notifies nobody, except the members a message mentions, and
// those even where they muted it.
func TestOfflinePushMentionInLargeGroup(t *testing.T) {
	gw := newGateway(t)
	const coalesce = 500 * time.Millisecond
	e := newEnv(t, envOptions{actors: actors.Config{FanoutThreshold: 2, Push: actors.PushConfig{
		Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}, Coalesce: coalesce,
	}}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	conv, err := alice.CreateGroup(ctx, "", "assembly", []string{"bob", "carl", "dana"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"bob", "carl"} {
		c := e.dial(u, "phone")
		if err := c.RegisterPush(ctx, "webhook", u+"-tok"); err != nil {
			t.Fatal(err)
		}
		if u == "bob" {
			if _, err := c.SetMuted(ctx, conv, true); err != nil {
				t.Fatal(err)
			}
		}
		_ = c.Close()
		e.offline(t, u)
	}
	if _, err := alice.SendText(ctx, client.ToConv(conv), "to the whole school"); err != nil {
		t.Fatal(err)
	}
	p, err := alice.Mention(conv, []string{"bob"}, []byte("@bob to the office"), "")
	if err == nil {
		_, err = p.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's notification of the mention", func() bool { return len(gw.notes("bob")) > 0 })
	time.Sleep(3 * coalesce)
	if ns := gw.notes("bob"); len(ns) != 1 || ns[0].Conv != conv || ns[0].Text != "@bob to the office" {
		t.Fatalf("bob's notifications %+v, want only the mention", ns)
	}
	if ns := gw.notes("carl"); len(ns) != 0 {
		t.Fatalf("carl, not mentioned, was notified of a large group's messages: %+v", ns)
	}
}

// TestOfflinePushJoinRequest: a group's owner with no device online is
// notified of a request to join it, once, with the asker's note; a
// request asked again notifies nobody again.
func TestOfflinePushJoinRequest(t *testing.T) {
	gw := newGateway(t)
	e := newEnv(t, envOptions{actors: actors.Config{Push: actors.PushConfig{
		Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1},
	}}})
	ctx := tctx(t)
	teacher := e.dial("teacher", "phone")
	conv, err := teacher.CreateGroup(ctx, "", "Year 7 maths", nil)
	if err != nil {
		t.Fatal(err)
	}
	code, _, err := teacher.CreateApprovalInvite(ctx, conv, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := teacher.RegisterPush(ctx, "webhook", "teacher-tok"); err != nil {
		t.Fatal(err)
	}
	_ = teacher.Close()
	e.offline(t, "teacher")
	dad := e.dial("dad", "phone")
	if _, err := dad.AskToJoin(ctx, code, "I'm Sam's father"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the teacher's notification", func() bool { return len(gw.notes("teacher")) > 0 })
	if _, err := dad.AskToJoin(ctx, code, ""); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	ns := gw.notes("teacher")
	if len(ns) != 1 || ns[0].Kind != "join_request" || ns[0].Conv != conv || ns[0].From != "dad" ||
		ns[0].Text != "asks to join: I'm Sam's father" || ns[0].LocKey != push.KeyJoinRequestNote ||
		!slices.Equal(ns[0].LocArgs, []string{"I'm Sam's father"}) || ns[0].ConvTitle != "Year 7 maths" {
		t.Fatalf("the teacher's notifications: %+v, want one join_request from dad with his note", ns)
	}
}

// TestOfflinePushQuietHours: a user's quiet hours, set over the wire in
// their own zone, pause their notifications while the node's clock is in
// them (a message then is never notified), and not after; hours the node
// cannot read are INVALID; taken away, none are read back.
func TestOfflinePushQuietHours(t *testing.T) {
	gw := newGateway(t)
	const coalesce = 200 * time.Millisecond
	var clock atomic.Pointer[time.Time]
	at := func(s string) {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		clock.Store(&ts)
	}
	at("2026-12-09T21:30:00Z") // a Wednesday, 22:30 in Berlin
	e := newEnv(t, envOptions{actors: actors.Config{Now: func() time.Time { return *clock.Load() },
		Push: actors.PushConfig{Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}, Coalesce: coalesce}}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")

	if _, err := bob.SetQuietHours(ctx, client.EveryDay("Mars/Olympus", "22:00", "07:00")); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("an unknown zone: %v, want INVALID", err)
	}
	five := &wirepb.QuietHours{Zone: "UTC", Week: map[string]string{"mon": "00:00-01:00,02:00-03:00,04:00-05:00,06:00-07:00,08:00-09:00"}}
	if _, err := bob.SetQuietHours(ctx, five); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("five intervals in a day, one past the bound: %v, want INVALID", err)
	}
	five.Week["mon"] = "00:00-01:00,02:00-03:00,04:00-05:00,06:00-07:00"
	if _, err := bob.SetQuietHours(ctx, five); err != nil {
		t.Fatalf("four intervals, the bound: %v", err)
	}
	nights := client.EveryDay("Europe/Berlin", "22:00", "07:00")
	got, err := bob.SetQuietHours(ctx, nights)
	if err != nil || got.Zone != "Europe/Berlin" || got.Week["wed"] != "00:00-07:00,22:00-24:00" || len(got.Week) != 7 {
		t.Fatalf("nightly quiet hours: %v %v", got, err)
	}
	if err := bob.RegisterPush(ctx, "webhook", "bob-tok"); err != nil {
		t.Fatal(err)
	}
	_ = bob.Close()
	e.offline(t, "bob")

	if _, err := alice.SendText(ctx, client.ToUser("bob"), "still up?"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * coalesce)
	if ns := gw.notes("bob"); len(ns) != 0 {
		t.Fatalf("notified in the quiet hours: %+v", ns)
	}
	at("2026-12-10T06:30:00Z") // 07:30 in Berlin: the night is over
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "good morning"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's morning notification", func() bool { return len(gw.notes("bob")) > 0 })
	time.Sleep(3 * coalesce)
	if ns := gw.notes("bob"); len(ns) != 1 || ns[0].Text != "good morning" {
		t.Fatalf("bob's notifications %+v, want the morning's alone", ns)
	}

	bob = e.dial("bob", "tablet")
	if err := bob.ClearQuietHours(ctx); err != nil {
		t.Fatal(err)
	}
	if q, err := bob.QuietHours(ctx); err != nil || q != nil {
		t.Fatalf("taken away: %v %v", q, err)
	}
}

// TestOfflinePushHiddenPreviews: a user who hides previews is notified of
// a message with no text (who, where, how many: APNs says "1 new
// messages"); showing them again brings the text back.
func TestOfflinePushHiddenPreviews(t *testing.T) {
	gw := newGateway(t)
	const coalesce = 200 * time.Millisecond
	e := newEnv(t, envOptions{actors: actors.Config{Push: actors.PushConfig{
		Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}, Coalesce: coalesce}}})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")
	if err := bob.SetPreviews(ctx, false); err != nil {
		t.Fatal(err)
	}
	if p, err := bob.Privacy(ctx, nil); err != nil || !p.HidePreviews {
		t.Fatalf("previews hidden, read back: %v %v", p, err)
	}
	if err := bob.RegisterPush(ctx, "webhook", "bob-tok"); err != nil {
		t.Fatal(err)
	}
	_ = bob.Close()
	e.offline(t, "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "your test results are in"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's notification", func() bool { return len(gw.notes("bob")) > 0 })
	if n := gw.notes("bob")[0]; n.Text != "" || n.From != "alice" || n.Count != 1 {
		t.Fatalf("a hidden preview: %+v, want no text, from alice", n)
	}
	if p, err := push.APNsPayload(gw.notes("bob")[0], false); err != nil || strings.Contains(string(p), "results") {
		t.Fatalf("the APNs payload shows the text: %s %v", p, err)
	}

	bob = e.dial("bob", "tablet")
	if err := bob.SetPreviews(ctx, true); err != nil {
		t.Fatal(err)
	}
	_ = bob.Close()
	e.offline(t, "bob")
	time.Sleep(2 * coalesce) // the first notification's window is over
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "call us back"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's second notification, with its text", func() bool {
		ns := gw.notes("bob")
		return len(ns) == 2 && ns[1].Text == "call us back"
	})
}

// TestOfflinePushDisappearing: the notification of a disappearing message
// carries the message's end, so the gateways keep it for an offline phone
// only until then and the app takes it off the screen then.
func TestOfflinePushDisappearing(t *testing.T) {
	gw := newGateway(t)
	e := newEnv(t, envOptions{actors: actors.Config{MinDisappearAfter: time.Second, Push: actors.PushConfig{
		Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}, Coalesce: 100 * time.Millisecond}}})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SetDisappearing(ctx, conv, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := bob.RegisterPush(ctx, "webhook", "bob-tok"); err != nil {
		t.Fatal(err)
	}
	_ = bob.Close()
	e.offline(t, "bob")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "the door code is 4711")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's notification", func() bool { return len(gw.notes("bob")) > 0 })
	if n := gw.notes("bob")[0]; n.Seq != sent.Seq || n.ExpiresAtMs == 0 || n.ExpiresAtMs != sent.ExpiresAt.UnixMilli() {
		t.Fatalf("notification %+v, want seq %d ending at %d", n, sent.Seq, sent.ExpiresAt.UnixMilli())
	}
}
