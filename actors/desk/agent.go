package desk

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Agent statuses: online takes new sessions, away keeps its sessions and
// takes none, offline hands its sessions back to their queues.
const (
	Online  = "online"
	Away    = "away"
	Offline = "offline"
)

// AgentInfo is an agent as its grain knows it.
type AgentInfo struct {
	User     string   `json:"user"`
	Status   string   `json:"status"`
	Capacity int      `json:"capacity"`
	Skills   []string `json:"skills"`
	// Load counts the sessions held and the slots in wrap-up.
	Load     int      `json:"load"`
	Sessions []string `json:"sessions"`
	// WrapUp are the slots still taken by sessions the agent closed
	// (serve --desk-wrap-up, Config.WrapUp), soonest to end first.
	WrapUp []WrapUpSlot `json:"wrap_up,omitempty"`
	// Present: a device of the agent was seen connected since it came
	// online; losing every device for DropGrace then takes it offline.
	Present bool `json:"present,omitempty"`
	// Supervisor may read the whole desk's service metrics and watch
	// every queue (my_metrics of any key, desk_queue of any skill:
	// Wire.MayReadMetrics, Wire.Queue).
	Supervisor bool `json:"supervisor,omitempty"`
	// StatusBy is who set the status last (the agent, a supervisor,
	// "admin" (ByAdmin), "desk" (ByDesk: an unanswered session or a
	// drop); empty: not known, set before it was kept) and StatusSinceMs
	// when (Unix ms).
	StatusBy      string `json:"status_by,omitempty"`
	StatusSinceMs int64  `json:"status_since_ms,omitempty"`
}

// AgentUpdate changes an agent; nil fields stay as they are.
type AgentUpdate struct {
	User     string    `json:"user"`
	Status   *string   `json:"status,omitempty"`
	Capacity *int      `json:"capacity,omitempty"`
	Skills   *[]string `json:"skills,omitempty"`
	// Supervisor is given by the admin only, never by the agent.
	Supervisor *bool `json:"supervisor,omitempty"`
	// EndWrapUp frees the slots of the agent's wrap-up at once: the
	// agent is done with the sessions it closed.
	EndWrapUp bool `json:"end_wrap_up,omitempty"`
	// By is who makes the change (the agent, a supervisor, ByAdmin; empty:
	// the node itself): the agent's devices are told of a change by anyone
	// else (a DESK_AGENT signal), so its workbench shows what the desk has.
	By string `json:"by,omitempty"`
}

// ByAdmin and ByDesk name who changed an agent (its DESK_AGENT signal,
// AgentInfo.StatusBy): the admin API, and the desk itself (an unanswered
// session set it away, or it dropped).
const (
	ByAdmin = "admin"
	ByDesk  = System
)

// WrapUpSlot is a slot of an agent's capacity still taken by a session
// it closed, until UntilMs.
type WrapUpSlot struct {
	Session string `json:"session"`
	Conv    string `json:"conv"`
	UntilMs int64  `json:"until_ms"`
}

type held struct {
	Thread string `json:"thread"`
	Conv   string `json:"conv"`
	// Token is the thread's assignment this hold belongs to: messages
	// that travel asynchronously (reconciliation after a crash) name it,
	// so a late one can never undo a newer assignment.
	Token uint64 `json:"token"`
}

type agentGrain struct {
	User     string          `json:"user"`
	Status   string          `json:"status"`
	Capacity int             `json:"capacity"`
	Skills   []string        `json:"skills"`
	Held     map[string]held `json:"held"` // by session id
	// Dropped are sessions handed back (going offline) whose threads have
	// not confirmed the re-queue yet: an outbox, sent again on activation.
	Dropped map[string]held `json:"dropped,omitempty"`
	// WrapUp are closed sessions whose slots stay taken for Config.WrapUp
	// (by session id): the agent finishes its notes and tags first.
	WrapUp map[string]WrapUpSlot `json:"wrap_up,omitempty"`
	// Version orders the load reports queues get (they travel
	// asynchronously and may overtake each other).
	Version    uint64 `json:"version"`
	Supervisor bool   `json:"supervisor,omitempty"`
	// StatusBy and StatusSince: who set the status last, and when
	// (AgentInfo.StatusBy).
	StatusBy    string `json:"status_by,omitempty"`
	StatusSince int64  `json:"status_since_ms,omitempty"`
	// Present, missingSince, watching: see agent_drop.go.
	Present      bool `json:"present,omitempty"`
	missingSince time.Time
	watching     bool
	wrapTimer    bool // a "wrap-up" timer is pending
}

