package transport_test

import (
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestMentionAllOverTheWire: over real QUIC, a group's owner mentions
// everyone: a member's client gets the message marked mention_all and its
// summary counts one unread mention; a plain member's "@all" is
// FORBIDDEN.
func TestMentionAllOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, ann := e.dial("teacher", "phone"), e.dial("ann", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:all", "class", []string{"ann"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := teacher.MentionAll(conv, []byte("@all no class tomorrow"), "")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := p.Wait(ctx); err != nil || !m.MentionAll {
		t.Fatalf("the owner's @all: %+v, %v", m, err)
	}
	eventually(t, "ann's client holds it, marked", func() bool {
		ms := ann.Messages(conv)
		return len(ms) > 0 && ms[len(ms)-1].MentionAll && len(ms[len(ms)-1].Mentions) == 0
	})
	summaries, _, err := ann.ListConversations(ctx, "", 10)
	if err != nil || len(summaries) != 1 || summaries[0].UnreadMentions != 1 {
		t.Fatalf("ann's summaries: %v, %v; want one unread mention", summaries, err)
	}
	if p, err = ann.MentionAll(conv, []byte("@all hi"), ""); err == nil {
		_, err = p.Wait(ctx)
	}
	if codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a member's @all: %v, want FORBIDDEN", err)
	}
}
