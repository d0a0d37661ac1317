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
	reply := func(e *pb.Error, n uint32) {
		respond(ctx, sender, &pb.GroupSettingsResponse{Error: e, PrejoinHistory: n})
	}
	if !c.ready(func(e *pb.Error) { reply(e, 0) }) {
		return
	}
	if c.kind != storage.KindGroup {
		reply(pbErr(pb.Code_INVALID, "%s is not a group", c.id), 0)
		return
	}
	action := ActHistory
	if m.Set {
		action = ActSetRole // who may change roles may change the settings
	}
	if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], action); e != nil {
		reply(e, 0)
		return
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), 0)
		return
	}
	if m.Set {
		if limit := c.rt.cfg.MaxPreJoinHistory; int64(m.PrejoinHistory) > int64(limit) {
			reply(pbErr(pb.Code_INVALID, "pre-join history %d, limit %d", m.PrejoinHistory, limit), 0)
			return
		}
		next := *s
		n := m.PrejoinHistory
		next.PreJoinHistory = &n
		blob, _ := json.Marshal(next)
		if err := c.rt.store.SaveCheckpoint(context.Background(), storage.Checkpoint{Key: settingsKey(c.id), State: blob, At: time.Now()}); err != nil {
			reply(storeErr(err), 0)
			return
		}
		c.settings = &next
		s = &next
	}
	reply(nil, c.preJoinHistory(s))
}

// GroupSettings reads a group's settings (any member) or, with set, changes
// them (owners and admins).
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
