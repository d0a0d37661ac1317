package actors_test

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A message's meta: the app's data rides with a new message into history,
// the conversation list and a scheduled send, unchanged by an edit; its
// bound holds at its edge; a malformed key, a value that is not UTF-8, or
// meta on an edit, a reaction or a forward is refused; a recall takes it,
// and a forwarded copy carries none.
func TestMessageMeta(t *testing.T) {
	cfg := actors.Config{MaxMetaBytes: 16, ScheduleInterval: 20 * time.Millisecond, SendRate: 1e6, SendBurst: 1e6, RecallWindow: time.Hour}
	node := startCluster(t, 1, openStore(t), cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	offer := map[string]string{"offer": "120 EUR"} // 12 bytes
	sent, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("would you take this?"), Meta: offer})
	if err != nil {
		t.Fatal(err)
	}
	at := func(seq uint64) *pb.Message {
		t.Helper()
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "seller", FromSeq: seq, ToSeq: seq, Limit: 1})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("history at %d: %v %v", seq, msgs, err)
		}
		return msgs[0]
	}
	if got := at(sent.Seq).Meta; !maps.Equal(got, offer) {
		t.Fatalf("the seller reads the meta: %v", got)
	}
	edge := map[string]string{"k": strings.Repeat("v", 15)}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "seller", Body: []byte("at the bound"), Meta: edge}); err != nil {
		t.Fatalf("meta of exactly the bound: %v", err)
	}
	for what, c := range map[string]struct {
		m    *pb.SendMessage
		code pb.Code
	}{
		"one byte over the bound": {&pb.SendMessage{Body: []byte("x"), Meta: map[string]string{"k": strings.Repeat("v", 16)}}, pb.Code_TOO_LARGE},
		"an empty key":            {&pb.SendMessage{Body: []byte("x"), Meta: map[string]string{"": "v"}}, pb.Code_INVALID},
		"a key with a space":      {&pb.SendMessage{Body: []byte("x"), Meta: map[string]string{"a b": "v"}}, pb.Code_INVALID},
		"a value not UTF-8":       {&pb.SendMessage{Body: []byte("x"), Meta: map[string]string{"k": "\xff"}}, pb.Code_INVALID},
		"meta on an edit":         {&pb.SendMessage{Body: []byte("x"), RefSeq: sent.Seq, Meta: offer}, pb.Code_INVALID},
		"meta on a reaction":      {&pb.SendMessage{Body: []byte("👍"), Kind: pb.MessageKind_REACTION, RefSeq: sent.Seq, Meta: offer}, pb.Code_INVALID},
		"meta on a forward":       {&pb.SendMessage{ForwardConv: conv, ForwardSeq: sent.Seq, Meta: offer}, pb.Code_INVALID},
	} {
		c.m.Conv, c.m.Sender = conv, "buyer"
		_, err := node.Send(ctx, c.m)
		wantCode(t, err, c.code, what)
	}

	// An edit changes the text, not the meta, in history and the list.
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "buyer", RefSeq: sent.Seq, Body: []byte("would you take 120?")}); err != nil {
		t.Fatal(err)
	}
	if got := at(sent.Seq).Meta; !maps.Equal(got, offer) {
		t.Fatalf("the edited message's meta: %v", got)
	}
	eventually(t, func() error { // the delivery reaches the buyer's grain a moment after the answer
		list, err := node.ListConversations(ctx, "buyer", "", 10)
		if err != nil || len(list.Conversations) != 1 || !maps.Equal(list.Conversations[0].LastMessage.GetMeta(), edge) {
			return fmt.Errorf("the list's last message carries its meta: %v %v", list, err)
		}
		return nil
	})

	// A forward copies the text, not the app's data about it.
	fwd, err := node.SendDirect(ctx, "friend", &pb.SendMessage{Sender: "buyer", ForwardConv: conv, ForwardSeq: sent.Seq})
	if err != nil {
		t.Fatal(err)
	}
	copies, err := node.History(ctx, &pb.GetHistory{Conv: actors.DirectConvID("buyer", "friend"), User: "friend", FromSeq: fwd.Seq, ToSeq: fwd.Seq, Limit: 1})
	if err != nil || len(copies) != 1 || copies[0].Meta != nil {
		t.Fatalf("the forwarded copy: %v %v", copies, err)
	}

	// A recall takes it with the text.
	if _, err := node.Recall(ctx, conv, "buyer", sent.Seq); err != nil {
		t.Fatal(err)
	}
	if got := at(sent.Seq); got.Meta != nil || !got.Recalled {
		t.Fatalf("the recalled message: %v", got)
	}

	// A scheduled message keeps its meta until it goes out; its bound is
	// checked when it is scheduled.
	_, err = node.Schedule(ctx, "seller", "", &pb.SendMessage{Conv: conv, ClientMsgId: "big", Body: []byte("later"),
		Meta: map[string]string{"k": strings.Repeat("v", 16)}}, time.Now().Add(time.Hour))
	wantCode(t, err, pb.Code_TOO_LARGE, "a scheduled message over the bound")
	due := map[string]string{"reminder": "pickup"}
	if _, err := node.Schedule(ctx, "seller", "", &pb.SendMessage{Conv: conv, ClientMsgId: "soon", Body: []byte("pick it up today"), Meta: due},
		time.Now().Add(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		msgs, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "buyer", Limit: 1})
		if err != nil || len(msgs) != 1 || string(msgs[0].Body) != "pick it up today" || !maps.Equal(msgs[0].Meta, due) {
			return fmt.Errorf("the scheduled message with its meta: %v %v", msgs, err)
		}
		return nil
	})
}