// offer asks an agent to take a session.
type offer struct {
	Session string `json:"session"`
	Thread  string `json:"thread"`
	Conv    string `json:"conv"`
	Token   uint64 `json:"token"` // release: 0 = whatever the hold (a synchronous call of the thread)
	// WrapUp: a release at the session's close, whose slot stays taken
	// for the desk's wrap-up time.
	WrapUp bool `json:"wrap_up,omitempty"`
}

// offerAnswer is the agent's answer, with its load for the queue's view.
type offerAnswer struct {
	Accepted bool      `json:"accepted"`
	View     agentView `json:"view"`
}

// agentView is what a queue knows of an agent.
type agentView struct {
	User     string `json:"user"`
	Status   string `json:"status"`
	Load     int    `json:"load"`
	Capacity int    `json:"capacity"`
	Version  uint64 `json:"version"`
	Member   bool   `json:"member"` // false: the agent left this queue
	// WrapUp are the conversations whose closed sessions keep a slot in
	// wrap-up: a new session of one of them may take its slot back.
	WrapUp []string `json:"wrap_up,omitempty"`
}

// takesBack: the agent (online) would take a new session of conv into the
// slot its closed session there keeps in wrap-up.
func (v agentView) takesBack(conv string) bool {
	return v.Status == Online && slices.Contains(v.WrapUp, conv)
}

func (a *agentGrain) state() any { return a }

func (a *agentGrain) load(g *grain, blob []byte, found bool) error {
	a.User, a.Status, a.Held = g.id, Offline, map[string]held{}
	if found {
		if err := json.Unmarshal(blob, a); err != nil {
			return err
		}
	}
	if a.Held == nil {
		a.Held = map[string]held{}
	}
	return nil
}

func (a *agentGrain) self(g *grain, ctx actor.Context, m any) {
	msg := m.(selfMsg)
	switch msg.what {
	case "presence":
		a.checkPresence(g, ctx)
		return
	case "requeue-dropped":
		if h, ok := a.Dropped[msg.arg]; ok {
			a.sendRequeue(g, ctx, msg.arg, h)
		}
		return
	case "confirm-hold":
		a.confirmHold(g, ctx, msg.arg)
		return
	case "wrap-up":
		a.wrapTimer = false
		a.endWrapUp(g, ctx)
		return
	case "started":
		defer a.watch(g, ctx)
		defer a.endWrapUp(g, ctx) // those that ended while no grain ran; the timer for the others
	default:
		return
	}
	// An activation after a restart tells its queues where it stands:
	// their views may predate the crash.
	if a.Status != Offline || len(a.Held) > 0 {
		a.report(g, a.queues(nil))
	}
	// A crash may have cut a step between this grain and a thread: each
	// thread confirms the sessions held here, or has them released.
	for s, h := range a.Held {
		g.d.tell(KindThread, h.Thread, "held", requeue{Session: s, Agent: a.User, Token: h.Token}, nil)
	}
	for s, h := range a.Dropped {
		a.sendRequeue(g, ctx, s, h)
	}
}

// confirmHold has the thread of a session this agent took on an offer
// confirm the hold ("held"), or release it. The thread asks for the hold
// in the middle of its assignment and hears it after the assignment is
// saved; a crash of the thread's node in between (or the thread's call
// timing out) leaves a hold with no assignment behind it, which an agent
// that stays active would keep for good, one slot of its capacity lost.
// Asked again until the thread answers.
func (a *agentGrain) confirmHold(g *grain, ctx actor.Context, session string) {
	h, ok := a.Held[session]
	if !ok {
		return
	}
	retry := g.later(ctx, g.d.cfg.OfferTimeout, "confirm-hold", session)
	g.d.tell(KindThread, h.Thread, "held", requeue{Session: session, Agent: a.User, Token: h.Token}, func(_ []byte, err error) {
		if err != nil {
			resends.WithLabelValues("held").Inc()
			retry()
		}
	})
}

