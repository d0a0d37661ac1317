package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Hidden read receipts over the wire: a buyer who turns them off reads
// the seller's offer and the seller's client never shows it read; the
// buyer, in return, never sees the seller read theirs; delivered still
// shows. Turned on again, the next read shows at once.
func TestHiddenReadReceiptsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, buyer := e.dial("seller", "phone"), e.dial("buyer", "phone")
	if err := buyer.SetReadReceipts(ctx, false); err != nil {
		t.Fatal(err)
	}
	if p, err := buyer.Privacy(ctx, nil); err != nil || !p.HideReadReceipts || p.Presence != wirepb.PresenceSharing_PRESENCE_EVERYONE {
		t.Fatalf("the buyer's settings: %v, %v", p, err)
	}
	offer, err := seller.SendText(ctx, client.ToUser("buyer"), "my best price: 40")
	if err != nil {
		t.Fatal(err)
	}
	conv := offer.Conv
	eventually(t, "the buyer has the offer", func() bool { return len(buyer.Messages(conv)) == 1 })
	if _, _, err := buyer.MarkRead(ctx, conv, offer.Seq); err != nil {
		t.Fatal(err)
	}
	// The buyer's answer follows any receipt of the read on the seller's
	// connection: once it arrives, a receipt would have too.
	answer, err := buyer.SendText(ctx, client.ToConv(conv), "ok, deal")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller has the answer", func() bool { return len(seller.Messages(conv)) == 2 })
	if st := seller.Messages(conv)[0].State; st == client.StateRead {
		t.Fatal("the seller sees the offer read; the buyer hides receipts")
	}
	if _, _, err := seller.MarkRead(ctx, conv, answer.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := seller.SendText(ctx, client.ToConv(conv), "shipping tomorrow"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buyer has the seller's next message", func() bool { return len(buyer.Messages(conv)) == 3 })
	if st := buyer.Messages(conv)[1].State; st == client.StateRead {
		t.Fatal("the buyer sees the seller's read; who hides receipts sees none")
	}
	eventually(t, "delivered still shows", func() bool { return buyer.Messages(conv)[1].State == client.StateDelivered })

	if err := buyer.SetReadReceipts(ctx, true); err != nil {
		t.Fatal(err)
	}
	last := buyer.Messages(conv)[2]
	if _, _, err := buyer.MarkRead(ctx, conv, last.Seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller sees the buyer's read once receipts are on", func() bool { return seller.Messages(conv)[2].State == client.StateRead })
}
