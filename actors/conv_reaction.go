package actors

import (
	"context"
	"unicode"
	"unicode/utf8"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Reactions. A member reacts to a text or a card with a send of kind
// REACTION: RefSeq names the message, the body is the reaction (an emoji,
// at most Config.MaxReactionBytes of printable UTF-8), and an empty body
// takes the sender's reaction back. Each sender has one reaction per
// message: clients fold the reactions by (message, sender), the newest
// seq winning. A reaction is appended with its own seq, as a recall event
// is, so every device learns of it by push or sync, and a client that
// holds the log from a message to its end holds every reaction to it (a
// reaction's seq is above its message's): history needs no aggregate.
//
// A reaction goes through the send path (dedupe, rate limit, the member's
// right to write), counts as no unread, is no conversation's last message
// nor its activity, notifies nobody offline, and the metrics do not read
// it as a reply.

// checkReaction checks a reaction: to a text or card (not an edit, an
// update or a recalled message) that the sender sees.
func (c *conversation) checkReaction(m *pb.SendMessage) *pb.Error {
	if e := c.checkReactionBody(m.Body); e != nil {
		return e
	}
	mem := c.members[m.Sender]
	if m.RefSeq == 0 || m.RefSeq > c.durable || c.recallEvents[m.RefSeq] || mem == nil || !mem.Sees(m.RefSeq) {
		return pbErr(pb.Code_NOT_FOUND, "no message %d to react to in %s", m.RefSeq, c.id)
	}
	target, err := c.rt.store.GetMessage(context.Background(), c.id, m.RefSeq)
	if err != nil {
		return storeErr(err)
	}
	switch {
	case target.Recalled() || !target.Kind.Content() || expiredAt(&target, c.rt.contentClock(c.id)):
		return pbErr(pb.Code_NOT_FOUND, "no message %d to react to in %s", m.RefSeq, c.id)
	case target.RefSeq != 0:
		return pbErr(pb.Code_INVALID, "message %d is an edit, a card update or a poll's close: react to the message it refers to (%d)", m.RefSeq, target.RefSeq)
	}
	return nil
}

// checkReactionBody: empty (taken back), or at most MaxReactionBytes of
// UTF-8 without spaces or control characters.
func (c *conversation) checkReactionBody(body []byte) *pb.Error {
	if n := len(body); n > c.rt.cfg.MaxReactionBytes {
		return pbErr(pb.Code_INVALID, "a reaction is %d bytes, limit %d", n, c.rt.cfg.MaxReactionBytes)
	}
	if !utf8.Valid(body) {
		return pbErr(pb.Code_INVALID, "a reaction must be UTF-8")
	}
	for _, r := range string(body) {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return pbErr(pb.Code_INVALID, "a reaction has no spaces or control characters (%U)", r)
		}
	}
	return nil
}
