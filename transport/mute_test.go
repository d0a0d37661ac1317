package transport_test

import (
	"testing"

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
}
