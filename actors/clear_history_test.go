package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestClearHistory: a member who clears a conversation no longer sees its
// messages up to then (history, search, the list's last message, a
// reaction to one), reads up to there, and sees what comes later as
// usual; the other member's view is untouched; a clear never moves back,
// outlives the grain, and a member who left clears only what they saw.
func TestClearHistory(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("ann", "bob")
	for _, text := range []string{"is the bike still for sale?", "yes", "what price?"} {
		if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte(text)}); err != nil {
			t.Fatal(err)
		}
	}
	seqsOf := func(user string) []uint64 {
		t.Helper()
		ms, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: user, OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Seq)
		}
		return out
	}
	summaryOf := func(user string) *pb.ConvSummary {
		t.Helper()
		r, err := node.ListConversations(ctx, user, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(r.Conversations, func(c *pb.ConvSummary) bool { return c.Conv == conv })
		if i < 0 {
			t.Fatalf("%s's list has no %s", user, conv)
		}
		return r.Conversations[i]
	}
	eventually(t, func() error {
		if s := summaryOf("bob"); s.Unread != 3 {
			return fmt.Errorf("bob's unread %d, want 3", s.Unread)
		}
		return nil
	})

	cleared, total, err := node.ClearHistory(ctx, "bob", "phone", conv, 0)
	if err != nil || cleared != 3 || total != 0 {
		t.Fatalf("bob clears: cleared %d, total unread %d, %v; want 3, 0", cleared, total, err)
	}
	if got := seqsOf("bob"); len(got) != 0 {
		t.Fatalf("bob's history after clearing: %v", got)
	}
	if got := seqsOf("ann"); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("ann's history: %v, want all three", got)
	}
	if found, _, err := node.Search(ctx, "bob", conv, actors.SearchQuery{Text: "bike"}, 0, 10); err != nil || len(found) != 0 {
		t.Fatalf("bob searches what he cleared: %d found, %v", len(found), err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "bob", Kind: pb.MessageKind_REACTION, RefSeq: 2, Body: []byte("👍")}); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("bob reacts to a message he cleared: %v, want NOT_FOUND", err)
	}
	eventually(t, func() error {
		if s := summaryOf("bob"); s.LastMessage != nil || s.ClearedSeq != 3 || s.Unread != 0 {
			return fmt.Errorf("bob's summary: last %v, cleared %d, unread %d; want none, 3, 0", s.LastMessage, s.ClearedSeq, s.Unread)
		}
		return nil
	})

	// What comes later shows as usual; a clear never moves back.
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "ann", Body: []byte("hello?")}); err != nil {
		t.Fatal(err)
	}
	if c, _, err := node.ClearHistory(ctx, "bob", "phone", conv, 2); err != nil || c != 3 {
		t.Fatalf("a clear below the last: %d, %v; want 3 kept", c, err)
	}
	eventually(t, func() error {
		if s := summaryOf("bob"); s.LastMessage.GetSeq() != 4 || s.Unread != 1 {
			return fmt.Errorf("bob's summary after a new message: last %d, unread %d; want 4, 1", s.LastMessage.GetSeq(), s.Unread)
		}
		return nil
	})
	if _, _, err := node.ClearHistory(ctx, "carol", "phone", conv, 0); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger clears: %v, want NOT_MEMBER", err)
	}

	// The clear outlives the grain.
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	if got := seqsOf("bob"); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("bob's history after a restart: %v, want [4]", got)
	}

	// A member who left clears only up to their leave.
	const g = "g:club"
	mustCreateGroup(t, node, g, "owner", "leaver")
	mustSend(t, node, g, "owner", "one")
	if _, err := membership(node, t, g, "leaver", pb.MembershipChange_LEAVE, pb.Role_MEMBER); err != nil {
		t.Fatal(err)
	}
	mustSend(t, node, g, "owner", "after the leave")
	if c, _, err := node.ClearHistory(ctx, "leaver", "phone", g, 0); err != nil || c == 0 {
		t.Fatalf("a member who left clears: %d, %v", c, err)
	}
	if ms, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "leaver"}); err != nil || len(ms) != 0 {
		t.Fatalf("the leaver's history after clearing: %d messages, %v", len(ms), err)
	}
	if ms, err := node.History(ctx, &pb.GetHistory{Conv: g, User: "owner"}); err != nil || len(ms) < 3 {
		t.Fatalf("the owner's history: %d messages, %v; want it all", len(ms), err)
	}
}
