package actors

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/asynkron/protoactor-go/actor"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Frozen conversations: closed to new messages while every member still
// reads them. A marketplace freezes the chats about a listing that sold
// or a dispute it settled; a school freezes a class group after the term.
// The operator freezes any direct conversation or group (the admin API),
// a group's owners and admins their group; a service conversation is the
// desk's, which closes sessions instead.
//
// While frozen nobody posts: a text, file, place, card, poll, vote,
// reaction, edit, a live place's move, a forward into it or a scheduled
// message coming due are FROZEN. A member still reads, marks read, hides,
// clears, stars, leaves, and recalls their own message (taking back a
// phone number must stay possible); the group's managers still manage its
// members and settings. The state lives in the conversation's settings
// blob (conv_settings.go), which the send path reads once per activation
// anyway (the disappearing timer's stampEnd); every member's user grain
// learns it with a membership notice, so conversation lists show it.

// frozenState is a frozen conversation's record in its settings.
type frozenState struct {
	Reason string `json:"reason,omitempty"`
	By     string `json:"by"`
	AtMs   int64  `json:"at_ms"`
	// UntilMs: a cool-down, over by itself then (0: until unfrozen).
	UntilMs int64 `json:"until_ms,omitempty"`
}

func (f *frozenState) toPB() *pb.Frozen {
	if f == nil {
		return nil
	}
	return &pb.Frozen{Reason: f.Reason, By: f.By, AtMs: f.AtMs, UntilMs: f.UntilMs}
}

// at is f as it holds at now: nil once a cool-down ended. Nothing records
// the end; every reader judges it by the clock.
func (f *frozenState) at(now time.Time) *frozenState {
	if f == nil || cooledDown(f.UntilMs, now) {
		return nil
	}
	return f
}

// frozenAt is the pb form of frozenState.at, for what a user grain holds.
func frozenAt(f *pb.Frozen, now time.Time) *pb.Frozen {
	if f == nil || cooledDown(f.UntilMs, now) {
		return nil
	}
	return f
}

// cooledDown: a freeze ending at untilMs (0: never by itself) is over by now.
func cooledDown(untilMs int64, now time.Time) bool {
	return untilMs != 0 && now.UnixMilli() >= untilMs
}

// Freeze reads whether conv is frozen or, with frozen set, freezes it
// (true) or opens it again (false), as user, a group's owner or admin.
// A freeze with until set is a cool-down: it ends by itself then (at most
// Config.MaxFreezeFor ahead). The answer is the state now (nil: open) and
// the seq of the system message recording a change (0: none).
func (n *Runtime) Freeze(ctx context.Context, conv, user string, frozen *bool, reason string, until time.Time) (*pb.Frozen, uint64, error) {
	if err := errors.Join(checkConv(conv), checkUser(user)); err != nil {
		return nil, 0, err
	}
	return n.freeze(ctx, &pb.SetFrozen{Conv: conv, Actor: user, Frozen: frozen, Reason: reason, UntilMs: untilMillis(until)})
}

// FreezeAsOperator is Freeze for the operator (the admin API: the chats
// about a listing that sold): any direct conversation or group, the
// change recorded as OperatorSender's.
func (n *Runtime) FreezeAsOperator(ctx context.Context, conv string, frozen *bool, reason string, until time.Time) (*pb.Frozen, uint64, error) {
	if err := checkConv(conv); err != nil {
		return nil, 0, err
	}
	return n.freeze(ctx, &pb.SetFrozen{Conv: conv, Frozen: frozen, Reason: reason, Operator: true, UntilMs: untilMillis(until)})
}

func untilMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (n *Runtime) freeze(ctx context.Context, req *pb.SetFrozen) (*pb.Frozen, uint64, error) {
	freezing := req.Frozen != nil && *req.Frozen
	switch {
	case req.Reason != "" && !freezing:
		return nil, 0, invalid("a reason goes with a freeze, not with a read or an unfreeze")
	case req.UntilMs != 0 && !freezing:
		return nil, 0, invalid("an end goes with a freeze, not with a read or an unfreeze")
	case req.UntilMs != 0 && (req.UntilMs <= n.cfg.Now().UnixMilli() || req.UntilMs > n.cfg.Now().Add(n.cfg.MaxFreezeFor).UnixMilli()):
		return nil, 0, invalid("a freeze's end is ahead, at most %v", n.cfg.MaxFreezeFor)
	case len(req.Reason) > n.cfg.MaxFreezeReasonBytes:
		return nil, 0, &Error{Code: pb.Code_TOO_LARGE, Message: fmt.Sprintf("a freeze's reason of %d bytes, limit %d", len(req.Reason), n.cfg.MaxFreezeReasonBytes)}
	case !utf8.ValidString(req.Reason):
		return nil, 0, invalid("a freeze's reason is not UTF-8")
	}
	res, err := n.request(ctx, KindConversation, req.Conv, req)
	if err != nil {
		return nil, 0, err
	}
	r := res.(*pb.FrozenResponse)
	return r.Frozen, r.Seq, fromPB(r.Error)
}

