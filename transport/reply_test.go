package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// reply over the wire: the recipient's client gets the reply pushed with
// the seq it answers, a device reading the history later sees it too, and
// a reply to a seq that does not exist yet is NOT_FOUND.
func TestReplyOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	alice, bob := e.dial("alice", "phone"), e.dial("bob", "phone")
	q, err := alice.SendText(ctx, client.ToUser("bob"), "is the bike still for sale?")
	if err != nil {
		t.Fatal(err)
	}
	conv := wirepb.DirectConvID("alice", "bob")
	p, err := bob.Reply(conv, q.Seq, []byte("it is"), "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil || r.ReplyTo != q.Seq {
		t.Fatalf("the reply's answer: %+v %v", r, err)
	}
	replyIn := func(c *client.Client) uint64 {
		for _, m := range c.Messages(conv) {
			if m.Seq == r.Seq {
				return m.ReplyTo
			}
		}
		return 0
	}
	eventually(t, "alice's client has the reply to her question", func() bool { return replyIn(alice) == q.Seq })
	tablet := e.dial("alice", "tablet")
	if _, err := tablet.History(ctx, conv, client.HistoryOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := replyIn(tablet); got != q.Seq {
		t.Fatalf("a history page has the reply answering %d, want %d", got, q.Seq)
	}
	if p, err := bob.Reply(conv, r.Seq+10, []byte("?"), ""); err != nil {
		t.Fatal(err)
	} else if _, err := p.Wait(ctx); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("a reply to a seq not written: %v, want NOT_FOUND", err)
	}
}
