package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestLocationsOverTheWire: a buyer shares where to meet over QUIC; the
// seller's client holds the place, a forward of it carries it on (the
// forwarder's answer too), a recall takes it from the seller's copy; a
// latitude past 90 is INVALID.
func TestLocationsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer, seller := e.dial("buyer", "phone"), e.dial("seller", "phone")
	p, err := buyer.SendLocation(client.ToUser("seller"), 52.520008, 13.404954, "Café am Markt", "")
	if err != nil {
		t.Fatal(err)
	}
	meet, err := p.Wait(ctx)
	if err != nil || meet.Location.GetName() != "Café am Markt" {
		t.Fatalf("the buyer's location: %+v %v", meet, err)
	}
	eventually(t, "the seller holds the place", func() bool {
		m, ok := held(seller, meet.Conv, meet.Seq)
		return ok && m.Location.GetLat() == 52.520008 && m.Location.GetLng() == 13.404954 && len(m.Body) == 0
	})
	fw, err := seller.Forward(client.ToUser("courier"), meet.Conv, meet.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := fw.Wait(ctx); err != nil || c.Location.GetName() != "Café am Markt" || !c.Forwarded {
		t.Fatalf("the seller's forward: %+v %v", c, err)
	}
	if _, err := buyer.Recall(ctx, meet.Conv, meet.Seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller's copy lets go of the place", func() bool {
		m, ok := held(seller, meet.Conv, meet.Seq)
		return ok && m.Recalled && m.Location == nil
	})
	bad, err := buyer.SendLocation(client.ToUser("seller"), 91, 0, "", "north of north")
	if err == nil {
		_, err = bad.Wait(ctx)
	}
	if codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a latitude of 91: %v, want INVALID", err)
	}
}
