package transport_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Two users, three devices: live delivery to every device, message states
// from sending to read, and a read on one device clearing the unread count
// on the others.
func TestDirectChatAcrossDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bobPhone := e.dial("bob", "phone")
	bobLaptop := e.dial("bob", "laptop")
	conv := wirepb.DirectConvID("alice", "bob")

	p, err := alice.Send(client.ToUser("bob"), []byte("hi bob"), "")
	if err != nil {
		t.Fatal(err)
	}
	// Shown at once, as sending.
	if ms := alice.Messages(conv); len(ms) != 1 || ms[0].State != client.StateSending && ms[0].State != client.StateSent {
		t.Fatalf("pending message: %+v", ms)
	}
	m, err := p.Wait(ctx)
	if err != nil || m.Seq != 1 || m.Conv != conv {
		t.Fatalf("send: %+v %v", m, err)
	}
	for _, d := range []*client.Client{bobPhone, bobLaptop} {
		eventually(t, "bob's devices get the message", func() bool { return joined(texts(t, d, conv)) == "hi bob" })
		eventually(t, "unread 1", func() bool { c, _ := d.Conversation(conv); return c.Unread == 1 })
	}
	// A device of bob acknowledged it: delivered.
	eventually(t, "delivered", func() bool { return alice.Messages(conv)[0].State == client.StateDelivered })

	if _, _, err := bobPhone.MarkRead(ctx, conv, 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the laptop's unread cleared", func() bool { c, _ := bobLaptop.Conversation(conv); return c.Unread == 0 && c.ReadSeq == 1 })
	if c, _ := bobPhone.Conversation(conv); c.Unread != 0 {
		t.Fatalf("phone unread %d", c.Unread)
	}
	eventually(t, "read receipt", func() bool { return alice.Messages(conv)[0].State == client.StateRead })

	// Replies flow back, in order, once each.
	for i := range 5 {
		if _, err := bobLaptop.SendText(ctx, client.ToUser("alice"), fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	want := "hi bob,r0,r1,r2,r3,r4"
	for _, d := range []*client.Client{alice, bobPhone, bobLaptop} {
		eventually(t, "replies everywhere", func() bool { return joined(texts(t, d, conv)) == want })
	}
	eventually(t, "alice's unread", func() bool { c, _ := alice.Conversation(conv); return c.Unread == 5 })
}

// A device offline while messages arrive gets them by sync when it comes
// back: summaries with unread counts, then the messages it asks for.
func TestOfflineDeviceSyncsFromCursor(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "one"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob got one", func() bool { return len(texts(t, bob, conv)) == 1 })
	if err := bob.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	cursor := waitCursor(t, e, "bob", "phone", bob)
	_ = bob.Close()
	time.Sleep(50 * time.Millisecond)

	for _, s := range []string{"two", "three", "four"} {
		if _, err := alice.SendText(ctx, client.ToUser("bob"), s); err != nil {
			t.Fatal(err)
		}
	}
	// Acks come before fan-out: wait until bob's inbox has the last message
	// (the store's inbox, as a sync would read it) before he comes back.
	eventually(t, "bob's inbox has four", func() bool {
		entries, err := e.store.ListInbox(tctx(t), "bob", cursor, 100)
		return err == nil && len(entries) > 0 && entries[len(entries)-1].ConvSeq == 4
	})
	bob2 := e.dial("bob", "phone")
	w := bob2.Welcome()
	if w.Cursor < cursor {
		t.Fatalf("welcome cursor %d, stored before %d", w.Cursor, cursor)
	}
	if len(w.Sync.Conversations) != 1 || w.Sync.Conversations[0].LastSeq != 4 || w.Sync.Conversations[0].Unread != 4 {
		t.Fatalf("welcome sync: %v", w.Sync)
	}
	// Only the last message came with the sync; history is on demand.
	if got := texts(t, bob2, conv); joined(got) != "four" {
		t.Fatalf("after sync bob holds %v", got)
	}
	if _, err := bob2.History(ctx, conv, client.HistoryOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := joined(texts(t, bob2, conv)); got != "one,two,three,four" {
		t.Fatalf("after history: %s", got)
	}
}

// waitCursor waits until the server stored the device's cursor past 0.
func waitCursor(t *testing.T, e *env, user, device string, c *client.Client) uint64 {
	t.Helper()
	var cur uint64
	eventually(t, "cursor stored", func() bool {
		d, ok := storedDevice(t, e, user, device)
		cur = d.Cursor
		return ok && d.Cursor > 0
	})
	return cur
}

// storedDevice reads one device's stored row; ok is false if there is none.
func storedDevice(t *testing.T, e *env, user, device string) (storage.Device, bool) {
	t.Helper()
	ds, err := e.store.ListDevices(tctx(t), user)
	if err != nil {
		t.Fatalf("list devices of %s: %v", user, err)
	}
	for _, d := range ds {
		if d.DeviceID == device {
			return d, true
		}
	}
	return storage.Device{}, false
}

// A dropped connection resumes: the client reconnects by itself, resyncs
// from its cursor and fills the gap in what it holds, each message once.
func TestReconnectResyncsWithoutGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone", func(c *client.Config) { c.MinBackoff, c.MaxBackoff = 300*time.Millisecond, 400*time.Millisecond })
	conv := wirepb.DirectConvID("alice", "bob")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "m1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob got m1", func() bool { return len(texts(t, bob, conv)) == 1 })

	bob.Reconnect()
	eventually(t, "bob offline", func() bool { return !bob.Connected() })
	for i := 2; i <= 6; i++ {
		if _, err := alice.SendText(ctx, client.ToUser("bob"), fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "bob resynced", func() bool { return joined(texts(t, bob, conv)) == "m1,m2,m3,m4,m5,m6" })
	// Live again after the resync.
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "m7"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "live after resync", func() bool { return len(texts(t, bob, conv)) == 7 })
	if c, _ := bob.Conversation(conv); c.Unread != 7 || c.LastSeq != 7 {
		t.Fatalf("bob's summary: %+v", c)
	}
}

// A client holds its newest KeepMessages per conversation, over the wire:
// every message still comes as an event once (live, and pulled after a
// reconnect), the count covers them all, and History returns the older
// ones without holding them.
func TestKeepMessagesOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	var mu sync.Mutex
	var got []uint64
	bob := e.dial("bob", "phone", func(c *client.Config) {
		c.KeepMessages = 3
		c.MinBackoff, c.MaxBackoff = 300*time.Millisecond, 400*time.Millisecond
		c.OnEvent = func(ev client.Event) {
			if ev.Kind == client.EventMessage {
				mu.Lock()
				got = append(got, ev.Seq)
				mu.Unlock()
			}
		}
	})
	events := func() string {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(got)
	}
	conv := wirepb.DirectConvID("alice", "bob")
	send := func(from, to int) {
		for i := from; i <= to; i++ {
			if _, err := alice.SendText(ctx, client.ToUser("bob"), fmt.Sprintf("m%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(1, 4)
	eventually(t, "bob got m1-m4", func() bool { return events() == "[1 2 3 4]" })
	if h := joined(texts(t, bob, conv)); h != "m2,m3,m4" {
		t.Fatalf("bob holds %s, want the newest three", h)
	}

	bob.Reconnect()
	eventually(t, "bob offline", func() bool { return !bob.Connected() })
	send(5, 9)
	eventually(t, "bob pulled m5-m9", func() bool { return events() == "[1 2 3 4 5 6 7 8 9]" })
	if h := joined(texts(t, bob, conv)); h != "m7,m8,m9" {
		t.Fatalf("bob holds %s after the resync, want the newest three", h)
	}
	if c, _ := bob.Conversation(conv); c.Unread != 9 || c.LastSeq != 9 {
		t.Fatalf("bob's summary %+v, want 9 unread through seq 9", c)
	}
	page, err := bob.History(ctx, conv, client.HistoryOptions{OldestFirst: true, FromSeq: 1})
	if err != nil || len(page) != 9 || string(page[0].Body) != "m1" {
		t.Fatalf("history: %d messages, err %v; want all nine from m1", len(page), err)
	}
	if h := joined(texts(t, bob, conv)); h != "m7,m8,m9" {
		t.Fatalf("bob holds %s after History, want it unchanged", h)
	}
}

// A device that starts afresh (a new phone, a reopened browser tab) learns
// from its first sync how far the other side has read: its own messages
// show as read without waiting for a receipt, which went only to the
// devices online when bob read.
func TestFreshDeviceLearnsPeerRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice := e.dial("alice", "phone")
	bob := e.dial("bob", "phone")
	conv := wirepb.DirectConvID("alice", "bob")
	for _, s := range []string{"one", "two", "three"} {
		if _, err := alice.SendText(ctx, client.ToUser("bob"), s); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "bob got three", func() bool { return len(texts(t, bob, conv)) == 3 })
	if _, _, err := bob.MarkRead(ctx, conv, 2); err != nil {
		t.Fatal(err)
	}
	eventually(t, "bob's read is durable", func() bool {
		uc, err := e.store.GetUserConv(tctx(t), "bob", conv)
		return err == nil && uc.ReadSeq == 2
	})
	laptop := e.dial("alice", "laptop")
	if cs := laptop.Welcome().Sync.Conversations; len(cs) != 1 || cs[0].PeerReadSeq != 2 {
		t.Fatalf("welcome sync: %v", cs)
	}
	if _, err := laptop.History(ctx, conv, client.HistoryOptions{}); err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, m := range laptop.Messages(conv) {
		states = append(states, string(m.Body)+":"+m.State.String())
	}
	// "three" is unread; it may show delivered if bob's phone's delivery
	// receipt reaches the laptop after it connected.
	got := joined(states)
	if got != "one:read,two:read,three:"+client.StateSent.String() &&
		got != "one:read,two:read,three:"+client.StateDelivered.String() {
		t.Fatalf("states on the fresh device: %s", got)
	}
	// Bob's view: a sender has read up to its own last message.
	bobTablet := e.dial("bob", "tablet")
	if cs := bobTablet.Welcome().Sync.Conversations; len(cs) != 1 || cs[0].PeerReadSeq != 3 {
		t.Fatalf("bob's sync: %v", cs)
	}
}
