package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A reply names an earlier message its sender can see; history and the
// pushes carry it, and it survives a restart of the grain (it is stored).
// A seq not yet written, one from before the sender joined, and a reply on
// an edit are refused.
func TestReplies(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	conv := "g:replies"
	mustCreateGroup(t, node, conv, "olga", "mia")
	q, err := send(ctx, node, conv, "mia", "is the room free on Friday?")
	if err != nil {
		t.Fatal(err)
	}
	r, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("yes, from 9"), ReplyTo: q.Seq})
	if err != nil {
		t.Fatalf("a reply: %v", err)
	}
	for name, c := range map[string]struct {
		m    *pb.SendMessage
		want pb.Code
	}{
		"a seq not written yet": {&pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("x"), ReplyTo: r.Seq + 5}, pb.Code_NOT_FOUND},
		"a reply on an edit":    {&pb.SendMessage{Conv: conv, Sender: "olga", Body: []byte("x"), RefSeq: r.Seq, ReplyTo: q.Seq}, pb.Code_INVALID},
	} {
		if _, err := node.Send(ctx, c.m); actors.CodeOf(err) != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// max joins after the question: it cannot quote what it never saw.
	if _, err := node.ChangeMembership(ctx, &pb.MembershipChange{Conv: conv, Actor: "olga", Op: pb.MembershipChange_ADD, Users: []string{"max"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "max", Body: []byte("me too"), ReplyTo: q.Seq}); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Errorf("a reply to a message from before the sender joined: %v, want NOT_FOUND", err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "max", Body: []byte("me too"), ReplyTo: r.Seq + 1}); err != nil {
		t.Errorf("max's reply to the message that added it: %v", err)
	}

	replyOf := func(user string) uint64 {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: user, FromSeq: r.Seq, ToSeq: r.Seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history: %v %v", msgs, err)
		}
		return msgs[0].ReplyTo
	}
	if got := replyOf("mia"); got != q.Seq {
		t.Fatalf("the reply in history answers %d, want %d", got, q.Seq)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, actors.Config{})[0]
	if got := replyOf("mia"); got != q.Seq {
		t.Fatalf("after a restart the reply answers %d, want %d", got, q.Seq)
	}
}
