package actors_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A group's owners and admins create invite codes; whoever holds one
// joins as a member, once per use, until it expires, is used up or
// revoked. A member the managers removed cannot come back with a code;
// one who left may. Every limit at its edge.
func TestGroupInvites(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxGroupMembers: 5, MaxGroupInvites: 3, MaxInviteTTL: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const conv = "g:class"
	mustCreateGroup(t, node, conv, "teacher", "pupil")
	invite := func(actor string, ttl time.Duration, maxUses uint32) (*pb.GroupInviteResponse, error) {
		return node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: actor, Create: true, TtlMs: ttl.Milliseconds(), MaxUses: maxUses})
	}
	join := func(user, code string) (*pb.JoinGroupResponse, error) {
		got, r, err := node.JoinGroup(ctx, user, code, "")
		if err == nil && got != conv {
			t.Fatalf("%s joined %s, want %s", user, got, conv)
		}
		return r, err
	}

	_, err := invite("pupil", 0, 0)
	wantCode(t, err, pb.Code_FORBIDDEN, "a plain member creates an invite")
	_, err = invite("stranger", 0, 0)
	wantCode(t, err, pb.Code_NOT_MEMBER, "a stranger creates an invite")
	_, err = invite("teacher", time.Hour+time.Millisecond, 0)
	wantCode(t, err, pb.Code_INVALID, "an invite valid past the longest")
	_, err = invite("teacher", -time.Second, 0)
	wantCode(t, err, pb.Code_INVALID, "an invite valid for a negative time")

	two, err := invite("teacher", time.Hour, 2) // valid exactly the longest
	if err != nil || !strings.Contains(two.Token, ".") || two.Id == "" || len(two.Invites) != 1 || two.Invites[0].MaxUses != 2 || two.Invites[0].By != "teacher" {
		t.Fatalf("create: %+v %v", two, err)
	}
	// The default lifetime: the node's InviteTTL (7 days) capped by the
	// longest (an hour here).
	if d := time.Duration(two.Invites[0].ExpiresMs-two.Invites[0].CreatedMs) * time.Millisecond; d != time.Hour {
		t.Fatalf("valid for %v, want an hour", d)
	}

	r, err := join("s1", two.Token)
	if err != nil || r.Already || r.Seq == 0 {
		t.Fatalf("s1 joins: %+v %v", r, err)
	}
	if m, _, err := node.Members(ctx, conv, "s1", "", 10); err != nil || len(m) != 3 {
		t.Fatalf("members after the join: %v %v", m, err)
	}
	h, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "s1"})
	if err != nil || len(h) == 0 {
		t.Fatalf("s1's history: %v %v", h, err)
	}
	var body map[string]any
	if err := json.Unmarshal(h[0].Body, &body); err != nil || body["op"] != "join" || body["actor"] != "s1" || body["invite"] != two.Id {
		t.Fatalf("the join's system message: %s %v", h[0].Body, err)
	}
	if r, err := join("s1", two.Token); err != nil || !r.Already {
		t.Fatalf("s1 joins again: %+v %v, want already and no use counted", r, err)
	}
	if _, err := join("s2", two.Token); err != nil {
		t.Fatal(err)
	}
	_, err = join("s3", two.Token)
	wantCode(t, err, pb.Code_NOT_FOUND, "a third join with an invite of two uses")

	// The list: the used-up invite is gone.
	list, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "teacher"})
	if err != nil || len(list.Invites) != 0 {
		t.Fatalf("live invites after two uses of two: %+v %v", list, err)
	}

	// Revoked, expired, forged, in no group.
	open, err := invite("teacher", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "pupil", Revoke: open.Id}); actors.CodeOf(err) != pb.Code_FORBIDDEN {
		t.Fatalf("a plain member revokes: %v", err)
	}
	if _, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "teacher", Revoke: "nosuch"}); actors.CodeOf(err) != pb.Code_NOT_FOUND {
		t.Fatalf("revoking an unknown invite: %v", err)
	}
	if _, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "teacher", Revoke: open.Id}); err != nil {
		t.Fatal(err)
	}
	_, err = join("s3", open.Token)
	wantCode(t, err, pb.Code_NOT_FOUND, "a revoked invite")
	short, err := invite("teacher", time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	_, err = join("s3", short.Token)
	wantCode(t, err, pb.Code_NOT_FOUND, "an expired invite")
	live, err := invite("teacher", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	forged := live.Token[:strings.LastIndex(live.Token, ".")+1] + "AAAAAAAAAAAAAAAAAAAAAA"
	_, err = join("s3", forged)
	wantCode(t, err, pb.Code_NOT_FOUND, "a forged secret")
	for _, bad := range []string{"", "no-dot", "!!!.secret", actors.InviteCode(actors.DirectConvID("a", "b"), "x"), actors.InviteCode("g:bad id", "x")} {
		_, _, err := node.JoinGroup(ctx, "s3", bad, "")
		wantCode(t, err, pb.Code_INVALID, "a malformed code "+bad)
	}
	_, _, err = node.JoinGroup(ctx, "s3", actors.InviteCode("g:nosuch", "x"), "")
	wantCode(t, err, pb.Code_NOT_FOUND, "a code of no group")

	// Removed by the teacher: no way back by code. Left by oneself: back.
	if _, err := membership(node, t, conv, "teacher", pb.MembershipChange_REMOVE, 0, "s1"); err != nil {
		t.Fatal(err)
	}
	_, err = join("s1", live.Token)
	wantCode(t, err, pb.Code_FORBIDDEN, "a removed member's code")
	if _, err := membership(node, t, conv, "s2", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if r, err := join("s2", live.Token); err != nil || r.Already {
		t.Fatalf("s2 returns after leaving: %+v %v", r, err)
	}

	// At most 3 live invites: live and two more.
	for range 2 {
		if _, err := invite("teacher", 0, 0); err != nil {
			t.Fatalf("the second or third live invite: %v", err)
		}
	}
	_, err = invite("teacher", 0, 0)
	wantCode(t, err, pb.Code_TOO_MANY, "a fourth live invite")

	// The group is full at 5: teacher, pupil, s2 and two more.
	for _, u := range []string{"s4", "s5"} {
		if _, err := join(u, live.Token); err != nil {
			t.Fatalf("%s joins: %v", u, err)
		}
	}
	_, err = join("s6", live.Token)
	wantCode(t, err, pb.Code_GROUP_FULL, "a join into a full group")

	// A joiner's list has the group, as after an add.
	for _, u := range []string{"s4", "s5"} {
		eventually(t, func() error {
			l, err := node.ListConversations(ctx, u, "", 10)
			if err != nil || len(l.Conversations) != 1 || l.Conversations[0].Conv != conv {
				return fmt.Errorf("%s's list: %v %v, want %s", u, l, err, conv)
			}
			return nil
		})
	}

	// The invites are durable: after a restart the code still works (once
	// the pupil makes room) and its uses are still counted.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	if _, err := membership(node, t, conv, "pupil", pb.MembershipChange_LEAVE, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := join("s6", live.Token); err != nil {
		t.Fatalf("s6 joins after a restart: %v", err)
	}
	list, err = node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "teacher"})
	if err != nil || len(list.Invites) != 3 || list.Invites[0].Id != live.Id || list.Invites[0].Uses != 4 {
		t.Fatalf("invites after a restart: %+v %v, want %s first with 4 uses (s2, s4, s5, s6)", list, err, live.Id)
	}
}

