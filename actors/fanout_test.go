package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestReadFanoutAndFlag: a group above the fan-out threshold gets no
// per-message inbox entries, unread is computed on read, and pushes come
// through the node hub; the policy's flag mode delivers and marks.
func TestReadFanoutAndFlag(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{FanoutThreshold: 3, PolicyWords: []string{"spam"}, PolicyMode: actors.PolicyFlag})[0]
	ctx := tctx(t)
	const g = "g:big"
	mustCreateGroup(t, node, g, "own", "m1", "m2", "m3", "m4")

	// Connecting subscribes the session to its large groups at the hub.
	m1, _ := connect(t, node, "m1", "phone")
	var before *pb.SyncResponse
	eventually(t, func() error { // the creation notice is the one inbox entry
		var err error
		if before, err = node.Sync(ctx, "m1", "phone", 0, 0); err != nil || before.Cursor != 1 {
			return fmt.Errorf("sync before: %+v %v", before, err)
		}
		return nil
	})

	var last uint64
	for i := range 4 {
		last = mustSend(t, node, g, "own", fmt.Sprint("hello ", i)).Seq
	}
	fl := mustSend(t, node, g, "m2", "buy spam now")
	if !fl.Flagged {
		t.Fatalf("flag mode: %+v", fl)
	}
	last = fl.Seq
	if _, err := node.Recall(ctx, g, "own", last-1); err != nil { // the 4th "hello"
		t.Fatal(err)
	}
	ms := m1.waitMessages(t, 6) // 5 messages and the recall event, via the hub
	for _, m := range ms {
		if m.Seq == fl.Seq && !m.Flagged {
			t.Fatalf("flagged message pushed without its mark: %+v", m)
		}
	}

	after, err := node.Sync(ctx, "m1", "phone", before.Cursor, 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.Cursor != before.Cursor {
		t.Fatalf("inbox advanced per message in a read fan-out group: cursor %d → %d", before.Cursor, after.Cursor)
	}
	// 5 user messages, one recalled: 4 unread (the recall event and the
	// creation are not messages).
	if len(after.Conversations) != 1 || after.Conversations[0].Unread != 4 || after.Conversations[0].LastSeq != last+1 {
		t.Fatalf("sync %+v, want unread 4 last %d", after, last+1)
	}
	r, err := node.MarkRead(ctx, "m1", "phone", g, 2)
	if err != nil || r.TotalUnread != 2 { // 3 and 5 left
		t.Fatalf("after read to 2: %+v %v", r, err)
	}
	// The sender's own messages never count; sending reads up to them.
	eventually(t, func() error {
		s, err := node.Sync(ctx, "m2", "x", 0, 0)
		if err != nil || s.TotalUnread != 0 {
			return fmt.Errorf("sender unread: %+v %v", s, err)
		}
		return nil
	})
	l, err := node.ListConversations(ctx, "m3", "", 0)
	if err != nil || l.TotalUnread != 4 || len(l.Conversations) != 1 || l.Conversations[0].Unread != 4 {
		t.Fatalf("list: %+v %v", l, err)
	}

	// Shrinking below the threshold switches to write fan-out; the exact
	// unread survives the switch.
	if _, err := membership(node, t, g, "own", pb.MembershipChange_REMOVE, 0, "m4"); err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, g, "own", "small again")
	eventually(t, func() error {
		s, err := node.Sync(ctx, "m3", "x", 0, 0)
		if err != nil || s.TotalUnread != 5 {
			return fmt.Errorf("after the switch: %+v %v", s, err)
		}
		return nil
	})
}
