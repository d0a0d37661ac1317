package transport_test

import (
	"bytes"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestForwardOverTheWire: over real QUIC, a member forwards a text and a
// file to a user it never wrote to; the answer is the copy as stored
// (the file a copy of its own, its bytes the same), the recipient's
// client shows both labelled forwarded, naming only the forwarder; a
// message the forwarder cannot read is NOT_MEMBER and a card INVALID.
func TestForwardOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, buyer, partner := e.dial("seller", "phone"), e.dial("buyer", "phone"), e.dial("partner", "phone")
	conv, err := seller.CreateGroup(ctx, "g:bikes", "bikes", []string{"buyer"})
	if err != nil {
		t.Fatal(err)
	}
	offer, err := seller.SendText(ctx, client.ToConv(conv), "bike, 100")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("photo"), 1000)
	photo, err := seller.SendFile(ctx, conv, "bike.png", "image/png", data, "the bike")
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the buyer holds the photo", func() bool { return len(buyer.Messages(conv)) >= 2 })

	p, err := buyer.Forward(client.ToUser("partner"), conv, offer.Seq)
	if err != nil {
		t.Fatal(err)
	}
	text, err := p.Wait(ctx)
	if err != nil || !text.Forwarded || string(text.Body) != "bike, 100" || text.Seq == 0 {
		t.Fatalf("the forwarded text: %+v, %v", text, err)
	}
	p, err = buyer.Forward(client.ToUser("partner"), conv, photo.Seq)
	if err != nil {
		t.Fatal(err)
	}
	file, err := p.Wait(ctx)
	if err != nil || !file.Forwarded || string(file.Body) != "the bike" || file.Media.GetId() == "" || file.Media.Id == photo.Media.GetId() {
		t.Fatalf("the forwarded file: %+v, %v (the photo %v)", file, err, photo.Media)
	}
	direct := wirepb.DirectConvID("buyer", "partner")
	if file.Conv != direct {
		t.Fatalf("the forward went to %s, want %s", file.Conv, direct)
	}
	eventually(t, "the partner holds both, labelled", func() bool {
		ms := partner.Messages(direct)
		return len(ms) == 2 && ms[0].Forwarded && ms[1].Forwarded && ms[0].ForwardHops == 1 && ms[1].ForwardHops == 1 && ms[1].Sender == "buyer" && ms[1].Media.GetId() == file.Media.Id
	})
	_, got, err := partner.Download(ctx, direct, file.Seq)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the partner downloads %d bytes, %v; want the photo's %d", len(got), err, len(data))
	}

	// What the forwarder cannot read, and what is not forwarded.
	if p, err = partner.Forward(client.ToUser("buyer"), conv, offer.Seq); err == nil {
		_, err = p.Wait(ctx)
	}
	if codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("forwarding from a conversation one is not in: %v, want NOT_MEMBER", err)
	}
	pending, err := seller.SendCard(client.ToConv(conv), []byte(`{"title":"Bike"}`), "")
	if err != nil {
		t.Fatal(err)
	}
	card, err := pending.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = buyer.Forward(client.ToUser("partner"), conv, card.Seq); err == nil {
		_, err = p.Wait(ctx)
	}
	if codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("forwarding a card: %v, want INVALID", err)
	}
}
