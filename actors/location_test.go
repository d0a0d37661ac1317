package actors_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Locations: a text shares a place, with an empty caption or one; its
// bounds are checked at their edges; it goes with a new text only, never
// beside a file; a forward copies it; a recall takes it.
func TestLocations(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{MaxLocationNameBytes: 12})[0]
	ctx := tctx(t)
	send := func(sender string, l *pb.Location, body string) (*pb.SendResponse, error) {
		return node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: sender, Body: []byte(body), Location: l})
	}
	conv := actors.DirectConvID("buyer", "seller")
	at := func(seq uint64) *pb.Message {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "seller", FromSeq: seq, ToSeq: seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history of %d: %v %v", seq, msgs, err)
		}
		return msgs[0]
	}

	meet, err := send("buyer", &pb.Location{Lat: 52.520008, Lng: 13.404954, Name: strings.Repeat("m", 12)}, "")
	if err != nil {
		t.Fatalf("a location without a caption, its name at the bound: %v", err)
	}
	if l := at(meet.Seq).Location; l == nil || l.Lat != 52.520008 || l.Lng != 13.404954 || l.Name != strings.Repeat("m", 12) {
		t.Fatalf("the location as read: %v", l)
	}
	if _, err := send("buyer", &pb.Location{Lat: -90, Lng: 180}, "the pole"); err != nil {
		t.Fatalf("a location at the coordinates' edges: %v", err)
	}
	for what, l := range map[string]*pb.Location{
		"latitude past 90":    {Lat: 90.000001},
		"longitude past -180": {Lng: -180.000001},
		"latitude NaN":        {Lat: math.NaN()},
		"a name past 12":      {Name: strings.Repeat("m", 13)},
		"a name of two lines": {Name: "a\nb"},
	} {
		_, err := send("buyer", l, "x")
		wantCode(t, err, pb.Code_INVALID, what)
	}
	_, err = node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Location: &pb.Location{Lat: 1}, MediaId: "0123456789abcdef0123456789abcdef"})
	wantCode(t, err, pb.Code_INVALID, "a location beside a file")
	_, err = node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Location: &pb.Location{Lat: 1}, RefSeq: meet.Seq, Body: []byte("moved")})
	wantCode(t, err, pb.Code_INVALID, "a location on an edit")
	_, err = node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Location: &pb.Location{Lat: 1}, Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"x"}`)})
	wantCode(t, err, pb.Code_INVALID, "a location on a card")
	_, err = node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer"})
	wantCode(t, err, pb.Code_INVALID, "no text and no location")

	// An edit changes the caption; the place stays, in the conversation
	// list's last message too.
	spot, err := send("buyer", &pb.Location{Lat: 1.5, Lng: 2.5, Name: "spot"}, "here")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", RefSeq: spot.Seq, Body: []byte("over here")}); err != nil {
		t.Fatal(err)
	}
	eventuallyLast := func() error {
		list, err := node.ListConversations(ctx, "seller", "", 10)
		if err != nil {
			return err
		}
		for _, c := range list.Conversations {
			if c.Conv == conv {
				if lm := c.LastMessage; lm.GetSeq() != spot.Seq || string(lm.GetBody()) != "over here" || lm.GetLocation().GetName() != "spot" {
					return fmt.Errorf("the list's last message %v", lm)
				}
				return nil
			}
		}
		return fmt.Errorf("no %s in the seller's list", conv)
	}
	eventually(t, eventuallyLast)

	// A forward copies it; a recall takes it.
	fw, err := node.SendDirect(ctx, "courier", &pb.SendMessage{Sender: "seller", ForwardConv: conv, ForwardSeq: meet.Seq})
	if err != nil || fw.Location == nil || fw.Location.Lat != 52.520008 {
		t.Fatalf("a forward of the location: %v %v", fw, err)
	}
	if _, err := node.Recall(ctx, conv, "buyer", meet.Seq); err != nil {
		t.Fatal(err)
	}
	if m := at(meet.Seq); !m.Recalled || m.Location != nil {
		t.Fatalf("a recalled location: %v", m)
	}
	if m, err := store.GetMessage(ctx, conv, meet.Seq); err != nil || m.Location != nil {
		t.Fatalf("a recalled location in the store: %+v %v", m, err)
	}
}
