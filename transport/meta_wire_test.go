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
	big, err := buyer.SendWithMeta(client.ToUser("seller"), []byte("x"), map[string]string{"k": strings.Repeat("v", 24)}, "")
	if err != nil {
		t.Fatal(err)
	}
	var we *wirepb.Error
	if _, err := big.Wait(ctx); !errors.As(err, &we) || we.Code != wirepb.Code_TOO_LARGE {
		t.Fatalf("meta past the bound: %v", err)
	}
}
