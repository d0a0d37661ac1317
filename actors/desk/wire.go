package desk

import (
	"context"
	"slices"
	"strings"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// DefaultMaxQueueList bounds the waiting sessions a desk_queue answer
// lists (its total counts them all): an agent's panel shows the head of
// the queue, and the answer stays far below the protocol's frame limit.
const DefaultMaxQueueList = 100

// Wire serves the desk requests users make over the client protocol for
// themselves (actors.DeskWire). The admin API acts for any user; these
// act only for the connection's user, so each checks that user's right:
// the customer is always the caller, status needs a registered agent,
// a queue needs one of its agents or a supervisor, another key's metrics
// a supervisor, transfer the session's agent or a supervisor, close its
// agent or customer (the last two checked by the thread).
type Wire struct {
	d *Desk
	// MaxQueueList bounds the waiting sessions one queue answer lists.
	MaxQueueList int
}

// NewWire serves d's wire requests.
func NewWire(d *Desk) *Wire { return &Wire{d: d, MaxQueueList: DefaultMaxQueueList} }

var _ actors.DeskWire = (*Wire)(nil)

// wireSession is s as every participant may see it: without its notes,
// which withNotes adds for those who may read them.
func wireSession(s SessionInfo) actors.DeskSessionInfo {
	out := actors.DeskSessionInfo{Conv: s.Conv, Session: s.Session, State: s.State, QueuePosition: s.QueuePosition, Queue: s.Queue,
		QueueWaitMs: s.QueueWaitMs, AfterHours: s.AfterHours, OpensAt: s.OpensAt}
	if s.Agent != nil {
		out.Agent = *s.Agent
	}

	return out
}

// Enter: by enters as the customer. data, when set, is the scene's data
// ("listing" + "123" = "listing/123").
func (w *Wire) Enter(ctx context.Context, by, scene, data string) (actors.DeskSessionInfo, error) {
	scene, err := withData(scene, data)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	s, err := w.d.Enter(ctx, by, scene)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return wireSession(s), nil
}

// Reach: by, an agent, starts an outbound session with customer.
func (w *Wire) Reach(ctx context.Context, by, customer, scene, data string) (actors.DeskSessionInfo, error) {
	scene, err := withData(scene, data)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	s, err := w.d.Reach(ctx, by, customer, scene)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return wireSession(s), nil
}

// withData joins a scene and its data ("listing" + "123" = "listing/123").
func withData(scene, data string) (string, error) {
	if data == "" {
		return scene, nil
	}
	if strings.Contains(scene, "/") {
		return "", invalid("scene %q carries data already; data must be empty", scene)
	}
	return scene + "/" + data, nil
}

// registered: the admin gave the user skills, a capacity or the
// supervisor's role (an agent record is never created by the agent itself).
func registered(a AgentInfo) bool { return len(a.Skills) > 0 || a.Capacity > 0 || a.Supervisor }

// registeredAgent is by's agent record; FORBIDDEN unless registered.
func (d *Desk) registeredAgent(ctx context.Context, by string) (AgentInfo, error) {
	a, err := d.Agent(ctx, by)
	if err != nil {
		return a, err
	}
	if !registered(a) {
		return a, rejected(pb.Code_FORBIDDEN, "%s is not a registered agent", by)
	}
	return a, nil
}

// Status sets by's status; "" reads it. Capacity and skills stay the
// admin's.
func (w *Wire) Status(ctx context.Context, by, status string) (actors.DeskAgentInfo, error) {
	a, err := w.d.registeredAgent(ctx, by)
	if err != nil {
		return actors.DeskAgentInfo{}, err
	}
	if status != "" { // the agent grain checks it (INVALID)
		if a, err = w.d.SetAgent(ctx, AgentUpdate{User: by, Status: &status, By: by}); err != nil {
			return actors.DeskAgentInfo{}, err
		}
	}
	return w.wireAgent(ctx, a), nil
}

// EndWrapUp frees by's slots in wrap-up: the agent is done with the
// sessions it closed.
func (w *Wire) EndWrapUp(ctx context.Context, by string) (actors.DeskAgentInfo, error) {
	a, err := w.d.registeredAgent(ctx, by)
	if err != nil {
		return actors.DeskAgentInfo{}, err
	}
	if a, err = w.d.SetAgent(ctx, AgentUpdate{User: by, EndWrapUp: true, By: by}); err != nil {
		return actors.DeskAgentInfo{}, err
	}
	return w.wireAgent(ctx, a), nil
}

// wireAgent is a as the protocol shows it, named by its profile.
func (w *Wire) wireAgent(ctx context.Context, a AgentInfo) actors.DeskAgentInfo {
	out := actors.DeskAgentInfo{User: a.User, Name: w.d.rt.DisplayNames(ctx, a.User)[a.User], Status: a.Status, Capacity: a.Capacity, Skills: a.Skills, Load: a.Load, Sessions: a.Sessions, Supervisor: a.Supervisor,
		StatusBy: a.StatusBy, StatusSinceMs: a.StatusSinceMs}
	for _, w := range a.WrapUp {
		out.WrapUp = append(out.WrapUp, actors.DeskWrapUp{Session: w.Session, UntilMs: w.UntilMs})
	}
	return out
}

// Agent is agent's state, the sessions it holds included, for a
// supervisor (the team panel, to reassign one) or the agent themself.
// NOT_FOUND: no registered agent of that name.
func (w *Wire) Agent(ctx context.Context, by, agent string) (actors.DeskAgentInfo, error) {
	a, err := w.supervisedAgent(ctx, by, agent, "reads")
	if err != nil {
		return actors.DeskAgentInfo{}, err
	}
	return w.wireAgent(ctx, a), nil
}

// ManageAgent is a supervisor's change of another agent (or the agent's
// own): its status (one who left for the day without signing out goes
// offline, and its sessions back to their queues) and the end of its
// wrap-up. Capacity, skills and the role stay the admin's.
func (w *Wire) ManageAgent(ctx context.Context, by, agent, status string, endWrapUp bool) (actors.DeskAgentInfo, error) {
	a, err := w.supervisedAgent(ctx, by, agent, "changes")
	if err != nil {
		return actors.DeskAgentInfo{}, err
	}
	u := AgentUpdate{User: agent, EndWrapUp: endWrapUp, By: by}
	if status != "" {
		u.Status = &status // the agent grain checks it (INVALID)
	}
	if u.Status == nil && !endWrapUp {
		return w.wireAgent(ctx, a), nil
	}
	if a, err = w.d.SetAgent(ctx, u); err != nil {
		return actors.DeskAgentInfo{}, err
	}
	if agent != by {
		w.d.log.Info("desk: a supervisor changed an agent", "supervisor", by, "agent", agent, "status", status, "end_wrap_up", endWrapUp)
	}
	return w.wireAgent(ctx, a), nil
}

// supervisedAgent is agent's record for by, the agent themself or a
// supervisor (what: what by does with it, for the refusal); NOT_FOUND
// when agent is no registered agent.
func (w *Wire) supervisedAgent(ctx context.Context, by, agent, what string) (AgentInfo, error) {
	if agent != by {
		sup, err := w.d.Agent(ctx, by)
		if err != nil {
			return AgentInfo{}, err
		}
		if !sup.Supervisor {
			return AgentInfo{}, rejected(pb.Code_FORBIDDEN, "%s %s only their own agent state (%s: supervisors only)", by, what, agent)
		}
	}
	a, err := w.d.Agent(ctx, agent)
	if err != nil {
		return AgentInfo{}, err
	}
	if !registered(a) {
		return AgentInfo{}, rejected(pb.Code_NOT_FOUND, "%s is not a registered agent", agent)
	}
	return a, nil
}

// MayReadMetrics: everyone reads their own metrics rows; another key (an
// agent, the whole desk's "*", a business line) only a supervisor.
func (w *Wire) MayReadMetrics(ctx context.Context, by, key string) error {
	if key == by {
		return nil
	}
	a, err := w.d.Agent(ctx, by)
	if err != nil {
		return err
	}
	if !a.Supervisor {
		return rejected(pb.Code_FORBIDDEN, "%s reads only their own metrics (%s: supervisors only)", by, key)
	}
	return nil
}

// Queue lists skill's waiting sessions for one of its agents or a
// supervisor ("@by" is by's own queue).
func (w *Wire) Queue(ctx context.Context, by, skill string) (actors.DeskQueueInfo, error) {
	if owner, ok := strings.CutPrefix(skill, "@"); ok {
		if owner != by {
			return actors.DeskQueueInfo{}, rejected(pb.Code_FORBIDDEN, "queue %s is %s's own", skill, owner)
		}
	} else {
		if !validName(skill) {
			return actors.DeskQueueInfo{}, invalid("bad skill %q", skill)
		}
		a, err := w.d.Agent(ctx, by)
		if err != nil {
			return actors.DeskQueueInfo{}, err
		}
		if !slices.Contains(a.Skills, skill) && !a.Supervisor {
			return actors.DeskQueueInfo{}, rejected(pb.Code_FORBIDDEN, "%s is no agent of skill %s", by, skill)
		}
	}
	q, err := w.d.Queue(ctx, skill)
	if err != nil {
		return actors.DeskQueueInfo{}, err
	}
	out := actors.DeskQueueInfo{Skill: skill, Total: len(q.Waiting), Waiting: []actors.DeskWaiting{}, Agents: []actors.DeskQueueAgent{}}
	var users []string
	for i, e := range q.Waiting {
		if i >= max(w.MaxQueueList, 0) {
			break
		}
		customer := convCustomer(e.Conv)
		users = append(users, customer)
		out.Waiting = append(out.Waiting, actors.DeskWaiting{Conv: e.Conv, Session: e.Session, Position: i + 1, SinceMs: e.SinceMs, DueMs: e.FirstResponseDueMs, Priority: e.Priority,
			Customer: customer})
	}
	for _, a := range q.Agents {
		users = append(users, a.User)
		out.Agents = append(out.Agents, actors.DeskQueueAgent{User: a.User, Status: a.Status, Load: a.Load, Capacity: a.Capacity})
	}
	// Those who may read the queue see who waits in it and who serves it
	// by name, as the session's agent will.
	names := w.d.rt.DisplayNames(ctx, users...)
	for i := range out.Waiting {
		out.Waiting[i].CustomerName = names[out.Waiting[i].Customer]
	}
	for i := range out.Agents {
		out.Agents[i].Name = names[out.Agents[i].User]
	}
	return out, nil
}

// Transfer: the thread refuses anyone but the session's agent and the
// supervisors.
func (w *Wire) Transfer(ctx context.Context, by, conv, to, note string) (actors.DeskSessionInfo, error) {
	s, err := w.d.Transfer(ctx, by, conv, to, note)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return wireSession(s), nil
}

// Close: the thread refuses anyone but the session's agent or customer.
func (w *Wire) Close(ctx context.Context, by, conv, reason string) (actors.DeskSessionInfo, error) {
	s, err := w.d.Close(ctx, by, conv, reason)
	if err != nil {
		return actors.DeskSessionInfo{}, err
	}
	return wireSession(s), nil
}

// Rate: by, the customer, rates the closed session of conv.
func (w *Wire) Rate(ctx context.Context, by, conv string, score int, comment string) (actors.DeskRating, error) {
	r, err := w.d.Rate(ctx, by, conv, score, comment)
	if err != nil {
		return actors.DeskRating{}, err
	}
	return actors.DeskRating{Session: r.Session, Score: r.Score, Comment: r.Comment, Duplicate: r.Duplicate}, nil
}

// SavedReplies lists line's saved replies for a registered agent. With
// conv, a session's conversation that by may read the notes of (its
// agent, a supervisor), the line is that session's (line empty, or the
// same) and the texts come with their placeholders filled for it
// (fillReply).
func (w *Wire) SavedReplies(ctx context.Context, by, line, conv string) ([]actors.DeskSavedReply, error) {
	if _, err := w.d.registeredAgent(ctx, by); err != nil {
		return nil, err
	}
	var values map[string]string
	if conv != "" {
		s, err := w.d.Session(ctx, by, conv)
		if err != nil {
			return nil, err
		}
		if err := w.mayReadNotes(ctx, by, s); err != nil {
			return nil, err
		}
		if line != "" && line != s.Line {
			return nil, invalid("%s is a conversation of line %s, not %s", conv, s.Line, line)
		}
		line = s.Line
		values = w.placeholders(ctx, by, s)
	}
	list, err := w.d.SavedReplies(ctx, line)
	if err != nil {
		return nil, err
	}
	out := make([]actors.DeskSavedReply, len(list))
	for i, r := range list {
		out[i] = actors.DeskSavedReply{Name: r.Name, Text: r.Text}
		if values != nil {
			out[i].Text = fillReply(r.Text, values)
		}
	}
	return out, nil
}

// placeholders are the values a saved reply's placeholders take in
// session s, read by agent by: the two display names and the customer's
// attributes (left empty when the store fails to read them: logged).
func (w *Wire) placeholders(ctx context.Context, by string, s SessionInfo) map[string]string {
	names := w.d.rt.DisplayNames(ctx, s.Customer, by)
	values := map[string]string{placeholderCustomerName: names[s.Customer], placeholderAgentName: names[by]}
	a, err := w.d.rt.UserAttributes(ctx, s.Customer)
	if err != nil {
		w.d.log.Warn("a customer's attributes not read for a saved reply", "customer", s.Customer, "conv", s.Conv, "err", err)
		return values
	}
	for k, v := range a.Values {
		values[placeholderAttribute+k] = v
	}
	return values
}
