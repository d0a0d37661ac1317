package transport_test

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestMetaOverTheWire: the app's data about a message reaches the other
// side with it over QUIC, stays in both clients' copies through an edit,
// and comes back in history; past the node's bound it is TOO_LARGE.
func TestMetaOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{MaxMetaBytes: 24}})
	ctx := tctx(t)
	buyer, seller := e.dial("buyer", "phone"), e.dial("seller", "phone")
	offer := map[string]string{"offer": "120", "currency": "EUR"}
	p, err := buyer.SendWithMeta(client.ToUser("seller"), []byte("would you take this?"), offer, "")
	if err != nil {
		t.Fatal(err)
	}
	sent, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("buyer", "seller")
	eventually(t, "the seller holds the message with its meta", func() bool {
		m, ok := held(seller, conv, sent.Seq)
		return ok && maps.Equal(m.Meta, offer)
	})
	if _, err := buyer.Edit(ctx, conv, sent.Seq, "would you take 120?"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both copies keep the meta through the edit", func() bool {
		a, ok1 := held(buyer, conv, sent.Seq)
		b, ok2 := held(seller, conv, sent.Seq)
		return ok1 && ok2 && string(b.Body) == "would you take 120?" && maps.Equal(a.Meta, offer) && maps.Equal(b.Meta, offer)
	})
	hist, err := seller.History(ctx, conv, client.HistoryOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(hist, func(m client.Message) bool { return m.Seq == sent.Seq }); i < 0 || !maps.Equal(hist[i].Meta, offer) {
		t.Fatalf("history: %+v", hist)
	}
	// A card carries it too (an offer's id the app opens).
	cp, err := seller.SendCardWithMeta(client.ToConv(conv), []byte(`{"title":"Offer: 120 EUR"}`), map[string]string{"offer": "o-1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	card, err := cp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buyer holds the card with its meta", func() bool {
		m, ok := held(buyer, conv, card.Seq)
		return ok && m.Kind == wirepb.MessageKind_CARD && m.Meta["offer"] == "o-1"
	})
	// And a poll, and a file.
	poll, err := seller.SendPollWithMeta(ctx, client.ToConv(conv), client.Poll{Question: "Pick up when?", Options: []string{"Fri", "Sat"}}, map[string]string{"slot": "s-1"})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := buyer.Upload(ctx, conv, "receipt.txt", "text/plain", []byte("paid 120 EUR"))
	if err != nil {
		t.Fatal(err)
	}
	fp, err := buyer.SendMediaWithMeta(conv, ref, "the receipt", map[string]string{"order": "o-1"})
	if err != nil {
		t.Fatal(err)
	}
	file, err := fp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the poll and the file with their meta", func() bool {
		p, ok1 := held(buyer, conv, poll.Seq)
		f, ok2 := held(seller, conv, file.Seq)
		return ok1 && ok2 && p.Kind == wirepb.MessageKind_POLL && p.Meta["slot"] == "s-1" && f.Media != nil && f.Meta["order"] == "o-1"
	})
	big, err := buyer.SendWithMeta(client.ToUser("seller"), []byte("x"), map[string]string{"k": strings.Repeat("v", 24)}, "")
	if err != nil {
		t.Fatal(err)
	}
	var we *wirepb.Error
	if _, err := big.Wait(ctx); !errors.As(err, &we) || we.Code != wirepb.Code_TOO_LARGE {
		t.Fatalf("meta past the bound: %v", err)
	}
}

// TestConversationMetaOverTheWire: the operator's meta of a conversation
// reaches an online member's client with a membership push and a device
// that connects later with its sync; taking it away reaches them too.
func TestConversationMetaOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer := e.dial("buyer", "phone")
	sent, err := buyer.SendText(ctx, client.ToUserAbout("seller", "listing-7"), "still there?")
	if err != nil {
		t.Fatal(err)
	}
	lamp := map[string]string{"title": "Lamp", "price": "40 EUR"}
	if _, err := e.nodes[0].SetConversationMetaAsOperator(ctx, sent.Conv, lamp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buyer's client holds the listing beside the chat", func() bool {
		c, ok := buyer.Conversation(sent.Conv)
		return ok && maps.Equal(c.Meta, lamp)
	})
	seller := e.dial("seller", "laptop")
	eventually(t, "the seller's client, connected later, holds it from its sync", func() bool {
		c, ok := seller.Conversation(sent.Conv)
		return ok && maps.Equal(c.Meta, lamp)
	})
	if _, err := e.nodes[0].SetConversationMetaAsOperator(ctx, sent.Conv, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "both let go of it", func() bool {
		a, _ := buyer.Conversation(sent.Conv)
		b, _ := seller.Conversation(sent.Conv)
		return a.Meta == nil && b.Meta == nil
	})
}
