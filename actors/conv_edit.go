package actors

import (
	"context"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Edits. An edit is a user's message with RefSeq set: the new text of the
// sender's earlier message at RefSeq, appended with its own seq like a
// card update, so every device learns of it by the same push and sync as
// any message, and the log keeps what was said before (a desk's record).
// It counts as no unread, is nobody's offline notification, does not
// reopen a closed desk session, and the metrics read it as a correction
// (storage.Message.Edit). Clients show the original with the newest
// edit's text. A recall of the original tombstones its edits too.

// checkEdit checks an edit: it names the sender's own text message (not
// an edit, not recalled, within what the sender sees now) sent within the
// edit window.
func (c *conversation) checkEdit(m *pb.SendMessage) *pb.Error {
	if mem := c.members[m.Sender]; m.RefSeq > c.durable || c.recallEvents[m.RefSeq] || mem == nil || !mem.Sees(m.RefSeq) {
		return pbErr(pb.Code_NOT_FOUND, "no message %d to edit in %s", m.RefSeq, c.id)
	}
	msgs, err := c.rt.store.ListMessages(context.Background(), c.id, m.RefSeq, m.RefSeq, storage.OldestFirst, 1)
	if err != nil {
		return storeErr(err)
	}
	switch {
	case len(msgs) != 1 || msgs[0].Kind != storage.MsgNormal || msgs[0].Recalled():
		return pbErr(pb.Code_NOT_FOUND, "no message %d to edit in %s", m.RefSeq, c.id)
	case msgs[0].Edit():
		return pbErr(pb.Code_INVALID, "message %d is an edit: edit the message it names (%d)", m.RefSeq, msgs[0].RefSeq)
	case msgs[0].Sender != m.Sender:
		return pbErr(pb.Code_FORBIDDEN, "message %d is %s's: only its sender edits it", m.RefSeq, msgs[0].Sender)
	case m.Location != nil:
		return c.checkMove(m, &msgs[0]) // a live location's move: until the share ends
	case time.Since(msgs[0].ServerTS) > c.rt.cfg.EditWindow:
		return pbErr(pb.Code_EDIT_EXPIRED, "message %d is older than the %s edit limit", m.RefSeq, c.rt.cfg.EditWindow)
	}
	return nil
}

// tombstoneRevisions tombstones every durable revision of target: the
// edits of a text, which can only lie in the edit window after it, or the
// updates of a card, which may come at any time after it (a click's
// answer), so the log is read from the card to its end. The caller has
// made sure none is still queued (c.editing).
func (c *conversation) tombstoneRevisions(bg context.Context, target storage.Message) error {
	seq := target.Seq
	until := c.revisedUntil(&target)
	revises := func(m storage.Message) bool { return m.Edit() && m.RefSeq == seq }
	if target.Kind == storage.MsgCard {
		until = time.Time{}
		revises = func(m storage.Message) bool { return m.Kind == storage.MsgCard && m.RefSeq == seq }
	}
	const page = 256
	for next := seq + 1; next <= c.durable; {
		msgs, err := c.rt.store.ListMessages(bg, c.id, next, c.durable, storage.OldestFirst, page)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if !until.IsZero() && m.ServerTS.After(until) {
				return nil
			}
			if revises(m) && !m.Recalled() {
				if err := c.rt.store.TombstoneMessage(bg, c.id, m.Seq); err != nil {
					return err
				}
			}
		}
		if len(msgs) < page {
			return nil
		}
		next = msgs[len(msgs)-1].Seq + 1
	}
	return nil
}
