package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A sender's read cursor moving over its own message writes nothing but
// the cursor when it clears no unread message: no inbox entry, no push to
// its other devices, no receipt to the other side. When it does clear
// some, all of them go out. Either way unread counts survive a reload.
func TestOwnReadWritesOnlyTheCursor(t *testing.T) {
	store := openStore(t)
	// No first-contact budget: a grain that opened a conversation would
	// stay active until its budget refilled, and this test reloads them.
	node := startCluster(t, 1, store, actors.Config{IdleTimeout: 200 * time.Millisecond, NewDirectPerHour: -1})[0]
	ctx := tctx(t)
	conv := wirepb.DirectConvID("oa", "ob")
	_, phone := connect(t, node, "oa", "phone")
	tablet, tabletSess := connect(t, node, "oa", "tablet")
	bob, bobSess := connect(t, node, "ob", "phone")

	send := func(from, to string) uint64 {
		t.Helper()
		r, err := node.SendDirect(ctx, to, &pb.SendMessage{Sender: from, Body: []byte("hi")})
		if err != nil {
			t.Fatal(err)
		}
		return r.Seq
	}
	for range 3 {
		send("oa", "ob")
	}
	bob.waitMessages(t, 3)
	tablet.waitMessages(t, 3)
	// Bob heard nothing but the messages; alice's tablet only the
	// messages, with no inbox seq skipped (no read entries between).
	time.Sleep(100 * time.Millisecond) // a late receipt would show by now
	tablet.mu.Lock()
	var prev uint64
	for _, p := range tablet.pushes {
		if p.GetRead() != nil {
			t.Errorf("alice's tablet got a read push for her own message: %v", p)
		}
		// (A Deliver of several messages is one entry: seqs may repeat.)
		if p.GetMessage() != nil && prev != 0 && p.InboxSeq > prev+1 {
			t.Errorf("inbox seqs %d then %d: an entry between her own messages", prev, p.InboxSeq)
		}
		prev = p.InboxSeq
	}
	tablet.mu.Unlock()
	bob.mu.Lock()
	for _, p := range bob.pushes {
		if p.GetReceipt() != nil {
			t.Errorf("bob got a receipt for alice's own messages: %v", p)
		}
	}
	bob.mu.Unlock()

	// Bob answers; alice's next message reads his: the read entry, the
	// push to her tablet and the receipt to bob all go out.
	send("ob", "oa")
	tablet.waitMessages(t, 4)
	seq := send("oa", "ob")
	eventually(t, func() error {
		bob.mu.Lock()
		defer bob.mu.Unlock()
		for _, p := range bob.pushes {
			if r := p.GetReceipt(); r != nil && r.Reader == "oa" && r.Seq == seq {
				return nil
			}
		}
		return fmt.Errorf("bob got no receipt for seq %d", seq)
	})
	eventually(t, func() error {
		tablet.mu.Lock()
		defer tablet.mu.Unlock()
		for _, p := range tablet.pushes {
			if r := p.GetRead(); r != nil && r.Conv == conv && r.ReadSeq == seq && r.Unread == 0 {
				return nil
			}
		}
		return fmt.Errorf("alice's tablet saw no read up to %d", seq)
	})
	send("oa", "ob") // quiet again: nothing unread

	// Bob read alice's first three by answering: two are unread.
	// Everyone goes away; the grains passivate and reload their counts
	// from the stored cursors.
	for _, s := range []interface{ Close() }{phone, tabletSess, bobSess} {
		s.Close()
	}
	eventually(t, func() error {
		if n := node.GrainCounts()[actors.KindUser]; n != 0 {
			return fmt.Errorf("%d user grains active", n)
		}
		return nil
	})
	for user, want := range map[string]uint64{"oa": 0, "ob": 2} {
		l, err := node.ListConversations(ctx, user, "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if l.TotalUnread != want {
			t.Errorf("%s: %d unread after reload, want %d", user, l.TotalUnread, want)
		}
	}
}
