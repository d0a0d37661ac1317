package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestCardsCountAsUnread: a new card is news as a text is — it counts
// towards the other members' unread (and the push badge), brings an
// archived conversation back, and sending it reads up to it for the sender
// — while a card's update is not, and a recalled card leaves the count. The
// same in a small group and a read fan-out one, and after every grain
// reloaded from the store.
func TestCardsCountAsUnread(t *testing.T) {
	const idle = 200 * time.Millisecond
	node := startCluster(t, 1, openStore(t), actors.Config{FanoutThreshold: 3, IdleTimeout: idle})[0]
	ctx := tctx(t)
	small, large := "g:cards-small", "g:cards-large"
	mustCreateGroup(t, node, large, "shop", "mia", "max", "leo", "ana")
	mustCreateGroup(t, node, small, "shop", "mia", "max")
	send := func(m *pb.SendMessage) uint64 {
		t.Helper()
		r, err := node.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	summary := func(user, conv string) (*pb.ConvSummary, error) {
		for _, list := range []func() (*pb.ListConversationsResponse, error){
			func() (*pb.ListConversationsResponse, error) { return node.ListConversations(ctx, user, "", 10) },
			func() (*pb.ListConversationsResponse, error) { return node.ListArchived(ctx, user, "", 10) },
		} {
			r, err := list()
			if err != nil {
				return nil, err
			}
			for _, c := range r.Conversations {
				if c.Conv == conv {
					return c, nil
				}
			}
		}
		return nil, fmt.Errorf("%s does not list %s", user, conv)
	}
	expect := func(conv string, miaUnread uint64, archived bool, what string) {
		t.Helper()
		eventually(t, func() error {
			s, err := summary("mia", conv)
			if err != nil {
				return err
			}
			if s.Unread != miaUnread || s.Archived != archived {
				return fmt.Errorf("%s %s: mia's unread %d, archived %v; want %d, %v", conv, what, s.Unread, s.Archived, miaUnread, archived)
			}
			return nil
		})
	}
	cards := map[string]uint64{}
	for _, conv := range []string{small, large} {
		if err := node.SetArchived(ctx, "mia", conv, true); err != nil {
			t.Fatal(err)
		}
		card := send(&pb.SendMessage{Conv: conv, Sender: "shop", Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Order 1042 confirmed"}`)})
		cards[conv] = card
		expect(conv, 1, false, "after a new card")
		send(&pb.SendMessage{Conv: conv, Sender: "shop", Kind: pb.MessageKind_CARD, RefSeq: card, Body: []byte(`{"title":"Order 1042 shipped"}`)})
		expect(conv, 1, false, "after the card's update")
		eventually(t, func() error {
			s, err := summary("shop", conv)
			if err != nil {
				return err
			}
			if s.Unread != 0 || s.ReadSeq < card {
				return fmt.Errorf("%s: the sender's unread %d, read %d; want 0, read up to its card %d", conv, s.Unread, s.ReadSeq, card)
			}
			return nil
		})
		gone := send(&pb.SendMessage{Conv: conv, Sender: "shop", Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Order 1043 confirmed"}`)})
		expect(conv, 2, false, "after a second card")
		if _, err := node.Recall(ctx, conv, "shop", gone); err != nil {
			t.Fatal(err)
		}
		expect(conv, 1, false, "after the second card was recalled")
	}

	// Reloaded from the store (the small group's exact list is rebuilt
	// from the log, the large group's count from its noncounting seqs).
	deadline := time.Now().Add(50 * idle)
	for node.GrainCounts()[actors.KindUser]+node.GrainCounts()[actors.KindConversation] > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("grains still active: %v", node.GrainCounts())
		}
		time.Sleep(idle / 4)
	}
	for _, conv := range []string{small, large} {
		// At once, not eventually: the rebuilt count is exact from the
		// start (a recalled card in the log is no unread), before anything
		// the conversation's activation sends again could mend it.
		if s, err := summary("mia", conv); err != nil || s.Unread != 1 {
			t.Fatalf("%s after the grains reloaded: %v, %v; want 1 unread", conv, s, err)
		}
		if _, err := node.Recall(ctx, conv, "shop", cards[conv]); err != nil {
			t.Fatal(err)
		}
		expect(conv, 0, false, "after the card was recalled")
	}
}
