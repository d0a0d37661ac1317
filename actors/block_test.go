package actors_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A user blocks another: in their direct conversation the blocked one's
// sends fail MUTED and the blocker's FORBIDDEN, presence through it is
// refused both ways, the blocked one cannot pull the blocker into a group,
// the block survives a restart, a group they already share is untouched,
// and an unblock lets them write again.
func TestBlockUser(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	direct := actors.DirectConvID("alice", "bob")
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("buy my stuff")}); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:market", "carol", "alice", "bob")

	if err := node.Block(ctx, "bob", "alice", true); err != nil {
		t.Fatalf("bob blocks alice: %v", err)
	}
	if err := node.Block(ctx, "bob", "alice", true); err != nil {
		t.Fatalf("blocking twice: %v", err)
	}
	_, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("hello?")})
	wantCode(t, err, pb.Code_MUTED, "blocked alice writes to bob")
	_, err = send(ctx, node, direct, "bob", "one last word")
	wantCode(t, err, pb.Code_FORBIDDEN, "bob writes to the user he blocked")
	_, err = node.Presence(ctx, "alice", "bob", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "alice sees bob's presence")
	_, err = node.Presence(ctx, "bob", "alice", "")
	wantCode(t, err, pb.Code_FORBIDDEN, "bob sees alice's presence")

	// Nor can alice pull bob into a group of hers, by creating or adding;
	// others still can, and bob may add alice.
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:alice-club", Kind: pb.ConvKind_GROUP, Creator: "alice",
		Members: []*pb.Member{{User: "dave"}, {User: "bob"}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "alice creates a group with bob")
	mustCreateGroup(t, node, "g:alice-club", "alice", "dave")
	_, err = membership(node, t, "g:alice-club", "alice", pb.MembershipChange_ADD, pb.Role_MEMBER, "erin", "bob")
	wantCode(t, err, pb.Code_FORBIDDEN, "alice adds bob to her group")
	mustCreateGroup(t, node, "g:bob-club", "bob", "alice")
	if _, err := membership(node, t, "g:market", "carol", pb.MembershipChange_ADD, pb.Role_MEMBER, "erin"); err != nil {
		t.Fatalf("an add by someone else: %v", err)
	}

	// The group is not the direct conversation: both write and see each other there.
	mustSend(t, node, "g:market", "alice", "in the group")
	mustSend(t, node, "g:market", "bob", "in the group too")
	if _, err := node.Presence(ctx, "alice", "bob", "g:market"); err != nil {
		t.Fatalf("presence through a shared group: %v", err)
	}

	// Members show the block; it records no message in the pair's history.
	ms, _, err := node.Members(ctx, direct, "bob", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Muted != (m.User == "alice") {
			t.Fatalf("member %s muted=%v, want only alice blocked", m.User, m.Muted)
		}
	}
	hist, err := node.History(ctx, &pb.GetHistory{Conv: direct, User: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 {
		t.Fatalf("history holds %d messages, want alice's one (a block records nothing)", len(hist))
	}

	// The block is durable: a new node on the same store still refuses.
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	_, err = node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("after a restart")})
	wantCode(t, err, pb.Code_MUTED, "blocked alice writes after a restart")

	if err := node.Block(ctx, "bob", "alice", false); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	if _, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", Body: []byte("thanks")}); err != nil {
		t.Fatalf("alice writes after the unblock: %v", err)
	}
	mustSend(t, node, direct, "bob", "you're welcome")
	if _, err := membership(node, t, "g:alice-club", "alice", pb.MembershipChange_ADD, pb.Role_MEMBER, "bob"); err != nil {
		t.Fatalf("alice adds bob after the unblock: %v", err)
	}
	if _, err := node.Presence(ctx, "alice", "bob", ""); err != nil {
		t.Fatalf("presence after the unblock: %v", err)
	}
}

