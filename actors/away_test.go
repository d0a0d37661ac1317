package actors_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// An away message answers the first message of each direct conversation
// once per setting, as an automatic reply of the user's that reads
// nothing for them; a second message, a conversation answered before a
// restart, another away user's automatic reply and an ended or cleared
// setting are not answered. The text's and the end's bounds at their
// edges.
func TestAwayMessage(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxAwayBytes: 20, MaxAwayFor: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	text := func(s string) *string { return &s }
	send := func(from, to, id string) {
		t.Helper()
		if _, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, ClientMsgId: id, Body: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	// autoReplies lists the automatic replies conv holds once it holds
	// want of them (they are posted after the message they answer), or
	// after 5 s; settled waits a moment first, for a check that none more
	// came.
	autoReplies := func(conv string, want int, settled bool) []*pb.Message {
		t.Helper()
		if settled {
			time.Sleep(300 * time.Millisecond)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			h, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "seller", OldestFirst: true})
			if err != nil {
				t.Fatal(err)
			}
			var got []*pb.Message
			for _, m := range h {
				if m.AutoReply {
					got = append(got, m)
				}
			}
			if settled || len(got) >= want || time.Now().After(deadline) {
				return got
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	for _, bad := range []struct {
		text  string
		until time.Time
		code  pb.Code
	}{
		{strings.Repeat("x", 21), time.Time{}, pb.Code_TOO_LARGE},
		{"tab\tok\x07bell", time.Time{}, pb.Code_INVALID},
		{"past", time.Now().Add(-time.Second), pb.Code_INVALID},
		{"too far", time.Now().Add(time.Hour + time.Minute), pb.Code_INVALID},
		{"", time.Now().Add(time.Minute), pb.Code_INVALID},
		{" \n ", time.Time{}, pb.Code_INVALID},
	} {
		_, err := node.SetAway(ctx, "seller", &bad.text, bad.until)
		wantCode(t, err, bad.code, "away message "+bad.text)
	}
	// The longest text, ending the longest while ahead (the node's clock
	// has moved on when it checks, so the end is within its bound).
	a, err := node.SetAway(ctx, "seller", text("  "+strings.Repeat("h", 20)+"\n"), time.Now().Add(time.Hour))
	if err != nil || a.Text != strings.Repeat("h", 20) || a.SinceMs == 0 || a.UntilMs == 0 {
		t.Fatalf("an away message of the longest, for the longest: %+v %v", a, err)
	}
	a, err = node.SetAway(ctx, "seller", text("On holiday"), time.Time{})
	if err != nil || a.Text != "On holiday" || a.UntilMs != 0 {
		t.Fatalf("set: %+v %v", a, err)
	}
	if got, err := node.SetAway(ctx, "seller", nil, time.Time{}); err != nil || got.Text != "On holiday" || got.SinceMs != a.SinceMs {
		t.Fatalf("read: %+v %v", got, err)
	}

	conv1, conv2 := wirepb.DirectConvID("b1", "seller"), wirepb.DirectConvID("b2", "seller")
	send("b1", "seller", "q1")
	if got := autoReplies(conv1, 1, false); len(got) != 1 || string(got[0].Body) != "On holiday" || got[0].Sender != "seller" {
		t.Fatalf("the first message's answer: %v", got)
	}
	send("b1", "seller", "q2")
	send("b2", "seller", "q3")
	if got := autoReplies(conv1, 1, true); len(got) != 1 {
		t.Fatalf("a second message answered again: %v", got)
	}
	if got := autoReplies(conv2, 1, false); len(got) != 1 {
		t.Fatalf("another buyer's conversation: %v", got)
	}
	// The reply read nothing for the seller: both of b1's messages wait.
	list, err := node.ListConversations(ctx, "seller", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Conversations {
		if c.Conv == conv1 && (c.Unread != 2 || c.ReadSeq != 0) {
			t.Fatalf("the seller's view of %s: %+v, want 2 unread and nothing read", conv1, c)
		}
	}

	// A restart: the same setting does not answer b1 again.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	send("b1", "seller", "q4")
	if got := autoReplies(conv1, 1, true); len(got) != 1 {
		t.Fatalf("answered again after a restart: %v", got)
	}

	// Two away users answer each other once, not back and forth.
	if _, err := node.SetAway(ctx, "b2", text("Out too"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.SetAway(ctx, "seller", text("Back Monday"), time.Time{}); err != nil { // a new setting
		t.Fatal(err)
	}
	send("b2", "seller", "q5")
	if got := autoReplies(conv2, 2, false); len(got) != 2 || string(got[1].Body) != "Back Monday" {
		t.Fatalf("after a new setting: %v, want one more answer and no reply to it", got)
	}
	if got := autoReplies(conv2, 2, true); len(got) != 2 {
		t.Fatalf("b2's away message answered the seller's automatic reply: %v", got)
	}

	// Ended and cleared: no answer.
	if _, err := node.SetAway(ctx, "seller", text("Brief"), time.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	send("b1", "seller", "q6")
	if got := autoReplies(conv1, 1, true); len(got) != 1 {
		t.Fatalf("an ended away message answered: %v", got)
	}
	if _, err := node.SetAway(ctx, "seller", text(""), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, err := node.SetAway(ctx, "seller", nil, time.Time{}); err != nil || got != nil {
		t.Fatalf("read after clearing: %+v %v", got, err)
	}
	send("b3", "seller", "q7")
	if got := autoReplies(wirepb.DirectConvID("b3", "seller"), 0, true); len(got) != 0 {
		t.Fatalf("a cleared away message answered: %v", got)
	}
}

// unreadableAway is a store whose away-message rows cannot be read.
type unreadableAway struct{ storage.Store }

func (s unreadableAway) LoadCheckpoint(ctx context.Context, key string) (storage.Checkpoint, error) {
	if strings.HasPrefix(key, "user/away/") {
		return storage.Checkpoint{}, fmt.Errorf("disk says no: %w", storage.ErrUnavailable)
	}
	return s.Store.LoadCheckpoint(ctx, key)
}

// An away message the store cannot read costs nobody a message: the
// buyer's message arrives unanswered, a read of the setting fails
// clearly, and setting it again takes effect.
func TestAwayMessageUnreadable(t *testing.T) {
	node := startCluster(t, 1, unreadableAway{openStore(t)}, actors.Config{})[0]
	ctx := tctx(t)
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "b1", ClientMsgId: "q1", Body: []byte("q1")}); err != nil {
		t.Fatalf("a message to a user whose away row cannot be read: %v", err)
	}
	if _, err := node.SetAway(ctx, "seller", nil, time.Time{}); err == nil {
		t.Fatal("reading an unreadable away message: no error")
	}
	on := "Back soon"
	if _, err := node.SetAway(ctx, "seller", &on, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "b2", ClientMsgId: "q2", Body: []byte("q2")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		h, err := node.History(ctx, &pb.GetHistory{Conv: wirepb.DirectConvID("b2", "seller"), User: "b2"})
		if err != nil || len(h) != 2 || !h[0].AutoReply {
			return fmt.Errorf("b2's conversation: %v %v, want the automatic reply", h, err)
		}
		return nil
	})
}
