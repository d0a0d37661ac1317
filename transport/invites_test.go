package transport_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/transport"
	"github.com/switchboard-im/switchboard/transport/client"
	"github.com/switchboard-im/switchboard/transport/wirepb"
	"google.golang.org/protobuf/proto"
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
	got, err := newcomer.JoinGroup(ctx, code)
	if err != nil || got.Conv != conv || got.Already || got.Pending {
		t.Fatalf("join: %+v %v", got, err)
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
	if _, err := e.dial("late", "phone").JoinGroup(ctx, code); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("a revoked code: %v, want NOT_FOUND", err)
	}
	for _, bad := range []string{"", "nodot"} {
		if _, err := newcomer.JoinGroup(ctx, bad); codeOf(err) != wirepb.Code_INVALID {
			t.Errorf("join with %q: %v, want INVALID", bad, err)
		}
	}
	// The bounds at their edges: a code of 256 bytes and an id of 32 pass
	// the connection's check and reach the node (which finds them
	// malformed or unknown); one byte more is refused before it.
	_, err = newcomer.JoinGroup(ctx, strings.Repeat("a", transport.MaxInviteCodeBytes))
	if codeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), "malformed invite code") {
		t.Fatalf("a code at the bound: %v, want the node's INVALID: malformed", err)
	}
	_, err = newcomer.JoinGroup(ctx, strings.Repeat("a", transport.MaxInviteCodeBytes+1))
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

// Over QUIC: an invite that needs approval. A join with its code waits;
// the teacher's devices hear of it, read the request with the pupil's
// name, approve it (the pupil then gets the class as after any add) and
// decline another; a plain member reads no requests.
func TestJoinRequestsOverTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := tctx(t)
	teacher, pupil := e.dial("teacher", "phone"), e.dial("pupil", "phone")
	asker, pest := e.dial("asker", "phone"), e.dial("pest", "phone")
	conv, err := teacher.CreateGroup(ctx, "g:vetted", "vetted", []string{"pupil"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := asker.SetProfile(ctx, &wirepb.ProfileRequest{Name: proto.String("Ada Asker")}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pupil.CreateApprovalInvite(ctx, conv, 0, 0); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a pupil's approval invite: %v, want FORBIDDEN", err)
	}
	code, id, err := teacher.CreateApprovalInvite(ctx, conv, time.Hour, 1)
	if err != nil {
		t.Fatal(err)
	}
	j, err := asker.AskToJoin(ctx, code, "Ada's mother")
	if err != nil || !j.Pending || j.Already || j.Conv != conv {
		t.Fatalf("asking to join: %+v %v", j, err)
	}
	waitForConv(t, teacher, client.EventJoinRequests, conv)
	if j, err := asker.JoinGroup(ctx, code); err != nil || !j.Pending {
		t.Fatalf("asking again: %+v %v", j, err)
	}
	if _, err := asker.History(ctx, conv, client.HistoryOptions{}); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a waiting asker reads the group: %v, want NOT_MEMBER", err)
	}
	reqs, err := teacher.JoinRequests(ctx, conv)
	if err != nil || len(reqs) != 1 || reqs[0].User != "asker" || reqs[0].Name != "Ada Asker" || reqs[0].Invite != id ||
		!reqs[0].Expires.After(reqs[0].At) || reqs[0].Note != "Ada's mother" {
		t.Fatalf("requests: %+v %v", reqs, err)
	}
	if _, err := pupil.JoinRequests(ctx, conv); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a pupil reads the requests: %v, want FORBIDDEN", err)
	}
	if _, err := pupil.ApproveJoin(ctx, conv, "asker"); codeOf(err) != wirepb.Code_FORBIDDEN {
		t.Fatalf("a pupil approves: %v, want FORBIDDEN", err)
	}
	if _, err := teacher.ApproveJoin(ctx, conv, "pest"); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("approving one who never asked: %v, want NOT_FOUND", err)
	}
	seq, err := teacher.ApproveJoin(ctx, conv, "asker")
	if err != nil || seq == 0 {
		t.Fatalf("approve: %d %v", seq, err)
	}
	// The approved user's devices hear of the join with the group's name.
	waitForConv(t, asker, client.EventMembership, conv)
	if c, ok := asker.Conversation(conv); !ok || c.Title != "vetted" || !c.Member {
		t.Fatalf("the approved asker's view of the group: %+v %v", c, ok)
	}
	if _, err := teacher.SendText(ctx, client.ToConv(conv), "welcome, Ada"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the approved asker gets the group's message", func() bool {
		return slices.ContainsFunc(asker.Messages(conv), func(m client.Message) bool { return string(m.Body) == "welcome, Ada" })
	})
	if reqs, err := teacher.JoinRequests(ctx, conv); err != nil || len(reqs) != 0 {
		t.Fatalf("requests after the approval: %+v %v", reqs, err)
	}
	if list, err := teacher.Invites(ctx, conv); err != nil || len(list) != 0 {
		t.Fatalf("the invite for one join counted the approval and is used up: %+v %v", list, err)
	}
	// The invite allowed one approval and has had it: the pest asks with
	// a second code, and is declined.
	code2, _, err := teacher.CreateApprovalInvite(ctx, conv, time.Hour, 0)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := teacher.Invites(ctx, conv); err != nil || len(list) != 1 || !list[0].Approval || list[0].Uses != 0 {
		t.Fatalf("the approval invite listed: %+v %v", list, err)
	}
	if _, err := pest.JoinGroup(ctx, code); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("a used-up approval code: %v, want NOT_FOUND", err)
	}
	if j, err := pest.JoinGroup(ctx, code2); err != nil || !j.Pending {
		t.Fatalf("the pest asks: %+v %v", j, err)
	}
	if err := teacher.DeclineJoin(ctx, conv, "pest"); err != nil {
		t.Fatal(err)
	}
	if reqs, err := teacher.JoinRequests(ctx, conv); err != nil || len(reqs) != 0 {
		t.Fatalf("requests after the decline: %+v %v", reqs, err)
	}
	if err := teacher.DeclineJoin(ctx, conv, "pest"); codeOf(err) != wirepb.Code_NOT_FOUND {
		t.Fatalf("declining again: %v, want NOT_FOUND", err)
	}
	if _, err := pest.History(ctx, conv, client.HistoryOptions{}); codeOf(err) != wirepb.Code_NOT_MEMBER {
		t.Fatalf("a declined user reads the group: %v, want NOT_MEMBER", err)
	}
}

// waitForConv waits for an event of kind about conv.
func waitForConv(t *testing.T, c *client.Client, kind client.EventKind, conv string) {
	t.Helper()
	waitEvent(t, c, fmt.Sprintf("no %v event for %s", kind, conv), func(ev client.Event) bool { return ev.Kind == kind && ev.Conv == conv })
}
