package transport_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/internal/ice"
	"github.com/switchboard-im/switchboard/push"
	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// callEvent reads c's events until a call step that wanted accepts, and
// returns it.
func callEvent(t *testing.T, c *client.Client, missing string, wanted func(*client.CallEvent) bool) *client.CallEvent {
	t.Helper()
	var got *client.CallEvent
	waitEvent(t, c, missing, func(ev client.Event) bool {
		if ev.Kind == client.EventCall && wanted(ev.Call) {
			got = ev.Call
		}
		return got != nil
	})
	return got
}

// TestCallOverTheWire, over QUIC with the Go SDK: a call to a seller whose
// only phone is offline pushes the phone; the seller's laptop connects,
// reads the ringing call, answers it; the two devices' signals cross in
// order; the seller hangs up and the buyer hears how it ended and where
// it is recorded. The phone that rang by push is told, once, that the
// call stopped ringing when the laptop answered. A second call nobody
// answers is missed, and the seller's phone is told so (no "stopped
// ringing": the ring's end says that); a third, cancelled by the buyer
// while it rings, stops the phone ringing.
func TestCallOverTheWire(t *testing.T) {
	t.Parallel()
	gw := newGateway(t)
	e := newEnv(t, envOptions{actors: actors.Config{
		CallRingTimeout: 2 * time.Second,
		Push:            actors.PushConfig{Default: &push.Webhook{URL: gw.srv.URL, Secret: pushSecret, MaxAttempts: 1}, Coalesce: 50 * time.Millisecond},
	}, transport: transport.Config{
		ICE: ice.Config{URLs: []string{"stun:stun.example.org:3478", "turn:turn.example.org:3478"}, Secret: []byte("north"), TTL: time.Hour},
	}})
	ctx := tctx(t)
	buyer := e.dial("buyer", "phone")
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "is the bike still for sale?"); err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("buyer", "seller")
	phone := e.dial("seller", "phone")
	if err := phone.RegisterPush(ctx, "webhook", "seller-tok"); err != nil {
		t.Fatal(err)
	}
	_ = phone.Close()
	e.offline(t, "seller")

	// The servers to make the call with: STUN as configured, TURN with
	// a credential for the buyer that the TURN server can check.
	servers, err := buyer.ICEServers(ctx, conv)
	if err != nil || len(servers) != 2 || servers[0].URLs[0] != "stun:stun.example.org:3478" || servers[1].URLs[0] != "turn:turn.example.org:3478" ||
		!strings.HasSuffix(servers[1].Username, ":buyer") || servers[1].Credential != ice.Credential([]byte("north"), servers[1].Username) {
		t.Fatalf("ice servers: %+v %v", servers, err)
	}
	call, err := buyer.StartCall(ctx, conv, "c1", true, []byte("v=0 offer"))
	if err != nil || call.ID != "c1" || call.Callee != "seller" || !call.Video || !call.Answered.IsZero() {
		t.Fatalf("start: %+v %v", call, err)
	}
	_, err = buyer.StartCall(ctx, conv, "c2", false, nil)
	if wirepb.CodeOf(err) != wirepb.Code_IN_CALL {
		t.Fatalf("a second call while one rings: %v", err)
	}
	eventually(t, "the seller's phone is pushed", func() bool {
		for _, n := range gw.notes("seller") {
			if n.Kind == "call" && n.Conv == conv && n.From == "buyer" && n.Text == "Incoming video call" && n.LocKey == push.KeyIncomingVideoCall && n.ExpiresAtMs > 0 &&
				n.CallID == "c1" && n.Video && len(n.Targets) == 1 && n.Targets[0] == (push.Target{Platform: "webhook", Token: "seller-tok"}) {
				return true
			}
		}
		return false
	})

	laptop := e.dial("seller", "laptop")
	ringing, err := laptop.CallState(ctx, conv)
	if err != nil || ringing == nil || ringing.ID != "c1" || ringing.CallerDevice != "phone" || string(ringing.Offer) != "v=0 offer" {
		t.Fatalf("the laptop reads the ringing call and its offer: %+v %v", ringing, err)
	}
	if own, err := buyer.CallState(ctx, conv); err != nil || own == nil || own.Offer != nil {
		t.Fatalf("the caller reads the call, no offer: %+v %v", own, err)
	}
	if _, err := laptop.AcceptCall(ctx, conv, "c1", []byte("v=0 answer")); err != nil {
		t.Fatal(err)
	}
	if ev := callEvent(t, buyer, "the buyer hears the answer", func(ev *client.CallEvent) bool { return ev.Kind == client.CallAccepted }); string(ev.Payload) != "v=0 answer" || ev.Call.AnsweredDevice != "laptop" {
		t.Fatalf("accepted: %+v", ev)
	}
	stopped := func(call string) []push.Notification {
		var out []push.Notification
		for _, n := range gw.notes("seller") {
			if n.Kind == push.KindCallEnded && n.CallID == call {
				out = append(out, n)
			}
		}
		return out
	}
	eventually(t, "the phone stops ringing: answered", func() bool { return len(stopped("c1")) == 1 })
	if n := stopped("c1")[0]; n.Outcome != "answered" || n.Conv != conv || n.ExpiresAtMs == 0 || n.Text != "" ||
		len(n.Targets) != 1 || n.Targets[0].Token != "seller-tok" {
		t.Fatalf("the end of the ring: %+v", n)
	}
	for i := range 3 {
		if err := buyer.SendCallSignal(ctx, conv, "c1", fmt.Appendf(nil, "candidate %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	waitEvent(t, laptop, "the buyer's three candidates", func(ev client.Event) bool {
		if ev.Kind == client.EventCall && ev.Call.Kind == client.CallSignal {
			got = append(got, string(ev.Call.Payload))
		}
		return len(got) == 3
	})
	if strings.Join(got, ",") != "candidate 0,candidate 1,candidate 2" {
		t.Fatalf("the candidates in the order sent: %v", got)
	}
	if err := laptop.SendCallSignal(ctx, conv, "c1", []byte("candidate back")); err != nil {
		t.Fatal(err)
	}
	callEvent(t, buyer, "the laptop's candidate", func(ev *client.CallEvent) bool { return string(ev.Payload) == "candidate back" })

	if err := laptop.EndCall(ctx, conv, "c1", ""); err != nil {
		t.Fatal(err)
	}
	end := callEvent(t, buyer, "the end", func(ev *client.CallEvent) bool { return ev.Kind == client.CallEnded })
	if end.Outcome != "ended" || end.Seq == 0 {
		t.Fatalf("the end: %+v", end)
	}
	msgs, err := buyer.History(ctx, conv, client.HistoryOptions{FromSeq: end.Seq, ToSeq: end.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].Seq != end.Seq || !strings.Contains(string(msgs[0].Body), `"outcome":"ended"`) {
		t.Fatalf("the call's record: %+v %v", msgs, err)
	}
	if err := laptop.EndCall(ctx, conv, "c1", ""); wirepb.CodeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("hanging up a call that ended: %v", err)
	}

	// Nobody answers the next one: missed, and the offline phone hears it.
	_ = laptop.Close()
	e.offline(t, "seller")
	if _, err := buyer.StartCall(ctx, conv, "c3", false, nil); err != nil {
		t.Fatal(err)
	}
	if ev := callEvent(t, buyer, "a missed call", func(ev *client.CallEvent) bool { return ev.Kind == client.CallEnded }); ev.Outcome != "missed" || ev.Call.ID != "c3" {
		t.Fatalf("missed: %+v", ev)
	}
	eventually(t, "the seller's phone hears of the missed call", func() bool {
		for _, n := range gw.notes("seller") {
			if n.Kind == "" && n.Text == "Missed call" && n.LocKey == push.KeyMissedCall && n.From == "buyer" {
				return true
			}
		}
		return false
	})

	// The buyer hangs up while it rings: the phone stops ringing.
	if _, err := buyer.StartCall(ctx, conv, "c4", false, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the phone rings for c4", func() bool {
		for _, n := range gw.notes("seller") {
			if n.Kind == push.KindCall && n.CallID == "c4" {
				return true
			}
		}
		return false
	})
	if err := buyer.EndCall(ctx, conv, "c4", ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the phone stops ringing: cancelled", func() bool { return len(stopped("c4")) == 1 })
	if n := stopped("c4")[0]; n.Outcome != "cancelled" {
		t.Fatalf("the end of c4's ring: %+v", n)
	}
	if n, m := len(stopped("c1")), len(stopped("c3")); n != 1 || m != 0 {
		t.Fatalf("%d ends of c1's ring (the answer, not the hang-up too), %d of the missed c3's", n, m)
	}
}

