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
}

// CreateInvite creates an invite to the group conv (its owners and
// admins): valid for ttl (0: the node's default, 7 days) and for at most
// maxUses joins (0: any number). code is what others join with
// (JoinGroup); the node answers it once and keeps only a hash of it.
func (c *Client) CreateInvite(ctx context.Context, conv string, ttl time.Duration, maxUses uint32) (code, id string, err error) {
	r, err := c.groupInvite(ctx, &wirepb.GroupInviteRequest{Conv: conv, Create: true, TtlMs: ttl.Milliseconds(), MaxUses: maxUses})
	if err != nil {
		return "", "", err
	}
	return r.GetCode(), r.GetId(), nil
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
			Expires: time.UnixMilli(i.GetExpiresMs()), MaxUses: i.GetMaxUses(), Uses: i.GetUses()})
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

// JoinGroup joins the group an invite code names, as a member; already:
// the user was a member (nothing changed). An unknown, revoked, expired or
// used-up code is NOT_FOUND; a user the group's managers removed,
// FORBIDDEN.
func (c *Client) JoinGroup(ctx context.Context, code string) (conv string, already bool, err error) {
	res, err := c.do(ctx, &wirepb.Request{Op: &wirepb.Request_JoinGroup{JoinGroup: &wirepb.JoinGroupRequest{Code: code}}})
	if err != nil {
		return "", false, err
	}
	r := res.GetJoinGroup()
	return r.GetConv(), r.GetAlready(), nil
}
