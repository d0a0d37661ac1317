package actors

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// deskEvent appends a desk step to a service conversation: the membership
// change it implies and one system message with the desk's body, at one
// seq. Unlike MembershipChange it skips the role rules: the desk grains,
// not a member, decide who answers the customer.
func (c *conversation) deskEvent(ctx actor.Context, m *pb.DeskEvent) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, seq uint64) { respond(ctx, sender, &pb.DeskEventResponse{Error: e, Seq: seq}) }
	if !c.ready(func(e *pb.Error) { reply(e, 0) }) {
		return
	}
	switch {
	case c.kind != storage.KindService:
		reply(pbErr(pb.Code_INVALID, "%s is not a service conversation", c.id), 0)
		return
	case len(m.Body) == 0 || len(m.Body) > c.rt.cfg.MaxBodyBytes:
		reply(pbErr(pb.Code_INVALID, "desk event body is %d bytes, want 1..%d", len(m.Body), c.rt.cfg.MaxBodyBytes), 0)
		return
	case len(m.AddAgents)+len(m.AddMembers)+len(m.Remove) > 16:
		reply(pbErr(pb.Code_INVALID, "a desk event changes at most 16 members"), 0)
		return
	}
	seq := c.lastSeq + 1
	if e := c.reserveFor(ctx, seq); e != nil {
		reply(e, 0)
		return
	}
	now := time.Now()
	var changed []storage.Member
	join := func(users []string, role storage.Role) {
		for _, u := range users {
			if old := c.members[u]; old != nil && old.Active() && old.Role == role {
				continue
			}
			changed = append(changed, storage.Member{ConvID: c.id, UserID: u, Role: role, JoinedSeq: seq, JoinedAt: now})
		}
	}
	join(m.AddAgents, storage.RoleAgent)
	join(m.AddMembers, storage.RoleMember)
	for _, u := range m.Remove {
		if old := c.members[u]; old != nil && old.Active() {
			mem := *old
			mem.LeftSeq = seq
			changed = append(changed, mem)
		}
	}
	if len(changed)+c.active > c.rt.cfg.MaxGroupMembers {
		reply(pbErr(pb.Code_GROUP_FULL, "limit %d members", c.rt.cfg.MaxGroupMembers), 0)
		return
	}
	if err := c.putMembers(context.Background(), changed); err != nil {
		reply(storeErr(err), 0)
		return
	}
	wasLarge := c.large()
	for _, mem := range changed {
		c.addMember(mem)
	}
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: m.Body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) {
		reply(e, ev.Seq)
		if e != nil {
			return
		}
		for _, mem := range changed {
			if c.large() || wasLarge || !mem.Active() {
				c.fanout.notice(c.noticeFor(mem.UserID))
			}
		}
	})
}
