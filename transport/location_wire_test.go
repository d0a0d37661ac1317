package transport_test

import (
	"testing"
	"time"

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
	// A live share: moved twice, the seller's client shows the newest
	// place, then its end.
	lp, err := buyer.SendLiveLocation(client.ToUser("seller"), 52.5, 13.4, "me", "on my way", time.Now().Add(10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	live, err := lp.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, lat := range []float64{52.51, 52.52} {
		p, err := buyer.MoveLocation(live.Conv, live.Seq, lat, 13.4)
		if err == nil {
			_, err = p.Wait(ctx)
		}
		if err != nil {
			t.Fatalf("a move to %v: %v", lat, err)
		}
	}
	eventually(t, "the seller's copy shows the newest place, live, with its caption", func() bool {
		m, ok := held(seller, live.Conv, live.Seq)
		return ok && m.Location.GetLat() == 52.52 && m.Location.GetName() == "me" && m.Location.GetLiveUntilMs() > time.Now().UnixMilli() && string(m.Body) == "on my way"
	})
	sp, err := buyer.StopLocation(live.Conv, live.Seq, 52.53, 13.4)
	if err == nil {
		_, err = sp.Wait(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the seller's copy shows the share ended", func() bool {
		m, ok := held(seller, live.Conv, live.Seq)
		return ok && m.Location.GetLat() == 52.53 && m.Location.GetLiveUntilMs() <= time.Now().UnixMilli()
	})

	bad, err := buyer.SendLocation(client.ToUser("seller"), 91, 0, "", "north of north")
	if err == nil {
		_, err = bad.Wait(ctx)
	}
	if codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a latitude of 91: %v, want INVALID", err)
	}
}
