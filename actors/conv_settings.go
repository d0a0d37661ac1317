package actors

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Group settings, and any conversation's pins, live beside the
// conversation as a small JSON blob under the store's checkpoint key
// conv-settings/<conv>: the conversation's head row stays as it is, and
// only an activation that changes or reads them, adds a member to a group
// or recalls a message reads the blob (once).

// groupSettings is a group's stored settings.
type groupSettings struct {
	// PreJoinHistory: a member added later sees the last N seqs before
	// its join (nil: Config.PreJoinHistory).
	PreJoinHistory *uint32 `json:"prejoin_history,omitempty"`
	// AdminsOnly: only owners and admins post new messages.
	AdminsOnly bool `json:"admins_only,omitempty"`
	// Pinned: the seqs of the messages pinned for every member to see, in
	// the order they were pinned (at most Config.MaxPinnedMessages).
	Pinned []uint64 `json:"pinned,omitempty"`
	// Invites: the group's invites (conv_invites.go), live or not yet
	// pruned; a change of invites prunes the dead ones.
	Invites []storedInvite `json:"invites,omitempty"`
	// JoinRequests: users who asked to join with an approval invite,
	// oldest first (conv_joinrequests.go).
	JoinRequests []storedJoinRequest `json:"join_requests,omitempty"`
	// Title: the group's name once renamed (nil: as created, in the
	// head); Description: what it is for (conv_profile.go).
	Title       *string `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	// Picture: the group's picture, an upload into the group carried by
	// the profile system message that set it (nil: none).
	Picture *storage.MediaRef `json:"picture,omitempty"`
	// Disbanded: an owner ended the group (DISBAND): no invite admits
	// anyone again.
	Disbanded bool `json:"disbanded,omitempty"`
	// SlowModeMs: a plain member posts a new message at most once per this
	// many ms (0: off; conv_slowmode.go).
	SlowModeMs uint32 `json:"slow_mode_ms,omitempty"`
	// ExpiredThrough: retention took the expired content out of every row
	// up to this seq (retention.go).
	ExpiredThrough uint64 `json:"expired_through,omitempty"`
	// Disappearing: the spans of seqs sent under a timer for disappearing
	// messages whose content is not all swept yet, oldest first; the last
	// one open (To 0) while the timer is on (conv_disappear.go).
	Disappearing []disappearSpan `json:"disappearing,omitempty"`
	// Frozen: closed to new messages (nil: open; conv_freeze.go).
	Frozen *frozenState `json:"frozen,omitempty"`
	// Meta: the app's own data about the conversation (conv_meta.go).
	Meta map[string]string `json:"meta,omitempty"`
}

func settingsKey(conv string) string { return "conv-settings/" + conv }

// loadSettings reads the group's settings once per activation.
func (c *conversation) loadSettings() (*groupSettings, error) {
	if c.settings != nil {
		return c.settings, nil
	}
	s, err := readSettings(context.Background(), c.rt.store, c.id)
	if err != nil {
		return nil, err
	}
	c.settings = s
	return s, nil
}

// readSettings reads conv's settings from the store (none stored: the
// defaults), for the grain and for readers outside it.
func readSettings(ctx context.Context, store storage.Store, conv string) (*groupSettings, error) {
	s := &groupSettings{}
	cp, err := store.LoadCheckpoint(ctx, settingsKey(conv))
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(cp.State, s); err != nil {
			return nil, fmt.Errorf("settings of %s: %w", conv, err)
		}
	}
	return s, nil
}

func (c *conversation) preJoinHistory(s *groupSettings) uint32 {
	if s.PreJoinHistory != nil {
		return *s.PreJoinHistory
	}
	return uint32(c.rt.cfg.PreJoinHistory)
}

// joinedSeq is where a member added at seq starts to see the log.
func (c *conversation) joinedSeq(seq uint64) (uint64, *pb.Error) {
	if c.kind != storage.KindGroup {
		return seq, nil
	}
	s, err := c.loadSettings()
	if err != nil {
		return 0, storeErr(err)
	}
	n := uint64(c.preJoinHistory(s))
	return seq - min(n, seq-1), nil
}

// MaxListedManagers bounds the managers a settings answer lists: a group
// with more owners and admins than that is read through members.
const MaxListedManagers = 100

// managers lists the group's active owners, then its admins, each by user
// id, at most limit of them.
func (c *conversation) managers(limit int) []*pb.Member {
	var out []*pb.Member
	for _, m := range c.members {
		if m.Active() && (m.Role == storage.RoleOwner || m.Role == storage.RoleAdmin) {
			mm := toPBMember(*m)
			out = append(out, &pb.Member{User: mm.User, Role: mm.Role, JoinedSeq: mm.JoinedSeq, Muted: mm.Muted, MutedUntilMs: mm.MutedUntilMs}) // nothing of their own view
		}
	}
	slices.SortFunc(out, func(a, b *pb.Member) int {
		return cmp.Or(cmp.Compare(b.Role, a.Role), strings.Compare(a.User, b.User)) // owners (2) before admins (1)
	})
	return out[:min(len(out), limit)]
}

func (c *conversation) groupSettings(ctx actor.Context, m *pb.GroupSettings) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, s *groupSettings, seq uint64) {
		r := &pb.GroupSettingsResponse{Error: e, Seq: seq}
		if s != nil {
			r.PrejoinHistory, r.AdminsOnly, r.SlowModeMs, r.Frozen, r.Meta = c.preJoinHistory(s), s.AdminsOnly, s.SlowModeMs, s.Frozen.at(c.rt.cfg.Now()).toPB(), s.Meta
			r.MemberCount = uint32(c.active)
			if c.kind == storage.KindGroup {
				r.Managers = c.managers(MaxListedManagers)
				r.Title, r.Description = c.title(), s.Description
				if s.Picture != nil {
					r.Picture = mediaRefToPB(*s.Picture)
				}
			}
			// Only the pins the asker can read: a member who joined after
			// a pinned message does not see it, nor its seq here.
			if m.Operator {
				r.PinnedSeqs = s.Pinned
			} else if mem := c.members[m.Actor]; mem != nil {
				for _, seq := range s.Pinned {
					if mem.Sees(seq) {
						r.PinnedSeqs = append(r.PinnedSeqs, seq)
					}
				}
			}
		}
		respond(ctx, sender, r)
	}
	if !c.ready(func(e *pb.Error) { reply(e, nil, 0) }) {
		return
	}
	pin := m.PinSeq != 0 || m.UnpinSeq != 0
	profile := m.Title != nil || m.Description != nil || m.Picture != nil
	if pin && (m.PinSeq != 0 && m.UnpinSeq != 0 || m.PrejoinHistory != nil || m.AdminsOnly != nil || m.SlowModeMs != nil || profile) {
		reply(pbErr(pb.Code_INVALID, "a pin or an unpin goes alone in its request"), nil, 0)
		return
	}
	change := m.PrejoinHistory != nil || m.AdminsOnly != nil || m.SlowModeMs != nil || profile || pin
	action := ActHistory
	switch {
	case pin:
		action = ActPinMessage
	case change:
		action = ActSettings
	}
	switch {
	case m.Operator && change:
		reply(pbErr(pb.Code_INVALID, "the operator reads settings; a change names its actor"), nil, 0)
		return
	case m.Operator:
	default:
		if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], action); e != nil {
			reply(e, nil, 0)
			return
		}
	}
	// Pins are every kind's; the other settings a group's.
	if c.kind != storage.KindGroup && action == ActSettings {
		reply(pbErr(pb.Code_INVALID, "%s is not a group", c.id), nil, 0)
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	if !change {
		reply(nil, s, 0)
		return
	}
	if pin {
		c.changePin(ctx, m, s, reply)
		return
	}
	next := *s
	if m.PrejoinHistory != nil {
		if limit := c.rt.cfg.MaxPreJoinHistory; int64(*m.PrejoinHistory) > int64(limit) {
			reply(pbErr(pb.Code_INVALID, "pre-join history %d, limit %d", *m.PrejoinHistory, limit), nil, 0)
			return
		}
		n := *m.PrejoinHistory
		next.PreJoinHistory = &n
	}
	if m.AdminsOnly != nil {
		next.AdminsOnly = *m.AdminsOnly
	}
	if m.SlowModeMs != nil {
		if e := c.checkSlowModeSetting(*m.SlowModeMs); e != nil {
			reply(e, nil, 0)
			return
		}
		next.SlowModeMs = *m.SlowModeMs
	}
	renamed, picture, e := c.profileChange(m, &next)
	if e != nil {
		reply(e, nil, 0)
		return
	}
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	if next.SlowModeMs == 0 {
		c.slow = slowPosts{} // a slow mode set again later counts from then
	}
	afterRules := func(e *pb.Error, seq uint64) {
		if e != nil || !renamed {
			reply(e, &next, seq)
			return
		}
		c.profileEvent(ctx, m.Actor, &next, picture, func(e *pb.Error, seq uint64) { reply(e, &next, seq) })
	}
	if next.AdminsOnly == s.AdminsOnly && next.SlowModeMs == s.SlowModeMs {
		afterRules(nil, 0)
		return
	}
	// Who may post, or how often, changed: every member hears it, in order
	// with the messages (the sends queued before it were accepted under
	// the old rule, later ones follow the new).
	c.settingsEvent(ctx, m.Actor, map[string]any{"op": "settings", "actor": m.Actor, "admins_only": next.AdminsOnly,
		"slow_mode_ms": next.SlowModeMs}, afterRules)
}

// markDisbanded records that the group was disbanded.
func (c *conversation) markDisbanded() *pb.Error {
	s, err := c.loadSettings()
	if err != nil {
		return storeErr(err)
	}
	if s.Disbanded {
		return nil
	}
	next := *s
	next.Disbanded = true
	if err := c.saveSettings(&next); err != nil {
		return storeErr(err)
	}
	return nil
}

// saveSettings stores next as the group's settings and keeps it.
func (c *conversation) saveSettings(next *groupSettings) error {
	blob, _ := json.Marshal(next)
	if err := c.rt.store.SaveCheckpoint(context.Background(), storage.Checkpoint{Key: settingsKey(c.id), State: blob, At: time.Now()}); err != nil {
		return err
	}
	c.settings = next
	return nil
}

// settingsEvent records a change of the group's settings as a system
// message by by, so every member hears it in order with the messages;
// done gets its seq once it is durable.
func (c *conversation) settingsEvent(ctx actor.Context, by string, detail map[string]any, done func(*pb.Error, uint64)) {
	c.settingsEventWith(ctx, by, detail, storage.MediaRef{}, done)
}

// settingsEventWith is settingsEvent for a system message that carries a
// file (a group's new picture): the file is claimed for it, as a send
// claims an attachment, so no sweep deletes it.
func (c *conversation) settingsEventWith(ctx actor.Context, by string, detail map[string]any, media storage.MediaRef, done func(*pb.Error, uint64)) {
	now := time.Now()
	body, _ := json.Marshal(detail)
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: by, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: body, Media: media, ServerTS: now}
	if e := c.claimAttachment(media, c.lastSeq+1); e != nil { // the seq enqueue gives it
		done(e, 0)
		return
	}
	c.enqueue(ctx, &ev, func(e *pb.Error) { done(e, ev.Seq) })
}

// changePin pins (m.PinSeq) or unpins (m.UnpinSeq) one message of the
// group. Pinning one pinned already, or unpinning one that is not, changes
// nothing and records nothing.
func (c *conversation) changePin(ctx actor.Context, m *pb.GroupSettings, s *groupSettings, reply func(*pb.Error, *groupSettings, uint64)) {
	next := *s
	op, seq := "pin", m.PinSeq
	if m.UnpinSeq != 0 {
		op, seq = "unpin", m.UnpinSeq
		if !slices.Contains(s.Pinned, seq) {
			reply(nil, s, 0)
			return
		}
		next.Pinned = withoutSeq(s.Pinned, seq)
	} else {
		if slices.Contains(s.Pinned, seq) {
			reply(nil, s, 0)
			return
		}
		if e := c.pinnable(m.Actor, seq); e != nil {
			reply(e, nil, 0)
			return
		}
		if limit := c.rt.cfg.MaxPinnedMessages; len(s.Pinned) >= limit {
			reply(pbErr(pb.Code_INVALID, "%s has %d pinned messages, limit %d: unpin one first", c.id, len(s.Pinned), limit), nil, 0)
			return
		}
		next.Pinned = append(slices.Clone(s.Pinned), seq)
	}
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	c.settingsEvent(ctx, m.Actor, map[string]any{"op": op, "actor": m.Actor, "seq": seq},
		func(e *pb.Error, at uint64) { reply(e, &next, at) })
}

// pinnable: seq holds a durable text or card (not an edit, an update or
// recalled) that by can see.
func (c *conversation) pinnable(by string, seq uint64) *pb.Error {
	mem := c.members[by]
	if seq > c.durable || mem == nil || !mem.Sees(seq) {
		return pbErr(pb.Code_NOT_FOUND, "no message %d in %s to pin", seq, c.id)
	}
	msg, err := c.rt.store.GetMessage(context.Background(), c.id, seq)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return pbErr(pb.Code_NOT_FOUND, "no message %d in %s to pin", seq, c.id)
	case err != nil:
		return storeErr(err)
	case msg.Recalled():
		return pbErr(pb.Code_NOT_FOUND, "message %d of %s was recalled", seq, c.id)
	case !msg.Kind.Content() || msg.RefSeq != 0:
		return pbErr(pb.Code_INVALID, "message %d of %s is no text or card: pin the message itself", seq, c.id)
	}
	return nil
}

// unpinRecalled takes a recalled message out of the conversation's pins;
// its recall event tells the members.
func (c *conversation) unpinRecalled(seq uint64) {
	s, err := c.loadSettings()
	if err != nil || !slices.Contains(s.Pinned, seq) {
		if err != nil {
			c.log.Warn("pins not read at a recall", "seq", seq, "err", err)
		}
		return
	}
	next := *s
	next.Pinned = withoutSeq(s.Pinned, seq)
	if err := c.saveSettings(&next); err != nil {
		c.log.Warn("recalled message still pinned", "seq", seq, "err", err)
	}
}

func withoutSeq(seqs []uint64, seq uint64) []uint64 {
	return slices.DeleteFunc(slices.Clone(seqs), func(x uint64) bool { return x == seq })
}

// adminsOnly refuses a new message from a plain member of a group whose
// owners and admins alone post. Reactions and edits of one's own messages
// stay open to every member.
func (c *conversation) adminsOnly(m *pb.SendMessage, mem *storage.Member) *pb.Error {
	if c.kind != storage.KindGroup || mem.Role != storage.RoleMember || m.Kind == pb.MessageKind_REACTION || m.RefSeq != 0 {
		return nil
	}
	s, err := c.loadSettings()
	if err != nil {
		return storeErr(err)
	}
	if s.AdminsOnly {
		return pbErr(pb.Code_FORBIDDEN, "only owners and admins post in %s", c.id)
	}
	return nil
}

// GroupSettings reads a group's settings (any member) or, with a field
// set, changes that setting (owners and admins).
func (n *Runtime) GroupSettings(ctx context.Context, req *pb.GroupSettings) (*pb.GroupSettingsResponse, error) {
	if err := errors.Join(checkConv(req.Conv), checkUser(req.Actor)); err != nil {
		return nil, err
	}
	if req.Operator {
		return nil, invalid("GroupSettings acts as a member: ConversationAsOperator reads as the operator")
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.GroupSettingsResponse)
	return r, fromPB(r.Error)
}

// ConversationInfo is what the operator reads of a conversation: its
// head and its settings, with its size and managers.
type ConversationInfo struct {
	Conv     *storage.Conversation
	Settings *pb.GroupSettingsResponse
}

// ConversationAsOperator reads conv's head and settings for the operator
// (the admin API): no member's rule applies and every pin is listed. A
// conversation that does not exist is NOT_FOUND, and is not created.
func (n *Runtime) ConversationAsOperator(ctx context.Context, conv string) (ConversationInfo, error) {
	if err := checkConv(conv); err != nil {
		return ConversationInfo{}, err
	}
	head, err := n.store.GetConversation(ctx, conv)
	if err != nil {
		return ConversationInfo{}, fromPB(storeErr(err))
	}
	res, err := n.request(ctx, KindConversation, conv, &pb.GroupSettings{Conv: conv, Operator: true})
	if err != nil {
		return ConversationInfo{}, err
	}
	r := res.(*pb.GroupSettingsResponse)
	if r.Error != nil {
		return ConversationInfo{}, fromPB(r.Error)
	}
	return ConversationInfo{Conv: &head, Settings: r}, nil
}
