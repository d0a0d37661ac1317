package actors_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// TestSnooze: a snoozed conversation is archived until its end, then back
// in the main list by itself, marked unread, until the user reads it; the
// bound is checked at its edge; the snooze outlives the grain; news from
// the other side ends it early, as for any archive.
func TestSnooze(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxSnoozeFor: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	conv := actors.DirectConvID("buyer", "seller")
	if _, err := node.SendDirect(ctx, "seller", &pb.SendMessage{Sender: "buyer", Body: []byte("will you ship on monday?")}); err != nil {
		t.Fatal(err)
	}
	where := func() (string, *pb.ConvSummary) {
		t.Helper()
		for _, archived := range []bool{false, true} {
			list := node.ListConversations
			if archived {
				list = node.ListArchived
			}
			r, err := list(ctx, "seller", "", 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range r.Conversations {
				if c.Conv == conv {
					return map[bool]string{false: "main", true: "archived"}[archived], c
				}
			}
		}
		// Neither: the two reads raced a change (news un-archived it
		// between them); the callers that poll read again.
		return "neither", &pb.ConvSummary{}
	}
	if err := node.Snooze(ctx, "seller", conv, time.Now().Add(-time.Second)); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a snooze in the past: %v, want INVALID", err)
	}
	if err := node.Snooze(ctx, "seller", conv, time.Now().Add(time.Hour+time.Minute)); actors.CodeOf(err) != pb.Code_INVALID {
		t.Fatalf("a snooze past the bound: %v, want INVALID", err)
	}
	if err := node.Snooze(ctx, "seller", conv, time.Now().Add(time.Hour-time.Minute)); err != nil {
		t.Fatalf("a snooze within the bound: %v", err)
	}
	if err := node.Snooze(ctx, "eve", conv, time.Now().Add(time.Minute)); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a stranger snoozes: %v, want NOT_MEMBER", err)
	}

	until := time.Now().Add(time.Second)
	if err := node.Snooze(ctx, "seller", conv, until); err != nil {
		t.Fatal(err)
	}
	if list, c := where(); list != "archived" || c.ArchivedUntilMs != until.UnixMilli() || c.MarkedUnread {
		t.Fatalf("snoozed: in the %s list, %+v", list, c)
	}
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if list, _ := where(); list != "archived" {
		t.Fatalf("after a restart, snoozed: in the %s list", list)
	}
	time.Sleep(time.Until(until) + 50*time.Millisecond)
	if list, c := where(); list != "main" || !c.MarkedUnread || c.Archived || c.ArchivedUntilMs != 0 {
		t.Fatalf("after the snooze: in the %s list, %+v; want the main list, marked unread", list, c)
	}
	if _, err := node.MarkRead(ctx, "seller", "phone", conv, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if list, c := where(); list != "main" || c.MarkedUnread {
			return fmt.Errorf("read after the snooze: in the %s list, %+v", list, c)
		}
		return nil
	})
	if uc, err := store.GetUserConv(ctx, "seller", conv); err != nil || uc.ArchivedSeq != 0 || !uc.ArchivedUntil.IsZero() {
		t.Fatalf("stored after the read: %+v, %v; want no archive", uc, err)
	}

	// News ends a snooze early.
	if err := node.Snooze(ctx, "seller", conv, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: "buyer", Body: []byte("hello?")}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() error {
		if list, c := where(); list != "main" || c.ArchivedUntilMs != 0 {
			return fmt.Errorf("after news: in the %s list, %+v", list, c)
		}
		return nil
	})
}
