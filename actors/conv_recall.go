package actors

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Recall: tombstone the target, then append a recall event with its own seq.

func (c *conversation) recall(ctx actor.Context, m *pb.RecallMessage) {
	sender := ctx.Sender()
	reply := func(e *pb.Error) { respond(ctx, sender, &pb.RecallResponse{Error: e}) }
	if !c.ready(reply) {
		return
	}
	mem := c.members[m.User]
	if m.ByOperator {
		// The operator is no member: it sees every message.
		mem = &storage.Member{ConvID: c.id, UserID: OperatorSender, Role: storage.RoleOwner}
	} else if e := authorize(c.kind, c.id, m.User, mem, ActRecallOwn); e != nil {
		reply(e)
		return
	}
	if m.Seq == 0 || m.Seq > c.durable || !mem.Sees(m.Seq) {
		reply(pbErr(pb.Code_NOT_FOUND, "no message %d in %s", m.Seq, c.id))
		return
	}
	bg := context.Background()
	target, err := c.rt.store.GetMessage(bg, c.id, m.Seq)
	if err != nil {
		reply(storeErr(err))
		return
	}
	privileged := m.ByOperator || Allowed(c.kind, StandingOf(mem), ActRecallAny)
	switch {
	case !target.Kind.Content():
		reply(pbErr(pb.Code_INVALID, "message %d is not a user message", m.Seq))
		return
	case target.Edit():
		reply(pbErr(pb.Code_INVALID, "message %d is an edit: recall the message it edits (%d)", m.Seq, target.RefSeq))
		return
	case target.RefSeq != 0:
		reply(pbErr(pb.Code_INVALID, "message %d is a card update or a poll's close: recall the card or poll (%d)", m.Seq, target.RefSeq))
		return
	case target.Recalled() && (c.recallEvents[m.Seq] || m.Seq < c.noncountFrom):
		reply(pbErr(pb.Code_INVALID, "message %d is already recalled", m.Seq))
		return
	case target.Sender != m.User && !privileged:
		reply(pbErr(pb.Code_FORBIDDEN, "only the sender or a group owner/admin may recall message %d", m.Seq))
		return
	case target.Sender == m.User && !privileged && time.Since(target.ServerTS) > c.rt.cfg.RecallWindow:
		reply(pbErr(pb.Code_RECALL_EXPIRED, "message %d is older than the %s recall limit", m.Seq, c.rt.cfg.RecallWindow))
		return
	}
	if d, ok := c.dedupe[dedupeKey{target.Sender, target.ClientMsgID}]; ok && d.adopting && d.seq == m.Seq {
		// Its adoption rewrites the row as it read it (conv_write.go,
		// adopt): a tombstone written meanwhile could be undone.
		reply(pbErr(pb.Code_RETRY, "message %d is being confirmed; retry", m.Seq))
		return
	}
	if c.editing[m.Seq] > 0 {
		reply(pbErr(pb.Code_RETRY, "an edit or update of message %d is being stored; retry", m.Seq))
		return
	}
	// Tombstone first (its edits or card updates, then it): if we crash
	// before the recall event is durable the caller retries, the
	// tombstones are idempotent, and a tombstoned message without a known
	// recall event (checked above) gets its event then.
	if err := c.tombstoneRevisions(bg, target); err != nil {
		reply(storeErr(err))
		return
	}
	if target.Media.ID != "" {
		// Its file goes with it (a takedown, an erasure): an upload is
		// attached to one message only (attachment).
		if err := c.rt.store.DeleteMedia(bg, c.id, target.Media.ID); err != nil {
			reply(storeErr(err))
			return
		}
	}
	if err := c.rt.store.TombstoneMessage(bg, c.id, m.Seq); err != nil {
		reply(storeErr(err))
		return
	}
	if target.Kind == storage.MsgPoll && target.RefSeq == 0 {
		delete(c.polls, m.Seq) // no snapshot of it written again
		if err := purgePollSnapshot(bg, c.rt.store, c.id, m.Seq); err != nil {
			reply(storeErr(err))
			return
		}
	}
	c.unpinRecalled(m.Seq)
	now := time.Now()
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.User, SenderRole: senderRole(mem.Role),
		Kind: storage.MsgRecall, RefSeq: m.Seq, ServerTS: now}
	if m.ByOperator {
		ev.Sender, ev.SenderRole = OperatorSender, storage.SenderSystem
	}
	if c.enqueue(ctx, &ev, func(e *pb.Error) {
		respond(ctx, sender, &pb.RecallResponse{Error: e, Seq: ev.Seq})
	}) {
		c.recallEvents[m.Seq] = true // a second recall meanwhile is refused
	}
}
