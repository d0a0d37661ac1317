package transport

import (
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// TestRequestLimitsAtTheirEdge: each request limit lets a request at the
// limit through and refuses one past it as INVALID, at the defaults and at
// limits of its own (so a limit that ignored its configuration fails).
func TestRequestLimitsAtTheirEdge(t *testing.T) {
	users := func(n int) []string {
		u := make([]string, n)
		for i := range u {
			u[i] = fmt.Sprintf("u%d", i)
		}
		return u
	}
	cases := []struct {
		name  string
		limit func(RequestLimits) int
		req   func(n int) *wirepb.Request
	}{
		{"client_msg_id", func(l RequestLimits) int { return l.MaxClientMsgID }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:x", ClientMsgId: strings.Repeat("c", n), Body: []byte("hi")}}}
		}},
		{"after_client_msg_id", func(l RequestLimits) int { return l.MaxClientMsgID }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:x", ClientMsgId: "c", AfterClientMsgId: strings.Repeat("a", n), Body: []byte("hi")}}}
		}},
		{"ack seqs", func(l RequestLimits) int { return l.MaxAckSeqs }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_Ack{Ack: &wirepb.AckRequest{InboxSeqs: make([]uint64, n)}}}
		}},
		{"group members", func(l RequestLimits) int { return l.MaxListUsers }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Members: users(n)}}}
		}},
		{"membership users", func(l RequestLimits) int { return l.MaxListUsers }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_Membership{Membership: &wirepb.MembershipRequest{Conv: "g:team", Op: wirepb.MembershipRequest_ADD, Users: users(n)}}}
		}},
		{"group members with roles", func(l RequestLimits) int { return l.MaxListUsers }, func(n int) *wirepb.Request {
			roles := []*wirepb.Member{{User: "owner", Role: wirepb.Role_ADMIN}}
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Members: users(n - 1), Roles: roles}}}
		}},
		{"mentions", func(l RequestLimits) int { return l.MaxListUsers }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{Conv: "g:x", ClientMsgId: "c", Body: []byte("hi"), Mentions: users(n)}}}
		}},
		{"title", func(l RequestLimits) int { return l.MaxTitle }, func(n int) *wirepb.Request {
			return &wirepb.Request{Id: 1, Op: &wirepb.Request_CreateGroup{CreateGroup: &wirepb.CreateGroupRequest{Title: strings.Repeat("t", n)}}}
		}},
	}
	for _, lim := range []RequestLimits{DefaultRequestLimits(), {MaxClientMsgID: 3, MaxAckSeqs: 4, MaxListUsers: 5, MaxTitle: 6}} {
		for _, c := range cases {
			n := c.limit(lim)
			if _, err := decodeRequest(marshal(c.req(n)), lim); err != nil {
				t.Errorf("%s: %d at limit %d refused: %v", c.name, n, n, err)
			}
			_, err := decodeRequest(marshal(c.req(n+1)), lim)
			if wirepb.CodeOf(err) != wirepb.Code_INVALID || !strings.Contains(err.Error(), fmt.Sprintf("limit %d", n)) {
				t.Errorf("%s: %d over limit %d: %v, want INVALID naming the limit", c.name, n+1, n, err)
			}
		}
	}
	if got := (RequestLimits{MaxTitle: 7}).withDefaults(); got.MaxTitle != 7 || got.MaxListUsers != DefaultRequestLimits().MaxListUsers {
		t.Errorf("withDefaults: %+v", got)
	}
}

// TestOpNames: metrics and logs name an operation by its field in the
// Request oneof, and a request without one is "unknown".
func TestOpNames(t *testing.T) {
	for _, tc := range []struct {
		req  *wirepb.Request
		want string
	}{
		{&wirepb.Request{Op: &wirepb.Request_Send{Send: &wirepb.SendRequest{}}}, "send"},
		{&wirepb.Request{Op: &wirepb.Request_MarkRead{MarkRead: &wirepb.MarkReadRequest{}}}, "mark_read"},
		{&wirepb.Request{Op: &wirepb.Request_DeskSession{DeskSession: &wirepb.DeskSessionRequest{}}}, "desk_session"},
		{&wirepb.Request{Id: 7}, "unknown"},
	} {
		if got := opName(tc.req); got != tc.want {
			t.Errorf("opName(%v) = %q, want %q", tc.req, got, tc.want)
		}
	}
}
