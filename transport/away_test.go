package transport_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Over QUIC: a seller sets an away message on the phone, the laptop hears
// of it, a buyer's first message is answered with it (an automatic reply
// the buyer's client can tell), and clearing it stops the answers. The
// text's bound at its edge and a malformed end are refused.
func TestAwayOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	phone, laptop, buyer := e.dial("seller", "phone"), e.dial("seller", "laptop"), e.dial("buyer", "phone")
	until := time.Now().Add(24 * time.Hour)
	a, err := phone.SetAway(ctx, "On holiday until Monday", until)
	if err != nil || a.Text != "On holiday until Monday" || a.Until.UnixMilli() != until.UnixMilli() || a.Since.IsZero() {
		t.Fatalf("set: %+v %v", a, err)
	}
	waitFor(t, laptop, client.EventAway, "the phone set the away message")
	if got, err := laptop.Away(ctx); err != nil || got != a {
		t.Fatalf("the laptop reads %+v %v, want %+v", got, err, a)
	}
	conv := wirepb.DirectConvID("buyer", "seller")
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "is it still for sale?"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buyer gets the automatic reply", func() bool {
		return slices.ContainsFunc(buyer.Messages(conv), func(m client.Message) bool {
			return m.AutoReply && m.Sender == "seller" && string(m.Body) == "On holiday until Monday"
		})
	})
	if _, err := phone.SetAway(ctx, strings.Repeat("x", 501), time.Time{}); codeOf(err) != wirepb.Code_TOO_LARGE {
		t.Fatalf("an away message of 501 bytes: %v, want TOO_LARGE", err)
	}
	if _, err := phone.SetAway(ctx, strings.Repeat("x", 500), time.Time{}); err != nil {
		t.Fatalf("an away message of 500 bytes: %v", err)
	}
	if _, err := phone.SetAway(ctx, "back soon", time.UnixMilli(-5)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a negative end: %v, want INVALID", err)
	}
	if err := phone.ClearAway(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := laptop.Away(ctx); err != nil || got.Text != "" {
		t.Fatalf("after clearing: %+v %v", got, err)
	}
}
