package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestRecallCard: a card is recalled as a text is (its sender, an owner,
// the operator), and its updates go with it; a card update is not
// recalled on its own; a recalled card takes no update and no click.
func TestRecallCard(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	conv := "g:shop"
	mustCreateGroup(t, node, conv, "olga", "mia", "max")
	sendCard := func(sender, title string, ref uint64) uint64 {
		t.Helper()
		r, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, Kind: pb.MessageKind_CARD, RefSeq: ref,
			Body: []byte(`{"title":"` + title + `","actions":[{"id":"buy","label":"Buy"}]}`)})
		if err != nil {
			t.Fatalf("%s sends card %q: %v", sender, title, err)
		}
		return r.Seq
	}
	gone := func(seq uint64) {
		t.Helper()
		m, err := store.GetMessage(ctx, conv, seq)
		if err != nil || !m.Recalled() || len(m.Body) != 0 {
			t.Fatalf("seq %d after the recall: %+v, %v; want it tombstoned", seq, m, err)
		}
	}

	bike := sendCard("mia", "Bike, 50 EUR", 0)
	sendCard("max", "Lamp", 0) // between the card and its update
	sold := sendCard("mia", "Bike, sold", bike)
	_, err := node.Recall(ctx, conv, "mia", sold)
	wantCode(t, err, pb.Code_INVALID, "recalling a card update on its own")
	if _, err := node.Recall(ctx, conv, "max", bike); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("another member recalls mia's card: %v", err)
	}
	if _, err := node.Recall(ctx, conv, "mia", bike); err != nil {
		t.Fatalf("mia recalls her card: %v", err)
	}
	gone(bike)
	gone(sold)
	_, _, err = node.CardAt(ctx, "max", conv, bike)
	wantCode(t, err, pb.Code_NOT_FOUND, "clicking a recalled card")
	_, err = node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "mia", Kind: pb.MessageKind_CARD, RefSeq: bike, Body: []byte(`{"title":"back"}`)})
	wantCode(t, err, pb.Code_NOT_FOUND, "updating a recalled card")

	scam := sendCard("max", "Send a gift card", 0)
	if _, err := node.Recall(ctx, conv, "olga", scam); err != nil {
		t.Fatalf("the owner recalls max's card: %v", err)
	}
	gone(scam)
	fake := sendCard("mia", "Free phone", 0)
	if _, err := node.RecallAsOperator(ctx, conv, fake); err != nil {
		t.Fatalf("the operator recalls a card: %v", err)
	}
	gone(fake)
	lamp, err := store.GetMessage(ctx, conv, bike+1)
	if err != nil || lamp.Recalled() || lamp.Kind != storage.MsgCard {
		t.Fatalf("max's card between: %+v, %v; want it untouched", lamp, err)
	}
}
