package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/storage"
)

// A message mentions current members other than its sender, each once, at
// most MaxMentions of them; history carries the mentions and they survive
// a restart (they are stored). A non-member, a member who left, the
// sender, a repeat, one past the bound, and mentions on an edit or a card
// are refused.
func TestMentions(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxMentions: 2}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	conv := "g:mentions"
	mustCreateGroup(t, node, conv, "olga", "mia", "max", "leo")
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "leo", Op: pb.MembershipChange_LEAVE, Users: []string{"leo"}}); err != nil {
		t.Fatal(err)
	}
	m, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("@mia @max homework is up"), Mentions: []string{"mia", "max"}})
	if err != nil {
		t.Fatalf("two mentions, the bound: %v", err)
	}
	for name, c := range map[string][]string{
		"one past the bound": {"mia", "max", "olga"},
		"a non-member":       {"zoe"},
		"a member who left":  {"leo"},
		"the sender":         {"olga"},
		"a member twice":     {"mia", "mia"},
	} {
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("x"), Mentions: c}); actors.CodeOf(err) != pb.Code_INVALID {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("@mia fixed"), RefSeq: m.Seq, Mentions: []string{"mia"}}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Errorf("mentions on an edit: %v, want INVALID", err)
	}
	card := []byte(`{"title":"Homework","actions":[{"id":"ok","label":"Done"}]}`)
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Kind: pb.MessageKind_CARD, Body: card, Mentions: []string{"mia"}}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Errorf("mentions on a card: %v, want INVALID", err)
	}
	// The same edit and card without mentions are taken: the mentions
	// were what was refused.
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Kind: pb.MessageKind_CARD, Body: card}); err != nil {
		t.Errorf("the card alone: %v", err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("@mia @max homework is up (p. 4)"), RefSeq: m.Seq}); err != nil {
		t.Errorf("the edit alone: %v", err)
	}

	mentionsOf := func(user string) []string {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: m.Seq, ToSeq: m.Seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history: %v %v", msgs, err)
		}
		return msgs[0].Mentions
	}
	if got := mentionsOf("max"); !slices.Equal(got, []string{"mia", "max"}) {
		t.Fatalf("the mentions in history: %v", got)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got := mentionsOf("mia"); !slices.Equal(got, []string{"mia", "max"}) {
		t.Fatalf("after a restart: %v", got)
	}
}

// Each conversation summary counts the unread messages that mention the
// user, in a small group (the user grain's list, rebuilt from the log) and
// in a read fan-out group (counted by the conversation), through a recall,
// a restart and a read.
func TestUnreadMentions(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{FanoutThreshold: 3} // groups of 4+ use read fan-out
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	small, large := "g:small", "g:large"
	mustCreateGroup(t, node, small, "olga", "mia", "max")
	mustCreateGroup(t, node, large, "olga", "mia", "max", "leo", "ana")
	send := func(conv, body string, mentions ...string) uint64 {
		t.Helper()
		m, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte(body), Mentions: mentions})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	counts := func(user string) map[string][2]uint64 { return unreadCounts(t, node, user) }
	first := map[string]uint64{}
	for _, conv := range []string{small, large} {
		first[conv] = send(conv, "@mia can you take this?", "mia")
		send(conv, "@max and you this", "max")
		both := send(conv, "@mia @max and both of you this", "mia", "max")
		send(conv, "thanks all")
		if _, err := node.Recall(ctx, conv, "olga", both); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string][2]uint64{small: {3, 1}, large: {3, 1}} // unread, of them mentioning mia
	if got := counts("mia"); got[small] != want[small] || got[large] != want[large] {
		t.Fatalf("mia's counts: %v, want %v (the recalled message counts in neither)", got, want)
	}
	if got := counts("leo"); got[large] != [2]uint64{3, 0} {
		t.Fatalf("leo, never mentioned: %v", got[large])
	}

	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if got := counts("mia"); got[small] != want[small] || got[large] != want[large] {
		t.Fatalf("after a restart: %v, want %v", got, want)
	}
	for _, conv := range []string{small, large} {
		if _, err := node.MarkRead(ctx, "mia", "phone", conv, first[conv]); err != nil {
			t.Fatal(err)
		}
	}
	want = map[string][2]uint64{small: {2, 0}, large: {2, 0}}
	if got := counts("mia"); got[small] != want[small] || got[large] != want[large] {
		t.Fatalf("read past the mention: %v, want %v", got, want)
	}
	for _, conv := range []string{small, large} {
		send(conv, "@mia one more", "mia")
	}
	want = map[string][2]uint64{small: {3, 1}, large: {3, 1}}
	if got := counts("mia"); got[small] != want[small] || got[large] != want[large] {
		t.Fatalf("a new mention: %v, want %v", got, want)
	}
}

