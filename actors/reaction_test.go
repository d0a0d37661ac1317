package actors_test

import (
	"fmt"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestReactions: a member reacts to a text or a card it sees (an empty
// reaction takes it back); a reaction over MaxReactionBytes, not UTF-8,
// with a space, to an edit, a recalled message, a reaction or a seq
// nobody wrote is refused. Reactions count as no unread, move nobody's
// read cursor, are no last message and do not move a conversation up the
// list, in a small group and a read fan-out one alike.
func TestReactions(t *testing.T) {
	const limit = 8
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 3, MaxReactionBytes: limit})[0]
	ctx := tctx(t)
	small, large := "g:rsmall", "g:rlarge"
	mustCreateGroup(t, node, large, "olga", "mia", "max", "leo", "ana")
	mustCreateGroup(t, node, small, "olga", "mia", "max")
	send := func(m *pb.SendMessage) (uint64, error) {
		r, err := node.Send(ctx, m)
		if err != nil {
			return 0, err
		}
		return r.Seq, nil
	}
	react := func(conv, user string, seq uint64, emoji string) error {
		_, err := send(&pb.SendMessage{Conv: conv, Sender: user, Kind: pb.MessageKind_REACTION, RefSeq: seq, Body: []byte(emoji)})
		return err
	}
	summary := func(user, conv string) *pb.ConvSummary {
		t.Helper()
		r, err := node.ListConversations(ctx, user, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range r.Conversations {
			if c.Conv == conv {
				return c
			}
		}
		t.Fatalf("%s does not list %s", user, conv)
		return nil
	}
	texts := map[string]uint64{}
	for _, conv := range []string{small, large} {
		text, err := send(&pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("class at 9")})
		if err != nil {
			t.Fatal(err)
		}
		texts[conv] = text
		card, err := send(&pb.SendMessage{Conv: conv, Sender: "olga", Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Field trip"}`)})
		if err != nil {
			t.Fatal(err)
		}
		for _, ok := range []struct {
			user  string
			seq   uint64
			emoji string
		}{{"mia", text, "👍"}, {"max", text, "❤️"}, {"mia", card, "🎉"}, {"mia", text, ""}, {"max", text, "12345678"}} {
			if err := react(conv, ok.user, ok.seq, ok.emoji); err != nil {
				t.Fatalf("%s: %s reacts %q to %d: %v", conv, ok.user, ok.emoji, ok.seq, err)
			}
		}
		edit, err := send(&pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("class at 10"), RefSeq: text})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := send(&pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("oops")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.Recall(ctx, conv, "olga", gone); err != nil {
			t.Fatal(err)
		}
		if err := react(conv, "max", text, "🙂"); err != nil { // the newest seq: still not the last message
			t.Fatal(err)
		}
		for name, bad := range map[string]struct {
			seq   uint64
			emoji string
			want  pb.Code
		}{
			"over the limit":   {text, "123456789", pb.Code_INVALID},
			"not UTF-8":        {text, "\xff", pb.Code_INVALID},
			"with a space":     {text, "a b", pb.Code_INVALID},
			"to an edit":       {edit, "👍", pb.Code_INVALID},
			"to a recalled":    {gone, "👍", pb.Code_NOT_FOUND},
			"to a reaction":    {card + 1, "👍", pb.Code_NOT_FOUND},
			"to no message":    {gone + 100, "👍", pb.Code_NOT_FOUND},
			"to no seq at all": {0, "👍", pb.Code_NOT_FOUND},
		} {
			if err := react(conv, "mia", bad.seq, bad.emoji); actors.CodeOf(err) != bad.want {
				t.Errorf("%s: a reaction %s: %v, want %v", conv, name, err, bad.want)
			}
		}
		_, err = send(&pb.SendMessage{Conv: conv, Sender: "mia", Kind: pb.MessageKind_REACTION, RefSeq: text, Body: []byte("👍"), ReplyTo: text})
		wantCode(t, err, pb.Code_INVALID, conv+": a reaction that replies")
		_, err = send(&pb.SendMessage{Conv: conv, Sender: "mia", Kind: pb.MessageKind_REACTION, RefSeq: text, Body: []byte("👍"), Mentions: []string{"max"}})
		wantCode(t, err, pb.Code_INVALID, conv+": a reaction that mentions")

		// mia's unread: the text (edited) and the card; the reactions are
		// no unread, nor is the edit or the recalled message (once its
		// recall reached her). Her reactions read nothing, and the last
		// message is the recalled one, not a reaction.
		eventually(t, func() error {
			s := summary("mia", conv)
			if s.Unread != 2 || s.ReadSeq != 0 || s.LastMessage.GetSeq() != gone || !s.LastMessage.GetRecalled() {
				return fmt.Errorf("%s: mia's summary after reacting: unread %d, read %d, last %v; want 2 unread, nothing read, the recalled message last",
					conv, s.Unread, s.ReadSeq, s.LastMessage)
			}
			return nil
		})
	}
	// A reaction names a message: sent to a user never written to, it
	// does not open a direct conversation.
	_, err := node.SendDirect(ctx, "zed", &pb.SendMessage{Sender: "mia", Kind: pb.MessageKind_REACTION, RefSeq: 1, Body: []byte("👍")})
	wantCode(t, err, pb.Code_NOT_FOUND, "a reaction to a direct conversation that does not exist")
	if r, err := node.ListConversations(ctx, "zed", "", 10); err != nil || len(r.Conversations) != 0 {
		t.Fatalf("zed's conversations after mia's reaction: %v, %v; want none", r.GetConversations(), err)
	}
	// The small group was written last; reactions in the large one do not
	// move it above.
	if err := react(large, "max", texts[large], "👀"); err != nil {
		t.Fatal(err)
	}
	r, err := node.ListConversations(ctx, "max", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Conversations) < 2 || r.Conversations[0].Conv != small {
		t.Fatalf("max's list after a reaction in %s: %v; want %s first still", large, r.Conversations, small)
	}
}
