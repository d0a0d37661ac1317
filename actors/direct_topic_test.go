package actors_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A pair's conversations about topics (a buyer asks a seller about each
// listing): one per topic beside the plain one, each a direct
// conversation of the two alone; the pair's block holds in every one of
// them, set before or after they started; a first contact's rules hold
// for a topic unless the pair talked already; bad topics are INVALID.
func TestDirectTopics(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	type sent struct {
		Conv string
		Seq  uint64
	}
	send := func(from, to, topic, text string) (sent, error) {
		req := &pb.SendMessage{Sender: from, Topic: topic, ClientMsgId: from + "/" + text, Body: []byte(text)}
		r, err := node.SendDirect(ctx, to, req)
		if err != nil {
			return sent{}, err
		}
		return sent{req.Conv, r.Seq}, nil
	}
	mustSend := func(from, to, topic, text string) sent {
		t.Helper()
		r, err := send(from, to, topic, text)
		if err != nil {
			t.Fatalf("%s to %s about %q: %v", from, to, topic, err)
		}
		return r
	}

	// Two listings, two conversations; the plain one is not started.
	lamp := mustSend("buyer", "seller", "listing-7", "is the lamp still there?")
	sofa := mustSend("buyer", "seller", "listing-8", "and the sofa?")
	if lamp.Conv != "d:buyer:seller:listing-7" || sofa.Conv != "d:buyer:seller:listing-8" {
		t.Fatalf("conversations %s and %s", lamp.Conv, sofa.Conv)
	}
	if r := mustSend("seller", "buyer", "listing-7", "yes"); r.Conv != lamp.Conv || r.Seq != lamp.Seq+1 {
		t.Fatalf("the seller's answer went to %s seq %d", r.Conv, r.Seq)
	}
	list, err := node.ListConversations(ctx, "seller", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var convs []string
	for _, c := range list.Conversations {
		convs = append(convs, c.Conv)
	}
	if !slices.Equal(convs, []string{lamp.Conv, sofa.Conv}) && !slices.Equal(convs, []string{sofa.Conv, lamp.Conv}) {
		t.Fatalf("the seller's conversations %v: want the two listings' and no plain one", convs)
	}
	about, err := node.ListConversationsWith(ctx, "seller", session.ListOptions{Topic: "listing-7"})
	if err != nil || len(about.Conversations) != 1 || about.Conversations[0].Conv != lamp.Conv {
		t.Fatalf("the seller's conversations about listing-7: %v %v", about, err)
	}
	_, err = node.ListConversationsWith(ctx, "seller", session.ListOptions{Topic: "listing:7"})
	wantCode(t, err, pb.Code_INVALID, "a list about a topic with a colon")
	if _, err := node.Presence(ctx, "buyer", "seller", lamp.Conv); err != nil {
		t.Fatalf("the buyer asks the seller's presence through the listing's conversation: %v", err)
	}
	_, err = node.Presence(ctx, "snoop", "seller", lamp.Conv)
	wantCode(t, err, pb.Code_FORBIDDEN, "a third user's presence question through it")
	_, err = node.History(ctx, &pb.GetHistory{Conv: lamp.Conv, User: "snoop", Limit: 5})
	wantCode(t, err, pb.Code_NOT_MEMBER, "a third user reads the pair's conversation about a listing")
	_, err = node.Send(ctx, &pb.SendMessage{Conv: lamp.Conv, Sender: "snoop", ClientMsgId: "s", Body: []byte("me too")})
	wantCode(t, err, pb.Code_NOT_MEMBER, "a third user writes in it")

	// Bad topics, and a topic where a conversation is named.
	for _, topic := range []string{"a:b", strings.Repeat("t", 65), "with space"} {
		_, err := send("buyer", "seller", topic, "x")
		wantCode(t, err, pb.Code_INVALID, "topic "+topic)
	}
	long := strings.Repeat("u", 60)
	_, err = send(long+"1", long+"2", "listing-7", "x")
	wantCode(t, err, pb.Code_INVALID, "a conversation id past 128 bytes")
	_, err = node.Send(ctx, &pb.SendMessage{Conv: lamp.Conv, Sender: "buyer", Topic: "listing-9", ClientMsgId: "t", Body: []byte("x")})
	wantCode(t, err, pb.Code_INVALID, "a topic beside a named conversation")
	if _, err := send("buyer", "seller", strings.Repeat("t", 64), "x"); err != nil {
		t.Fatalf("a topic of 64 bytes: %v", err)
	}

	// The seller blocks the buyer: every conversation of the pair holds
	// it, a new topic is not opened, and the buyer is listed once.
	if err := node.Block(ctx, "seller", "buyer", true); err != nil {
		t.Fatal(err)
	}
	_, err = send("buyer", "seller", "listing-7", "hello?")
	wantCode(t, err, pb.Code_MUTED, "the blocked buyer writes about the lamp")
	_, err = send("buyer", "seller", "listing-9", "hello?")
	wantCode(t, err, pb.Code_MUTED, "the blocked buyer opens a new listing's conversation")
	_, err = send("seller", "buyer", "listing-8", "sold")
	wantCode(t, err, pb.Code_FORBIDDEN, "the seller writes to whom they block")
	blocked, _, err := node.BlockedUsers(ctx, "seller", "", 0)
	if err != nil || !slices.Equal(blocked, []string{"buyer"}) {
		t.Fatalf("the seller blocks %v (%v): want the buyer once", blocked, err)
	}
	if err := node.Block(ctx, "seller", "buyer", false); err != nil {
		t.Fatal(err)
	}
	mustSend("buyer", "seller", "listing-7", "still there?")
	mustSend("buyer", "seller", "listing-9", "and the chair?")

	// The buyer blocks the seller, and also talks with seller2, whose
	// conversation's id ("d:buyer:seller2") sorts between the pair's plain
	// one and its topics: the block still reaches every topic.
	mustSend("buyer", "seller2", "", "hello")
	if err := node.Block(ctx, "buyer", "seller", true); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"listing-7", "listing-8", "listing-9"} {
		_, err = send("seller", "buyer", topic, "sold")
		wantCode(t, err, pb.Code_MUTED, "the seller writes about "+topic+" to the buyer who blocks them")
	}
	mustSend("buyer", "seller2", "", "still fine here")
	if err := node.Block(ctx, "buyer", "seller", false); err != nil {
		t.Fatal(err)
	}
	mustSend("seller", "buyer", "listing-9", "the chair is yours")

	// A first contact's rules: a seller who takes no new chats is not
	// reached through a topic either, unless the pair talked already.
	if _, err := node.SetPrivacy(ctx, &pb.SetPrivacy{User: "seller", DirectFrom: pb.DirectFrom_DIRECT_FROM_NOBODY.Enum()}); err != nil {
		t.Fatal(err)
	}
	_, err = send("stranger", "seller", "listing-7", "hi")
	wantCode(t, err, pb.Code_FORBIDDEN, "a stranger's first message about a listing to a seller who takes no chats")
	mustSend("seller", "friend", "", "hi")
	mustSend("friend", "seller", "listing-7", "about the lamp")

	// A direct conversation of a topic belongs to the two it names.
	_, err = node.CreateConversation(ctx, &pb.CreateConversation{Conv: "d:buyer:seller:listing-10", Kind: pb.ConvKind_GROUP, Creator: "snoop",
		Members: []*pb.Member{{User: "buyer"}, {User: "seller"}}})
	wantCode(t, err, pb.Code_FORBIDDEN, "a third user's group in the pair's namespace of a topic")
	if wirepb.DirectTopic(lamp.Conv) != "listing-7" {
		t.Fatalf("topic of %s", lamp.Conv)
	}
}