// sendRequeue tells the thread its agent dropped the session; once the
// thread has answered, the outbox entry goes. Unanswered, it is sent again:
// a thread that stays active never asks (a crash may have cut its node
// away just then).
func (a *agentGrain) sendRequeue(g *grain, ctx actor.Context, session string, h held) {
	user := a.User
	retry := g.later(ctx, g.d.cfg.OfferTimeout, "requeue-dropped", session)
	g.d.tell(KindThread, h.Thread, "requeue", requeue{Session: session, Agent: user, Token: h.Token}, func(_ []byte, err error) {
		if err != nil {
			resends.WithLabelValues("requeue").Inc()
			retry()
			return
		}
		g.d.tell(KindAgent, user, "requeued", session, nil)
	})
}

// setStatus changes the status, keeping who did it and when; the caller
// saves.
func (a *agentGrain) setStatus(status, by string) {
	a.Status, a.StatusBy, a.StatusSince = status, by, nowMs()
}

// busy is the agent's load: the sessions it holds and the slots in
// wrap-up.
func (a *agentGrain) busy() int { return len(a.Held) + len(a.WrapUp) }

// wrapUp keeps the slot of a session the agent closed taken for the
// desk's wrap-up time.
func (a *agentGrain) wrapUp(g *grain, ctx actor.Context, session string, h held) {
	if a.WrapUp == nil {
		a.WrapUp = map[string]WrapUpSlot{}
	}
	a.WrapUp[session] = WrapUpSlot{Session: session, Conv: h.Conv, UntilMs: nowMs() + g.d.cfg.WrapUp.Milliseconds()}
	a.armWrapUp(g, ctx)
}

// armWrapUp waits for the first wrap-up slot's end, one timer at a time
// (every slot lasts as long, so a later one never ends first).
func (a *agentGrain) armWrapUp(g *grain, ctx actor.Context) {
	if a.wrapTimer || len(a.WrapUp) == 0 {
		return
	}
	var next int64
	for _, w := range a.WrapUp {
		if next == 0 || w.UntilMs < next {
			next = w.UntilMs
		}
	}
	a.wrapTimer = true
	g.after(ctx, time.Duration(next-nowMs())*time.Millisecond, "wrap-up")
}

// dropWrapUp frees the wrap-up slots whose time is up (all: every one)
// and says whether it freed any; the caller saves.
func (a *agentGrain) dropWrapUp(g *grain, ctx actor.Context, all bool) bool {
	now := nowMs()
	freed := false
	for s, w := range a.WrapUp {
		if all || w.UntilMs <= now {
			delete(a.WrapUp, s)
			freed = true
		}
	}
	a.armWrapUp(g, ctx)
	return freed
}

