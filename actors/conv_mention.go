package actors

import (
	"slices"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// Mentions. A message may name members of its conversation (@user,
// SendMessage.mentions): they are stored with it, carried by pushes, sync
// and history, and a mentioned member is notified even where they muted
// the conversation (push.go). The grain checks them against its members
// in memory, so a mention costs no read.

// checkMentions checks m's mentions, if any: at most MaxMentions, each a
// current member other than the sender, each once; not on an edit or a
// card, which keep their message's.
func (c *conversation) checkMentions(m *pb.SendMessage) *pb.Error {
	if len(m.Mentions) == 0 {
		return nil
	}
	switch {
	case m.RefSeq != 0 || m.Kind != pb.MessageKind_NORMAL:
		return pbErr(pb.Code_INVALID, "only a new text message mentions members: mentions must be empty on an edit or a card")
	case len(m.Mentions) > c.rt.cfg.MaxMentions:
		return pbErr(pb.Code_INVALID, "%d mentions, limit %d", len(m.Mentions), c.rt.cfg.MaxMentions)
	}
	seen := make(map[string]bool, len(m.Mentions))
	for _, u := range m.Mentions {
		mem := c.members[u]
		switch {
		case u == m.Sender:
			return pbErr(pb.Code_INVALID, "%s mentions themself", u)
		case seen[u]:
			return pbErr(pb.Code_INVALID, "%q is mentioned twice", u)
		case mem == nil || !mem.Active():
			return pbErr(pb.Code_INVALID, "%q is not a member of %s", u, c.id)
		}
		seen[u] = true
	}
	return nil
}

// mentions reports whether m mentions user.
func mentions(m *pb.Message, user string) bool { return slices.Contains(m.Mentions, user) }
