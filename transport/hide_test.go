package transport_test

import (
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Deleting a message for oneself over the wire: the buyer deletes the
// message with their phone number on the phone; the laptop lets go of it
// by itself, a device that starts afresh syncs the set, and the seller
// keeps it. An unhide on the laptop brings it back to the phone.
func TestHideOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	seller, phone, laptop := e.dial("seller", "phone"), e.dial("buyer", "phone"), e.dial("buyer", "laptop")
	var conv string
	for _, text := range []string{"still for sale?", "call me: 555 0100", "yes, 40"} {
		m, err := seller.SendText(ctx, client.ToUser("buyer"), text)
		if err != nil {
			t.Fatal(err)
		}
		conv = m.Conv
	}
	seqsOf := func(c *client.Client) []uint64 {
		var out []uint64
		for _, m := range c.Messages(conv) {
			out = append(out, m.Seq)
		}
		return out
	}
	eventually(t, "both of the buyer's devices hold the three", func() bool {
		return len(phone.Messages(conv)) == 3 && len(laptop.Messages(conv)) == 3
	})
	eventually(t, "the laptop counts three unread", func() bool {
		c, _ := laptop.Conversation(conv)
		return c.Unread == 3
	})
	hidden, err := phone.Hide(ctx, conv, 2)
	if err != nil || !slices.Equal(hidden, []uint64{2}) {
		t.Fatalf("hide 2: %v, %v", hidden, err)
	}
	if got := seqsOf(phone); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("the phone holds %v after hiding 2", got)
	}
	eventually(t, "the laptop lets go of it", func() bool {
		c, _ := laptop.Conversation(conv)
		return slices.Equal(seqsOf(laptop), []uint64{1, 3}) && slices.Equal(c.HiddenSeqs, []uint64{2}) && c.Unread == 2
	})
	if ms, err := laptop.History(ctx, conv, client.HistoryOptions{}); err != nil || len(ms) != 2 {
		t.Fatalf("the laptop's history: %d messages, %v; want 2", len(ms), err)
	}
	fresh := e.dial("buyer", "tablet")
	synced := false
	for _, c := range fresh.Welcome().Sync.Conversations {
		if c.Conv == conv {
			synced = slices.Equal(c.HiddenSeqs, []uint64{2})
		}
	}
	if !synced {
		t.Fatal("a fresh device's sync has no summary saying 2 is hidden")
	}
	if n := len(seller.Messages(conv)); n != 3 {
		t.Fatalf("the seller holds %d messages, want all three", n)
	}
	if _, err := phone.Hide(ctx, conv, 4); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("hide a seq not written: %v, want NOT_FOUND", err)
	}

	// An undo on the laptop: it fetches the message back, and so does the phone.
	if hidden, err := laptop.Unhide(ctx, conv, 2); err != nil || len(hidden) != 0 {
		t.Fatalf("unhide 2: %v, %v", hidden, err)
	}
	if got := seqsOf(laptop); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("the laptop holds %v after the unhide", got)
	}
	eventually(t, "the phone shows it again", func() bool {
		return slices.Equal(seqsOf(phone), []uint64{1, 2, 3})
	})
}
