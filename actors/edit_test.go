package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
)

// edit sends text as an edit of the message at seq.
func edit(t testing.TB, node *boot.Node, conv, sender string, seq uint64, text string) (*pb.SendResponse, error) {
	t.Helper()
	return node.Send(tctx(t), &pb.SendMessage{Conv: conv, Sender: sender, Body: []byte(text), RefSeq: seq})
}

// summary is user's summary of conv.
func summary(t testing.TB, node *boot.Node, user, conv string) *pb.ConvSummary {
	t.Helper()
	res, err := node.ListConversations(tctx(t), user, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range res.Conversations {
		if s.Conv == conv {
			return s
		}
	}
	t.Fatalf("%s has no %s in its list", user, conv)
	return nil
}

// An edit replaces the text of the sender's own message: it takes a seq
// of its own, counts as no unread, becomes the summary's last text only
// when it edits the last message, and is refused for someone else's
// message, an edit, a missing message or a recalled one. Recalling the
// original tombstones its edits.
func TestEditMessage(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("alice", "bob")
	first, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("the price is 100")})
	if err != nil {
		t.Fatal(err)
	}
	e1, err := edit(t, node, conv, "alice", first.Seq, "the price is 90")
	if err != nil {
		t.Fatalf("edit of one's own message: %v", err)
	}
	if e1.Seq != first.Seq+1 {
		t.Fatalf("the edit got seq %d, want %d (a seq of its own)", e1.Seq, first.Seq+1)
	}
	// Fan-out runs after the ack: bob's summary settles shortly after.
	eventually(t, func() error {
		s := summary(t, node, "bob", conv)
		if s.LastSeq != e1.Seq || s.Unread != 1 || string(s.LastMessage.GetBody()) != "the price is 90" || s.LastMessage.GetSeq() != first.Seq {
			return fmt.Errorf("bob's summary: last seq %d, unread %d, last #%d %q; want %d, 1 unread, #%d with the edited text",
				s.LastSeq, s.Unread, s.LastMessage.GetSeq(), s.LastMessage.GetBody(), e1.Seq, first.Seq)
		}
		return nil
	})

	second := mustSend(t, node, conv, "alice", "anything else?")
	e2, err := edit(t, node, conv, "alice", first.Seq, "the price is 80")
	if err != nil {
		t.Fatalf("a second edit: %v", err)
	}
	eventually(t, func() error {
		s := summary(t, node, "bob", conv)
		if s.LastSeq != e2.Seq || s.Unread != 2 || string(s.LastMessage.GetBody()) != "anything else?" {
			return fmt.Errorf("after editing an older message: last seq %d, unread %d, last %q; want %d, 2 and the newest message",
				s.LastSeq, s.Unread, s.LastMessage.GetBody(), e2.Seq)
		}
		return nil
	})

	_, err = edit(t, node, conv, "bob", first.Seq, "free")
	wantCode(t, err, pb.Code_FORBIDDEN, "an edit of someone else's message")
	_, err = edit(t, node, conv, "alice", e1.Seq, "edit of an edit")
	wantCode(t, err, pb.Code_INVALID, "an edit of an edit")
	_, err = edit(t, node, conv, "alice", 999, "nothing there")
	wantCode(t, err, pb.Code_NOT_FOUND, "an edit of a missing message")
	_, err = node.Recall(ctx, conv, "alice", e1.Seq)
	wantCode(t, err, pb.Code_INVALID, "a recall of an edit")

	// Recalling the original takes its edits' text with it.
	if _, err := node.Recall(ctx, conv, "alice", first.Seq); err != nil {
		t.Fatal(err)
	}
	hist, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "bob", OldestFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	edits := 0
	for _, m := range hist {
		if m.RefSeq == first.Seq && m.Kind == pb.MessageKind_NORMAL {
			edits++
			if !m.Recalled || len(m.Body) != 0 {
				t.Fatalf("edit #%d of a recalled message: recalled %v, body %q", m.Seq, m.Recalled, m.Body)
			}
		}
	}
	if edits != 2 {
		t.Fatalf("history holds %d edits of #%d, want 2", edits, first.Seq)
	}
	_, err = edit(t, node, conv, "alice", first.Seq, "back again")
	wantCode(t, err, pb.Code_NOT_FOUND, "an edit of a recalled message")
	if _, err := edit(t, node, conv, "alice", second.Seq, "anything else at all?"); err != nil {
		t.Fatalf("edit of another message: %v", err)
	}
}

// Past the edit window an edit is refused EDIT_EXPIRED.
func TestEditWindow(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{EditWindow: 1})[0]
	res, err := node.SendDirect(tctx(t), "bob", &pb.SendMessage{Sender: "alice", Body: []byte("typo")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = edit(t, node, actors.DirectConvID("alice", "bob"), "alice", res.Seq, "fixed")
	wantCode(t, err, pb.Code_EDIT_EXPIRED, "an edit past the window")
}
