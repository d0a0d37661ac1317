package actors_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

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

// Live locations: shared for a while within the node's bound; moved by
// their sender alone, with no text, past the edit window until the share
// ends; readers show the newest place; a move may end the share early
// (the sender's next move shares again); a forward copies the newest
// place, fixed; a recall takes every move with the message.
func TestLiveLocations(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{MaxLiveLocationFor: time.Hour, EditWindow: time.Millisecond})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("courier", "customer")
	send := func(sender string, refSeq uint64, l *pb.Location, body string) (*pb.SendResponse, error) {
		to := map[string]string{"courier": "customer", "customer": "courier"}[sender]
		return node.SendDirect(ctx, to, &pb.SendMessage{Sender: sender, RefSeq: refSeq, Body: []byte(body), Location: l})
	}
	ahead := func(d time.Duration) int64 { return time.Now().Add(d).UnixMilli() }

	for what, end := range map[string]int64{"an end past the bound": ahead(time.Hour + time.Minute), "an end gone": ahead(-time.Second), "a negative end": -1} {
		_, err := send("courier", 0, &pb.Location{Lat: 1, Lng: 1, LiveUntilMs: end}, "on my way")
		wantCode(t, err, pb.Code_INVALID, what)
	}
	if _, err := send("courier", 0, &pb.Location{Lat: 1, Lng: 1, LiveUntilMs: ahead(time.Hour - time.Second)}, "at the bound"); err != nil {
		t.Fatalf("a live share just within the bound: %v", err)
	}
	end := ahead(30 * time.Minute)
	share, err := send("courier", 0, &pb.Location{Lat: 48.13, Lng: 11.57, Name: "courier", LiveUntilMs: end}, "on my way")
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := send("courier", 0, &pb.Location{Lat: 1, Lng: 2}, "the depot")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // past the edit window: moves go on
	move, err := send("courier", share.Seq, &pb.Location{Lat: 48.14, Lng: 11.58, Name: "courier"}, "")
	if err != nil {
		t.Fatalf("a move after the edit window, within the share: %v", err)
	}
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "customer", FromSeq: move.Seq, ToSeq: move.Seq, Limit: 1})
	if err != nil || len(msgs) != 1 || msgs[0].RefSeq != share.Seq || msgs[0].Location.GetLat() != 48.14 || msgs[0].Location.GetLiveUntilMs() != end {
		t.Fatalf("the move as read: %v %v (want the share's end %d)", msgs, err, end)
	}
	_, err = send("courier", share.Seq, &pb.Location{Lat: 48.15, Lng: 11.59}, "almost there")
	wantCode(t, err, pb.Code_INVALID, "a move with text")
	_, err = send("customer", share.Seq, &pb.Location{Lat: 0, Lng: 0}, "")
	wantCode(t, err, pb.Code_FORBIDDEN, "the customer moves the courier's share")
	_, err = send("courier", fixed.Seq, &pb.Location{Lat: 0, Lng: 0}, "")
	wantCode(t, err, pb.Code_INVALID, "a move of a fixed place")
	_, err = send("courier", share.Seq, &pb.Location{Lat: 0, Lng: 0, LiveUntilMs: end + 1}, "")
	wantCode(t, err, pb.Code_INVALID, "a move sharing longer than the share")
	_, err = send("courier", fixed.Seq, nil, "the depot, gate 2")
	wantCode(t, err, pb.Code_EDIT_EXPIRED, "a text edit past the edit window")

	// A list whose last message is a live share shows its newest place,
	// with its caption.
	other, err := node.SendDirect(ctx, "neighbour", &pb.SendMessage{Sender: "courier", Body: []byte("parcel for you"),
		Location: &pb.Location{Lat: 10, Lng: 20, LiveUntilMs: end}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.SendDirect(ctx, "neighbour", &pb.SendMessage{Sender: "courier", RefSeq: other.Seq, Location: &pb.Location{Lat: 10.5, Lng: 20.5}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		list, err := node.ListConversations(ctx, "neighbour", "", 10)
		if err != nil || len(list.Conversations) != 1 {
			return fmt.Errorf("the neighbour's list %v %v", list, err)
		}
		if lm := list.Conversations[0].LastMessage; lm.GetSeq() != other.Seq || string(lm.GetBody()) != "parcel for you" || lm.GetLocation().GetLat() != 10.5 {
			return fmt.Errorf("the list's last message %v", lm)
		}
		return nil
	})

	// A forward copies the newest place, fixed.
	fw, err := node.SendDirect(ctx, "dispatcher", &pb.SendMessage{Sender: "customer", ForwardConv: conv, ForwardSeq: share.Seq})
	if err != nil || fw.Location.GetLat() != 48.14 || fw.Location.GetLiveUntilMs() != 0 {
		t.Fatalf("a forward of the live location: %v %v", fw, err)
	}

	// Ending it early: the move's end is now (readers show it ended); the
	// sender's next move shares again, until the share's end at most.
	stop, err := send("courier", share.Seq, &pb.Location{Lat: 48.16, Lng: 11.6, LiveUntilMs: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := store.GetMessage(ctx, conv, stop.Seq); err != nil || m.Location == nil || m.Location.LiveUntil.After(time.Now()) {
		t.Fatalf("the stopping move: %+v %v", m, err)
	}
	again, err := send("courier", share.Seq, &pb.Location{Lat: 48.17, Lng: 11.61}, "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := store.GetMessage(ctx, conv, again.Seq); err != nil || m.Location.LiveUntil.UnixMilli() != end {
		t.Fatalf("a move after the stop: %+v %v, want the share's end %d", m, err, end)
	}

	// A recall takes the message and every move, past the edit window.
	if _, err := node.Recall(ctx, conv, "courier", share.Seq); err != nil {
		t.Fatal(err)
	}
	for _, seq := range []uint64{share.Seq, move.Seq, stop.Seq, again.Seq} {
		if m, err := store.GetMessage(ctx, conv, seq); err != nil || !m.Recalled() || m.Location != nil {
			t.Fatalf("seq %d after the recall: %+v %v", seq, m, err)
		}
	}
}
