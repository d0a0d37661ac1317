package actors

import (
	"context"
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

// profileChange applies m's title, description and picture to next;
// changed reports whether any differs from what the group has, picture is
// the new picture's file (none when it did not change or was taken away).
func (c *conversation) profileChange(m *pb.GroupSettings, next *groupSettings) (changed bool, picture storage.MediaRef, e *pb.Error) {
	if m.Picture != nil {
		switch p, e := c.pictureChange(m.Actor, *m.Picture, next.Picture); {
		case e != nil:
			return false, storage.MediaRef{}, e
		case *m.Picture == "" && next.Picture != nil:
			changed, next.Picture = true, nil
		case *m.Picture != "" && (next.Picture == nil || next.Picture.ID != *m.Picture):
			changed, picture, next.Picture = true, p, &p
		}
	}
	if m.Title != nil {
		if e := c.checkTitle(*m.Title); e != nil {
			return false, storage.MediaRef{}, e
		}
		changed = changed || *m.Title != c.title()
		title := *m.Title
		next.Title = &title
	}
	if m.Description != nil {
		if e := c.checkDescription(*m.Description); e != nil {
			return false, storage.MediaRef{}, e
		}
		changed = changed || *m.Description != next.Description
		next.Description = *m.Description
	}
	return changed, picture, nil
}

// pictureChange checks a new picture: "" (none), the group's picture
// already, or the actor's complete upload of an image into the group, not
// attached to anything yet (as a send's attachment is checked).
func (c *conversation) pictureChange(actor, id string, cur *storage.MediaRef) (storage.MediaRef, *pb.Error) {
	if id == "" || cur != nil && cur.ID == id {
		return storage.MediaRef{}, nil
	}
	p, e := c.attachment(&pb.SendMessage{Sender: actor, MediaId: id})
	if e != nil {
		return storage.MediaRef{}, e
	}
	if !strings.HasPrefix(p.MIME, "image/") {
		return storage.MediaRef{}, pbErr(pb.Code_INVALID, "a group's picture is an image, not %q", p.MIME)
	}
	return p, nil
}

// pictureID is the id of the group's picture's file ("" for none, or for
// other kinds).
func (c *conversation) pictureID() string {
	if c.kind != storage.KindGroup {
		return ""
	}
	s, err := c.loadSettings()
	if err != nil || s.Picture == nil {
		return ""
	}
	return s.Picture.ID
}

// profileEvent records a rename, a new description or picture as a
// system message (carrying the new picture's file, if any) and, once it
// is durable, tells every member's user grain the name and picture (a
// membership notice), which their conversation lists show.
func (c *conversation) profileEvent(ctx actor.Context, by string, s *groupSettings, picture storage.MediaRef, done func(*pb.Error, uint64)) {
	c.settingsEventWith(ctx, by, map[string]any{"op": "profile", "actor": by, "title": c.title(), "description": s.Description, "picture": c.pictureID()}, picture,
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

// GroupTitle is conv's name as its members see it now (renamed, or as
// created), for a group; "" for another kind of conversation. It reads
// the store, not the grain: for a notification's subtitle.
func (n *Runtime) GroupTitle(ctx context.Context, conv string) (string, error) {
	return groupTitle(ctx, n.store, conv)
}

func groupTitle(ctx context.Context, store storage.Store, conv string) (string, error) {
	if kind, _ := KindOfID(conv); kind != storage.KindGroup {
		return "", nil
	}
	s, err := readSettings(ctx, store, conv)
	if err != nil {
		return "", fromPB(storeErr(err))
	}
	if s.Title != nil {
		return *s.Title, nil
	}
	head, err := store.GetConversation(ctx, conv)
	if err != nil {
		return "", fromPB(storeErr(err))
	}
	return head.Title, nil
}
