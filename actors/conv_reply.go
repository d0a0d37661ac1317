package actors

import (
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Replies. A message may name an earlier message of its conversation that
// it answers (SendMessage.reply_to); clients show the quoted message above
// it. The grain checks only what it knows without a read, so a reply costs
// the send path nothing: the seq is durable and the sender can see it (the
// seq is within their membership). A reply to a message recalled since
// stays a reply; clients show that the quoted message was withdrawn.

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
