package actors

import (
	"context"
	"errors"
	"slices"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Replies. A message may name an earlier message of its conversation that
// it answers (SendMessage.reply_to); clients show the quoted message above
// it. The grain checks only what it knows without a read: the seq is
// durable and the sender can see it (the seq is within their membership).
// A reply to a message recalled since stays a reply; clients show that
// the quoted message was withdrawn.
//
// In a group, a text reply also mentions the author of the message it
// answers (replyMentions), so "someone answered you" reaches them as a
// mention does: in unread_mentions, and notified where they muted the
// group. That costs a reply in a group one read of the answered message,
// as a reaction costs; Config.ReplyMentionsOff turns it off.

// checkReply checks m's reply_to, if any.
func (c *conversation) checkReply(m *pb.SendMessage, mem *storage.Member) *pb.Error {
	if m.ReplyTo == 0 {
		return nil
	}
	if m.RefSeq != 0 {
		return pbErr(pb.Code_INVALID, "an edit or a card update keeps the reply of the message it replaces: reply_to must be empty")
	}
	if m.ReplyTo > c.durable || mem == nil || !mem.Sees(m.ReplyTo) {
		return pbErr(pb.Code_NOT_FOUND, "no message %d to reply to in %s", m.ReplyTo, c.id)
	}
	return nil
}

// replyMentions is what m stores as its mentions: those m names (checked
// by checkMentions), and in a group, for a text reply, the author of the
// answered text, card or poll when that is another active member not
// named already. A message that mentions everyone names them already; a
// recalled message's author is left alone.
func (c *conversation) replyMentions(m *pb.SendMessage) ([]string, *pb.Error) {
	if m.ReplyTo == 0 || c.kind != storage.KindGroup || c.rt.cfg.ReplyMentionsOff || m.Kind != pb.MessageKind_NORMAL || slices.Contains(m.Mentions, storage.MentionAll) {
		return m.Mentions, nil
	}
	answered, err := c.rt.store.GetMessage(context.Background(), c.id, m.ReplyTo)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return m.Mentions, nil // a seq no write filled: nobody to tell
	case err != nil:
		return nil, storeErr(err)
	}
	author := c.members[answered.Sender]
	switch {
	case !answered.Kind.Content() || answered.Recalled(),
		answered.Sender == m.Sender,
		author == nil || !author.Active(),
		slices.Contains(m.Mentions, answered.Sender):
		return m.Mentions, nil
	}
	return append(slices.Clip(m.Mentions), answered.Sender), nil
}
