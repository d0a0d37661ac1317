package actors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/actors/session"
	"github.com/switchboard-im/switchboard/cluster/boot"
	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// wantCode fails unless err carries code.
func wantCode(t testing.TB, err error, code pb.Code, what string) {
	t.Helper()
	if got := actors.CodeOf(err); got != code {
		t.Fatalf("%s: got %v (%v), want %v", what, got, err, code)
	}
}

func mustCreateGroup(t testing.TB, node *boot.Node, conv, owner string, members ...string) {
	t.Helper()
	req := &pb.CreateConversation{Conv: conv, Kind: pb.ConvKind_GROUP, Creator: owner}
	for _, m := range members {
		req.Members = append(req.Members, &pb.Member{User: m})
	}
	if _, err := node.CreateConversation(tctx(t), req); err != nil {
		t.Fatalf("create %s: %v", conv, err)
	}
}

func send(ctx context.Context, node *boot.Node, conv, sender, body string) (*pb.SendResponse, error) {
	return node.Send(ctx, &pb.SendMessage{Conv: conv, Sender: sender, Body: []byte(body)})
}

func mustSend(t testing.TB, node *boot.Node, conv, sender, body string) *pb.SendResponse {
	t.Helper()
	res, err := send(tctx(t), node, conv, sender, body)
	if err != nil {
		t.Fatalf("send %s by %s: %v", conv, sender, err)
	}
	return res
}

func membership(node *boot.Node, t testing.TB, conv, actor string, op pb.MembershipChange_Op, role pb.Role, users ...string) (uint64, error) {
	return node.ChangeMembership(tctx(t), &pb.MembershipChange{Conv: conv, Actor: actor, Op: op, Users: users, Role: role})
}