// An invite with approval: a join is a request that waits for the group's
// owners and admins. Asking twice is one request; at most MaxJoinRequests
// wait (the edge: that many, then TOO_MANY); a request expires after
// JoinRequestTTL; approving adds the users at one {"op":"approve"}
// message, and the group's size bounds it; the waiting list outlives a
// restart.
func TestJoinRequests(t *testing.T) {
	store := openStore(t)
	cfg := actors.Config{MaxGroupMembers: 4, MaxJoinRequests: 2, JoinRequestTTL: time.Hour}
	node := startCluster(t, 1, store, cfg)[0]
	ctx := tctx(t)
	const conv = "g:vetted"
	mustCreateGroup(t, node, conv, "owner", "pupil")
	inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner", Create: true, Approval: true})
	if err != nil || len(inv.Invites) != 1 || !inv.Invites[0].Approval {
		t.Fatalf("create: %+v %v", inv, err)
	}
	ask := func(user string) (*pb.JoinGroupResponse, error) {
		_, r, err := node.JoinGroup(ctx, user, inv.Token, "")
		return r, err
	}
	requests := func() []*pb.JoinRequest {
		t.Helper()
		l, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Requests
	}
	for _, u := range []string{"a1", "a2", "a1"} {
		if r, err := ask(u); err != nil || !r.Pending || r.Seq != 0 {
			t.Fatalf("%s asks: %+v %v", u, r, err)
		}
	}
	if got := requests(); len(got) != 2 || got[0].User != "a1" || got[1].User != "a2" || got[0].Invite != inv.Id {
		t.Fatalf("requests: %v, want a1 then a2 once each", got)
	}
	// A note to the managers: at its bound it is kept, past it TOO_LARGE,
	// a control character INVALID; asking again with a new one replaces it.
	note := strings.Repeat("n", actors.DefaultConfig().MaxJoinNoteBytes)
	if _, r, err := node.JoinGroup(ctx, "a2", inv.Token, note); err != nil || !r.Pending {
		t.Fatalf("a2 asks again with a note at the bound: %+v %v", r, err)
	}
	_, _, err = node.JoinGroup(ctx, "a2", inv.Token, note+"n")
	wantCode(t, err, pb.Code_TOO_LARGE, "a note past the bound")
	_, _, err = node.JoinGroup(ctx, "a2", inv.Token, "hi\x00")
	wantCode(t, err, pb.Code_INVALID, "a note with a control character")
	if _, _, err := node.JoinGroup(ctx, "a2", inv.Token, "  I'm Sam's father  "); err != nil {
		t.Fatal(err)
	}
	if got := requests(); len(got) != 2 || got[0].Note != "" || got[1].Note != "I'm Sam's father" {
		t.Fatalf("requests' notes: %v, want none for a1 and a2's latest, trimmed", got)
	}
	_, err = ask("a3")
	wantCode(t, err, pb.Code_TOO_MANY, "a third request where two may wait")
	if _, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "a1"}); actors.CodeOf(err) != pb.Code_NOT_MEMBER {
		t.Fatalf("a waiting user reads the group: %v", err)
	}

	_, err = membership(node, t, conv, "pupil", pb.MembershipChange_APPROVE, 0, "a1")
	wantCode(t, err, pb.Code_FORBIDDEN, "a plain member approves")
	_, err = membership(node, t, conv, "owner", pb.MembershipChange_APPROVE, 0, "a1", "a3")
	wantCode(t, err, pb.Code_NOT_FOUND, "approving one who did not ask")
	if got := requests(); len(got) != 2 {
		t.Fatalf("a refused approval changed the requests: %v", got)
	}

	// The list survives a restart.
	node.Stop(true)
	node = startCluster(t, 1, store, cfg)[0]
	seq, err := membership(node, t, conv, "owner", pb.MembershipChange_APPROVE, 0, "a1", "a2")
	if err != nil || seq == 0 {
		t.Fatalf("approve a1 and a2 after a restart: %d %v", seq, err)
	}
	h, err := node.History(ctx, &pb.GetHistory{Conv: conv, User: "a2"})
	if err != nil || len(h) == 0 || h[0].Seq != seq {
		t.Fatalf("a2's history: %v %v", h, err)
	}
	var body map[string]any
	if err := json.Unmarshal(h[0].Body, &body); err != nil || body["op"] != "approve" || body["actor"] != "owner" || body["count"] != 2.0 {
		t.Fatalf("the approval's system message: %s %v", h[0].Body, err)
	}
	if got := requests(); len(got) != 0 {
		t.Fatalf("requests after the approval: %v", got)
	}
	l, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner"})
	if err != nil || len(l.Invites) != 1 || l.Invites[0].Uses != 2 {
		t.Fatalf("the invite counts two approvals: %+v %v", l, err)
	}

	// Full at 4: a request is refused up front, and so is an approval
	// past the size (a member left meanwhile would make room).
	_, err = ask("a3")
	wantCode(t, err, pb.Code_GROUP_FULL, "a request into a full group")
	if _, err := membership(node, t, conv, "owner", pb.MembershipChange_REMOVE, 0, "a2"); err != nil {
		t.Fatal(err)
	}
	_, err = ask("a2")
	wantCode(t, err, pb.Code_FORBIDDEN, "a request by a user the managers removed")
	for _, u := range []string{"a3", "a4"} {
		if _, err := ask(u); err != nil {
			t.Fatalf("%s asks: %v", u, err)
		}
	}
	_, err = membership(node, t, conv, "owner", pb.MembershipChange_APPROVE, 0, "a3", "a4")
	wantCode(t, err, pb.Code_GROUP_FULL, "approving two into room for one")
	if _, err := membership(node, t, conv, "owner", pb.MembershipChange_DECLINE, 0, "a4"); err != nil {
		t.Fatal(err)
	}
	if got := requests(); len(got) != 1 || got[0].User != "a3" {
		t.Fatalf("after declining a4: %v, want a3 waiting", got)
	}
}

