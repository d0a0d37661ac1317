package transport_test

import (
	"slices"
	"testing"

	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// read_by over the wire: the sender learns who read its group message;
// a member who is not its sender is FORBIDDEN.
func TestReadByOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, ann, bob := e.dial("teacher", "laptop"), e.dial("ann", "phone"), e.dial("bob", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:class", "class", []string{"ann", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	hw, err := teacher.SendText(ctx, client.ToConv(conv), "homework: page 12")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ann.MarkRead(ctx, conv, hw.Seq); err != nil {
		t.Fatal(err)
	}
	read, unread, err := teacher.ReadBy(ctx, conv, hw.Seq)
	if err != nil || !slices.Equal(read, []string{"ann"}) || !slices.Equal(unread, []string{"bob"}) {
		t.Fatalf("read by %v, not by %v (%v); want ann, not bob", read, unread, err)
	}
	if _, _, err := bob.ReadBy(ctx, conv, hw.Seq); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("bob asks about the teacher's message: %v, want FORBIDDEN", err)
	}
}