// TestLimitsAndRejections drives every limit and rejection path at its
// edge, on one node shared by the subtests.
func TestLimitsAndRejections(t *testing.T) {
	store := openStore(t)
	node := startCluster(t, 1, store, actors.Config{
		MaxBodyBytes:    100,
		MaxGroupMembers: 5,
		// SystemMessageUsers 3: a change of 4 users fits a 5-member group.
		SystemMessageUsers: 3,
		SendRate:           0.5,
		SendBurst:          3,
		RecallWindow:       200 * time.Millisecond,
		PolicyWords:        []string{"forbidden"},
		PolicyMode:         actors.PolicyBlock,
	})[0]
	ctx := tctx(t)

	t.Run("body size", func(t *testing.T) {
		mustCreateGroup(t, node, "g:body", "a", "b")
		if _, err := send(ctx, node, "g:body", "a", strings.Repeat("x", 100)); err != nil {
			t.Fatalf("body at the limit: %v", err)
		}
		_, err := send(ctx, node, "g:body", "a", strings.Repeat("x", 101))
		wantCode(t, err, pb.Code_TOO_LARGE, "body one over")
		_, err = send(ctx, node, "g:body", "b", "")
		wantCode(t, err, pb.Code_INVALID, "empty body")
	})

	t.Run("group size", func(t *testing.T) {
		_, err := node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:full0", Kind: pb.ConvKind_GROUP, Creator: "o",
			Members: []*pb.Member{{User: "m1"}, {User: "m2"}, {User: "m3"}, {User: "m4"}, {User: "m5"}}})
		wantCode(t, err, pb.Code_GROUP_FULL, "create with 6 members")
		mustCreateGroup(t, node, "g:full", "o", "m1", "m2", "m3")
		if _, err := membership(node, t, "g:full", "o", pb.MembershipChange_ADD, pb.Role_MEMBER, "m4"); err != nil {
			t.Fatalf("add the 5th member: %v", err)
		}
		_, err = membership(node, t, "g:full", "o", pb.MembershipChange_ADD, pb.Role_MEMBER, "m5")
		wantCode(t, err, pb.Code_GROUP_FULL, "add the 6th member")
		// A member leaving makes room again.
		if _, err := membership(node, t, "g:full", "m4", pb.MembershipChange_LEAVE, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := membership(node, t, "g:full", "o", pb.MembershipChange_ADD, pb.Role_MEMBER, "m5"); err != nil {
			t.Fatalf("add after a leave: %v", err)
		}
	})

	t.Run("users named by a membership system message", func(t *testing.T) {
		for _, tc := range []struct {
			conv  string
			users []string
			named []string
		}{
			{"g:sys3", []string{"u1", "u2", "u3"}, []string{"u1", "u2", "u3"}},
			{"g:sys4", []string{"u1", "u2", "u3", "u4"}, []string{"u1", "u2", "u3"}},
		} {
			mustCreateGroup(t, node, tc.conv, "o")
			seq, err := membership(node, t, tc.conv, "o", pb.MembershipChange_ADD, pb.Role_MEMBER, tc.users...)
			if err != nil {
				t.Fatal(err)
			}
			hist, err := node.History(ctx, &pb.GetHistory{Conv: tc.conv, User: "o", FromSeq: seq, ToSeq: seq})
			if err != nil || len(hist) != 1 {
				t.Fatalf("%s: the system message at %d: %v, %d messages", tc.conv, seq, err, len(hist))
			}
			var body struct {
				Users []string
				Count int
			}
			if err := json.Unmarshal(hist[0].GetBody(), &body); err != nil {
				t.Fatalf("%s: %v in %q", tc.conv, err, hist[0].GetBody())
			}
			if !slices.Equal(body.Users, tc.named) || body.Count != len(tc.users) {
				t.Fatalf("%s: adding %v is recorded as %s", tc.conv, tc.users, hist[0].GetBody())
			}
		}
	})

	t.Run("rate", func(t *testing.T) {
		mustCreateGroup(t, node, "g:rate", "r", "s")
		for i := range 3 {
			if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:rate", Sender: "r", ClientMsgId: fmt.Sprint("r", i), Body: []byte("x")}); err != nil {
				t.Fatalf("send %d within the burst: %v", i, err)
			}
		}
		// A retried duplicate is not a new message: it costs no token.
		dup, err := node.Send(ctx, &pb.SendMessage{Conv: "g:rate", Sender: "r", ClientMsgId: "r0", Body: []byte("x")})
		if err != nil || !dup.Duplicate {
			t.Fatalf("duplicate past the burst: %+v %v", dup, err)
		}
		_, err = send(ctx, node, "g:rate", "r", "x")
		wantCode(t, err, pb.Code_RATE_LIMITED, "4th send")
		// The limit is per sender.
		mustSend(t, node, "g:rate", "s", "y")
	})

	t.Run("policy block", func(t *testing.T) {
		mustCreateGroup(t, node, "g:pol", "p", "q")
		q, _ := connect(t, node, "q", "phone")
		_, err := send(ctx, node, "g:pol", "p", "this is FORBIDDEN talk")
		wantCode(t, err, pb.Code_REJECTED_POLICY, "blocked word")
		_, err = node.Send(ctx, &pb.SendMessage{Conv: "g:pol", Sender: "p", Location: &pb.Location{Lat: 1, Lng: 2, Name: "the forbidden corner"}})
		wantCode(t, err, pb.Code_REJECTED_POLICY, "a blocked word as a place's name")
		ok := mustSend(t, node, "g:pol", "p", "harmless")
		ms := q.waitMessages(t, 1)
		time.Sleep(100 * time.Millisecond)
		for _, m := range q.messages() {
			if bytes.Contains(bytes.ToLower(m.Body), []byte("forbidden")) {
				t.Fatalf("blocked message reached a member: %+v", m)
			}
		}
		if ms[0].Seq != ok.Seq {
			t.Fatalf("pushed %d, want %d", ms[0].Seq, ok.Seq)
		}
		hist, _ := node.History(ctx, &pb.GetHistory{Conv: "g:pol", User: "q"})
		for _, m := range hist {
			if bytes.Contains(bytes.ToLower(m.Body), []byte("forbidden")) {
				t.Fatalf("blocked message stored: %+v", m)
			}
		}
	})

	t.Run("recall", func(t *testing.T) {
		mustCreateGroup(t, node, "g:rec", "owner", "adm", "mem", "other")
		if _, err := membership(node, t, "g:rec", "owner", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "adm"); err != nil {
			t.Fatal(err)
		}
		m1 := mustSend(t, node, "g:rec", "mem", "one")
		m2 := mustSend(t, node, "g:rec", "mem", "two")
		m3 := mustSend(t, node, "g:rec", "other", "three")
		ev, err := node.Recall(ctx, "g:rec", "mem", m1.Seq)
		if err != nil || ev <= m3.Seq {
			t.Fatalf("recall within the window: ev %d %v", ev, err)
		}
		_, err = node.Recall(ctx, "g:rec", "mem", m1.Seq)
		wantCode(t, err, pb.Code_INVALID, "recall twice")
		_, err = node.Recall(ctx, "g:rec", "other", m2.Seq)
		wantCode(t, err, pb.Code_FORBIDDEN, "recall by another member")
		time.Sleep(250 * time.Millisecond)
		_, err = node.Recall(ctx, "g:rec", "mem", m2.Seq)
		wantCode(t, err, pb.Code_RECALL_EXPIRED, "recall after the window")
		if _, err := node.Recall(ctx, "g:rec", "adm", m2.Seq); err != nil {
			t.Fatalf("recall by an admin after the window: %v", err)
		}
		if _, err := node.Recall(ctx, "g:rec", "owner", m3.Seq); err != nil {
			t.Fatalf("recall by the owner: %v", err)
		}
		hist, err := node.History(ctx, &pb.GetHistory{Conv: "g:rec", User: "other", OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		recalls := 0
		for _, m := range hist {
			switch {
			case m.Seq == m1.Seq || m.Seq == m2.Seq || m.Seq == m3.Seq:
				if !m.Recalled || len(m.Body) != 0 {
					t.Fatalf("seq %d not tombstoned: %+v", m.Seq, m)
				}
			case m.Kind == pb.MessageKind_RECALL:
				recalls++
			}
		}
		if recalls != 3 {
			t.Fatalf("%d recall events, want 3", recalls)
		}
		// Recalled messages never count as unread.
		eventually(t, func() error {
			s, err := node.Sync(ctx, "other", "d", 0, 0)
			if err != nil || s.TotalUnread != 0 {
				return fmt.Errorf("unread after recalls: %+v %v", s, err)
			}
			return nil
		})
		_, err = node.Recall(ctx, "g:rec", "mem", 999)
		wantCode(t, err, pb.Code_NOT_FOUND, "recall of a seq never assigned")
	})

	t.Run("membership", func(t *testing.T) {
		mustCreateGroup(t, node, "g:mg", "boss", "ad", "plain")
		if _, err := membership(node, t, "g:mg", "boss", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "ad"); err != nil {
			t.Fatal(err)
		}
		_, err := membership(node, t, "g:mg", "plain", pb.MembershipChange_ADD, pb.Role_MEMBER, "x")
		wantCode(t, err, pb.Code_FORBIDDEN, "non-admin add")
		_, err = membership(node, t, "g:mg", "ad", pb.MembershipChange_REMOVE, 0, "boss")
		wantCode(t, err, pb.Code_FORBIDDEN, "admin removes the owner")
		_, err = membership(node, t, "g:mg", "ad", pb.MembershipChange_SET_ROLE, pb.Role_ADMIN, "plain")
		wantCode(t, err, pb.Code_FORBIDDEN, "admin sets a role")
		_, err = membership(node, t, "g:mg", "plain", pb.MembershipChange_LEAVE, 0, "ad")
		wantCode(t, err, pb.Code_FORBIDDEN, "leave on behalf of another")
		_, err = membership(node, t, "g:mg", "outsider", pb.MembershipChange_LEAVE, 0)
		wantCode(t, err, pb.Code_NOT_MEMBER, "outsider leaves")

		before := mustSend(t, node, "g:mg", "boss", "before join")
		joined, err := membership(node, t, "g:mg", "ad", pb.MembershipChange_ADD, pb.Role_MEMBER, "late")
		if err != nil {
			t.Fatal(err)
		}
		after := mustSend(t, node, "g:mg", "boss", "after join")
		hist, err := node.History(ctx, &pb.GetHistory{Conv: "g:mg", User: "late", OldestFirst: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) == 0 || hist[0].Seq != joined || hist[len(hist)-1].Seq != after.Seq {
			t.Fatalf("late joiner's history %v, want %d..%d", seqs(hist), joined, after.Seq)
		}
		hist, _ = node.History(ctx, &pb.GetHistory{Conv: "g:mg", User: "late", FromSeq: 1, ToSeq: before.Seq})
		if len(hist) != 0 {
			t.Fatalf("late joiner sees earlier history: %v", seqs(hist))
		}
		// Unread of the late joiner counts only what it sees.
		eventually(t, func() error {
			s, err := node.Sync(ctx, "late", "d", 0, 0)
			if err != nil || s.TotalUnread != 1 {
				return fmt.Errorf("late joiner unread: %+v %v", s, err)
			}
			return nil
		})

		left, err := membership(node, t, "g:mg", "plain", pb.MembershipChange_LEAVE, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = send(ctx, node, "g:mg", "plain", "still here?")
		wantCode(t, err, pb.Code_NOT_MEMBER, "send after leaving")
		mustSend(t, node, "g:mg", "boss", "after leave")
		hist, err = node.History(ctx, &pb.GetHistory{Conv: "g:mg", User: "plain"})
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) == 0 || hist[0].Seq != left {
			t.Fatalf("left member's newest visible %v, want %d", seqs(hist), left)
		}
		eventually(t, func() error {
			s, err := node.Sync(ctx, "plain", "d", 0, 0)
			if err != nil {
				return err
			}
			for _, c := range s.Conversations {
				if c.Conv == "g:mg" && (c.LastSeq != left || c.Member) {
					return fmt.Errorf("left member's summary %+v, want last %d", c, left)
				}
			}
			return nil
		})

		if _, err := membership(node, t, "g:mg", "boss", pb.MembershipChange_MUTE, 0, "late"); err != nil {
			t.Fatal(err)
		}
		_, err = send(ctx, node, "g:mg", "late", "hello")
		wantCode(t, err, pb.Code_MUTED, "muted member sends")
		if _, err := membership(node, t, "g:mg", "boss", pb.MembershipChange_UNMUTE, 0, "late"); err != nil {
			t.Fatal(err)
		}
		mustSend(t, node, "g:mg", "late", "hello")

		_, err = membership(node, t, "g:mg", "boss", pb.MembershipChange_ADD, pb.Role_MEMBER, "a", "a")
		wantCode(t, err, pb.Code_INVALID, "user named twice")
		dm := wirepb.DirectConvID("d1", "d2")
		if _, err := node.SendDirect(ctx, "d2", &pb.SendMessage{Sender: "d1", Body: []byte("hi")}); err != nil {
			t.Fatal(err)
		}
		_, err = membership(node, t, dm, "d1", pb.MembershipChange_ADD, pb.Role_MEMBER, "d3")
		wantCode(t, err, pb.Code_FORBIDDEN, "add to a direct conversation")
	})

	t.Run("read cursor", func(t *testing.T) {
		mustCreateGroup(t, node, "g:rc", "w", "rd")
		for i := range 3 {
			mustSend(t, node, "g:rc", "w", fmt.Sprint("m", i))
		}
		other, _ := connect(t, node, "rd", "tablet")
		r, err := node.MarkRead(ctx, "rd", "phone", "g:rc", 3)
		if err != nil || r.ReadSeq != 3 || r.TotalUnread != 0 {
			t.Fatalf("read to 3: %+v %v", r, err)
		}
		r, err = node.MarkRead(ctx, "rd", "phone", "g:rc", 1)
		if err != nil || r.ReadSeq != 3 {
			t.Fatalf("read backwards moved the cursor: %+v %v", r, err)
		}
		r, err = node.MarkRead(ctx, "rd", "phone", "g:rc", 100)
		if err != nil || r.ReadSeq != 3 {
			t.Fatalf("read past the last seq: %+v %v", r, err)
		}
		// The user's other device hears of the read.
		deadline := time.Now().Add(5 * time.Second)
		for {
			other.mu.Lock()
			var got uint64
			for _, p := range other.pushes {
				if rd := p.GetRead(); rd != nil && rd.Conv == "g:rc" {
					got = rd.ReadSeq
				}
			}
			other.mu.Unlock()
			if got == 3 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("other device saw read %d", got)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("receipts", func(t *testing.T) {
		alice, _ := connect(t, node, "ra", "phone")
		res, err := node.SendDirect(ctx, "rb", &pb.SendMessage{Sender: "ra", Body: []byte("read me")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.MarkRead(ctx, "rb", "phone", wirepb.DirectConvID("ra", "rb"), res.Seq); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			alice.mu.Lock()
			found := false
			for _, p := range alice.pushes {
				if r := p.GetReceipt(); r != nil && r.Reader == "rb" && r.Seq == res.Seq {
					found = true
				}
			}
			alice.mu.Unlock()
			if found {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no read receipt reached the sender")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("bad ids", func(t *testing.T) {
		_, err := send(ctx, node, "bad id!", "a", "x")
		wantCode(t, err, pb.Code_INVALID, "bad conversation id")
		_, err = send(ctx, node, "g:body", "a b", "x")
		wantCode(t, err, pb.Code_INVALID, "bad user id")
		_, err = node.Sync(ctx, strings.Repeat("u", 65), "d", 0, 0)
		wantCode(t, err, pb.Code_INVALID, "user id too long")
		_, err = node.SendDirect(ctx, "same", &pb.SendMessage{Sender: "same", Body: []byte("x")})
		wantCode(t, err, pb.Code_INVALID, "direct to oneself")
		_, err = node.Send(ctx, &pb.SendMessage{Conv: "g:body", Sender: "a", ClientMsgId: strings.Repeat("c", 129), Body: []byte("x")})
		wantCode(t, err, pb.Code_INVALID, "client_msg_id too long")
		if _, err := node.Send(ctx, &pb.SendMessage{Conv: "g:body", Sender: "a", ClientMsgId: strings.Repeat("c", 128), Body: []byte("x")}); err != nil {
			t.Fatalf("client_msg_id of 128 bytes, the limit: %v", err)
		}
		// The store keys messages by client_msg_id: what it could not
		// key is refused at the grain, for a Go caller as for the wire.
		_, err = node.Send(ctx, &pb.SendMessage{Conv: "g:body", Sender: "a", ClientMsgId: "c\x00d", Body: []byte("x")})
		wantCode(t, err, pb.Code_INVALID, "client_msg_id with a NUL")
		_, err = node.Send(ctx, &pb.SendMessage{Conv: "g:body", Sender: "a", ClientMsgId: "c\xffd", Body: []byte("x")})
		wantCode(t, err, pb.Code_INVALID, "client_msg_id not UTF-8")
		_, err = node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:kind", Kind: 9, Creator: "a"})
		wantCode(t, err, pb.Code_INVALID, "bad kind")
		_, err = node.CreateConversation(ctx, &pb.CreateConversation{Conv: "g:body", Kind: pb.ConvKind_GROUP, Creator: "a"})
		wantCode(t, err, pb.Code_EXISTS, "create twice")
		_, err = send(ctx, node, "g:nosuch", "a", "x")
		wantCode(t, err, pb.Code_NOT_FOUND, "send to no conversation")
		_, err = send(ctx, node, "nosuch", "a", "x")
		wantCode(t, err, pb.Code_INVALID, "conversation id in no namespace")
	})
}

func seqs(ms []*pb.Message) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}

// TestDeviceCaps: devices online and devices known per user are capped, a
// device unseen for DeviceExpiry stops counting, and one node holds at
// most MaxOnlineDevices sessions of a user.
func TestDeviceCaps(t *testing.T) {
	node := startCluster(t, 1, openStore(t), actors.Config{MaxOnlineDevices: 2, MaxDevices: 3, DeviceExpiry: 3 * time.Second})[0]
	try := func(dev string) (session.Session, error) {
		return node.Connect(tctx(t), "capped", dev, &device{got: make(chan struct{}, 1)})
	}
	must := func(dev string) session.Session {
		t.Helper()
		s, err := try(dev)
		if err != nil {
			t.Fatalf("connect %s: %v", dev, err)
		}
		return s
	}
	d1 := must("d1")
	d2 := must("d2")
	_, err := try("d3")
	wantCode(t, err, pb.Code_TOO_MANY, "third device online")
	d2.Close()
	d3 := must("d3") // d1, d2, d3 known: the edge of MaxDevices
	d3.Close()
	_, err = try("d4")
	wantCode(t, err, pb.Code_TOO_MANY, "fourth device known")
	time.Sleep(3500 * time.Millisecond) // d2 and d3 expire; d1 is online and stays
	d4 := must("d4")
	_, err = try("d1") // d1 a second time: a third session of the user on this node
	wantCode(t, err, pb.Code_TOO_MANY, "third session on one node")
	d1.Close()
	d4.Close()
}
