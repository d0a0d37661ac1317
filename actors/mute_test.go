package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A user's own mute takes a conversation's unread messages out of the
// total (the badge) but not out of its summary, is stored, is undone by
// unmuting, and is the user's alone: a non-member cannot mute.
func TestMuteLeavesTotalUnread(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	phone, bob := connect(t, node, "bob", "phone")

	send := func(from, id string) {
		t.Helper()
		if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: from, ClientMsgId: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	send("alice", "a1")
	send("alice", "a2")
	send("carol", "c1")
	phone.waitMessages(t, 3)
	noisy := wirepb.DirectConvID("alice", "bob")

	total, err := bob.SetMuted(ctx, noisy, true)
	if err != nil || total != 1 {
		t.Fatalf("mute: total unread %d, %v; want 1 (carol's message only)", total, err)
	}
	list, err := node.ListConversations(ctx, "bob", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if list.TotalUnread != 1 {
		t.Fatalf("listed total unread %d, want 1", list.TotalUnread)
	}
	for _, c := range list.Conversations {
		if c.Conv == noisy && (!c.Muted || c.Unread != 2) {
			t.Fatalf("muted conversation's summary %+v, want muted with its 2 unread", c)
		}
	}
	if uc, err := store.GetUserConv(ctx, "bob", noisy); err != nil || !uc.Muted {
		t.Fatalf("stored state %+v, %v; want muted", uc, err)
	}
	sync, err := node.Sync(ctx, "bob", "tablet", 0, 0)
	if err != nil || sync.TotalUnread != 1 {
		t.Fatalf("sync total unread %d, %v; want 1", sync.GetTotalUnread(), err)
	}

	if total, err = bob.SetMuted(ctx, noisy, false); err != nil || total != 3 {
		t.Fatalf("unmute: total unread %d, %v; want 3", total, err)
	}
	if _, err := node.SetMuted(ctx, "eve", noisy, true); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's mute: %v, want NOT_MEMBER", err)
	}
	if _, err := node.SetMuted(ctx, "bob", "no such id!", true); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a bad conversation id: %v, want INVALID", err)
	}
}
