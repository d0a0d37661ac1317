package transport_test

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Labels over the wire: the seller labels a chat on the phone; the laptop
// learns it by the flags push, a fresh device by its sync, and the list by
// label finds it; the buyer sees none of it.
func TestLabelsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer, phone, laptop := e.dial("buyer", "phone"), e.dial("seller", "phone"), e.dial("seller", "laptop")
	m, err := buyer.SendText(ctx, client.ToUser("seller"), "still for sale?")
	if err != nil {
		t.Fatal(err)
	}
	labels, err := phone.SetLabels(ctx, m.Conv, []string{"new customer", "paid"}, nil)
	if err != nil || !slices.Equal(labels, []string{"new customer", "paid"}) {
		t.Fatalf("label: %v, %v", labels, err)
	}
	if c, _ := phone.Conversation(m.Conv); !slices.Equal(c.Labels, labels) {
		t.Fatalf("the phone's conversation: labels %v", c.Labels)
	}
	eventually(t, "the laptop learns the labels", func() bool {
		c, _ := laptop.Conversation(m.Conv)
		return slices.Equal(c.Labels, labels)
	})
	synced := false
	for _, c := range e.dial("seller", "tablet").Welcome().Sync.Conversations {
		synced = synced || c.Conv == m.Conv && slices.Equal(c.Labels, labels)
	}
	if !synced {
		t.Fatal("a fresh device's sync does not carry the labels")
	}
	paid, _, err := laptop.ListLabelled(ctx, "paid", "", 0, false)
	if err != nil || len(paid) != 1 || paid[0].Conv != m.Conv {
		t.Fatalf("the chats labelled paid: %v, %v", paid, err)
	}
	if none, _, err := laptop.ListLabelled(ctx, "vip", "", 0, false); err != nil || len(none) != 0 {
		t.Fatalf("the chats labelled vip: %v, %v", none, err)
	}
	if c, _ := buyer.Conversation(m.Conv); len(c.Labels) != 0 {
		t.Fatalf("the buyer sees the seller's labels: %v", c.Labels)
	}
	if _, err := phone.SetLabels(ctx, m.Conv, []string{""}, nil); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("an empty label: %v, want INVALID", err)
	}
}

// A snooze over the wire: the seller snoozes a chat on the phone; the
// laptop learns it by the flags push; once it ends the chat is back in
// the main list, marked unread, and a read on the laptop ends it for good.
func TestSnoozeOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	buyer, phone, laptop := e.dial("buyer", "phone"), e.dial("seller", "phone"), e.dial("seller", "laptop")
	m, err := buyer.SendText(ctx, client.ToUser("seller"), "ship on monday?")
	if err != nil {
		t.Fatal(err)
	}
	// The message first reaches both devices: news after a snooze ends it.
	eventually(t, "both of the seller's devices hold the question", func() bool {
		return len(phone.Messages(m.Conv)) == 1 && len(laptop.Messages(m.Conv)) == 1
	})
	until := time.Now().Add(time.Second).Truncate(time.Millisecond)
	if err := phone.Snooze(ctx, m.Conv, until); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the laptop learns the snooze", func() bool {
		c, _ := laptop.Conversation(m.Conv)
		return c.Archived && c.ArchivedUntil.Equal(until) && c.ArchivedAt(time.Now())
	})
	if err := phone.Snooze(ctx, m.Conv, time.Now().Add(-time.Minute)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a snooze in the past: %v, want INVALID", err)
	}
	time.Sleep(time.Until(until) + 50*time.Millisecond)
	main, _, err := laptop.ListConversations(ctx, "", 0)
	if err != nil || len(main) != 1 || main[0].Conv != m.Conv || !main[0].MarkedUnread || main[0].Archived {
		t.Fatalf("the main list after the snooze: %v, %v; want the chat, marked unread", main, err)
	}
	if _, _, err := laptop.MarkRead(ctx, m.Conv, m.Seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the phone sees the read end the snooze", func() bool {
		c, _ := phone.Conversation(m.Conv)
		return !c.Archived && !c.MarkedUnread && c.ArchivedUntil.IsZero()
	})
}