// A request nobody answers is dropped after JoinRequestTTL.
func TestJoinRequestsExpire(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{JoinRequestTTL: 50 * time.Millisecond})[0]
	ctx := tctx(t)
	const conv = "g:slow"
	mustCreateGroup(t, node, conv, "owner")
	inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner", Create: true, Approval: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.JoinGroup(ctx, "late", inv.Token, ""); err != nil {
		t.Fatal(err)
	}
	l, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner"})
	if err != nil || len(l.Requests) != 1 || l.Requests[0].ExpiresMs-l.Requests[0].AtMs != 50 {
		t.Fatalf("requests: %+v %v", l, err)
	}
	time.Sleep(80 * time.Millisecond)
	if l, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner"}); err != nil || len(l.Requests) != 0 {
		t.Fatalf("requests after their time: %+v %v", l, err)
	}
	_, err = membership(node, t, conv, "owner", pb.MembershipChange_APPROVE, 0, "late")
	wantCode(t, err, pb.Code_NOT_FOUND, "approving an expired request")
}

// TestEraseDropsJoinRequests: an erasure drops the user's requests to
// join that still wait, with their notes, in every group they asked;
// another user's request stays.
func TestEraseDropsJoinRequests(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{})[0]
	ctx := tctx(t)
	requests := func(conv string) []*pb.JoinRequest {
		t.Helper()
		l, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner"})
		if err != nil {
			t.Fatal(err)
		}
		return l.Requests
	}
	for _, conv := range []string{"g:club", "g:choir"} {
		mustCreateGroup(t, node, conv, "owner")
		inv, err := node.GroupInvite(ctx, &pb.GroupInvite{Conv: conv, Actor: "owner", Create: true, Approval: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"gone", "stays"} {
			if _, r, err := node.JoinGroup(ctx, u, inv.Token, "call me on 555 0100"); err != nil || !r.Pending {
				t.Fatalf("%s asks to join %s: %+v %v", u, conv, r, err)
			}
		}
	}
	if _, err := node.EraseUser(ctx, "gone", actors.SentCursor{}); err != nil {
		t.Fatal(err)
	}
	for _, conv := range []string{"g:club", "g:choir"} {
		if got := requests(conv); len(got) != 1 || got[0].User != "stays" {
			t.Fatalf("%s's requests after the erasure: %v, want the other user's alone", conv, got)
		}
	}
	if _, err := node.EraseUser(ctx, "gone", actors.SentCursor{}); err != nil {
		t.Fatalf("erasing again: %v", err)
	}
}
