package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestMarkedUnread: a user's mark survives the grain's passivation, leaves
// the unread count and the total alone, and the next read clears it: a
// mark_read that moves no cursor, or the user's own message (also in a
// read fan-out group, where only the sender's grain hears of it). Bad ids
// and non-members are refused. A flag change is listed by a sync from
// before it.
func TestMarkedUnread(t *testing.T) {
	const idle = 200 * time.Millisecond
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 3, IdleTimeout: idle})[0]
	ctx := tctx(t)
	small, large := "g:mark-small", "g:mark-large"
	mustCreateGroup(t, node, small, "ann", "bob")
	mustCreateGroup(t, node, large, "ann", "bob", "cat", "dan", "eve")
	marked := func(conv string) *pb.ConvSummary {
		t.Helper()
		r, err := node.ListConversations(ctx, "bob", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Conversations {
			if c.Conv == conv {
				return c
			}
		}
		t.Fatalf("bob does not list %s", conv)
		return nil
	}
	for _, conv := range []string{small, large} {
		r, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "ann", Body: []byte("hello")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.MarkRead(ctx, "bob", "phone", conv, r.Seq); err != nil {
			t.Fatal(err)
		}
		if err := node.SetMarkedUnread(ctx, "bob", conv, true); err != nil {
			t.Fatal(err)
		}
		if s := marked(conv); !s.MarkedUnread || s.Unread != 0 || s.ReadSeq != r.Seq {
			t.Fatalf("%s after marking: %+v; want marked, nothing unread, read %d", conv, s, r.Seq)
		}
	}
	deadline := time.Now().Add(50 * idle)
	for node.GrainCounts()[actors.KindUser] > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("user grains still active: %v", node.GrainCounts())
		}
		time.Sleep(idle / 4)
	}
	for _, conv := range []string{small, large} {
		if s := marked(conv); !s.MarkedUnread {
			t.Fatalf("%s after the grain reloaded: %+v; want marked", conv, s)
		}
	}
	s := marked(small)
	if _, err := node.MarkRead(ctx, "bob", "phone", small, s.ReadSeq); err != nil { // moves nothing
		t.Fatal(err)
	}
	if s := marked(small); s.MarkedUnread {
		t.Fatalf("%s after a read: %+v; want no mark", small, s)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: large, Sender: "bob", Body: []byte("on it")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if s := marked(large); s.MarkedUnread {
			return fmt.Errorf("%s after bob's own message: %+v; want no mark", large, s)
		}
		return nil
	})
	// A flag change is an inbox entry: a sync from before it lists the
	// conversation with the flag, and only it.
	before, err := node.Sync(ctx, "bob", "phone", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.SetPinned(ctx, "bob", small, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		after, err := node.Sync(ctx, "bob", "phone", before.Cursor, 0)
		if err != nil {
			return err
		}
		if len(after.Conversations) != 1 || after.Conversations[0].Conv != small || !after.Conversations[0].Pinned {
			return fmt.Errorf("a sync from before the pin: %v; want %s alone, pinned", after.Conversations, small)
		}
		return nil
	})
	wantCode(t, node.SetMarkedUnread(ctx, "zed", small, true), pb.Code_NOT_MEMBER, "a non-member's mark")
	wantCode(t, node.SetMarkedUnread(ctx, "bob", "", true), pb.Code_INVALID, "no conversation")
}
