package transport_test

import (
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/actors"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestFreezeOverTheWire: a group's owner freezes it over QUIC; a plain
// member may not. Every member's client shows it frozen with its reason
// (a push to the one online, the summary to a device that connects
// later), a send into it is FROZEN with the reason, and the unfreeze
// reaches them the same way. A reason past the node's bound is TOO_LARGE.
func TestFreezeOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{actors: actors.Config{MaxFreezeReasonBytes: 12}})
	ctx := tctx(t)
	teacher, pupil := e.dial("teacher", "laptop"), e.dial("pupil", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:7b", "7B", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "see you"); err != nil {
		t.Fatal(err)
	}
	if _, err := pupil.Freeze(ctx, conv, ""); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a plain member freezes: %v", err)
	}
	if _, err := teacher.Freeze(ctx, conv, "term is over!"); codeOf(err) != wirepb.Code_TOO_LARGE {
		t.Fatalf("a reason one byte past the bound: %v", err)
	}
	seq, err := teacher.Freeze(ctx, conv, "term is over")
	if err != nil || seq == 0 {
		t.Fatalf("the owner freezes: %d %v", seq, err)
	}
	eventually(t, "the pupil's client shows it frozen", func() bool {
		c, ok := pupil.Conversation(conv)
		return ok && c.Frozen != nil && c.Frozen.Reason == "term is over" && c.Frozen.By == "teacher"
	})
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "one more"); codeOf(err) != wirepb.Code_FROZEN || !strings.Contains(err.Error(), "term is over") {
		t.Fatalf("a send into the frozen group: %v", err)
	}
	if f, err := pupil.Frozen(ctx, conv); err != nil || f == nil || f.Reason != "term is over" {
		t.Fatalf("the pupil reads the freeze: %+v %v", f, err)
	}
	tablet := e.dial("pupil", "tablet")
	eventually(t, "a device that connects later learns it from its sync", func() bool {
		c, ok := tablet.Conversation(conv)
		return ok && c.Frozen != nil && c.Frozen.Reason == "term is over"
	})
	if seq, err := teacher.Unfreeze(ctx, conv); err != nil || seq == 0 {
		t.Fatalf("the owner opens it again: %d %v", seq, err)
	}
	eventually(t, "both of the pupil's clients show it open", func() bool {
		a, _ := pupil.Conversation(conv)
		b, _ := tablet.Conversation(conv)
		return a.Frozen == nil && b.Frozen == nil
	})
	if _, err := pupil.SendText(ctx, client.ToConv(conv), "hello again"); err != nil {
		t.Fatalf("a send after the unfreeze: %v", err)
	}
}
