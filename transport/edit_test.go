package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// edit over the wire: the recipient's client shows the original with the
// new text (EditSeq set) and no extra unread, also for a client that
// reads the history afterwards (newest first, so the edit comes before
// its original); someone else's message is FORBIDDEN.
func TestEditOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	sent, err := alice.SendText(ctx, client.ToUser("bob"), "see you at 5")
	if err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("alice", "bob")
	ed, err := alice.Edit(ctx, conv, sent.Seq, "see you at 6")
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if !ed.IsEdit() || ed.RefSeq != sent.Seq || ed.Seq <= sent.Seq {
		t.Fatalf("the edit's answer: %+v", ed)
	}
	shows := func(c *client.Client) bool {
		for _, m := range c.Messages(conv) {
			if m.Seq == sent.Seq {
				return string(m.Body) == "see you at 6" && m.EditSeq == ed.Seq
			}
		}
		return false
	}
	eventually(t, "bob's client shows the edited text", func() bool { return shows(bob) })
	if c, _ := bob.Conversation(conv); c.Unread != 1 {
		t.Fatalf("bob's unread %d, want 1 (an edit is not a message to read)", c.Unread)
	}
	if _, err := bob.Edit(ctx, conv, sent.Seq, "never"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("bob edits alice's message: %v, want FORBIDDEN", err)
	}

	// A device that starts afresh reads the latest page, newest first.
	tablet := e.dial("bob", "tablet")
	if _, err := tablet.History(ctx, conv, client.HistoryOptions{}); err != nil {
		t.Fatal(err)
	}
	if !shows(tablet) {
		t.Fatalf("a history page shows %+v, want #%d with the edited text", tablet.Messages(conv), sent.Seq)
	}
}
