package actors

import (
	"context"
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Clearing a conversation for oneself ("delete chat" on a phone): the
// member row's ClearedSeq, which storage.Member.Sees reads, so every path
// that shows a member messages (history, search, sync, files, replies,
// reactions, votes) stops at it for them alone. It never moves back; a
// message after it shows as usual. A member who left may clear what they
// still see.

// clearHistory sets the member's ClearedSeq and tells their user grain
// (a membership notice, pushed to each of their devices).
func (c *conversation) clearHistory(ctx actor.Context, m *pb.ClearHistory) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, seq uint64) {
		respond(ctx, sender, &pb.ClearHistoryResponse{Error: e, ClearedSeq: seq})
	}
	if !c.ready(func(e *pb.Error) { reply(e, 0) }) {
		return
	}
	mem := c.members[m.User]
	if e := authorize(c.kind, c.id, m.User, mem, ActPin); e != nil {
		reply(e, 0)
		return
	}
	seq := c.durable
	if m.Seq != 0 {
		seq = min(m.Seq, seq)
	}
	if !mem.Active() {
		seq = min(seq, mem.LeftSeq)
	}
	if seq <= mem.ClearedSeq {
		reply(nil, mem.ClearedSeq)
		return
	}
	next := *mem
	next.ClearedSeq = seq
	next.Hidden = dropHiddenThrough(mem.Hidden, seq)
	if err := c.rt.store.PutMember(context.Background(), next); err != nil {
		reply(storeErr(err), 0)
		return
	}
	c.members[m.User] = &next
	c.fanout.notice(c.noticeFor(m.User))
	reply(nil, seq)
}

// ClearHistory clears conv for user up to seq (0: all of it), then reads
// it up to there (device, may be empty, gets no read push for it). It
// answers the member's cleared seq and their total unread.
func (n *Runtime) ClearHistory(ctx context.Context, user, device, conv string, seq uint64) (cleared, totalUnread uint64, err error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return 0, 0, err
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.ClearHistory{Conv: conv, User: user, Seq: seq})
	if err != nil {
		return 0, 0, err
	}
	r := res.(*pb.ClearHistoryResponse)
	if err := fromPB(r.Error); err != nil {
		return 0, 0, err
	}
	read, err := n.MarkRead(ctx, user, device, conv, r.ClearedSeq)
	if err != nil {
		return r.ClearedSeq, 0, err
	}
	return r.ClearedSeq, read.TotalUnread, nil
}
