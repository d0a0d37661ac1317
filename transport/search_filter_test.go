package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// A class's thread and one member's messages over the wire: the teacher
// asks, two pupils answer; Thread lists the answers, newest first, and a
// search by sender alone (no words) lists one pupil's messages.
func TestSearchFiltersOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, ann, bob := e.dial("teacher", "laptop"), e.dial("ann", "phone"), e.dial("bob", "phone")
	conv, err := teacher.CreateGroup(ctx, "", "Year 7 maths", []string{"ann", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := teacher.SendText(ctx, client.ToConv(conv), "Who has read chapter 3?")
	if err != nil {
		t.Fatal(err)
	}
	reply := func(c *client.Client, text string) client.Message {
		t.Helper()
		p, err := c.Reply(conv, q.Seq, []byte(text), client.NewClientMsgID())
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := reply(ann, "I have"), reply(bob, "not yet")
	if _, err := bob.SendText(ctx, client.ToConv(conv), "when is the test?"); err != nil {
		t.Fatal(err)
	}
	replies, next, err := teacher.Thread(ctx, conv, q.Seq, 0, 0)
	if err != nil || len(replies) != 2 || replies[0].Seq != b.Seq || replies[1].Seq != a.Seq || next != 0 {
		t.Fatalf("the thread: %v (next %d), %v; want bob's then ann's answer", replies, next, err)
	}
	mine, _, err := ann.SearchBy(ctx, conv, client.SearchQuery{Sender: "bob"}, 0, 0)
	if err != nil || len(mine) != 2 {
		t.Fatalf("bob's messages, as ann reads them: %v, %v; want two", mine, err)
	}
	if _, _, err := ann.SearchEverywhereBy(ctx, client.SearchQuery{ReplyTo: q.Seq}, client.SearchCursor{}, 0); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a thread of every conversation: %v, want INVALID", err)
	}
}
