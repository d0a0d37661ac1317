package actors

import (
	"slices"
	"sort"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Mentions. A message may name members of its conversation (@user,
// SendMessage.mentions): they are stored with it, carried by pushes, sync
// and history, and a mentioned member is notified even where they muted
// the conversation (push.go). The grain checks them against its members
// in memory, so a mention costs no read.
//
// Each conversation summary counts the unread messages that mention the
// user (unread_mentions, the "@" beside a conversation's unread count):
// the user grain keeps the exact list for small conversations (as it does
// the unread seqs), and a read fan-out group's grain keeps, per member,
// the seqs that mention them (mentioned), which ConvState counts.

// checkMentions checks m's mentions, if any: at most MaxMentions, each a
// current member other than the sender, each once; not on an edit or a
// card, which keep their message's. storage.MentionAll ("@all") stands
// alone, in a group, from its owners and admins: it notifies everyone,
// muted or not, so it is the managers' (a teacher's, a community's).
func (c *conversation) checkMentions(m *pb.SendMessage, mem *storage.Member) *pb.Error {
	if len(m.Mentions) == 0 {
		return nil
	}
	all := slices.Contains(m.Mentions, storage.MentionAll)
	switch {
	case m.RefSeq != 0 || m.Kind != pb.MessageKind_NORMAL:
		return pbErr(pb.Code_INVALID, "only a new text message mentions members: mentions must be empty on an edit or a card")
	case all && len(m.Mentions) > 1:
		return pbErr(pb.Code_INVALID, "a message that mentions everyone names nobody else")
	case all && c.kind != storage.KindGroup:
		return pbErr(pb.Code_INVALID, "only a group's message mentions everyone")
	case all && mem.Role != storage.RoleOwner && mem.Role != storage.RoleAdmin:
		return pbErr(pb.Code_FORBIDDEN, "%s is no owner or admin of %s: only they mention everyone", m.Sender, c.id)
	case all:
		return nil
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
func mentions(m *pb.Message, user string) bool { return storage.Mentioned(m.Mentions, m.Sender, user) }

// noteMentions records which members a durable message mentions, the
// newest Config.MaxMentionSeqs per member. Edits and cards carry none; a
// recalled message no longer counts.
func (c *conversation) noteMentions(m *storage.Message) {
	if m.Kind != storage.MsgNormal || m.Edit() || m.Recalled() {
		return
	}
	limit := c.rt.cfg.MaxMentionSeqs
	for _, user := range m.Mentions {
		if c.mentioned == nil {
			c.mentioned = map[string][]uint64{}
		}
		seqs := c.mentioned[user]
		i, found := slices.BinarySearch(seqs, m.Seq)
		switch {
		case found:
			continue
		case len(seqs) >= limit && i == 0:
			continue // older than every seq kept
		case len(seqs) >= limit:
			seqs = slices.Delete(seqs, 0, 1)
			i--
		}
		c.mentioned[user] = slices.Insert(seqs, i, m.Seq)
	}
}

// forgetMentions drops a recalled message from the mention lists.
func (c *conversation) forgetMentions(seq uint64) {
	for user, seqs := range c.mentioned {
		if i, found := slices.BinarySearch(seqs, seq); found {
			if seqs = slices.Delete(seqs, i, i+1); len(seqs) == 0 {
				delete(c.mentioned, user)
			} else {
				c.mentioned[user] = seqs
			}
		}
	}
}

// unreadMentions counts the seqs in [from, last] that mention the member,
// by name or with everyone, and that they did not hide (the member's own "@all" messages lie at or below
// their read seq: sending reads).
func (c *conversation) unreadMentions(mem *storage.Member, from, last uint64) uint64 {
	in := func(seqs []uint64) uint64 {
		lo := sort.Search(len(seqs), func(i int) bool { return seqs[i] >= from })
		hi := sort.Search(len(seqs), func(i int) bool { return seqs[i] > last })
		n := uint64(max(hi-lo, 0))
		for _, seq := range seqs[lo:max(lo, hi)] {
			if mem.Hides(seq) { // deleted for the member: no longer unread
				n--
			}
		}
		return n
	}
	return in(c.mentioned[mem.UserID]) + in(c.mentioned[storage.MentionAll])
}
