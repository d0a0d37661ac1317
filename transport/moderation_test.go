package transport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestSuspendOverTheWire: an operator suspends a connected user; the
// node ends the connection with SUSPENDED and the reason, the client stops
// for good instead of reconnecting, a new connect is refused at once, and
// other users carry on. After the lift the user connects again.
func TestSuspendOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	mallory, bob := e.dial("mallory", "phone"), e.dial("bob", "phone")
	if _, err := mallory.SendText(ctx, client.ToUser("bob"), "cheap watches"); err != nil {
		t.Fatal(err)
	}
	res, err := e.nodes[0].Suspend(ctx, "mallory", time.Time{}, "counterfeit goods")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.EndedDevices) != 1 || res.EndedDevices[0] != "phone" {
		t.Fatalf("ended devices %v, want [phone]", res.EndedDevices)
	}
	eventually(t, "the suspended client stops", func() bool { return mallory.Err() != nil })
	if err := mallory.Err(); codeOf(err) != wirepb.Code_SUSPENDED || !strings.Contains(err.Error(), "counterfeit goods") {
		t.Fatalf("the client stopped with %v, want SUSPENDED with the reason", err)
	}
	if _, err := mallory.SendText(ctx, client.ToUser("bob"), "hello?"); err == nil {
		t.Fatal("a stopped client's send succeeded")
	}
	start := time.Now()
	_, err = client.Dial(ctx, e.config("mallory", "tablet"))
	if codeOf(err) != wirepb.Code_SUSPENDED {
		t.Fatalf("dial of a suspended user: %v, want SUSPENDED", err)
	}
	t.Logf("the refused dial returned after %v", time.Since(start).Round(time.Millisecond))
	if _, err := bob.SendText(ctx, client.ToUser("mallory"), "reported you"); err != nil {
		t.Fatalf("another user's send: %v", err)
	}
	if err := e.nodes[0].Unsuspend(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	back := e.dial("mallory", "phone")
	if _, err := back.SendText(ctx, client.ToUser("bob"), "sorry"); err != nil {
		t.Fatalf("send after the lift: %v", err)
	}
}

// TestReportOverTheWire: a buyer reports a seller's message over QUIC;
// the moderators' list has it; a report of one's own message is INVALID.
func TestReportOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, buyer := e.dial("seller", "phone"), e.dial("buyer", "phone")
	sent, err := seller.SendText(ctx, client.ToUser("buyer"), "pay by wire transfer, outside the app")
	if err != nil {
		t.Fatal(err)
	}
	id, dup, err := buyer.Report(ctx, sent.Conv, sent.Seq, "asks to pay outside the app")
	if err != nil || id == "" || dup {
		t.Fatalf("report: %q %v %v", id, dup, err)
	}
	if again, dup, err := buyer.Report(ctx, sent.Conv, sent.Seq, ""); err != nil || again != id || !dup {
		t.Fatalf("the same report again: %q %v %v", again, dup, err)
	}
	if _, _, err := seller.Report(ctx, sent.Conv, sent.Seq, ""); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("reporting one's own message: %v, want INVALID", err)
	}
	if _, _, err := buyer.Report(ctx, "bad conv id", 1, ""); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a bad conversation id: %v, want INVALID", err)
	}
	open, _, err := e.nodes[0].Reports(ctx, "", 0)
	if err != nil || len(open) != 1 || open[0].Id != id || string(open[0].Body) != "pay by wire transfer, outside the app" {
		t.Fatalf("the moderators see %v, %v", open, err)
	}
}