// TestUnreadMentionsBound: a read fan-out group keeps the newest
// MaxMentionSeqs mentions per member. At the bound the count is exact;
// one past it, the count stops at the bound, and reading moves it down
// from the newest kept.
func TestUnreadMentionsBound(t *testing.T) {
	const bound = 3
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 3, MaxMentionSeqs: bound})[0]
	ctx := tctx(t)
	conv := "g:bound"
	mustCreateGroup(t, node, conv, "olga", "mia", "max", "leo", "ana")
	mention := func() uint64 {
		t.Helper()
		m, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("@mia"), Mentions: []string{"mia"}})
		if err != nil {
			t.Fatal(err)
		}
		return m.Seq
	}
	mentionsOf := func() uint64 {
		t.Helper()
		r, err := node.ListConversations(ctx, "mia", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Conversations {
			if c.Conv == conv {
				return c.UnreadMentions
			}
		}
		t.Fatalf("mia does not list %s", conv)
		return 0
	}
	var seqs []uint64
	for range bound {
		seqs = append(seqs, mention())
	}
	if got := mentionsOf(); got != bound {
		t.Fatalf("at the bound: %d unread mentions, want %d", got, bound)
	}
	seqs = append(seqs, mention())
	if got := mentionsOf(); got != bound {
		t.Fatalf("one past the bound: %d unread mentions, want it to stop at %d", got, bound)
	}
	if _, err := node.MarkRead(ctx, "mia", "phone", conv, seqs[1]); err != nil {
		t.Fatal(err)
	}
	if got := mentionsOf(); got != 2 {
		t.Fatalf("read through the second mention: %d unread mentions, want 2", got)
	}
}

// TestMentionAll: a group's owner or admin mentions everyone ("@all"):
// every member but the sender counts it in their unread mentions, in a
// small group and in a read fan-out group, through a restart and a read;
// a plain member is FORBIDDEN, and "@all" with a name, in a direct
// conversation or on a card is INVALID.
func TestMentionAll(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{FanoutThreshold: 3} // groups of 4+ use read fan-out
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	small, large := "g:all-small", "g:all-large"
	mustCreateGroup(t, node, small, "olga", "mia", "max")
	mustCreateGroup(t, node, large, "olga", "mia", "max", "leo", "ana")
	all := []string{storage.MentionAll}
	for conv, want := range map[string]pb.Code{small: pb.Code_FORBIDDEN, large: pb.Code_FORBIDDEN} {
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "mia", Body: []byte("@all hi"), Mentions: all}); actors.CodeOf(err) != want {
			t.Errorf("a plain member's @all in %s: %v, want %v", conv, err, want)
		}
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: small, Sender: "olga", Body: []byte("x"), Mentions: []string{storage.MentionAll, "mia"}}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Errorf("@all with a name: %v, want INVALID", err)
	}
	if _, err := node.SendDirect(ctx, "mia", &pb.SendMessage{Sender: "olga", Body: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: actors.DirectConvID("mia", "olga"), Sender: "olga", Body: []byte("x"), Mentions: all}); actors.CodeOf(err) != pb.Code_INVALID {
		t.Errorf("@all in a direct conversation: %v, want INVALID", err)
	}
	for _, conv := range []string{small, large} {
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("@all the trip is on"), Mentions: all}); err != nil {
			t.Fatalf("the owner's @all in %s: %v", conv, err)
		}
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("bring lunch")}); err != nil {
			t.Fatal(err)
		}
	}
	counts := func(user string) map[string][2]uint64 { return unreadCounts(t, node, user) }
	check := func(when string) {
		t.Helper()
		eventually(t, func() error {
			for _, u := range []string{"mia", "max"} {
				got := counts(u)
				for _, conv := range []string{small, large} {
					if got[conv] != [2]uint64{2, 1} {
						return fmt.Errorf("%s: %s's %s: unread, mentions %v, want [2 1]", when, u, conv, got[conv])
					}
				}
			}
			if got := counts("olga"); got[small][1] != 0 || got[large][1] != 0 {
				return fmt.Errorf("%s: the sender counts her own @all: %v", when, got)
			}
			return nil
		})
	}
	check("at once")
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	check("after a restart")
	if _, err := node.MarkAllRead(ctx, "mia", "phone"); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if got := counts("mia"); got[small] != [2]uint64{} || got[large] != [2]uint64{} {
			return fmt.Errorf("after reading: %v", got)
		}
		return nil
	})
	msgs, err := node.History(ctx, &pb.GetHistory{Conv: large, User: "ana", Limit: 2})
	if err != nil || len(msgs) != 2 || !slices.Equal(msgs[1].Mentions, all) {
		t.Fatalf("the history carries the mention of all: %v, %v", msgs, err)
	}
}

// unreadCounts reads user's list: each conversation's unread count and
// unread mentions.
func unreadCounts(t *testing.T, node *boot.Node, user string) map[string][2]uint64 {
	t.Helper()
	r, err := node.ListConversations(tctx(t), user, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]uint64{}
	for _, c := range r.Conversations {
		out[c.Conv] = [2]uint64{c.Unread, c.UnreadMentions}
	}
	return out
}

