package transport_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestDirectTopicsOverTheWire: a buyer writes to a seller about a listing
// over QUIC; the seller gets it in the pair's conversation about that
// listing, apart from another listing's; a photo may start a listing's
// conversation; a forward and a scheduled message reach one by topic;
// a topic out of its alphabet is INVALID.
func TestDirectTopicsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer, seller := e.dial("buyer", "phone"), e.dial("seller", "phone")
	lamp, err := buyer.SendText(ctx, client.ToUserAbout("seller", "listing-7"), "is the lamp still there?")
	if err != nil {
		t.Fatal(err)
	}
	if lamp.Conv != wirepb.DirectTopicConvID("buyer", "seller", "listing-7") || lamp.Conv != "d:buyer:seller:listing-7" {
		t.Fatalf("sent into %s", lamp.Conv)
	}
	eventually(t, "the seller holds the question in the listing's conversation", func() bool {
		m, ok := held(seller, lamp.Conv, lamp.Seq)
		return ok && string(m.Body) == "is the lamp still there?"
	})
	if peer, ok := wirepb.DirectPeer(lamp.Conv, "seller"); !ok || peer != "buyer" {
		t.Fatalf("the seller's peer in %s: %q %v", lamp.Conv, peer, ok)
	}
	if _, err := seller.SendText(ctx, client.ToConv(lamp.Conv), "yes"); err != nil {
		t.Fatal(err)
	}

	// A photo starts another listing's conversation.
	sofa := wirepb.DirectTopicConvID("buyer", "seller", "listing-8")
	photo, err := buyer.SendFile(ctx, sofa, "sofa.png", "image/png", []byte("\x89PNG not really"), "this one?")
	if err != nil || photo.Conv != sofa {
		t.Fatalf("a photo starting %s: %v %v", sofa, photo.Conv, err)
	}
	// A forward of it to a third listing's conversation, by its id.
	chair := wirepb.DirectTopicConvID("buyer", "seller", "listing-9")
	p, err := buyer.Forward(client.ToConv(chair), sofa, photo.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if fw, err := p.Wait(ctx); err != nil || fw.Conv != chair || !fw.Forwarded {
		t.Fatalf("the forward into %s: %+v %v", chair, fw, err)
	}

	// A message scheduled to a user about a topic keeps its topic.
	sc, err := buyer.Schedule(ctx, client.ToUserAbout("seller", "listing-7"), client.Message{Body: []byte("pick up at 6?")}, time.Now().Add(time.Hour))
	if err != nil || sc.To != "seller" || sc.Topic != "listing-7" {
		t.Fatalf("scheduled %+v: %v", sc, err)
	}
	list, err := buyer.ScheduledMessages(ctx)
	if err != nil || len(list) != 1 || list[0].Topic != "listing-7" {
		t.Fatalf("scheduled, read back: %+v %v", list, err)
	}

	var we *wirepb.Error
	if _, err := buyer.SendText(ctx, client.ToUserAbout("seller", "listing:7"), "x"); !errors.As(err, &we) || we.Code != wirepb.Code_INVALID {
		t.Fatalf("a topic with a colon: %v, want INVALID", err)
	}
}
