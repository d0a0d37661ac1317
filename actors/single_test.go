package actors_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

func TestSingleNodeDirectChat(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)

	bobPhone, bobSess := connect(t, node, "bob", "phone")
	if bobSess.Cursor() != 0 {
		t.Fatalf("fresh device cursor %d", bobSess.Cursor())
	}
	res, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", ClientMsgId: "a1", Body: []byte("hi bob")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Seq != 1 || res.MsgId == 0 {
		t.Fatalf("send: %+v", res)
	}
	// A retried send is answered with the original.
	dup, err := node.SendDirect(ctx, "bob", &pb.SendMessage{Sender: "alice", ClientMsgId: "a1", Body: []byte("hi bob")})
	if err != nil || !dup.Duplicate || dup.Seq != 1 || dup.MsgId != res.MsgId {
		t.Fatalf("duplicate: %+v %v", dup, err)
	}
	ms := bobPhone.waitMessages(t, 1)
	if string(ms[0].Body) != "hi bob" || ms[0].Seq != 1 {
		t.Fatalf("push %+v", ms[0])
	}
	conv := wirepb.DirectConvID("alice", "bob")
	sync, err := node.Sync(ctx, "bob", "phone", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sync.Conversations) != 1 || sync.Conversations[0].Conv != conv || sync.Conversations[0].Unread != 1 || sync.TotalUnread != 1 {
		t.Fatalf("sync %+v", sync)
	}
	if _, err := node.MarkRead(ctx, "bob", "phone", conv, 1); err != nil {
		t.Fatal(err)
	}
	sync, err = node.Sync(ctx, "bob", "tablet", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sync.TotalUnread != 0 || sync.Conversations[0].ReadSeq != 1 {
		t.Fatalf("after read: %+v", sync)
	}
	hist, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "bob"})
	if err != nil || len(hist) != 1 || string(hist[0].Body) != "hi bob" {
		t.Fatalf("history %v %v", hist, err)
	}
	if _, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "eve"}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("non-member history: %v", err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "eve", Body: []byte("x")}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("non-member send: %v", err)
	}
}
