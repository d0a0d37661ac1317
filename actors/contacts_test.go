package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestContactDetailsMasked: with --contact-details mask, the phone
// numbers and e-mail addresses of a direct conversation's texts are
// stored as *** (what the other side reads, what the sender is answered),
// while prices, order numbers, dates, links and ids stay; groups (not in
// ContactDetailsIn) and cards are not read.
func TestContactDetailsMasked(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{ContactDetails: actors.PolicyMask, ContactDetailsIn: []string{"direct"}})[0]
	ctx := tctx(t)
	seq := uint64(0)
	for _, c := range []struct{ sent, stored string }{
		{"call me at +49 30 1234567 tonight", "call me at *** tonight"},
		{"(030) 123-45678", "***"},
		{"my cell: 0151 2345 6789.", "my cell: ***."},
		{"mail ann.lee@example.co.uk or bob+shop@mail.example", "mail *** or ***"},
		{"ann1234567890@example.com", "***"},
		{"12345678", "***"},                                    // the limit: 8 digits
		{"call zero one five one, two three 4567", "call ***"}, // spelled out
		{"1234567", "1234567"},
		{"price 18,900 EUR, order 1042", "price 18,900 EUR, order 1042"},
		{"viewing on 2026-12-03 or 04.12.2026 at 10:00", "viewing on 2026-12-03 or 04.12.2026 at 10:00"},
		{"or 2026-12-04 10:30, 05.12.2026 9:00", "or 2026-12-04 10:30, 05.12.2026 9:00"},
		{"see https://shop.example/item/12345678 and ref AB12345678", "see https://shop.example/item/12345678 and ref AB12345678"},
	} {
		res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte(c.sent)})
		if err != nil {
			t.Fatalf("%q: %v", c.sent, err)
		}
		seq = res.Seq
		masked := c.stored != c.sent
		if got := string(res.StoredBody); masked && got != c.stored || !masked && got != "" || res.Flagged {
			t.Errorf("%q: answered stored body %q flagged %v, want %q", c.sent, got, res.Flagged, c.stored)
		}
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("ann", "bob"), User: "bob", FromSeq: seq, ToSeq: seq})
		if err != nil || len(msgs) != 1 || string(msgs[0].Body) != c.stored {
			t.Errorf("%q: bob reads %v (%v), want %q", c.sent, msgs, err, c.stored)
		}
	}
	// An edit is a text too.
	res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("or 0151 99998888"), RefSeq: seq})
	if err != nil || string(res.StoredBody) != "or ***" {
		t.Fatalf("an edit: %q %v", res.GetStoredBody(), err)
	}
	// A place's name is free text too: masked, the answer tells the sender.
	res, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Location: &pb.Location{Lat: 1, Lng: 2, Name: "ring 0151 2345 6789"}})
	if err != nil || res.Location.GetName() != "ring ***" || len(res.StoredBody) != 0 {
		t.Fatalf("a place's name: %v %v", res, err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("ann", "bob"), User: "bob", FromSeq: res.Seq, ToSeq: res.Seq})
	if err != nil || len(msgs) != 1 || msgs[0].Location.GetName() != "ring ***" {
		t.Fatalf("bob reads the place %v %v", msgs, err)
	}
	// Not in a group, and never in a card.
	mustCreateGroup(t, node, "g:club", "ann", "bob")
	if res := mustSend(t, node, "g:club", "ann", "ring 0151 2345 6789"); len(res.StoredBody) != 0 {
		t.Fatalf("masked in a group: %q", res.StoredBody)
	}
	card := `{"title":"Call 0151 2345 6789"}`
	res, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte(card), Kind: pb.MessageKind_CARD})
	if err != nil || len(res.StoredBody) != 0 {
		t.Fatalf("a card: %q %v", res.GetStoredBody(), err)
	}
}

