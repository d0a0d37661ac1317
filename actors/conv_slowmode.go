package actors

import (
	"fmt"
	"time"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Slow mode: in a group that sets it, a plain member posts a new message
// at most once per interval (a class of 300, a busy community). Owners
// and admins are exempt; reactions, edits and card updates do not count.
//
// The grain keeps when each member last posted, in memory; a new
// activation (after the group was idle for Config.IdleTimeout, or moved
// to another node) reads it from the recent log it loads anyway
// (Config.DedupeWindow messages): only a member whose last post is older
// than that posts once more than the interval allows.

// slowPosts is when each plain member last posted in a group in slow mode.
type slowPosts struct {
	at      map[string]time.Time
	pruneAt int // prune entries past the interval when the map reaches this size
}

// slowModeMinPrune is the size below which the map is never pruned.
const slowModeMinPrune = 1024

// checkSlowMode refuses a plain member's new message sent sooner than the
// group's slow-mode interval after their last one (SLOW_MODE, with the
// wait in retry_after_ms). An accepted one takes the member's turn; undo
// gives it back when the message then fails.
func (c *conversation) checkSlowMode(m *pb.SendMessage, mem *storage.Member) (undo func(), e *pb.Error) {
	noop := func() {}
	if c.kind != storage.KindGroup || mem.Role != storage.RoleMember || m.Kind == pb.MessageKind_REACTION || m.RefSeq != 0 {
		return noop, nil
	}
	s, err := c.loadSettings()
	if err != nil {
		return nil, storeErr(err)
	}
	if s.SlowModeMs == 0 {
		return noop, nil
	}
	interval := time.Duration(s.SlowModeMs) * time.Millisecond
	now := c.rt.cfg.Now()
	if c.slow.at == nil {
		c.slow.at = map[string]time.Time{}
	}
	last, ok := c.slow.at[m.Sender]
	if wait := last.Add(interval).Sub(now); ok && wait > 0 {
		ms := uint32(min((wait+time.Millisecond-1)/time.Millisecond, time.Duration(s.SlowModeMs)))
		return nil, &pb.Error{Code: pb.Code_SLOW_MODE, RetryAfterMs: ms,
			Message: fmt.Sprintf("slow mode in %s: one message every %v; post again in %v", c.id, interval, time.Duration(ms)*time.Millisecond)}
	}
	if len(c.slow.at) >= max(c.slow.pruneAt, slowModeMinPrune) {
		for user, at := range c.slow.at {
			if !at.Add(interval).After(now) {
				delete(c.slow.at, user)
			}
		}
		c.slow.pruneAt = 2 * len(c.slow.at)
	}
	c.slow.at[m.Sender] = now
	return func() {
		if at, held := c.slow.at[m.Sender]; held && at.Equal(now) {
			if ok {
				c.slow.at[m.Sender] = last
			} else {
				delete(c.slow.at, m.Sender)
			}
		}
	}, nil
}

// seedSlowMode takes, at activation, when each plain member last posted
// within the interval from the recent log (ascending seq).
func (c *conversation) seedSlowMode(recent []storage.Message) {
	s, err := c.loadSettings()
	if err != nil {
		c.log.Warn("group settings not read at activation: slow mode counts from now", "err", err)
		return
	}
	if s.SlowModeMs == 0 {
		return
	}
	since := c.rt.cfg.Now().Add(-time.Duration(s.SlowModeMs) * time.Millisecond)
	for i := range recent {
		m := &recent[i]
		mem := c.members[m.Sender]
		if !m.Kind.Content() || m.RefSeq != 0 || mem == nil || mem.Role != storage.RoleMember || !m.ServerTS.After(since) {
			continue
		}
		if c.slow.at == nil {
			c.slow.at = map[string]time.Time{}
		}
		c.slow.at[m.Sender] = m.ServerTS
	}
}

// checkSlowModeSetting checks a requested slow-mode interval.
func (c *conversation) checkSlowModeSetting(ms uint32) *pb.Error {
	d := time.Duration(ms) * time.Millisecond
	if ms != 0 && (d < MinSlowMode || d > c.rt.cfg.MaxSlowMode) {
		return pbErr(pb.Code_INVALID, "slow mode %v: want 0 (off) or %v to %v", d, MinSlowMode, c.rt.cfg.MaxSlowMode)
	}
	return nil
}
