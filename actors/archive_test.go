package actors_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// An archived conversation leaves the user's main list for the archived
// one, is stored, survives the grain's passivation, stays archived through
// the user's own messages and through edits and reactions, and comes back
// with the next message from someone else unless the user muted it; in a
// group with read fan-out too (where the user grain sees news only when it
// looks). Archiving is the user's alone: a non-member cannot.
func TestArchive(t *testing.T) {
	const idle = 200 * time.Millisecond
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{FanoutThreshold: 3, IdleTimeout: idle})[0]
	ctx := tctx(t)
	direct := wirepb.DirectConvID("ann", "bob")
	send := func(m *pb.SendMessage) uint64 {
		t.Helper()
		if m.Conv == "" {
			m.Conv = direct
		}
		r, err := node.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	// where says which of ann's lists holds conv: "main", "archived" (each
	// summary's archived flag agreeing), "both" or "none", and the last seq
	// the listing knew.
	where := func(conv string) (string, uint64) {
		t.Helper()
		main, err := node.ListConversations(ctx, "ann", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		archived, err := node.ListArchived(ctx, "ann", "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		in := func(l *pb.ListConversationsResponse, flag bool) bool {
			i := slices.IndexFunc(l.Conversations, func(c *pb.ConvSummary) bool { return c.Conv == conv })
			if i < 0 {
				return false
			}
			if l.Conversations[i].Archived != flag {
				t.Fatalf("%s listed with archived %v in the %v list", conv, l.Conversations[i].Archived, flag)
			}
			last = l.Conversations[i].LastSeq
			return true
		}
		switch m, a := in(main, false), in(archived, true); {
		case m && a:
			return "both", last
		case m:
			return "main", last
		case a:
			return "archived", last
		}
		return "none", last
	}
	// expect checks where conv is once ann's grain has seen seq (fan-out
	// runs after the ack).
	expect := func(conv, want string, seq uint64, when string) {
		t.Helper()
		eventually(t, func() error {
			if got, last := where(conv); last < seq || got != want {
				return fmt.Errorf("%s: %s is in ann's %s list knowing seq %d, want %s knowing %d", when, conv, got, last, want, seq)
			}
			return nil
		})
	}

	opened, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "bob", Body: []byte("hi")})
	if err != nil {
		t.Fatal(err)
	}
	first := opened.Seq
	expect(direct, "main", first, "before archiving")
	if err := node.SetArchived(ctx, "ann", direct, true); err != nil {
		t.Fatal(err)
	}
	expect(direct, "archived", first, "archived")
	if uc, err := store.GetUserConv(ctx, "ann", direct); err != nil || uc.ArchivedSeq != first+1 {
		t.Fatalf("stored %+v, %v; want archived until seq %d", uc, err, first+1)
	}

	own := send(&pb.SendMessage{Sender: "ann", Body: []byte("my own")})
	send(&pb.SendMessage{Sender: "bob", Body: []byte("hi!"), RefSeq: first})                                        // an edit
	reaction := send(&pb.SendMessage{Sender: "bob", Kind: pb.MessageKind_REACTION, RefSeq: own, Body: []byte("👍")}) // a reaction
	expect(direct, "archived", reaction, "after ann's own message, bob's edit and reaction")

	// Reloaded from the store, the messages it already had are no news.
	// (Bob's grain stays: the window of his first contact holds it.)
	deadline := time.Now().Add(20 * idle)
	for node.GrainCounts()[actors.KindUser] > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d user grains still active", node.GrainCounts()[actors.KindUser])
		}
		time.Sleep(idle / 4)
	}
	expect(direct, "archived", reaction, "after the grain passivated")

	news := send(&pb.SendMessage{Sender: "bob", Body: []byte("news")})
	expect(direct, "main", news, "after bob's new message")
	if uc, err := store.GetUserConv(ctx, "ann", direct); err != nil || uc.ArchivedSeq != 0 {
		t.Fatalf("stored %+v, %v; want back in the main list", uc, err)
	}

	// Muted and archived: it stays archived.
	if _, err := node.SetMuted(ctx, "ann", direct, true, 0); err != nil {
		t.Fatal(err)
	}
	if err := node.SetArchived(ctx, "ann", direct, true); err != nil {
		t.Fatal(err)
	}
	muted := send(&pb.SendMessage{Sender: "bob", Body: []byte("still there?")})
	expect(direct, "archived", muted, "muted, after bob's message")
	if err := node.SetArchived(ctx, "ann", direct, false); err != nil {
		t.Fatal(err)
	}
	expect(direct, "main", muted, "unarchived")

	// At the edge: the first seq after archiving is news.
	if _, err := node.SetMuted(ctx, "ann", direct, false, 0); err != nil {
		t.Fatal(err)
	}
	if err := node.SetArchived(ctx, "ann", direct, true); err != nil {
		t.Fatal(err)
	}
	edge := send(&pb.SendMessage{Sender: "bob", Body: []byte("the very next one")})
	if edge != muted+1 {
		t.Fatalf("bob's message took seq %d, want %d (the first after archiving)", edge, muted+1)
	}
	expect(direct, "main", edge, "the first seq after archiving")

	// Read fan-out: news is seen when ann's grain looks at the group.
	big := "g:big"
	mustCreateGroup(t, node, big, "olga", "ann", "max", "leo", "ana")
	welcome := send(&pb.SendMessage{Conv: big, Sender: "olga", Body: []byte("welcome")})
	expect(big, "main", welcome, "large group")
	if err := node.SetArchived(ctx, "ann", big, true); err != nil {
		t.Fatal(err)
	}
	expect(big, "archived", welcome, "large group, archived") // olga's message was no news
	thanks := send(&pb.SendMessage{Conv: big, Sender: "ann", Body: []byte("thanks")})
	expect(big, "archived", thanks, "large group, after ann's own message")
	lunch := send(&pb.SendMessage{Conv: big, Sender: "max", Body: []byte("lunch?")})
	expect(big, "main", lunch, "large group, after max's message")

	if err := node.SetArchived(ctx, "eve", direct, true); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's archive: %v, want NOT_MEMBER", err)
	}
	if err := node.SetArchived(ctx, "ann", "no such id!", true); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a bad conversation id: %v, want INVALID", err)
	}
	for i := range 3 { // paging the archived list
		conv := fmt.Sprintf("g:old%d", i)
		mustCreateGroup(t, node, conv, "olga", "ann")
		if err := node.SetArchived(ctx, "ann", conv, true); err != nil {
			t.Fatal(err)
		}
	}
	page, err := node.ListArchived(ctx, "ann", "", 2)
	if err != nil || len(page.Conversations) != 2 {
		t.Fatalf("first page of the archived list: %v, %v; want 2", page, err)
	}
	rest, err := node.ListArchived(ctx, "ann", page.Conversations[1].Conv, 2)
	if err != nil || len(rest.Conversations) != 1 {
		t.Fatalf("second page of the archived list: %v, %v; want 1", rest, err)
	}
}

// A page of the conversation list starts after its cursor's place even
// when the cursor conversation left the list since the previous page (here
// archived): the rest of the list follows instead of an empty page that
// would end it early.
func TestListPagesPastACursorThatLeft(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	var want []string // newest first
	for _, from := range []string{"bob", "carl", "dan", "eve"} {
		if _, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: from, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{actors.DirectConvID("ann", from)}, want...)
		time.Sleep(5 * time.Millisecond) // distinct activity times: the order is by them
	}
	page := func(after string) []string {
		t.Helper()
		r, err := node.ListConversations(ctx, "ann", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range r.Conversations {
			ids = append(ids, c.Conv)
		}
		return ids
	}
	first := page("")
	if !slices.Equal(first, want[:2]) {
		t.Fatalf("first page %v, want %v", first, want[:2])
	}
	if err := node.SetArchived(ctx, "ann", first[1], true); err != nil {
		t.Fatal(err)
	}
	if next := page(first[1]); !slices.Equal(next, want[2:]) {
		t.Fatalf("the page after %s, archived since: %v, want %v", first[1], next, want[2:])
	}
	if none := page("d:ann:nobody"); len(none) != 0 {
		t.Fatalf("a page after a conversation ann never had: %v", none)
	}
}
