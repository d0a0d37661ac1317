package transport_test

import (
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// mute over the wire: the answer is the new total unread, the
// conversation lists as muted with its own unread count, and a
// conversation one is not in is NOT_MEMBER.
func TestMuteOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, carol, bob := e.dial("alice", "phone"), e.dial("carol", "phone"), e.dial("bob", "phone")
	for _, text := range []string{"one", "two"} {
		if _, err := alice.SendText(ctx, client.ToUser("bob"), text); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := carol.SendText(ctx, client.ToUser("bob"), "three"); err != nil {
		t.Fatal(err)
	}
	noisy := wirepb.DirectConvID("alice", "bob")
	eventually(t, "bob got the three messages", func() bool {
		return len(texts(t, bob, noisy)) == 2 && len(texts(t, bob, wirepb.DirectConvID("bob", "carol"))) == 1
	})

	total, err := bob.SetMuted(ctx, noisy, true)
	if err != nil || total != 1 {
		t.Fatalf("mute: total unread %d, %v; want 1", total, err)
	}
	list, listed, err := bob.ListConversations(ctx, "", 0)
	if err != nil || listed != 1 {
		t.Fatalf("list: total unread %d, %v; want 1", listed, err)
	}
	for _, c := range list {
		if c.Conv == noisy && (!c.Muted || c.Unread != 2) {
			t.Fatalf("muted conversation listed as %+v, want muted with 2 unread", c)
		}
	}
	if total, err = bob.SetMuted(ctx, noisy, false); err != nil || total != 3 {
		t.Fatalf("unmute: total unread %d, %v; want 3", total, err)
	}
	if _, err := carol.SetMuted(ctx, noisy, true); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's mute: %v, want NOT_MEMBER", err)
	}

	// For eight hours: bob's tablet hears the mute with its end, and the
	// list says when it ends. Past the node's longest: INVALID.
	tablet := e.dial("bob", "tablet")
	if _, _, err := tablet.ListConversations(ctx, "", 0); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if total, err = bob.MuteFor(ctx, noisy, 8*time.Hour); err != nil || total != 1 {
		t.Fatalf("mute for 8 hours: total unread %d, %v; want 1", total, err)
	}
	eventually(t, "the tablet hears of the mute's end", func() bool {
		c, ok := tablet.Conversation(noisy)
		return ok && c.MutedAt(time.Now()) && !c.MutedAt(before.Add(8*time.Hour+time.Minute)) && c.MutedAt(before.Add(8*time.Hour-time.Minute))
	})
	list, _, err = bob.ListConversations(ctx, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if until := time.UnixMilli(c.MutedUntilMs); c.Conv == noisy && (!c.Muted || until.Before(before.Add(8*time.Hour).Truncate(time.Millisecond)) || until.After(time.Now().Add(8*time.Hour))) {
			t.Fatalf("listed as %+v, want muted for 8 hours", c)
		}
	}
	if _, err := bob.MuteFor(ctx, noisy, 367*24*time.Hour); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a mute for 367 days: %v, want INVALID", err)
	}
}

// archive over the wire: the conversation leaves the main list for the
// archived one (both as the server lists them and in the client's own
// view), and the other side's next message brings it back in both.
func TestArchiveOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "one"); err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("alice", "bob")
	eventually(t, "bob got the message", func() bool { return len(texts(t, bob, conv)) == 1 })
	listed := func(archived bool) []string {
		t.Helper()
		list := bob.ListConversations
		if archived {
			list = bob.ListArchived
		}
		convs, _, err := list(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range convs {
			if c.Archived != archived {
				t.Fatalf("%s listed with archived %v", c.Conv, c.Archived)
			}
			ids = append(ids, c.Conv)
		}
		return ids
	}
	if err := bob.SetArchived(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	if main, archived := listed(false), listed(true); len(main) != 0 || len(archived) != 1 || archived[0] != conv {
		t.Fatalf("after archiving: main %v, archived %v", main, archived)
	}
	if c, _ := bob.Conversation(conv); !c.Archived {
		t.Fatalf("the client's view %+v, want archived", c)
	}
	if _, err := alice.SendText(ctx, client.ToUser("bob"), "two"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new message brings it back", func() bool {
		c, _ := bob.Conversation(conv)
		main := listed(false)
		return !c.Archived && len(main) == 1 && main[0] == conv && len(listed(true)) == 0
	})
	if err := e.dial("carol", "phone").SetArchived(ctx, conv, true); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's archive: %v, want NOT_MEMBER", err)
	}
}

