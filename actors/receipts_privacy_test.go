package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"google.golang.org/protobuf/proto"
)

// TestHiddenReadReceipts: a user who hides their read receipts shows no
// read in direct conversations (the other's synced summaries say
// peer_read_seq 0) and, in return, sees none of the other's; presence sharing is kept
// apart; the setting outlives the grain, and turning it back on shows
// the durable read cursor again.
func TestHiddenReadReceipts(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("ann", "bob")
	hide := func(user string, on bool) *pb.PrivacyResponse {
		t.Helper()
		r, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: user, HideReadReceipts: proto.Bool(on)})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	peerRead := func(user string) uint64 {
		t.Helper()
		r, err := node.Sync(ctx, user, "tablet", 0, 0) // a device that syncs afresh
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(r.Conversations, func(c *pb.ConvSummary) bool { return c.Conv == conv })
		if i < 0 {
			t.Fatalf("%s's list has no %s", user, conv)
		}
		return r.Conversations[i].PeerReadSeq
	}
	if _, err := node.Privacy(ctx, "bob", pb.PresenceSharing_PRESENCE_ONLINE_ONLY.Enum()); err != nil {
		t.Fatal(err)
	}
	if r := hide("bob", true); !r.HideReadReceipts || r.Presence != pb.PresenceSharing_PRESENCE_ONLINE_ONLY {
		t.Fatalf("bob hides receipts: %v, want it with his presence setting kept", r)
	}
	first, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte("is it still for sale?")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.MarkRead(ctx, "bob", "phone", conv, first.Seq); err != nil {
		t.Fatal(err)
	}
	reply, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "bob", Body: []byte("yes")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.MarkRead(ctx, "ann", "phone", conv, reply.Seq); err != nil {
		t.Fatal(err)
	}
	// ann sees no read of bob's; bob (reciprocity) none of ann's.
	if got := peerRead("ann"); got != 0 {
		t.Fatalf("ann's summary: bob read up to %d; he hides his receipts", got)
	}
	if got := peerRead("bob"); got != 0 {
		t.Fatalf("bob's summary: ann read up to %d; he hides his receipts, so sees none", got)
	}

	// A new activation reads the setting back.
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	if r, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: "bob"}); err != nil || !r.HideReadReceipts || r.Presence != pb.PresenceSharing_PRESENCE_ONLINE_ONLY {
		t.Fatalf("bob's settings after a restart: %v, %v", r, err)
	}
	if got := peerRead("ann"); got != 0 {
		t.Fatalf("after a restart, ann's summary: bob read up to %d", got)
	}
	hide("bob", false)
	eventually(t, func() error {
		if got := peerRead("ann"); got != reply.Seq {
			return fmt.Errorf("ann's summary once bob shows receipts: read up to %d, want %d", got, reply.Seq)
		}
		if got := peerRead("bob"); got != reply.Seq {
			return fmt.Errorf("bob's summary once he shows receipts: read up to %d, want %d", got, reply.Seq)
		}
		return nil
	})
}