// TestContactDetailsBlockAndFlag: block refuses the send REJECTED_POLICY
// and stores nothing; flag delivers it as written, flagged; a service
// conversation's agent is exempt, its customer is not.
func TestContactDetailsBlockAndFlag(t *testing.T) {
	ctx := tctx(t)
	t.Run("block", func(t *testing.T) {
		node := startCluster(t, 1, openStore(t), actors.Config{ContactDetails: actors.PolicyBlock, ContactDetailsIn: []string{"direct", "service"}})[0]
		first, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("hi")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("write to ann@example.com")})
		wantCode(t, err, pb.Code_REJECTED_POLICY, "an e-mail address")
		_, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Location: &pb.Location{Name: "ann@example.com"}})
		wantCode(t, err, pb.Code_REJECTED_POLICY, "an e-mail address as a place's name")
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("ann", "bob"), User: "bob"})
		if err != nil || len(msgs) != 1 || msgs[0].Seq != first.Seq {
			t.Fatalf("history after the refusal: %v %v", msgs, err)
		}
		if _, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "s:shop:c1:1", Kind: pb.ConvKind_SERVICE,
			Members: []*pb.Member{{User: "c1", Role: pb.Role_CUSTOMER}, {User: "agent1", Role: pb.Role_AGENT}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := send(ctx, node, "s:shop:c1:1", "agent1", "our hotline: 0800 1234 5678"); err != nil {
			t.Fatalf("the agent's number: %v", err)
		}
		_, err = send(ctx, node, "s:shop:c1:1", "c1", "mine is 0151 2345 6789")
		wantCode(t, err, pb.Code_REJECTED_POLICY, "the customer's number")
	})
	t.Run("flag", func(t *testing.T) {
		node := startCluster(t, 1, openStore(t), actors.Config{ContactDetails: actors.PolicyFlag})[0]
		res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("0151 2345 6789")})
		if err != nil || !res.Flagged || len(res.StoredBody) != 0 {
			t.Fatalf("flagged send: %+v %v", res, err)
		}
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("ann", "bob"), User: "bob"})
		if err != nil || len(msgs) != 1 || !msgs[0].Flagged || string(msgs[0].Body) != "0151 2345 6789" {
			t.Fatalf("bob reads %v %v", msgs, err)
		}
	})
	t.Run("config", func(t *testing.T) {
		for _, cfg := range []actors.Config{
			{ContactDetails: "hide"},
			{ContactDetails: actors.PolicyMask, ContactDetailsIn: []string{"channel"}},
			{ContactDetails: actors.PolicyMask, ContactMinDigits: 5},
			{ContactDetails: actors.PolicyMask, ContactMinDigits: 21},
		} {
			if _, err := actors.NewRuntime(cfg, openStore(t)); err == nil {
				t.Errorf("config %+v accepted", cfg)
			}
		}
	})
}

// TestContactDetailsMaskedRetry: a retry of a masked send is answered,
// as a duplicate, with the body as stored: by the activation that wrote
// it and by a later one that read it back from the store.
func TestContactDetailsMaskedRetry(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{ContactDetails: actors.PolicyMask, ContactDetailsIn: []string{"direct"}}
	send := &pb.SendMessage{Sender: "ann", Body: []byte("ring 0151 2345 6789"), ClientMsgId: "m1"}
	const stored = "ring ***"
	var first *pb.SendResponse
	t.Run("same activation", func(t *testing.T) {
		node := startCluster(t, 1, store, cfg)[0]
		var err error
		if first, err = node.SendDirect(tctx(t), "bob", send); err != nil || string(first.StoredBody) != stored {
			t.Fatalf("first send: %v %v", first, err)
		}
		again, err := node.SendDirect(tctx(t), "bob", send)
		if err != nil || !again.Duplicate || again.Seq != first.Seq || string(again.StoredBody) != stored {
			t.Fatalf("retry: %v %v, want a duplicate of seq %d stored as %q", again, err, first.Seq, stored)
		}
	})
	t.Run("next activation", func(t *testing.T) {
		node := startCluster(t, 1, store, cfg)[0]
		again, err := node.SendDirect(tctx(t), "bob", send)
		if err != nil || !again.Duplicate || again.Seq != first.Seq || string(again.StoredBody) != stored {
			t.Fatalf("retry: %v %v, want a duplicate of seq %d stored as %q", again, err, first.Seq, stored)
		}
	})
}