func (c *conversation) setFrozen(ctx actor.Context, m *pb.SetFrozen) {
	sender := ctx.Sender()
	reply := func(e *pb.Error, f *frozenState, seq uint64) {
		respond(ctx, sender, &pb.FrozenResponse{Error: e, Frozen: f.toPB(), Seq: seq})
	}
	if !c.ready(func(e *pb.Error) { reply(e, nil, 0) }) {
		return
	}
	action := ActHistory
	if m.Frozen != nil {
		action = ActFreeze
	}
	by := m.Actor
	switch {
	case m.Operator && c.kind == storage.KindService:
		reply(pbErr(pb.Code_FORBIDDEN, "%s is a service conversation: the desk closes its sessions", c.id), nil, 0)
		return
	case m.Operator:
		by = OperatorSender
	default:
		if e := authorize(c.kind, c.id, m.Actor, c.members[m.Actor], action); e != nil {
			reply(e, nil, 0)
			return
		}
	}
	s, err := c.loadSettings()
	if err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	now := c.rt.cfg.Now()
	cur := s.Frozen.at(now) // a cool-down that ended is open
	if m.Frozen == nil || !*m.Frozen && cur == nil || *m.Frozen && cur != nil && cur.Reason == m.Reason && cur.UntilMs == m.UntilMs {
		reply(nil, cur, 0) // a read, or a change that changes nothing
		return
	}
	next := *s
	next.Frozen = nil
	if *m.Frozen {
		next.Frozen = &frozenState{Reason: m.Reason, By: by, AtMs: now.UnixMilli(), UntilMs: m.UntilMs}
	}
	if err := c.saveSettings(&next); err != nil {
		reply(storeErr(err), nil, 0)
		return
	}
	// From here every send is refused; the ones queued before were
	// accepted before it and take lower seqs than its system message.
	detail := map[string]any{"op": "freeze", "actor": by, "frozen": *m.Frozen}
	if m.Reason != "" {
		detail["reason"] = m.Reason
	}
	if m.UntilMs != 0 {
		detail["until_ms"] = m.UntilMs
	}
	c.settingsEvent(ctx, by, detail, func(e *pb.Error, seq uint64) {
		if e == nil {
			for user, mem := range c.members {
				if mem.Active() {
					c.fanout.notice(c.noticeFor(user)) // the conversation lists show it
				}
			}
		}
		reply(e, next.Frozen, seq)
	})
}

// checkFrozen refuses a send into a frozen conversation.
func (c *conversation) checkFrozen() *pb.Error {
	if c.kind == storage.KindService {
		return nil // never frozen: no settings read
	}
	s, err := c.loadSettings()
	if err != nil {
		return storeErr(err)
	}
	if f := s.Frozen.at(c.rt.cfg.Now()); f != nil {
		until := "it is unfrozen"
		if f.UntilMs != 0 {
			until = time.UnixMilli(f.UntilMs).UTC().Format(time.RFC3339)
		}
		e := pbErr(pb.Code_FROZEN, "%s is frozen since %s: nobody posts until %s", c.id, time.UnixMilli(f.AtMs).UTC().Format(time.RFC3339), until)
		if f.Reason != "" {
			e.Message += " (" + f.Reason + ")"
		}
		return e
	}
	return nil
}

// checkNotFrozen refuses, outside the grain, what would be sent into a
// frozen conversation later (a scheduled message): the grain checks again
// when it comes due.
func (n *Runtime) checkNotFrozen(ctx context.Context, conv string) error {
	s, err := readSettings(ctx, n.store, conv)
	if err != nil {
		return fromPB(storeErr(err))
	}
	if s.Frozen.at(n.cfg.Now()) != nil {
		return fromPB(pbErr(pb.Code_FROZEN, "%s is frozen: nothing is scheduled into it", conv))
	}
	return nil
}

// shownSettings is what a notice or a summary tells of the conversation
// itself: its settings, or none for a service conversation (never frozen,
// no meta: nothing read) or when they cannot be read now (the next notice
// tells).
func (c *conversation) shownSettings() *groupSettings {
	if c.kind == storage.KindService {
		return &groupSettings{}
	}
	s, err := c.loadSettings()
	if err != nil {
		return &groupSettings{}
	}
	return s
}
