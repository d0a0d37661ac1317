package actors

import (
	"strings"
	"unicode"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// A group's profile: its name, shown in every member's conversation list,
// and a description of what it is for. The name it was created with is in
// the conversation's head; a rename, and the description, are in its
// settings (conv_settings.go), so the head and its schema stay as they are.

// title is a group's name: the one it was renamed to, else the one it was
// created with; "" for other kinds (a client names a direct conversation
// after the other member).
func (c *conversation) title() string {
	if c.kind != storage.KindGroup {
		return ""
	}
	s, err := c.loadSettings()
	if err != nil {
		c.log.Warn("group settings not read: its name as created is told", "err", err)
		return c.createdTitle
	}
	if s.Title != nil {
		return *s.Title
	}
	return c.createdTitle
}

// checkTitle refuses a name over Config.MaxTitleBytes or with control
// characters (a line break in a conversation list).
func (c *conversation) checkTitle(title string) *pb.Error {
	if len(title) > c.rt.cfg.MaxTitleBytes {
		return pbErr(pb.Code_INVALID, "title is %d bytes, limit %d", len(title), c.rt.cfg.MaxTitleBytes)
	}
	if strings.IndexFunc(title, unicode.IsControl) >= 0 {
		return pbErr(pb.Code_INVALID, "title has a control character")
	}
	return nil
}

// checkDescription refuses a description over Config.MaxDescriptionBytes
// or with control characters other than line breaks and tabs.
func (c *conversation) checkDescription(d string) *pb.Error {
	if len(d) > c.rt.cfg.MaxDescriptionBytes {
		return pbErr(pb.Code_INVALID, "description is %d bytes, limit %d", len(d), c.rt.cfg.MaxDescriptionBytes)
	}
	if strings.IndexFunc(d, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return pbErr(pb.Code_INVALID, "description has a control character")
	}
	return nil
}

// profileChange applies m's title and description to next; changed
// reports whether either differs from what the group has.
func (c *conversation) profileChange(m *pb.GroupSettings, next *groupSettings) (changed bool, e *pb.Error) {
	if m.Title != nil {
		if e := c.checkTitle(*m.Title); e != nil {
			return false, e
		}
		changed = *m.Title != c.title()
		title := *m.Title
		next.Title = &title
	}
	if m.Description != nil {
		if e := c.checkDescription(*m.Description); e != nil {
			return false, e
		}
		changed = changed || *m.Description != next.Description
		next.Description = *m.Description
	}
	return changed, nil
}

// profileEvent records a rename or a new description as a system message
// and, once it is durable, tells every member's user grain the name (a
// membership notice), which their conversation lists show.
func (c *conversation) profileEvent(ctx actor.Context, by string, s *groupSettings, done func(*pb.Error, uint64)) {
	c.settingsEvent(ctx, by, map[string]any{"op": "profile", "actor": by, "title": c.title(), "description": s.Description},
		func(e *pb.Error, seq uint64) {
			if e == nil {
				for user, mem := range c.members {
					if mem.Active() {
						c.fanout.notice(c.noticeFor(user))
					}
				}
			}
			done(e, seq)
		})
}
