package actors

import (
	"context"
	"errors"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Deleting messages for oneself ("delete for me"): the member row's
// Hidden seqs, which storage.Member.Sees reads as it reads ClearedSeq, so
// every path that shows a member a message (history, search, sync's last
// message, files, replies, reactions, stars) leaves those out for them
// alone. History and search also leave out the rows that only refer to a
// hidden message (its edits, reactions, votes, recall). The set is
// bounded by Config.MaxHiddenMessages per member and conversation; past
// it, clearing the conversation is the way, and a clear drops the seqs it
// covers from the set.

// MaxHideSeqs is the most seqs one hide request names.
const MaxHideSeqs = 100

// Hide deletes the messages at seqs of conv for user alone, or with
// unhide shows them again, and answers the user's hidden seqs after. A
// seq must name a message of its own (a text, file, card, poll or system
// note: not an edit, a reaction, a vote or a recall, INVALID) that the
// user sees (else NOT_FOUND); unhiding a seq not hidden does nothing.
// Every device of the user gets a membership push with the set.
func (n *Runtime) Hide(ctx context.Context, user, conv string, seqs []uint64, unhide bool) ([]uint64, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, err
	}
	if len(seqs) == 0 || len(seqs) > MaxHideSeqs {
		return nil, invalid("%d seqs: want 1–%d", len(seqs), MaxHideSeqs)
	}
	seqs = slices.Clone(seqs)
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	if seqs[0] == 0 {
		return nil, invalid("seq 0: messages start at 1")
	}
	if !unhide {
		mem, err := n.authorize(ctx, conv, user, ActPin)
		if err != nil {
			return nil, err
		}
		for _, seq := range seqs {
			if err := n.checkHideable(ctx, mem, conv, seq); err != nil {
				return nil, err
			}
		}
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.HideMessages{Conv: conv, User: user, Seqs: seqs, Unhide: unhide})
	if err != nil {
		return nil, err
	}
	r := res.(*pb.HideMessagesResponse)
	return r.Hidden, fromPB(r.Error)
}

// checkHideable reads the message at seq (outside the grain: a store
// read per seq) and refuses what is no message of its own.
func (n *Runtime) checkHideable(ctx context.Context, mem *storage.Member, conv string, seq uint64) error {
	if !mem.Sees(seq) && !mem.Hides(seq) {
		return fromPB(pbErr(pb.Code_NOT_FOUND, "message %d of %s: not one you see", seq, conv))
	}
	m, err := n.store.GetMessage(ctx, conv, seq)
	if err != nil {
		return fromPB(storeErr(err))
	}
	switch {
	case m.Gap():
		return fromPB(pbErr(pb.Code_NOT_FOUND, "message %d of %s: none was written", seq, conv))
	case m.Kind == storage.MsgSystem, m.Kind.Content() && m.RefSeq == 0:
		return nil
	}
	return invalid("seq %d of %s is an edit, a reaction, a vote or a recall: hide the message it refers to", seq, conv)
}

// hideMessages changes the member's hidden set and tells their user
// grain (a membership notice, pushed to each of their devices).
func (c *conversation) hideMessages(ctx actor.Context, m *pb.HideMessages) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, hidden []uint64) {
		respond(ctx, sender, &pb.HideMessagesResponse{Error: e, Hidden: hidden})
	}
	if !c.ready(func(e *pb.Error) { reply(e, nil) }) {
		return
	}
	mem := c.members[m.User]
	if e := authorize(c.kind, c.id, m.User, mem, ActPin); e != nil {
		reply(e, nil)
		return
	}
	hidden := slices.Clone(mem.Hidden)
	for _, seq := range m.Seqs {
		i, found := slices.BinarySearch(hidden, seq)
		switch {
		case m.Unhide && found:
			hidden = slices.Delete(hidden, i, i+1)
		case m.Unhide || found:
		case seq > c.durable || !mem.Sees(seq):
			reply(pbErr(pb.Code_NOT_FOUND, "message %d of %s: not one you see", seq, c.id), mem.Hidden)
			return
		default:
			hidden = slices.Insert(hidden, i, seq)
		}
	}
	if len(hidden) > c.rt.cfg.MaxHiddenMessages && len(hidden) > len(mem.Hidden) {
		reply(pbErr(pb.Code_TOO_MANY, "%d messages deleted for you in %s, limit %d: clear the conversation instead",
			len(hidden), c.id, c.rt.cfg.MaxHiddenMessages), mem.Hidden)
		return
	}
	if slices.Equal(hidden, mem.Hidden) {
		reply(nil, mem.Hidden)
		return
	}
	next := *mem
	next.Hidden = hidden
	if len(next.Hidden) == 0 {
		next.Hidden = nil
	}
	if err := c.rt.store.PutMember(context.Background(), next); err != nil {
		reply(storeErr(err), mem.Hidden)
		return
	}
	c.members[m.User] = &next
	c.fanout.notice(c.noticeFor(m.User))
	reply(nil, next.Hidden)
}

// dropHiddenThrough takes the seqs up to through out of a hidden set (a
// clear covers them now); it never changes hidden in place.
func dropHiddenThrough(hidden []uint64, through uint64) []uint64 {
	i, _ := slices.BinarySearch(hidden, through+1)
	if i == 0 {
		return hidden
	}
	if i == len(hidden) {
		return nil
	}
	return slices.Clone(hidden[i:])
}
