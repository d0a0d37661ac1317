package transport_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Reactions over the wire: a member's reaction reaches the others' stores
// folded onto its message (one per member, the newest winning, an empty
// one taking it back); a history page read afresh folds them the same way;
// a reaction leaves unread counts and the last message alone.
func TestReactionsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, ann, bob := e.dial("teacher", "laptop"), e.dial("ann", "phone"), e.dial("bob", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:class", "class", []string{"ann", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	hw, err := teacher.SendText(ctx, client.ToConv(conv), "homework: page 12")
	if err != nil {
		t.Fatal(err)
	}
	reactionsAt := func(c *client.Client) []client.Reaction {
		for _, m := range c.Messages(conv) {
			if m.Seq == hw.Seq {
				return m.Reactions
			}
		}
		return nil
	}
	want := func(c *client.Client, who string, w []client.Reaction) {
		t.Helper()
		eventually(t, fmt.Sprintf("%s to see reactions %v (at first %v)", who, w, reactionsAt(c)), func() bool {
			return slices.EqualFunc(reactionsAt(c), w, func(a, b client.Reaction) bool {
				return a.Emoji == b.Emoji && slices.Equal(a.Users, b.Users)
			})
		})
	}
	if _, err := ann.React(ctx, conv, hw.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.React(ctx, conv, hw.Seq, "👍"); err != nil {
		t.Fatal(err)
	}
	want(teacher, "the teacher", []client.Reaction{{Emoji: "👍", Users: []string{"ann", "bob"}}})
	// The reacting device folds its own reaction from the send's answer
	// as it would from the push.
	want(ann, "ann herself", []client.Reaction{{Emoji: "👍", Users: []string{"ann", "bob"}}})
	if _, err := bob.React(ctx, conv, hw.Seq, "❤️"); err != nil {
		t.Fatal(err)
	}
	want(teacher, "the teacher", []client.Reaction{{Emoji: "❤️", Users: []string{"bob"}}, {Emoji: "👍", Users: []string{"ann"}}})
	if _, err := ann.React(ctx, conv, hw.Seq, ""); err != nil {
		t.Fatal(err)
	}
	want(teacher, "the teacher", []client.Reaction{{Emoji: "❤️", Users: []string{"bob"}}})

	// A device that reads the history afresh folds the same.
	fresh := e.dial("teacher", "tablet")
	if _, err := fresh.History(ctx, conv, client.HistoryOptions{Limit: 50}); err != nil {
		t.Fatal(err)
	}
	want(fresh, "a fresh device", []client.Reaction{{Emoji: "❤️", Users: []string{"bob"}}})

	// Reactions are no unread and no last message.
	if _, _, err := ann.ListConversations(ctx, "", 10); err != nil {
		t.Fatal(err)
	}
	if c, ok := ann.Conversation(conv); !ok || c.Unread != 1 || c.LastMessage == nil || c.LastMessage.Seq != hw.Seq {
		t.Fatalf("ann's summary after the reactions: %+v; want 1 unread, the homework last", c)
	}
	if _, err := ann.React(ctx, conv, hw.Seq, "not an emoji"); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a reaction with spaces: %v, want INVALID", err)
	}
}