// mark unread over the wire: the mark shows in the caller's summaries on
// every device, leaves the count and the cursor alone, and goes with the
// next read (a mark_read that moves nothing, or the caller's own message);
// a non-member's mark is NOT_MEMBER.
func TestMarkUnreadOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "one")
	if err != nil {
		t.Fatal(err)
	}
	conv := sent.Conv
	eventually(t, "bob got the message", func() bool { return len(texts(t, bob, conv)) == 1 })
	if _, _, err := bob.MarkRead(ctx, conv, sent.Seq); err != nil {
		t.Fatal(err)
	}
	summary := func(c *client.Client) *wirepb.ConvSummary {
		t.Helper()
		convs, _, err := c.ListConversations(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range convs {
			if s.Conv == conv {
				return s
			}
		}
		t.Fatalf("%s not listed", conv)
		return nil
	}
	if err := bob.SetMarkedUnread(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	tablet := e.dial("bob", "tablet")
	if s := summary(tablet); !s.MarkedUnread || s.Unread != 0 || s.ReadSeq != sent.Seq {
		t.Fatalf("another device's summary after marking: %+v; want marked, unread 0, read %d", s, sent.Seq)
	}
	if c, _ := bob.Conversation(conv); !c.MarkedUnread {
		t.Fatalf("the client's view %+v, want marked unread", c)
	}
	if _, _, err := bob.MarkRead(ctx, conv, sent.Seq); err != nil { // moves no cursor
		t.Fatal(err)
	}
	if s := summary(tablet); s.MarkedUnread {
		t.Fatalf("after a read that moved nothing: %+v; want the mark gone", s)
	}
	if c, _ := bob.Conversation(conv); c.MarkedUnread {
		t.Fatalf("the client's view after reading %+v, want no mark", c)
	}
	if err := tablet.SetMarkedUnread(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendText(ctx, client.ToUser("alice"), "two"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the own message clears the mark", func() bool { return !summary(tablet).MarkedUnread })
	if err := e.dial("carol", "phone").SetMarkedUnread(ctx, conv, true); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a non-member's mark: %v, want NOT_MEMBER", err)
	}
}

// The user's own flags reach the user's other devices as they change: a
// pin, mute, archive or mark on the phone shows on the tablet by push, and
// a read on the tablet that moves no cursor takes the mark away on the
// phone too.
func TestFlagsReachOtherDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, phone, tablet := e.dial("alice", "phone"), e.dial("bob", "phone"), e.dial("bob", "tablet")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "one")
	if err != nil {
		t.Fatal(err)
	}
	conv := sent.Conv
	eventually(t, "the tablet got the message", func() bool { return len(texts(t, tablet, conv)) == 1 })
	onTablet := func(what string, want func(client.Conversation) bool) {
		t.Helper()
		eventually(t, what, func() bool {
			c, _ := tablet.Conversation(conv)
			return want(c)
		})
	}
	if err := phone.SetPinned(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	if c, _ := phone.Conversation(conv); !c.Pinned {
		t.Fatalf("the pinning device's own view %+v, want pinned at once", c)
	}
	onTablet("pinned on the tablet", func(c client.Conversation) bool { return c.Pinned })
	if _, err := phone.SetMuted(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	if c, _ := phone.Conversation(conv); !c.Muted {
		t.Fatalf("the muting device's own view %+v, want muted at once", c)
	}
	onTablet("muted on the tablet", func(c client.Conversation) bool { return c.Pinned && c.Muted })
	if err := phone.SetArchived(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	onTablet("archived on the tablet", func(c client.Conversation) bool { return c.Archived && c.Muted })
	if err := phone.SetMarkedUnread(ctx, conv, true); err != nil {
		t.Fatal(err)
	}
	onTablet("marked on the tablet", func(c client.Conversation) bool { return c.MarkedUnread && c.Archived })
	if _, _, err := tablet.MarkRead(ctx, conv, sent.Seq); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the tablet's read clears the phone's mark", func() bool {
		c, _ := phone.Conversation(conv)
		return !c.MarkedUnread && c.Pinned && c.Muted && c.Archived
	})
}

// presence sharing over the wire: NOBODY makes a connected user offline
// to the other side, ONLINE_ONLY shows them online again, and a value
// out of the enum is INVALID before the node sees it.
func TestPresenceSharingOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, buyer := e.dial("seller", "phone"), e.dial("buyer", "phone")
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "is it still for sale?"); err != nil {
		t.Fatal(err)
	}
	if s, err := seller.PresenceSharing(ctx); err != nil || s != wirepb.PresenceSharing_PRESENCE_EVERYONE {
		t.Fatalf("the default: %v, %v", s, err)
	}
	if err := seller.SetPresenceSharing(ctx, wirepb.PresenceSharing_PRESENCE_NOBODY); err != nil {
		t.Fatal(err)
	}
	if p, err := buyer.PresenceIn(ctx, "seller", ""); err != nil || p.Online || !p.LastSeen.IsZero() {
		t.Fatalf("nobody: the buyer sees %+v, %v", p, err)
	}
	if p, err := seller.PresenceIn(ctx, "seller", ""); err != nil || !p.Online {
		t.Fatalf("the seller's own view: %+v, %v", p, err)
	}
	if err := seller.SetPresenceSharing(ctx, wirepb.PresenceSharing_PRESENCE_ONLINE_ONLY); err != nil {
		t.Fatal(err)
	}
	if p, err := buyer.PresenceIn(ctx, "seller", ""); err != nil || !p.Online {
		t.Fatalf("online only: the buyer sees %+v, %v", p, err)
	}
	if err := seller.SetPresenceSharing(ctx, wirepb.PresenceSharing(3)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("sharing 3, the first past the enum: %v, want INVALID", err)
	}
}

