package actors

import (
	"context"
	"slices"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// What the conversation tells user grains: its state and unread counts for
// read fan-out groups, and read receipts.

// state answers a user grain's question about this conversation, with the
// unread count for read fan-out groups computed from the read cursor.
func (c *conversation) state(ctx actor.Context, m *pb.ConvState) {
	sender := ctx.Sender()
	if !c.ready(func(e *pb.Error) { respond(ctx, sender, &pb.ConvStateResponse{Error: e}) }) {
		return
	}
	mem := c.members[m.User]
	if mem == nil {
		respond(ctx, sender, &pb.ConvStateResponse{Error: pbErr(pb.Code_NOT_MEMBER, "%s is not a member of %s", m.User, c.id)})
		return
	}
	last := c.durable
	if !mem.Active() {
		last = min(last, mem.LeftSeq) // a member that left sees nothing after
	}
	shown := c.shownSettings()
	res := &pb.ConvStateResponse{Kind: convKindToPB(c.kind), LastSeq: last, Member: toPBMember(*mem), MemberCount: uint32(c.active), Title: c.title(), PictureId: c.pictureID(),
		Frozen: shown.Frozen.at(c.rt.cfg.Now()).toPB(), Meta: shown.Meta}
	if c.lastMsg != nil && c.lastMsg.Seq <= last && mem.Sees(c.lastMsg.Seq) {
		res.LastMessage = listed(readable(c.lastMsg, c.rt.contentClock(c.id)))
	}
	from := max(m.ReadSeq+1, mem.VisibleFrom(), 1)
	if last >= from {
		c.extendNoncount(from)
		lo := sort.Search(len(c.noncount), func(i int) bool { return c.noncount[i] >= from })
		hi := sort.Search(len(c.noncount), func(i int) bool { return c.noncount[i] > last })
		res.Unread = last - from + 1 - uint64(hi-lo)
		for _, seq := range mem.Hidden { // deleted for the member: no longer unread
			if _, noncount := slices.BinarySearch(c.noncount[lo:hi], seq); seq >= from && seq <= last && !noncount && res.Unread > 0 {
				res.Unread--
			}
		}
		res.UnreadMentions = c.unreadMentions(mem, from, last)
	}
	respond(ctx, sender, res)
}

// extendNoncount makes noncount cover seqs from `from` on, reading the
// older part of the log once per activation (bounded by maxUnreadScan per
// call; past it older system messages count, as the count saturates).
func (c *conversation) extendNoncount(from uint64) {
	if from >= c.noncountFrom {
		return
	}
	from = max(from, c.noncountFrom-min(c.noncountFrom-1, maxUnreadScan))
	bg, cancel := context.WithTimeout(context.Background(), c.rt.cfg.RequestTimeout)
	defer cancel()
	for next := from; next < c.noncountFrom; {
		page, err := c.rt.store.ListMessages(bg, c.id, next, c.noncountFrom-1, storage.OldestFirst, 1000)
		if err != nil {
			c.log.Warn("load older log for unread counts", "err", err)
			return
		}
		for i := range page {
			if !isNews(page[i].Kind, page[i].RefSeq, page[i].Recalled(), page[i].Body) {
				c.addNoncount(page[i].Seq)
			}
			c.noteMentions(&page[i])
		}
		if len(page) < 1000 {
			break
		}
		next = page[len(page)-1].Seq + 1
	}
	c.noncountFrom = from
}

// readBy turns a read in a direct or service conversation into receipts to
// the other members.
func (c *conversation) readBy(m *pb.ReadBy) {
	if !c.exists || c.fenced || (c.kind != storage.KindDirect && c.kind != storage.KindService) {
		return
	}
	if mem := c.members[m.User]; mem == nil || !mem.Sees(m.Seq) {
		return
	}
	for user, mem := range c.members {
		if user != m.User && mem.Active() {
			c.fanout.receipt(user, &pb.ReadReceipt{Conv: c.id, Reader: m.User, Seq: m.Seq})
		}
	}
}

// respond answers a request; a nil sender (a fire-and-forget Send) gets
// nothing.
func respond(ctx actor.Context, to *actor.PID, msg any) {
	if to != nil {
		ctx.Send(to, msg)
	}
}
