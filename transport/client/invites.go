package client

import (
	"context"
	"time"

	"github.com/switchboard-im/switchboard/transport/wirepb"
)

// GroupInvite is a live invite to a group, as its owners and admins see
// it (never its code).
type GroupInvite struct {
	ID      string    `json:"id"`
	By      string    `json:"by"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	MaxUses uint32    `json:"max_uses,omitempty"` // 0: any number
	Uses    uint32    `json:"uses"`
	// Approval: a join with the code asks the group's owners and admins
	// (JoinRequests, ApproveJoin, DeclineJoin); Uses counts approvals.
	Approval bool `json:"approval,omitempty"`
}

// JoinRequest is a user who asked to join with an approval invite and
// waits for the group's owners and admins.
type JoinRequest struct {
	User    string    `json:"user"`
	Name    string    `json:"name,omitempty"` // their display name (empty: none set)
	At      time.Time `json:"at"`
	Invite  string    `json:"invite"`         // the invite's id
	Expires time.Time `json:"expires"`        // dropped unanswered then
	Note    string    `json:"note,omitempty"` // their words to the managers (AskToJoin)
}

// CreateInvite creates an invite to the group conv (its owners and
// admins): valid for ttl (0: the node's default, 7 days) and for at most
// maxUses joins (0: any number). code is what others join with
// (JoinGroup); the node answers it once and keeps only a hash of it.
func (c *Client) CreateInvite(ctx context.Context, conv string, ttl time.Duration, maxUses uint32) (code, id string, err error) {
	return c.createInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv, Create: true, TtlMs: ttl.Milliseconds(), MaxUses: maxUses})
}

// CreateApprovalInvite creates an invite whose joins wait for the group's
// owners and admins to approve them (a class code the teacher checks): a
// JoinGroup with its code answers Pending, and the managers get
// EventJoinRequests. maxUses bounds the approvals (0: any number).
func (c *Client) CreateApprovalInvite(ctx context.Context, conv string, ttl time.Duration, maxUses uint32) (code, id string, err error) {
	return c.createInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv, Create: true, TtlMs: ttl.Milliseconds(), MaxUses: maxUses,
		Approval: true})
}

func (c *Client) createInvite(ctx context.Context, req *wirepb.GroupInviteRequest) (code, id string, err error) {
	r, err := c.groupInvite(ctx, req)
	if err != nil {
		return "", "", err
	}
	return r.GetCode(), r.GetId(), nil
}

// JoinRequests lists the requests to join the group conv that wait for
// its owners and admins, oldest first (theirs alone: FORBIDDEN for
// anyone else).
func (c *Client) JoinRequests(ctx context.Context, conv string) ([]JoinRequest, error) {
	r, err := c.groupInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv})
	if err != nil {
		return nil, err
	}
	out := make([]JoinRequest, 0, len(r.GetRequests()))
	for _, q := range r.GetRequests() {
		out = append(out, JoinRequest{User: q.GetUser(), Name: q.GetName(), At: time.UnixMilli(q.GetAtMs()), Invite: q.GetInvite(),
			Expires: time.UnixMilli(q.GetExpiresMs()), Note: q.GetNote()})
	}
	return out, nil
}

// ApproveJoin admits users, who asked to join conv, as members: one
// system message {"op":"approve"}, and seq is it (0: they were members
// already). A user without a waiting request: NOT_FOUND.
func (c *Client) ApproveJoin(ctx context.Context, conv string, users ...string) (seq uint64, err error) {
	return c.membership(ctx, conv, wirepb.MembershipRequest_APPROVE, users, wirepb.Role_MEMBER)
}

// DeclineJoin drops the requests of users to join conv; they are not told.
func (c *Client) DeclineJoin(ctx context.Context, conv string, users ...string) error {
	_, err := c.membership(ctx, conv, wirepb.MembershipRequest_DECLINE, users, wirepb.Role_MEMBER)
	return err
}

// Invites lists the group's live invites, oldest first.
func (c *Client) Invites(ctx context.Context, conv string) ([]GroupInvite, error) {
	r, err := c.groupInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv})
	if err != nil {
		return nil, err
	}
	out := make([]GroupInvite, 0, len(r.GetInvites()))
	for _, i := range r.GetInvites() {
		out = append(out, GroupInvite{ID: i.GetId(), By: i.GetBy(), Created: time.UnixMilli(i.GetCreatedMs()),
			Expires: time.UnixMilli(i.GetExpiresMs()), MaxUses: i.GetMaxUses(), Uses: i.GetUses(), Approval: i.GetApproval()})
	}
	return out, nil
}

// RevokeInvite ends the invite id: its code no longer lets anyone join.
func (c *Client) RevokeInvite(ctx context.Context, conv, id string) error {
	_, err := c.groupInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv, Revoke: id})
	return err
}

func (c *Client) groupInvite(ctx context.Context, req *wirepb.GroupInviteRequest) (*wirepb.GroupInviteResult, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_GroupInvite{GroupInvite: req}})
	if err != nil {
		return nil, err
	}
	return res.GetGroupInvite(), nil
}

// Joined is how a JoinGroup went.
type Joined struct {
	Conv    string
	Already bool // the user was a member: nothing changed
	// Pending: the invite needs approval; the request waits for the
	// group's owners and admins, and once approved the group arrives as
	// after any add (its approval message first)
	Pending bool
}

// JoinGroup joins the group an invite code names, as a member, or asks
// to (Pending). An unknown, revoked, expired or used-up code is NOT_FOUND;
// a user the group's managers removed, FORBIDDEN; too many requests
// waiting, TOO_MANY.
func (c *Client) JoinGroup(ctx context.Context, code string) (Joined, error) {
	return c.AskToJoin(ctx, code, "")
}

// AskToJoin is JoinGroup with a note for the group's managers when the
// invite needs approval ("I'm Sam's father"; at most the node's
// --max-join-note-bytes, 200, of text: TOO_LARGE, INVALID). Asking again
// while the request waits replaces the note.
func (c *Client) AskToJoin(ctx context.Context, code, note string) (Joined, error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_JoinGroup{JoinGroup: &wirepb.JoinGroupRequest{Code: code, Note: note}}})
	if err != nil {
		return Joined{}, err
	}
	r := res.GetJoinGroup()
	return Joined{Conv: r.GetConv(), Already: r.GetAlready(), Pending: r.GetPending()}, nil
}
