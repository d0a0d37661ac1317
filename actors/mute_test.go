package actors_test

import (
	"testing"
	"time"

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

	total, err := bob.SetMuted(ctx, noisy, true, 0)
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

	if total, err = bob.SetMuted(ctx, noisy, false, 0); err != nil || total != 3 {
		t.Fatalf("unmute: total unread %d, %v; want 3", total, err)
	}
	if _, err := node.SetMuted(ctx, "eve", noisy, true, 0); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's mute: %v, want NOT_MEMBER", err)
	}
	if _, err := node.SetMuted(ctx, "bob", "no such id!", true, 0); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a bad conversation id: %v, want INVALID", err)
	}
}

// A mute for a while ("mute for 8 hours") ends by itself: the badge takes
// the conversation back, its summary says it is not muted, and nothing is
// written at the end. The duration's bounds at their edges; a timed mute
// outlives a restart.
func TestTimedMute(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxMuteFor: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	phone, bob := connect(t, node, "bob", "phone")
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", ClientMsgId: "a1", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	phone.waitMessages(t, 1)
	noisy := wirepb.DirectConvID("alice", "bob")
	summary := func() *pb.ConvSummary {
		t.Helper()
		list, err := node.ListConversations(ctx, "bob", "", 0)
		if err != nil || len(list.Conversations) != 1 {
			t.Fatalf("list: %v %v", list, err)
		}
		return list.Conversations[0]
	}

	for _, d := range []time.Duration{-time.Millisecond, time.Hour + time.Millisecond} {
		if _, err := bob.SetMuted(ctx, noisy, true, d); actors.CodeOf(err) != pb.Code_INVALID {
			t.Fatalf("a mute for %v: %v, want INVALID", d, err)
		}
	}
	if _, err := bob.SetMuted(ctx, noisy, false, time.Minute); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("an unmute with a duration: %v, want INVALID", err)
	}
	before := time.Now()
	if total, err := bob.SetMuted(ctx, noisy, true, time.Hour); err != nil || total != 0 { // the longest
		t.Fatalf("a mute for an hour: %d %v", total, err)
	}
	if s := summary(); !s.Muted || s.MutedUntilMs < before.Add(time.Hour).UnixMilli() || s.MutedUntilMs > time.Now().Add(time.Hour).UnixMilli() {
		t.Fatalf("summary of a mute for an hour: %+v", s)
	}

	// Restarted, the mute and its end are still there.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	_, bob = connect(t, node, "bob", "phone")
	if s := summary(); !s.Muted || s.MutedUntilMs == 0 {
		t.Fatalf("summary after a restart: %+v", s)
	}

	if total, err := bob.SetMuted(ctx, noisy, true, 100*time.Millisecond); err != nil || total != 0 {
		t.Fatalf("a mute for 100 ms: %d %v", total, err)
	}
	time.Sleep(150 * time.Millisecond)
	if s := summary(); s.Muted || s.MutedUntilMs != 0 || s.Unread != 1 {
		t.Fatalf("summary after the mute ended: %+v", s)
	}
	if sync, err := node.Sync(ctx, "bob", "tablet", 0, 0); err != nil || sync.TotalUnread != 1 {
		t.Fatalf("the badge after the mute ended: %v %v, want 1", sync.GetTotalUnread(), err)
	}
	// A plain mute takes the end away.
	if total, err := bob.SetMuted(ctx, noisy, true, 0); err != nil || total != 0 {
		t.Fatalf("a mute until unmuted: %d %v", total, err)
	}
	if s := summary(); !s.Muted || s.MutedUntilMs != 0 {
		t.Fatalf("summary of a mute until unmuted: %+v", s)
	}
}
