package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Clearing a chat over the wire: the buyer clears it on the phone; the
// laptop lets go of what it holds by itself, a device that starts afresh
// syncs the clear, and the seller keeps every message. A later message
// shows everywhere as usual.
func TestClearHistoryOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, phone, laptop := e.dial("seller", "phone"), e.dial("buyer", "phone"), e.dial("buyer", "laptop")
	var conv string
	for _, text := range []string{"still for sale?", "yes, 40"} {
		m, err := seller.SendText(ctx, client.ToUser("buyer"), text)
		if err != nil {
			t.Fatal(err)
		}
		conv = m.Conv
	}
	eventually(t, "both of the buyer's devices hold the two", func() bool {
		return len(phone.Messages(conv)) == 2 && len(laptop.Messages(conv)) == 2
	})
	cleared, total, err := phone.ClearHistory(ctx, conv, 0)
	if err != nil || cleared != 2 || total != 0 {
		t.Fatalf("clear: %d, total unread %d, %v; want 2, 0", cleared, total, err)
	}
	if n := len(phone.Messages(conv)); n != 0 {
		t.Fatalf("the phone holds %d messages after clearing", n)
	}
	eventually(t, "the laptop lets go of them", func() bool {
		c, _ := laptop.Conversation(conv)
		return len(laptop.Messages(conv)) == 0 && c.ClearedSeq == 2
	})
	if ms, err := laptop.History(ctx, conv, client.HistoryOptions{}); err != nil || len(ms) != 0 {
		t.Fatalf("the laptop's history: %d messages, %v", len(ms), err)
	}
	fresh := e.dial("buyer", "tablet")
	synced := false
	for _, c := range fresh.Welcome().Sync.Conversations {
		if c.Conv == conv {
			synced = true
			if c.ClearedSeq != 2 || c.LastMessage != nil {
				t.Fatalf("a fresh device's summary: cleared %d, last %v", c.ClearedSeq, c.LastMessage)
			}
		}
	}
	if !synced {
		t.Fatal("a fresh device's sync has no summary of the conversation")
	}
	if n := len(seller.Messages(conv)); n != 2 {
		t.Fatalf("the seller holds %d messages, want both", n)
	}
	if _, err := seller.SendText(ctx, client.ToConv(conv), "price drop: 35"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the laptop shows the next message", func() bool {
		ms := laptop.Messages(conv)
		return len(ms) == 1 && ms[0].Seq == 3
	})
	if _, _, err := e.dial("stranger", "phone").ClearHistory(ctx, conv, 0); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a stranger clears: %v, want NOT_MEMBER", err)
	}
}
