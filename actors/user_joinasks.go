package actors

import (
	"context"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// A user's requests to join groups (with invites that need approval) live
// in the groups' settings, where nothing names the user's side. The user
// grain keeps a row of the groups they asked to join, pruned to those whose
// requests may still wait (Config.JoinRequestTTL) and to the newest
// maxJoinAsks, so an erasure drops the requests, and the notes in them.

// maxJoinAsks bounds a user's row of requests to join.
const maxJoinAsks = 200

func joinAsksKey(user string) string { return "user/joinasks/" + user }

// recordJoinAsk adds m.Conv to the user's row, once, as its newest.
func (u *user) recordJoinAsk(ctx actor.Context, m *pb.RecordJoinAsk) {
	bg := context.Background()
	l, e := loadRow[pb.JoinAsks](bg, u.rt.store, joinAsksKey(u.id))
	if e != nil {
		respond(ctx, ctx.Sender(), &pb.Ack{Error: e})
		return
	}
	now := time.Now().UnixMilli()
	since := now - u.rt.cfg.JoinRequestTTL.Milliseconds()
	l.Asks = slices.DeleteFunc(l.Asks, func(a *pb.JoinAsk) bool { return a.Conv == m.Conv || a.AtMs < since })
	l.Asks = append(l.Asks, &pb.JoinAsk{Conv: m.Conv, AtMs: now})
	if extra := len(l.Asks) - maxJoinAsks; extra > 0 {
		l.Asks = l.Asks[extra:]
	}
	var err *pb.Error
	if e := saveRow(bg, u.rt.store, joinAsksKey(u.id), l); e != nil {
		err = storeErr(e)
	}
	respond(ctx, ctx.Sender(), &pb.Ack{Error: err})
}

// dropJoinRequests drops every request to join user may still have
// waiting, then their row (an erasure; idempotent).
func (n *Runtime) dropJoinRequests(ctx context.Context, user string) error {
	l, e := loadRow[pb.JoinAsks](ctx, n.store, joinAsksKey(user))
	if e != nil {
		return fromPB(e)
	}
	for _, a := range l.Asks {
		res, err := n.request(ctx, KindConversation, a.Conv, &pb.DropJoinRequest{Conv: a.Conv, User: user})
		if err != nil {
			return err
		}
		if err := fromPB(res.(*pb.Ack).Error); err != nil && CodeOf(err) != pb.Code_NOT_FOUND {
			return err
		}
	}
	return saveRow(ctx, n.store, joinAsksKey(user), &pb.JoinAsks{})
}

// dropJoinRequest drops m.User's waiting request, if any.
func (c *conversation) dropJoinRequest(ctx actor.Context, m *pb.DropJoinRequest) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) { respond(ctx, sender, &pb.Ack{Error: e}) }
	if !c.ready(reply) {
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err))
		return
	}
	i := slices.IndexFunc(s.JoinRequests, func(r storedJoinRequest) bool { return r.User == m.User })
	if i < 0 {
		reply(nil)
		return
	}
	next := *s
	next.JoinRequests = slices.Delete(slices.Clone(s.JoinRequests), i, i+1)
	if err = c.saveSettings(&next); err != nil {
		reply(storeErr(err))
		return
	}
	c.tellManagers(nil)
	reply(nil)
}