// block over the wire: the blocked user's sends fail MUTED, the blocker's
// FORBIDDEN, presence is refused, the members list shows the block, a bad
// user id is INVALID before the node sees it, and an unblock lets both
// write again.
func TestBlockOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, buyer := e.dial("seller", "phone"), e.dial("buyer", "phone")
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "is it still for sale?"); err != nil {
		t.Fatal(err)
	}
	if err := seller.Block(ctx, "buyer"); err != nil {
		t.Fatalf("block: %v", err)
	}
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "hello??"); codeOf(err) != wirepb.Code_MUTED {
		t.Fatalf("the blocked user's send: %v, want MUTED", err)
	}
	if _, err := seller.SendText(ctx, client.ToUser("buyer"), "no"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("the blocker's send: %v, want FORBIDDEN", err)
	}
	if _, _, err := buyer.Presence(ctx, "seller"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("the blocked user's presence request: %v, want FORBIDDEN", err)
	}
	members, err := seller.AllMembers(ctx, wirepb.DirectConvID("buyer", "seller"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Muted != (m.User == "buyer") {
			t.Fatalf("member %s muted=%v, want only the buyer blocked", m.User, m.Muted)
		}
	}
	if err := seller.Block(ctx, "bad\x00id"); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("block of a bad user id: %v, want INVALID", err)
	}
	if err := seller.Block(ctx, "seller"); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("blocking oneself: %v, want INVALID", err)
	}
	if users, err := seller.Blocked(ctx); err != nil || len(users) != 1 || users[0] != "buyer" {
		t.Fatalf("the seller's blocked users: %v, %v", users, err)
	}
	if users, err := buyer.Blocked(ctx); err != nil || len(users) != 0 {
		t.Fatalf("the buyer blocks no one, but lists %v, %v", users, err)
	}
	if err := seller.Unblock(ctx, "buyer"); err != nil {
		t.Fatalf("unblock: %v", err)
	}
	if users, err := seller.Blocked(ctx); err != nil || len(users) != 0 {
		t.Fatalf("blocked users after the unblock: %v, %v", users, err)
	}
	if _, err := buyer.SendText(ctx, client.ToUser("seller"), "sorry"); err != nil {
		t.Fatalf("send after the unblock: %v", err)
	}
}