// Blocking a user one never talked to creates the pair's direct
// conversation already blocked; mistakes get clear errors.
func TestBlockBeforeFirstContact(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	if err := node.Block(ctx, "dave", "carol", false); err != nil {
		t.Fatalf("unblocking a stranger (nothing to do): %v", err)
	}
	if err := node.Block(ctx, "carol", "spammer", true); err != nil {
		t.Fatalf("block a stranger: %v", err)
	}
	_, err := node.SendDirect(ctx, "carol", &pb.SendMessage{Sender: "spammer", Body: []byte("hi")})
	wantCode(t, err, pb.Code_MUTED, "the stranger's first message")
	hist, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("carol", "spammer"), User: "carol"})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 0 {
		t.Fatalf("the blocked conversation holds %d messages", len(hist))
	}

	wantCode(t, node.Block(ctx, "carol", "carol", true), pb.Code_INVALID, "blocking oneself")
	wantCode(t, node.Block(ctx, "carol", "bad id\x00", true), pb.Code_INVALID, "blocking a bad id")
	mustCreateGroup(t, node, "g:class", "teacher", "pupil")
	_, err = membership(node, t, "g:class", "teacher", pb.MembershipChange_BLOCK, 0, "pupil")
	wantCode(t, err, pb.Code_FORBIDDEN, "block in a group (its managers mute)")
}

// TestBlockedUsers: the users one blocks are listed from one's direct
// conversations, page by page; being blocked by someone does not list
// them, and an unblock takes a user off the list.
func TestBlockedUsers(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	for _, peer := range []string{"ann", "ben", "cat", "dan"} {
		if _, err := node.SendDirect(ctx, peer, &pb.SendMessage{Sender: "zoe", ClientMsgId: peer, Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreateGroup(t, node, "g:club", "zoe", "ann")     // not a direct conversation: never read
	for _, peer := range []string{"ben", "dan", "eve"} { // eve: never talked to
		if err := node.Block(ctx, "zoe", peer, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := node.Block(ctx, "cat", "zoe", true); err != nil { // cat blocks zoe
		t.Fatal(err)
	}
	all := func(limit int) []string {
		t.Helper()
		var users []string
		pages := 0
		for after := ""; ; pages++ {
			got, next, err := node.BlockedUsers(ctx, "zoe", after, limit)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, got...)
			if next == "" {
				break
			}
			after = next
		}
		if limit == 1 && pages < 4 {
			t.Fatalf("%d pages of one conversation for zoe's 5 direct conversations", pages)
		}
		slices.Sort(users)
		return users
	}
	for _, limit := range []int{0, 1, 2} {
		if got := all(limit); !slices.Equal(got, []string{"ben", "dan", "eve"}) {
			t.Fatalf("limit %d: zoe blocks %v, want [ben dan eve]", limit, got)
		}
	}
	if err := node.Block(ctx, "zoe", "dan", false); err != nil {
		t.Fatal(err)
	}
	if got := all(0); !slices.Equal(got, []string{"ben", "eve"}) {
		t.Fatalf("after unblocking dan: %v", got)
	}
	if got, _, err := node.BlockedUsers(ctx, "cat", "", 0); err != nil || !slices.Equal(got, []string{"zoe"}) {
		t.Fatalf("cat blocks %v, %v", got, err)
	}
	_, _, err := node.BlockedUsers(ctx, "zoe", "g:club", 0)
	wantCode(t, err, pb.Code_INVALID, "paging from a group id")
}

// TestBlockedUsersPageBound: one call reads at most maxBlockedPage direct
// conversations, whatever limit is asked; the rest come on the next page.
func TestBlockedUsersPageBound(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	const n = actors.MaxBlockedPage + 1
	errs := make(chan error, n)
	slots := make(chan struct{}, 16) // blocks in flight: each makes a conversation
	for i := range n {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			errs <- node.Block(ctx, "max", fmt.Sprintf("u%04d", i), true)
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	first, next, err := node.BlockedUsers(ctx, "max", "", n+10)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != actors.MaxBlockedPage || next == "" {
		t.Fatalf("first page: %d users, next %q; want %d and a next page", len(first), next, actors.MaxBlockedPage)
	}
	rest, next, err := node.BlockedUsers(ctx, "max", next, n+10)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("u%04d", n-1); !slices.Equal(rest, []string{want}) || next != "" {
		t.Fatalf("second page: %v, next %q; want [%s] and no next page", rest, next, want)
	}
}
