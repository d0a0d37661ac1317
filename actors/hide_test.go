package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestHideMessages: a member who deletes messages for themself no longer
// sees them, nor what refers to them (history, a full page read past
// them, search, the list's last message, a reaction, the unread count),
// while the other member's view is untouched; only messages of their own
// kind are hidden, the set is bounded at its edge, an unhide shows them
// again, a clear drops what it covers, and the set outlives the grain.
func TestHideMessages(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxHiddenMessages: 3}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("ann", "bob")
	for _, text := range []string{"my phone is 555", "is the bike still for sale?", "yes", "what price?"} {
		if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "ann", Body: []byte(text)}); err != nil {
			t.Fatal(err)
		}
	}
	// seq 5: bob's reaction to 2; seq 6: ann's edit of 4
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "bob", Kind: pb.MessageKind_REACTION, RefSeq: 2, Body: []byte("👍")}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "ann", RefSeq: 4, Body: []byte("what price, roughly?")}); err != nil {
		t.Fatal(err)
	}
	seqsOf := func(user string, limit uint32, oldestFirst bool) []uint64 {
		t.Helper()
		ms, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: user, OldestFirst: oldestFirst, Limit: limit})
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

	// What may be hidden: messages of their own, that the user sees.
	for _, c := range []struct {
		seqs []uint64
		code pb.Code
	}{
		{nil, pb.Code_INVALID},
		{make([]uint64, actors.MaxHideSeqs+1), pb.Code_INVALID},
		{[]uint64{0}, pb.Code_INVALID},
		{[]uint64{5}, pb.Code_INVALID}, // a reaction
		{[]uint64{6}, pb.Code_INVALID}, // an edit
		{[]uint64{7}, pb.Code_NOT_FOUND},
	} {
		if _, err := node.Hide(ctx, "bob", conv, c.seqs, false); actors.CodeOf(err) != c.code {
			t.Fatalf("hide %v: %v, want %v", c.seqs, err, c.code)
		}
	}
	// MaxHideSeqs seqs at once pass the count: 1–4, then 7 on, which is
	// not written (5 and 6 are a reaction and an edit).
	atBound := []uint64{1, 2, 3, 4}
	for seq := uint64(7); len(atBound) < actors.MaxHideSeqs; seq++ {
		atBound = append(atBound, seq)
	}
	if _, err := node.Hide(ctx, "bob", conv, atBound, false); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("hide %d seqs, the bound: %v, want NOT_FOUND (seq 7), not INVALID", len(atBound), err)
	}
	if _, err := node.Hide(ctx, "carol", conv, []uint64{1}, false); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger hides: %v, want NOT_MEMBER", err)
	}

	hidden, err := node.Hide(ctx, "bob", conv, []uint64{4, 2, 2}, false)
	if err != nil || !slices.Equal(hidden, []uint64{2, 4}) {
		t.Fatalf("bob hides 4 and 2: %v, %v; want [2 4]", hidden, err)
	}
	if got := seqsOf("bob", 0, true); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("bob's history: %v, want [1 3] (no reaction to 2, no edit of 4)", got)
	}
	if got := seqsOf("bob", 1, false); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("bob's newest page of one: %v, want [3], read past what he hid", got)
	}
	if got := seqsOf("ann", 0, true); !slices.Equal(got, []uint64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("ann's history: %v, want all six", got)
	}
	if found, _, err := node.Search(ctx, "bob", conv, actors.SearchQuery{Text: "bike"}, 0, 10); err != nil || len(found) != 0 {
		t.Fatalf("bob searches what he hid: %d found, %v", len(found), err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "bob", Kind: pb.MessageKind_REACTION, RefSeq: 4, Body: []byte("😮")}); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("bob reacts to a message he hid: %v, want NOT_FOUND", err)
	}
	eventually(t, func() error {
		if s := summaryOf("bob"); s.LastMessage != nil || !slices.Equal(s.HiddenSeqs, []uint64{2, 4}) || s.Unread != 2 {
			return fmt.Errorf("bob's summary: last %v, hidden %v, unread %d; want none, [2 4], 2", s.LastMessage, s.HiddenSeqs, s.Unread)
		}
		return nil
	})

	// The bound, at its edge: a third fits, a fourth does not.
	if hidden, err = node.Hide(ctx, "bob", conv, []uint64{1}, false); err != nil || len(hidden) != 3 {
		t.Fatalf("bob hides a third: %v, %v", hidden, err)
	}
	if _, err := node.Hide(ctx, "bob", conv, []uint64{3}, false); actors.CodeOf(err) != pb.Code_TOO_MANY {
		t.Fatalf("bob hides a fourth with a bound of 3: %v, want TOO_MANY", err)
	}
	if hidden, err = node.Hide(ctx, "bob", conv, []uint64{1, 3}, true); err != nil || !slices.Equal(hidden, []uint64{2, 4}) {
		t.Fatalf("bob unhides 1 (and 3, never hidden): %v, %v; want [2 4]", hidden, err)
	}
	if got := seqsOf("bob", 0, true); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("bob's history after the unhide: %v, want [1 3]", got)
	}

	// The set outlives the grain; a clear drops what it covers.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got := seqsOf("bob", 0, true); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("bob's history after a restart: %v, want [1 3]", got)
	}
	if _, _, err := node.ClearHistory(ctx, "bob", "phone", conv, 3); err != nil {
		t.Fatal(err)
	}
	if hidden, err = node.Hide(ctx, "bob", conv, []uint64{4}, true); err != nil || len(hidden) != 0 {
		t.Fatalf("bob unhides 4 after clearing up to 3: %v, %v; want none left (2 went with the clear)", hidden, err)
	}
	if got := seqsOf("bob", 0, true); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Fatalf("bob's history at the end: %v, want [4 5 6] (5 is a reaction to a cleared message: the clear's rule)", got)
	}
}

// TestHideInALargeGroup: in a read fan-out group the conversation counts
// a member's unread; a message the member hid leaves the count.
func TestHideInALargeGroup(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 2})[0]
	ctx := tctx(t)
	const g = "g:hall"
	mustCreateGroup(t, node, g, "host", "ann", "bob")
	var seqs []uint64
	for _, text := range []string{"welcome", "rules", "lunch at noon"} {
		seqs = append(seqs, mustSend(t, node, g, "host", text).Seq)
	}
	unreadOf := func() uint64 {
		t.Helper()
		r, err := node.ListConversations(ctx, "ann", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Conversations {
			if c.Conv == g {
				return c.Unread
			}
		}
		t.Fatalf("ann's list has no %s", g)
		return 0
	}
	eventually(t, func() error {
		if n := unreadOf(); n != 3 {
			return fmt.Errorf("ann's unread %d, want 3", n)
		}
		return nil
	})
	if _, err := node.Hide(ctx, "ann", g, seqs[1:2], false); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if n := unreadOf(); n != 2 {
			return fmt.Errorf("ann's unread after hiding one: %d, want 2", n)
		}
		return nil
	})
}