// endWrapUp frees the wrap-up slots whose time is up and tells the queues.
func (a *agentGrain) endWrapUp(g *grain, ctx actor.Context) {
	if !a.dropWrapUp(g, ctx, false) {
		return
	}
	a.Version++
	if err := g.save(ctx); err != nil {
		g.d.log.Warn("wrap-up end not saved", "agent", a.User, "err", err)
		return
	}
	g.d.event(Event{Kind: "ready", Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
	a.report(g, a.queues(nil))
}

func (a *agentGrain) info() AgentInfo {
	in := AgentInfo{User: a.User, Status: a.Status, Capacity: a.Capacity, Skills: a.Skills, Load: a.busy(), Sessions: []string{}, Present: a.Present, Supervisor: a.Supervisor,
		StatusBy: a.StatusBy, StatusSinceMs: a.StatusSince}
	for s := range a.Held {
		in.Sessions = append(in.Sessions, s)
	}
	sort.Strings(in.Sessions)
	for _, w := range a.WrapUp {
		in.WrapUp = append(in.WrapUp, w)
	}
	sort.Slice(in.WrapUp, func(i, j int) bool {
		x, y := in.WrapUp[i], in.WrapUp[j]
		return x.UntilMs < y.UntilMs || (x.UntilMs == y.UntilMs && x.Session < y.Session)
	})
	if in.Skills == nil {
		in.Skills = []string{}
	}
	return in
}

func (a *agentGrain) view(member bool) agentView {
	v := agentView{User: a.User, Status: a.Status, Load: a.busy(), Capacity: a.Capacity, Version: a.Version, Member: member}
	for _, w := range a.WrapUp {
		v.WrapUp = append(v.WrapUp, w.Conv)
	}
	sort.Strings(v.WrapUp)
	return v
}

// queues are the agent's skill queues and its own ("@user"), plus extra.
func (a *agentGrain) queues(extra []string) []string {
	qs := append([]string{"@" + a.User}, a.Skills...)
	for _, q := range extra {
		if !slices.Contains(qs, q) {
			qs = append(qs, q)
		}
	}
	return qs
}

// report sends the agent's view to queues (asynchronously).
func (a *agentGrain) report(g *grain, queues []string) {
	for _, q := range queues {
		member := q == "@"+a.User || slices.Contains(a.Skills, q)
		g.d.tell(KindQueue, q, "agent", a.view(member), nil)
	}
}

func (a *agentGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "get":
		return a.info(), nil
	case "set":
		var u AgentUpdate
		if err := decode(body, &u); err != nil {
			return nil, err
		}
		return a.set(g, ctx, u)
	case "offer":
		var o offer
		if err := decode(body, &o); err != nil {
			return nil, err
		}
		if h, ok := a.Held[o.Session]; ok {
			if h.Token != o.Token { // the thread's newer assignment
				h.Token = o.Token
				a.Held[o.Session] = h
				if err := g.save(ctx); err != nil {
					return nil, err
				}
			}
			return offerAnswer{Accepted: true, View: a.view(true)}, nil
		}
		// The customer of a conversation whose wrap-up runs came back to
		// this agent: the new session takes its slot.
		free, slot := a.Capacity-a.busy(), ""
		for s, w := range a.WrapUp {
			if w.Conv == o.Conv && slot == "" {
				free, slot = free+1, s
			}
		}
		if a.Status != Online || free <= 0 {
			return offerAnswer{View: a.view(true)}, nil
		}
		if slot != "" {
			delete(a.WrapUp, slot)
		}
		a.Held[o.Session] = held{Thread: o.Thread, Conv: o.Conv, Token: o.Token}
		delete(a.Dropped, o.Session) // the thread has it back: nothing to re-queue
		a.Version++
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "hold", Session: o.Session, Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
		a.report(g, a.queues(nil))
		a.confirmHold(g, ctx, o.Session)
		return offerAnswer{Accepted: true, View: a.view(true)}, nil
	case "requeued":
		var session string
		if err := decode(body, &session); err != nil {
			return nil, err
		}
		if _, ok := a.Dropped[session]; ok {
			delete(a.Dropped, session)
			if err := g.save(ctx); err != nil {
				return nil, err
			}
		}
		return nil, nil
	case "report":
		var q string
		if err := decode(body, &q); err != nil {
			return nil, err
		}
		a.report(g, []string{q})
		return nil, nil
	case "ensure":
		// The thread says this agent has the session: after a crash the
		// two may disagree. Hold it again if there is room, else give
		// it back to its queue. The message may be late, so the thread
		// confirms every hold it causes ("held").
		var o offer
		if err := decode(body, &o); err != nil {
			return nil, err
		}
		if h, ok := a.Held[o.Session]; ok {
			if h.Token != o.Token {
				// Held for another assignment of the same session to
				// this agent: the thread's is the one that stands.
				h.Token = o.Token
				a.Held[o.Session] = h
				if err := g.save(ctx); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}
		// A session whose close a crash cut (the agent released it, the
		// thread did not save) is in its own wrap-up: it takes that slot
		// back. Any other counts against the capacity, wrap-ups included.
		_, wrapping := a.WrapUp[o.Session]
		if a.Status == Offline || (!wrapping && a.busy() >= a.Capacity) {
			g.d.tell(KindThread, o.Thread, "requeue", requeue{Session: o.Session, Agent: a.User, Token: o.Token}, nil)
			return ensureAnswer{Requeued: true}, nil
		}
		g.d.tell(KindThread, o.Thread, "held", requeue{Session: o.Session, Agent: a.User, Token: o.Token}, nil)
		delete(a.WrapUp, o.Session)
		a.Held[o.Session] = held{Thread: o.Thread, Conv: o.Conv, Token: o.Token}
		delete(a.Dropped, o.Session) // held again: nothing to re-queue
		a.Version++
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "hold", Session: o.Session, Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
		a.report(g, a.queues(nil))
		return nil, nil
	case "unanswered":
		var o offer
		if err := decode(body, &o); err != nil {
			return nil, err
		}
		return a.unanswered(g, ctx, o)
	case "release":
		var o offer
		if err := decode(body, &o); err != nil {
			return nil, err
		}
		h, ok := a.Held[o.Session]
		if !ok || (o.Token != 0 && h.Token != o.Token) {
			return a.info(), nil // not held, or held for a newer assignment
		}
		delete(a.Held, o.Session)
		if o.WrapUp && g.d.cfg.WrapUp > 0 && a.Status != Offline {
			a.wrapUp(g, ctx, o.Session, h)
		}
		a.Version++
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "release", Session: o.Session, Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
		a.report(g, a.queues(nil))
		return a.info(), nil
	}
	return nil, invalid("unknown op %q", op)
}

func (a *agentGrain) set(g *grain, ctx actor.Context, u AgentUpdate) (any, error) {
	if u.Status != nil {
		switch *u.Status {
		case Online, Away, Offline:
		default:
			return nil, invalid("status %q (want online, away or offline)", *u.Status)
		}
	}
	if u.Capacity != nil && (*u.Capacity < 0 || *u.Capacity > g.d.cfg.MaxCapacity) {
		return nil, invalid("capacity %d (want 0..%d)", *u.Capacity, g.d.cfg.MaxCapacity)
	}
	var skills []string
	if u.Skills != nil {
		if len(*u.Skills) > g.d.cfg.MaxSkills {
			return nil, invalid("%d skills, limit %d", len(*u.Skills), g.d.cfg.MaxSkills)
		}
		for _, s := range *u.Skills {
			if !validName(s) {
				return nil, invalid("bad skill %q", s)
			}
			if !slices.Contains(skills, s) {
				skills = append(skills, s)
			}
		}
		sort.Strings(skills)
	}
	before := a.queues(nil)
	if u.Status != nil {
		if *u.Status != a.Status {
			a.setStatus(*u.Status, u.By)
		}
	}
	if u.Capacity != nil {
		a.Capacity = *u.Capacity
	}
	if u.Skills != nil {
		a.Skills = skills
	}
	if u.Supervisor != nil {
		a.Supervisor = *u.Supervisor
	}
	// Going offline hands every session back: the threads re-queue them.
	var dropped map[string]held
	if a.Status == Offline && len(a.Held) > 0 {
		dropped, a.Held = a.Held, map[string]held{}
		if a.Dropped == nil {
			a.Dropped = map[string]held{}
		}
		for s, h := range dropped {
			a.Dropped[s] = h
		}
	}
	if a.Status == Offline {
		a.Present, a.missingSince = false, time.Time{}
	}
	// An agent going offline, or done with its wrap-up, takes no slot for it.
	ready := (a.Status == Offline || u.EndWrapUp) && a.dropWrapUp(g, ctx, true)
	a.Version++
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	a.watch(g, ctx)
	if u.By != "" && u.By != a.User {
		g.d.agentChanged(a.User, u.By)
	}
	if ready {
		g.d.event(Event{Kind: "ready", Agent: a.User, Load: a.busy(), Capacity: a.Capacity})
	}
	for s, h := range dropped {
		g.d.event(Event{Kind: "release", Session: s, Agent: a.User, Load: 0, Capacity: a.Capacity})
		a.sendRequeue(g, ctx, s, h)
	}
	a.report(g, a.queues(before))
	return a.info(), nil
}

// ensureAnswer is the agent's answer to a thread's "ensure": Requeued
// when it does not hold the session and told the thread to re-queue it
// (empty: it holds it).
type ensureAnswer struct {
	Requeued bool `json:"requeued,omitempty"`
}

// requeue tells a thread that agent dropped its session.
type requeue struct {
	Session string `json:"session"`
	Agent   string `json:"agent"`
	Token   uint64 `json:"token"`
}

// agentChanged tells agent's connected devices that by changed its desk
// state (DESK_AGENT), off the grain's mailbox: best effort, like every
// signal.
func (d *Desk) agentChanged(agent, by string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.rt.Config().RequestTimeout)
		defer cancel()
		d.rt.DeskAgentChanged(ctx, agent, by)
	}()
}
