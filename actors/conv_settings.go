package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Group settings live beside the conversation, as a small JSON blob under
// the store's checkpoint key conv-settings/<conv>: the conversation's head
// row stays as it is, and only groups that are changed, or get a member
// added, ever read it.

// groupSettings is a group's stored settings.
type groupSettings struct {
	// PreJoinHistory: a member added later sees the last N seqs before
	// its join (nil: Config.PreJoinHistory).
	PreJoinHistory *uint32 `json:"prejoin_history,omitempty"`
	// AdminsOnly: only owners and admins post new messages.
	AdminsOnly bool `json:"admins_only,omitempty"`
}

func settingsKey(conv string) string { return "conv-settings/" + conv }

// loadSettings reads the group's settings once per activation.
func (c *conversation) loadSettings() (*groupSettings, error) {
	if c.settings != nil {
		return c.settings, nil
	}
	s := &groupSettings{}
	cp, err := c.rt.store.LoadCheckpoint(context.Background(), settingsKey(c.id))
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(cp.State, s); err != nil {
			return nil, fmt.Errorf("settings of %s: %w", c.id, err)
		}
	}
	c.settings = s
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

func (c *conversation) groupSettings(ctx actor.Context, m *pb.GroupSettings) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, s *groupSettings, seq uint64) {
		r := &pb.GroupSettingsResponse{Error: e, Seq: seq}
		if s != nil {
			r.PrejoinHistory, r.AdminsOnly = c.preJoinHistory(s), s.AdminsOnly
		}
		respond(ctx, sender, r)
	}
	if !c.ready(func(e *pb.Error) { reply(e, nil, 0) }) {
		return
	}
	change := m.PrejoinHistory != nil || m.AdminsOnly != nil
	action := ActHistory
	if change {
		action = ActSettings
	}
	if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], action); e != nil {
		reply(e, nil, 0)
		return
	}
	if c.kind != storage.KindGroup {
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
	blob, _ := json.Marshal(next)
	if err := c.rt.store.SaveCheckpoint(context.Background(), storage.Checkpoint{Key: settingsKey(c.id), State: blob, At: time.Now()}); err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	c.settings = &next
	if next.AdminsOnly == s.AdminsOnly {
		reply(nil, &next, 0)
		return
	}
	// Who may post changed: every member hears it, in order with the
	// messages (the sends queued before it were accepted, later ones not).
	now := time.Now()
	body, _ := json.Marshal(map[string]any{"op": "settings", "actor": m.Actor, "admins_only": next.AdminsOnly})
	ev := storage.Message{ConvID: c.id, MsgID: c.rt.ids.next(now), Sender: m.Actor, SenderRole: storage.SenderSystem,
		Kind: storage.MsgSystem, Body: body, ServerTS: now}
	c.enqueue(ctx, &ev, func(e *pb.Error) { reply(e, &next, ev.Seq) })
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
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, err
	}
	r := res.(*pb.GroupSettingsResponse)
	return r, fromPB(r.Error)
}
