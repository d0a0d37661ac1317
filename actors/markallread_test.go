package actors_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestMarkAllRead: one request reads every conversation of the user up
// to its last message — direct, small and read fan-out groups, muted and
// archived ones — and clears a mark of unread; the other side of a direct
// conversation gets its receipt and the user's other device the reads; a
// conversation without news is not counted.
func TestMarkAllRead(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 3})[0]
	ctx := tctx(t)
	alice, _ := connect(t, node, "alice", "phone")
	tablet, _ := connect(t, node, "bob", "tablet")
	say := func(text string) *pb.SendResponse {
		t.Helper()
		res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte(text)})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	direct := say("hi bob")
	say("are you there?")
	mustCreateGroup(t, node, "g:small", "alice", "bob")
	mustSend(t, node, "g:small", "alice", "small news")
	mustCreateGroup(t, node, "g:big", "alice", "bob", "c1", "c2", "c3")
	mustSend(t, node, "g:big", "alice", "big news")
	mustCreateGroup(t, node, "g:muted", "alice", "bob")
	mustSend(t, node, "g:muted", "alice", "quiet news")
	if _, err := node.SetMuted(ctx, "bob", "g:muted", true, 0); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:archived", "alice", "bob")
	mustSend(t, node, "g:archived", "alice", "old news")
	if err := node.SetArchived(ctx, "bob", "g:archived", true); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:marked", "bob", "alice")
	if err := node.SetMarkedUnread(ctx, "bob", "g:marked", true); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:quiet", "bob", "alice") // nothing to read

	// The messages reach bob's grain a moment after their acks: all 5
	// unread (the muted one leaves the total) before he reads them all.
	eventually(t, func() error {
		main, err := node.ListConversations(ctx, "bob", "", 0)
		if err == nil && main.TotalUnread != 5 {
			err = fmt.Errorf("bob has %d unread, want 5", main.TotalUnread)
		}
		return err
	})
	r, err := node.MarkAllRead(ctx, "bob", "phone")
	if err != nil || r.Conversations != 6 || r.TotalUnread != 0 {
		t.Fatalf("mark all read: %v, %v; want 6 conversations, nothing unread", r, err)
	}
	for _, archived := range []bool{false, true} {
		list, err := node.ListConversations(ctx, "bob", "", 0)
		if archived {
			list, err = node.ListArchived(ctx, "bob", "", 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range list.Conversations {
			if c.Unread != 0 || c.MarkedUnread || c.ReadSeq != c.LastSeq {
				t.Errorf("%s after mark all read: unread %d, marked %v, read %d of %d", c.Conv, c.Unread, c.MarkedUnread, c.ReadSeq, c.LastSeq)
			}
		}
	}
	eventually(t, func() error {
		for _, p := range alice.pushesNow() {
			if rc := p.GetReceipt(); rc != nil && rc.Conv == actors.DirectConvID("alice", "bob") && rc.Reader == "bob" && rc.Seq == direct.Seq+1 {
				return nil
			}
		}
		return errors.New("no receipt of bob's read for alice")
	})
	eventually(t, func() error {
		for _, p := range tablet.pushesNow() {
			if rd := p.GetRead(); rd != nil && rd.Conv == "g:big" && rd.Unread == 0 {
				return nil
			}
		}
		return fmt.Errorf("bob's tablet heard of no read of g:big")
	})
	if r, err := node.MarkAllRead(ctx, "bob", "phone"); err != nil || r.Conversations != 0 {
		t.Fatalf("again: %v, %v; want nothing to read", r, err)
	}
}
