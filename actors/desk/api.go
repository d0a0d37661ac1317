package desk

import (
	"context"
	"slices"
	"strings"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// SetScene registers (or replaces) a scene and its route, e.g. scene
// "listing", line "cars", route ["bot", "queue:sales"].
func (d *Desk) SetScene(ctx context.Context, sc Scene) (Scene, error) {
	var out Scene
	err := d.call(ctx, KindScenes, scenesID, "set", sc, &out)
	return out, err
}

// Scenes lists the registered scenes by name.
func (d *Desk) Scenes(ctx context.Context) ([]Scene, error) {
	var out []Scene
	err := d.call(ctx, KindScenes, scenesID, "list", nil, &out)
	return out, err
}

// SetHours sets a business line's opening hours; nil clears them (the
// line is always open). A session that starts outside them gets an
// after_hours step telling the customer when the line opens (hours.go).
func (d *Desk) SetHours(ctx context.Context, line string, h *Hours) (*Hours, error) {
	var out *Hours
	err := d.call(ctx, KindScenes, scenesID, "set_hours", hoursReq{Line: line, Hours: h}, &out)
	return out, err
}

// LineHours returns a business line's opening hours, nil if it has none.
func (d *Desk) LineHours(ctx context.Context, line string) (*Hours, error) {
	var out *Hours
	if !validName(line) {
		return nil, invalid("bad line %q", line)
	}
	err := d.call(ctx, KindScenes, scenesID, "hours", line, &out)
	return out, err
}

// SetSavedReplies replaces a business line's saved replies (an empty list
// removes them all) and returns them.
func (d *Desk) SetSavedReplies(ctx context.Context, line string, list []SavedReply) ([]SavedReply, error) {
	var out []SavedReply
	if !validName(line) {
		return nil, invalid("bad line %q", line)
	}
	if list == nil {
		list = []SavedReply{}
	}
	err := d.call(ctx, KindReplies, line, "set", list, &out)
	return out, err
}

// SavedReplies returns a business line's saved replies, in the order set.
func (d *Desk) SavedReplies(ctx context.Context, line string) ([]SavedReply, error) {
	var out []SavedReply
	if !validName(line) {
		return nil, invalid("bad line %q", line)
	}
	err := d.call(ctx, KindReplies, line, "get", nil, &out)
	return out, err
}

// SetAgent changes an agent's status, capacity or skills.
func (d *Desk) SetAgent(ctx context.Context, u AgentUpdate) (AgentInfo, error) {
	var out AgentInfo
	if !actors.ValidUserID(u.User) || u.User == System {
		return out, invalid("bad agent id %q", u.User)
	}
	err := d.call(ctx, KindAgent, u.User, "set", u, &out)
	return out, err
}

// Agent returns an agent's state.
func (d *Desk) Agent(ctx context.Context, user string) (AgentInfo, error) {
	var out AgentInfo
	if !actors.ValidUserID(user) {
		return out, invalid("bad user id %q", user)
	}
	err := d.call(ctx, KindAgent, user, "get", nil, &out)
	return out, err
}

// Queue returns a skill group's waiting sessions and agents ("@USER" is
// an owner agent's own queue).
func (d *Desk) Queue(ctx context.Context, skill string) (QueueInfo, error) {
	var out QueueInfo
	if !validName(strings.TrimPrefix(skill, "@")) {
		return out, invalid("bad skill %q", skill)
	}
	err := d.call(ctx, KindQueue, skill, "show", nil, &out)
	return out, err
}

// Enter opens (or returns) the customer's session for a scene such as
// "listing/123": the scene's business line picks the conversation, its
// route who answers.
func (d *Desk) Enter(ctx context.Context, customer, scene string) (SessionInfo, error) {
	var out SessionInfo
	if !actors.ValidUserID(customer) || customer == System {
		return out, invalid("bad user id %q", customer)
	}
	if actors.IsVisitor(customer) {
		name, _, err := sceneName(scene)
		if err != nil {
			return out, err
		}
		if !slices.Contains(d.cfg.VisitorScenes, name) {
			return out, rejected(pb.Code_FORBIDDEN, "scene %q takes no anonymous visitors: sign in to enter it", name)
		}
	}
	sc, data, err := d.sceneOf(ctx, scene)
	if err != nil {
		return out, err
	}
	req := enterReq{Customer: customer, Line: sc.Line, Scene: scene, Data: data, Route: sc.Route, lineSettings: sc.lineSettings}
	err = d.call(ctx, KindThread, threadID(sc.Line, customer), "enter", req, &out)
	return out, err
}

// MaxPriority is the highest priority of a customer in a line.
const MaxPriority = 9

// SetPriority sets customer's priority in line (0 to MaxPriority; 0: none),
// for the business's back end (a premium plan, a VIP): the line's queues
// serve higher priorities first, each in order of arrival; a session of
// the customer's waiting now moves to its place. Customers never set their
// own.
func (d *Desk) SetPriority(ctx context.Context, line, customer string, priority int) (int, error) {
	if !validName(line) {
		return 0, invalid("bad line %q", line)
	}
	if !actors.ValidUserID(customer) || customer == System {
		return 0, invalid("bad user id %q", customer)
	}
	if priority < 0 || priority > MaxPriority {
		return 0, invalid("priority %d (want 0 to %d)", priority, MaxPriority)
	}
	var out int
	err := d.call(ctx, KindThread, threadID(line, customer), "priority", priority, &out)
	return out, err
}

// sceneOf is the registered scene of an entry such as "listing/123", and
// the entry's data ("123").
func (d *Desk) sceneOf(ctx context.Context, scene string) (sceneEntry, string, error) {
	var sc sceneEntry
	name, data, err := sceneName(scene)
	if err != nil {
		return sc, "", err
	}
	err = d.call(ctx, KindScenes, scenesID, "get", name, &sc)
	return sc, data, err
}

// Reach starts an outbound session: agent writes to customer first, in
// the business line of scene (a follow-up, an order that needs a word).
// The agent takes it at once (online with room, else BUSY); a customer
// with an open session in the line is refused EXISTS, unless that
// session is already the agent's. The scene's route says where the
// session goes should the agent hand it back (its first queue step).
func (d *Desk) Reach(ctx context.Context, agent, customer, scene string) (SessionInfo, error) {
	var out SessionInfo
	if !actors.ValidUserID(customer) || customer == System {
		return out, invalid("bad user id %q", customer)
	}
	if customer == agent {
		return out, invalid("%s cannot reach out to themself", agent)
	}
	if _, err := d.registeredAgent(ctx, agent); err != nil {
		return out, err
	}
	sc, data, err := d.sceneOf(ctx, scene)
	if err != nil {
		return out, err
	}
	// Checked before anything is held or created: the session needs a
	// queue to go back to should the agent hand it back.
	if firstQueueStep(sc.Route) < 0 {
		return out, invalid("scene %s routes to the robot only: no queue to fall back to", scene)
	}
	req := enterReq{Customer: customer, Line: sc.Line, Scene: scene, Data: data, Route: sc.Route, By: agent}
	err = d.call(ctx, KindThread, threadID(sc.Line, customer), "enter", req, &out)
	return out, err
}

// Session returns the session of a desk conversation, with its internal
// notes, for an agent of the desk (anyone but the customer).
func (d *Desk) Session(ctx context.Context, user, conv string) (SessionInfo, error) {
	var out SessionInfo
	th, err := convThread(conv)
	if err != nil {
		return out, err
	}
	if err := d.call(ctx, KindThread, th, "get", nil, &out); err != nil {
		return out, err
	}
	if out.Conv != conv {
		return SessionInfo{}, rejected(pb.Code_NOT_FOUND, "%s is not the current conversation of %s", conv, th)
	}
	if user == out.Customer {
		out.Notes, out.Tags = nil, nil // internal
		out.FirstResponseTargetMs, out.FirstResponseDueMs, out.StartedMs, out.AnswerByMs = 0, 0, 0, 0
	}
	return out, nil
}

// Handover moves a session from the robot to the next step of its route;
// by is the customer or the robot.
func (d *Desk) Handover(ctx context.Context, by, conv string) (SessionInfo, error) {
	return d.onThread(ctx, conv, "handover", handoverReq{By: by})
}

// Transfer hands the session of conv from its agent to "user:ID" or
// "queue:SKILL", with an internal note the customer does not see; by is
// that agent or a supervisor (the thread checks).
func (d *Desk) Transfer(ctx context.Context, by, conv, to, note string) (SessionInfo, error) {
	return d.onThread(ctx, conv, "transfer", transferReq{By: by, To: to, Note: note})
}

// Close ends the session of conv; by is its agent or its customer.
func (d *Desk) Close(ctx context.Context, by, conv, reason string) (SessionInfo, error) {
	if by == System {
		return SessionInfo{}, invalid("%q closes sessions on inactivity only", System)
	}
	return d.onThread(ctx, conv, "close", closeReq{By: by, Reason: reason})
}

// Forget takes what user typed out of the desk's state of conv (the
// rating comment of its session, the reason of a close still under way),
// for an erasure (actors.SetDeskForget). A conversation that is not the
// desk's, or no longer its thread's current one, holds nothing of it.
func (d *Desk) Forget(ctx context.Context, user, conv string) error {
	th, err := convThread(conv)
	if err != nil {
		return nil
	}
	return d.call(ctx, KindThread, th, "forget", forgetReq{User: user, Conv: conv}, nil)
}

func (d *Desk) onThread(ctx context.Context, conv, op string, req any) (SessionInfo, error) {
	var out SessionInfo
	th, err := convThread(conv)
	if err != nil {
		return out, err
	}
	var cur SessionInfo
	if err := d.call(ctx, KindThread, th, "get", nil, &cur); err != nil {
		return out, err
	}
	if cur.Conv != conv {
		return out, rejected(pb.Code_NOT_FOUND, "%s is not the current conversation of %s", conv, th)
	}
	err = d.call(ctx, KindThread, th, op, req, &out)
	return out, err
}