// A call that ends while a device of it is away: the device's SDK finds
// it gone once it reconnects and reports the end itself (no outcome: the
// conversation's record has it), and stops saying it is alive.
func TestCallEndedWhileAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer := e.dial("buyer", "phone")
	seller := e.dial("seller", "phone", func(c *client.Config) { c.MinBackoff, c.MaxBackoff = 300*time.Millisecond, 400*time.Millisecond })
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "call?"); err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("buyer", "seller")
	if _, err := buyer.StartCall(ctx, conv, "c1", false, nil); err != nil {
		t.Fatal(err)
	}
	callEvent(t, seller, "the ring", func(ev *client.CallEvent) bool { return ev.Kind == client.CallRinging })
	if _, err := seller.AcceptCall(ctx, conv, "c1", nil); err != nil {
		t.Fatal(err)
	}
	seller.Reconnect()
	eventually(t, "the seller away", func() bool { return !seller.Connected() })
	if err := buyer.EndCall(ctx, conv, "c1", ""); err != nil {
		t.Fatal(err)
	}
	if ev := callEvent(t, seller, "the end, found after the reconnect", func(ev *client.CallEvent) bool { return ev.Kind == client.CallEnded }); ev.Call.ID != "c1" || ev.Outcome != "" {
		t.Fatalf("the end: %+v", ev)
	}
}