// In a group, a text reply mentions the author of the message it answers:
// stored with it (one past MaxMentions at most), counted in their
// unread_mentions in a small group and in a read fan-out group alike. Not
// the replier's own message, not one recalled, not a member who left, not
// twice, not beside "@all", not a system message, not in a direct
// conversation; and not at all with ReplyMentionsOff.
func TestReplyMentionsItsAuthor(t *testing.T) {
	for _, off := range []bool{false, true} {
		t.Run(fmt.Sprintf("off=%v", off), func(t *testing.T) {
			store := openStore(t)
			node := startCluster(t, 1, store, actors.Config{FanoutThreshold: 3, MaxMentions: 1, ReplyMentionsOff: off})[0]
			ctx := tctx(t)
			small, large := "g:reply-small", "g:reply-large"
			mustCreateGroup(t, node, small, "olga", "mia", "max")
			mustCreateGroup(t, node, large, "olga", "mia", "max", "leo", "ana")
			send := func(conv, sender string, replyTo uint64, mentions ...string) uint64 {
				t.Helper()
				m, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, Body: []byte("text"), ReplyTo: replyTo, Mentions: mentions})
				if err != nil {
					t.Fatalf("%s replies to %d in %s: %v", sender, replyTo, conv, err)
				}
				return m.Seq
			}
			stored := func(conv string, seq uint64) []string {
				t.Helper()
				msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "olga", FromSeq: seq, ToSeq: seq, Limit: 1})
				if err != nil || len(msgs) != 1 {
					t.Fatalf("history of %d: %v %v", seq, msgs, err)
				}
				return msgs[0].Mentions
			}
			want := func(mentions ...string) []string {
				if off {
					return slices.DeleteFunc(mentions, func(u string) bool { return u == "mia" })
				}
				return mentions
			}
			for _, conv := range []string{small, large} {
				question := send(conv, "mia", 0)
				answer := send(conv, "olga", question, "max") // at the bound, and the author one past it
				if got := stored(conv, answer); !slices.Equal(got, want("max", "mia")) {
					t.Errorf("%s: a reply naming max stores %v, want %v", conv, got, want("max", "mia"))
				}
				if got := stored(conv, send(conv, "olga", question, "mia")); !slices.Equal(got, []string{"mia"}) {
					t.Errorf("%s: a reply naming its author already stores %v", conv, got)
				}
				if got := stored(conv, send(conv, "mia", question)); len(got) != 0 {
					t.Errorf("%s: a reply to one's own message mentions %v", conv, got)
				}
				if got := stored(conv, send(conv, "olga", question, storage.MentionAll)); !slices.Equal(got, []string{storage.MentionAll}) {
					t.Errorf("%s: a reply to everyone stores %v", conv, got)
				}
				if got := stored(conv, send(conv, "mia", 1)); len(got) != 0 {
					t.Errorf("%s: a reply to the creation's system message mentions %v", conv, got)
				}
				withdrawn := send(conv, "max", 0)
				if _, err := node.Recall(ctx, conv, "max", withdrawn); err != nil {
					t.Fatal(err)
				}
				if got := stored(conv, send(conv, "olga", withdrawn)); len(got) != 0 {
					t.Errorf("%s: a reply to a recalled message mentions %v", conv, got)
				}
			}
			// mia's unread in each group: olga's reply to the withdrawn
			// message, which names nobody (her own replies read the rest).
			eventually(t, func() error {
				for conv, got := range unreadCounts(t, node, "mia") {
					if got != [2]uint64{1, 0} {
						return fmt.Errorf("mia's %s: unread and mentions %v, want [1 0]", conv, got)
					}
				}
				return nil
			})
			// Unread, a reply counts as a mention of its author.
			for _, conv := range []string{small, large} {
				send(conv, "olga", send(conv, "mia", 0))
			}
			mentioned := uint64(1)
			if off {
				mentioned = 0
			}
			eventually(t, func() error {
				for conv, got := range unreadCounts(t, node, "mia") {
					if got != [2]uint64{1, mentioned} {
						return fmt.Errorf("mia's %s: unread and mentions %v, want [1 %d]", conv, got, mentioned)
					}
				}
				return nil
			})

			parting := send(small, "max", 0)
			if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: small, Actor: "max", Op: pb.MembershipChange_LEAVE, Users: []string{"max"}}); err != nil {
				t.Fatal(err)
			}
			if got := stored(small, send(small, "olga", parting)); len(got) != 0 {
				t.Errorf("a reply to a member who left mentions %v", got)
			}

			direct := actors.DirectConvID("mia", "olga")
			q, err := node.SendDirect(ctx, "olga", &pb.SendMessage{Sender: "mia", Body: []byte("hi")})
			if err != nil {
				t.Fatal(err)
			}
			if got := stored(direct, send(direct, "olga", q.Seq)); len(got) != 0 {
				t.Errorf("a direct reply mentions %v", got)
			}
		})
	}
}
