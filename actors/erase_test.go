package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// TestEraseUser: erasing a user recalls every message they sent in every
// conversation they were in (a direct one, a group, a group they left;
// an edit's text goes with its message, a card's updates with the card), leaves everyone else's messages
// alone, tells the other members' devices, deletes the user's push
// registrations and keeps them out; a second run finds nothing left.
func TestEraseUser(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{})[0]
	ctx := tctx(t)
	send := func(conv, sender, text string) uint64 {
		t.Helper()
		res, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, ClientMsgId: sender + text, Body: []byte(text)})
		if err != nil {
			t.Fatalf("%s sends %q: %v", sender, text, err)
		}
		return res.Seq
	}
	ann, _ := connect(t, node, "ann", "phone")
	direct := actors.DirectConvID("ann", "eve")
	if _, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "eve", ClientMsgId: "e1", Body: []byte("my address is 1 Elm St")}); err != nil {
		t.Fatal(err)
	}
	first := uint64(1)
	send(direct, "ann", "thanks")
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: direct, Sender: "eve", Body: []byte("my address is 2 Elm St"), RefSeq: first}); err != nil {
		t.Fatal(err)
	}
	selfRecalled := send(direct, "eve", "oops")
	if _, err := node.Recall(ctx, direct, "eve", selfRecalled); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:club", "ann", "eve", "bob")
	send("g:club", "eve", "hello club")
	send("g:club", "bob", "hi eve")
	send("g:club", "eve", "call me on 555-0100")
	card, err := node.Send(ctx, &pb.SendMessage{Conv: "g:club", Sender: "eve", Kind: pb.MessageKind_CARD, Body: []byte(`{"title":"Bike for sale, call 555-0100"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:club", Sender: "eve", Kind: pb.MessageKind_CARD, RefSeq: card.Seq, Body: []byte(`{"title":"Bike sold to 1 Elm St"}`)}); err != nil {
		t.Fatal(err)
	}
	up, err := node.CreateMedia(ctx, "eve", "g:club", "id card.jpg", "image/jpeg", 3, storage.Preview{})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.PutMediaChunk(ctx, "eve", "g:club", up.ID, 0, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if _, err := node.CompleteMedia(ctx, "eve", "g:club", up.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:club", Sender: "eve", MediaId: up.ID, Body: []byte("my id, to prove it")}); err != nil {
		t.Fatal(err)
	}
	mustCreateGroup(t, node, "g:old", "bob", "eve")
	send("g:old", "eve", "bye all")
	if _, err := membership(node, t, "g:old", "eve", pb.MembershipChange_LEAVE, 0, "eve"); err != nil {
		t.Fatal(err)
	}
	send("g:old", "bob", "she left")
	if err := node.RegisterPushToken(ctx, "eve", "phone", "fcm", "token-1", ""); err != nil {
		t.Fatal(err)
	}

	res, err := node.EraseUser(ctx, "eve", actors.SentCursor{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Conversations != 3 || res.Recalled != 6 || res.PushTokens != 1 {
		t.Fatalf("erasure did %+v; want 3 conversations, 6 messages recalled (a card and a file among them; the self-recalled one skipped), 1 push token", res)
	}
	if _, err := store.GetMedia(ctx, "g:club", up.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("eve's file after the erasure: %v, want it deleted", err)
	}
	for _, conv := range []string{direct, "g:club", "g:old"} {
		msgs, err := store.ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			switch {
			case m.Sender == "eve" && (m.Kind == storage.MsgNormal || m.Kind == storage.MsgCard) && (!m.Recalled() || len(m.Body) != 0 || m.Media.ID != ""):
				t.Errorf("%s seq %d of eve kept: %q", conv, m.Seq, m.Body)
			case m.Sender != "eve" && m.Kind == storage.MsgNormal && (m.Recalled() || len(m.Body) == 0):
				t.Errorf("%s seq %d of %s was erased too", conv, m.Seq, m.Sender)
			}
		}
	}
	// ann's phone hears of the recalls in the conversation they share.
	eventually(t, func() error {
		var recalled []uint64
		for _, m := range ann.messages() {
			if m.Kind == pb.MessageKind_RECALL && m.Sender == actors.OperatorSender {
				recalled = append(recalled, m.RefSeq)
			}
		}
		if !slices.Contains(recalled, first) {
			return fmt.Errorf("ann's phone got operator recalls of %v, want seq %d among them", recalled, first)
		}
		return nil
	})
	if tokens, err := store.ListPushTokens(ctx, "eve"); err != nil || len(tokens) != 0 {
		t.Fatalf("eve's push tokens after the erasure: %v, %v", tokens, err)
	}
	_, err = node.Connect(ctx, "eve", "laptop", &device{got: make(chan struct{}, 1)})
	wantCode(t, err, pb.Code_SUSPENDED, "an erased user connects")
	st, err := node.Suspension(ctx, "eve")
	if err != nil || st.Suspension == nil || st.Suspension.Reason != actors.ErasureReason {
		t.Fatalf("eve's suspension: %v, %v", st, err)
	}

	again, err := node.EraseUser(ctx, "eve", actors.SentCursor{})
	if err != nil || again.Recalled != 0 || again.Conversations != 3 {
		t.Fatalf("a second erasure: %+v, %v; want nothing left to recall", again, err)
	}
	_, err = node.EraseUser(ctx, "not a user", actors.SentCursor{})
	wantCode(t, err, pb.Code_INVALID, "erasing a bad user id")
}

// TestEraseUserResumes: an erasure whose context ends midway stops with
// Done false and where it stopped; a run from there recalls exactly what
// the first left, and one from the start finds nothing; the user is
// suspended once.
func TestEraseUserResumes(t *testing.T) {
	const n = 300
	var suspensions atomic.Int32 // the erasure suspends once, whatever the runs
	onModeration := func(e actors.ModerationEvent) {
		if e.Op == "suspend" {
			suspensions.Add(1)
		}
	}
	node := startCluster(t, 1, openStore(t), actors.Config{SendRate: 1e6, SendBurst: n, OnModeration: onModeration})[0]
	ctx := tctx(t)
	for i := range n {
		if _, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "eve", ClientMsgId: fmt.Sprint(i), Body: []byte("hello")}); err != nil {
			t.Fatal(err)
		}
	}
	ann, _ := connect(t, node, "ann", "phone")
	// Cut the first run short once ann's phone has seen its first recall.
	cut, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for cut.Err() == nil {
			for _, m := range ann.messages() {
				if m.Kind == pb.MessageKind_RECALL {
					cancel()
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	first, err := node.EraseUser(cut, "eve", actors.SentCursor{})
	if err != nil {
		t.Fatal(err)
	}
	direct := actors.DirectConvID("ann", "eve")
	if first.Done || first.Recalled == 0 || first.Recalled >= n || first.Next.Conv != direct || first.Next.Seq == 0 {
		t.Fatalf("the cut run: %+v; want it stopped after some of the %d messages, and where", first, n)
	}
	rest, err := node.EraseUser(ctx, "eve", first.Next)
	if err != nil {
		t.Fatal(err)
	}
	if !rest.Done || first.Recalled+rest.Recalled != n || rest.Conversations != 0 {
		t.Fatalf("the run from where it stopped: %+v after %d; want done, %d in all, the conversation not counted again", rest, first.Recalled, n)
	}
	again, err := node.EraseUser(ctx, "eve", actors.SentCursor{})
	if err != nil || !again.Done || again.Recalled != 0 || again.Conversations != 1 {
		t.Fatalf("a run from the start: %+v, %v; want nothing left", again, err)
	}
	if got := suspensions.Load(); got != 1 {
		t.Fatalf("%d suspensions over three runs, want 1", got)
	}
}

// TestSentMessages: the messages a user sent, across their conversations
// (a group they left too), edits included, others' and system messages
// not, come in conversation id and seq order, whether paged by count or
// cut by the bound on log rows read, which is kept to the row.
func TestSentMessages(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	send := func(conv, sender, text string, ref uint64) {
		t.Helper()
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, ClientMsgId: sender + text, Body: []byte(text), RefSeq: ref}); err != nil {
			t.Fatalf("%s sends %q: %v", sender, text, err)
		}
	}
	direct := actors.DirectConvID("ann", "eve")
	if _, err := node.SendDirect(ctx, "ann", &pb.SendMessage{Sender: "eve", ClientMsgId: "a", Body: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	send(direct, "ann", "x", 0)
	send(direct, "eve", "a2", 1)
	mustCreateGroup(t, node, "g:club", "ann", "eve")
	send("g:club", "eve", "b", 0)
	mustCreateGroup(t, node, "g:old", "bob", "eve")
	send("g:old", "eve", "c", 0)
	if _, err := membership(node, t, "g:old", "eve", pb.MembershipChange_LEAVE, 0, "eve"); err != nil {
		t.Fatal(err)
	}
	send("g:old", "bob", "y", 0)
	want := []string{direct + " a", direct + " a2", "g:club b", "g:old c"}

	walk := func(limit, maxRows int) (got []string, calls int) {
		t.Helper()
		var from actors.SentCursor
		for done := false; !done; calls++ {
			if calls > 100 {
				t.Fatalf("limit %d, rows %d: no end after %d calls", limit, maxRows, calls)
			}
			msgs, next, d, err := node.SentMessages(ctx, "eve", from, limit, maxRows)
			if err != nil {
				t.Fatal(err)
			}
			if limit > 0 && len(msgs) > limit {
				t.Fatalf("limit %d: %d messages", limit, len(msgs))
			}
			for _, m := range msgs {
				got = append(got, m.ConvID+" "+string(m.Body))
			}
			from, done = next, d
		}
		return got, calls
	}
	for _, c := range []struct{ limit, rows int }{{0, 0}, {1, 0}, {2, 0}, {0, 1}, {0, 2}} {
		got, calls := walk(c.limit, c.rows)
		if !slices.Equal(got, want) {
			t.Fatalf("limit %d, rows %d: %v, want %v", c.limit, c.rows, got, want)
		}
		rows := 0
		for _, conv := range []string{direct, "g:club", "g:old"} {
			msgs, err := node.Store().ListMessages(ctx, conv, 1, 0, storage.OldestFirst, 100)
			if err != nil {
				t.Fatal(err)
			}
			rows += len(msgs)
		}
		if c.rows == 1 && calls < rows-1 { // g:old's row after eve left is never read
			t.Fatalf("one row per call: %d calls for %d rows", calls, rows)
		}
	}
	_, _, _, err := node.SentMessages(ctx, "eve", actors.SentCursor{Conv: "bad id\x00"}, 0, 0)
	wantCode(t, err, pb.Code_INVALID, "a cursor with a bad conversation id")
}
