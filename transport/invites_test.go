package transport_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// Over QUIC: the teacher creates a class code, a pupil who is nobody's
// contact joins with it and receives the class's next message; the
// teacher lists and revokes codes; malformed codes and requests are
// refused before they reach the node.
func TestGroupInvitesOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, pupil, newcomer := e.dial("teacher", "phone"), e.dial("pupil", "phone"), e.dial("newcomer", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:class", "class", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := pupil.CreateInvite(ctx, conv, 0, 0); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a pupil's invite: %v, want FORBIDDEN", err)
	}
	code, id, err := teacher.CreateInvite(ctx, conv, time.Hour, 30)
	if err != nil || id == "" || len(code) > 256 {
		t.Fatalf("create: %q %q %v", code, id, err)
	}
	got, already, err := newcomer.JoinGroup(ctx, code)
	if err != nil || got != conv || already {
		t.Fatalf("join: %q %v %v", got, already, err)
	}
	if _, err := teacher.SendText(ctx, client.ToConv(conv), "welcome"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the newcomer gets the class's message", func() bool {
		for _, m := range newcomer.Messages(conv) {
			if string(m.Body) == "welcome" {
				return true
			}
		}
		return false
	})
	list, err := teacher.Invites(ctx, conv)
	if err != nil || len(list) != 1 || list[0].ID != id || list[0].Uses != 1 || list[0].MaxUses != 30 || list[0].By != "teacher" ||
		list[0].Expires.Sub(list[0].Created) != time.Hour {
		t.Fatalf("invites: %+v %v", list, err)
	}
	if err := teacher.RevokeInvite(ctx, conv, id); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.dial("late", "phone").JoinGroup(ctx, code); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("a revoked code: %v, want NOT_FOUND", err)
	}
	for _, bad := range []string{"", "nodot"} {
		if _, _, err := newcomer.JoinGroup(ctx, bad); codeOf(err) != wirepb.Code_INVALID {
			t.Errorf("join with %q: %v, want INVALID", bad, err)
		}
	}
	// The bounds at their edges: a code of 256 bytes and an id of 32 pass
	// the connection's check and reach the node (which finds them
	// malformed or unknown); one byte more is refused before it.
	_, _, err = newcomer.JoinGroup(ctx, strings.Repeat("a", transport.MaxInviteCodeBytes))
	if codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "malformed invite code") {
		t.Fatalf("a code at the bound: %v, want the node's INVALID: malformed", err)
	}
	_, _, err = newcomer.JoinGroup(ctx, strings.Repeat("a", transport.MaxInviteCodeBytes+1))
	if codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "bytes") {
		t.Fatalf("a code past the bound: %v, want INVALID for its length", err)
	}
	if err := teacher.RevokeInvite(ctx, conv, strings.Repeat("f", transport.MaxInviteIDBytes)); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("revoking an id at the bound: %v, want the node's NOT_FOUND", err)
	}
	if err := teacher.RevokeInvite(ctx, conv, strings.Repeat("f", transport.MaxInviteIDBytes+1)); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("revoking an id past the bound: %v, want INVALID", err)
	}
	if _, _, err := teacher.CreateInvite(ctx, conv, -time.Second, 0); codeOf(err) != wirepb.Code_INVALID {
		t.Fatalf("a negative lifetime: %v, want INVALID", err)
	}
	if _, err := teacher.SendText(ctx, client.ToUser("pupil"), "see me"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := teacher.CreateInvite(ctx, wirepb.DirectConvID("pupil", "teacher"), 0, 0); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("an invite to a direct conversation: %v, want FORBIDDEN", err)
	}
}
