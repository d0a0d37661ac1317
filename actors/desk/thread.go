package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/storage"
)

// Session states.
const (
	StateBot      = "bot"
	StateQueued   = "queued"
	StateAssigned = "assigned"
	StateClosed   = "closed"
)

// Note is an internal note (notes.go); customers never see it: it lives
// in the desk's state, not in the conversation.
type Note struct {
	By   string `json:"by"`
	At   int64  `json:"at_ms"`
	Text string `json:"text"`
}

type session struct {
	ID      string   `json:"id"`
	Scene   string   `json:"scene"`
	Data    string   `json:"data,omitempty"`
	Route   []string `json:"route"`
	Step    int      `json:"step"`
	State   string   `json:"state"`
	Queue   string   `json:"queue,omitempty"`
	Agent   string   `json:"agent,omitempty"`
	Bot     string   `json:"bot,omitempty"`
	Since   int64    `json:"since,omitempty"`
	Entered int64    `json:"entered,omitempty"`
	Prefer  string   `json:"prefer,omitempty"`
	Token   uint64   `json:"token,omitempty"` // the current assignment (see held.Token)
	// Closing is a close of a waiting session under way: saved before
	// the queue counts the abandon, so a crash before the close is
	// recorded finishes it on activation instead of queueing again.
	Closing *closeReq `json:"closing,omitempty"`
	Started int64     `json:"started"`
	Notes   []Note    `json:"notes,omitempty"`
	// Tags are the agents' contact reasons (tags.go); TagsVersion counts
	// their changes.
	Tags        []string `json:"tags,omitempty"`
	TagsVersion int      `json:"tags_version,omitempty"`
	// Rating: the customer's rating, once the session closed (rating.go).
	Rating *Rating `json:"rating,omitempty"`
	// AfterHours: the session started while its line was closed
	// (hours.go); OpensAt is when the line opened next (0: never).
	AfterHours bool  `json:"after_hours,omitempty"`
	OpensAt    int64 `json:"opens_at_ms,omitempty"`
	// Hours are the line's opening hours when the session started (nil:
	// always open): its queue waits are counted in them (hours.go).
	Hours *Hours `json:"hours,omitempty"`
	// Target is the line's first-response target when the session started
	// (ms, 0: none) and Due when it falls, in the line's opening hours
	// (Unix ms; 0: the line never opens again), targets.go.
	Target int64 `json:"first_response_target_ms,omitempty"`
	Due    int64 `json:"first_response_due_ms,omitempty"`
	// OverflowAt is when the waiting session moves on to its route's next
	// step (Unix ms; 0: it waits until an agent takes it), set while it
	// waits in a step's queue whose step has a wait (queue:vip/2m).
	OverflowAt int64 `json:"overflow_at_ms,omitempty"`
	// Overflowing: the overflow is under way, saved before it is
	// recorded, so an activation after a crash finishes it (its deadline
	// has passed) instead of serving the session from the queue it left
	// in the log.
	Overflowing bool `json:"overflowing,omitempty"`
	// Served: an agent has had the session. Its queue entries no longer
	// carry the due time: whether that agent answered is the metrics'
	// to say (the desk does not follow the agents' messages).
	Served bool `json:"served,omitempty"`
	// AnswerBy is when the agent the session was given to must have
	// written in its conversation (Unix ms; 0: not watched), and
	// AnswerAfter the seq of the step that gave it (answer.go).
	AnswerBy    int64  `json:"answer_by_ms,omitempty"`
	AnswerAfter uint64 `json:"answer_after_seq,omitempty"`
	// AnswerTimeout is the line's own answer timeout when the session
	// started (ms; 0: the desk's), Targets.AnswerTimeoutMs.
	AnswerTimeout int64 `json:"answer_timeout_ms,omitempty"`
}

// tokenFenceShift places an activation's assignment tokens above its
// fence epoch: 2^32 offers per activation.
const tokenFenceShift = 32

// threadGrain is one customer's service thread in one business line: the
// current conversation (a new one after StickyWindow) and its session.
type threadGrain struct {
	Line      string   `json:"line"`
	Customer  string   `json:"customer"`
	Gen       int      `json:"gen"`
	Conv      string   `json:"conv"`
	N         int      `json:"n"`
	Tokens    uint64   `json:"tokens"` // the last assignment token given (see load)
	Session   *session `json:"session,omitempty"`
	LastAgent string   `json:"last_agent,omitempty"`
	ClosedAt  int64    `json:"closed_at,omitempty"`
	// ClosedSeq is the seq of the last close: a customer message after it
	// reopens (one before it was sent while the session was open).
	ClosedSeq uint64 `json:"closed_seq,omitempty"`
	// Recent are the latest assignments from a queue, and overflows out
	// of one (at most recentAssigns): a queue that lost the answer or the
	// overflow's withdraw (a crash) offers the entry again, maybe after
	// the session moved on, and hears what became of it, so it counts the
	// assignment or the overflow exactly once.
	Recent []assignMemo `json:"recent,omitempty"`
	// Merged: the account this (anonymous) customer was merged into; it
	// is the thread's customer from then on (merge_thread.go).
	Merged string `json:"merged,omitempty"`
	// Alias: a merged thread of this account in the same line, where an
	// entry goes first while that thread is open or sticky.
	Alias string `json:"alias,omitempty"`
	// Priority is the customer's priority in the line (Desk.SetPriority):
	// a queue serves higher priorities first, each in order of arrival.
	Priority int `json:"priority,omitempty"`
	armed    bool
	// overflowArmed is the Session.OverflowAt a timer is set for, and
	// answerArmed the Session.AnswerBy.
	overflowArmed int64
	answerArmed   int64
	// fresh: "started" did its repairs and no request but a wake came
	// since. A start-up's wake (the activation's first request) finds
	// them just done; a later wake (the periodic one) does them again.
	fresh bool
}

// assignMemo is one assignment of a queue entry, or its overflow to the
// route's next step (see threadGrain.Recent).
type assignMemo struct {
	Session  string `json:"session"`
	Queue    string `json:"queue"`
	Entered  int64  `json:"entered"`
	Agent    string `json:"agent,omitempty"`
	WaitMs   int64  `json:"wait_ms,omitempty"`
	Overflow bool   `json:"overflow,omitempty"`
}

// remember adds m to Recent, keeping the last recentAssigns.
func (t *threadGrain) remember(m assignMemo) {
	t.Recent = append(t.Recent, m)
	if len(t.Recent) > recentAssigns {
		t.Recent = t.Recent[len(t.Recent)-recentAssigns:]
	}
}

// recentAssigns bounds threadGrain.Recent: a repeated offer comes within
// the offer timeout of the queue's restart, long before this many more
// assignments of one customer in one line.
const recentAssigns = 16

// who is the thread's customer: the account once the anonymous id it was
// opened by has been merged into it.
func (t *threadGrain) who() string {
	if t.Merged != "" {
		return t.Merged
	}
	return t.Customer
}

// SessionInfo is a session as the API returns it. Agent is null while the
// session waits or is with the robot.
type SessionInfo struct {
	Conv          string  `json:"conv"`
	Session       string  `json:"session"`
	Agent         *string `json:"agent"`
	QueuePosition int     `json:"queue_position"`
	// QueueWaitMs: while queued, the queue's estimate of the wait from
	// now (0: none yet).
	QueueWaitMs int64  `json:"queue_wait_ms,omitempty"`
	State       string `json:"state"`
	Customer    string `json:"customer"`
	Line        string `json:"line"`
	Scene       string `json:"scene"`
	Queue       string `json:"queue,omitempty"`
	Bot         string `json:"bot,omitempty"`
	Notes       []Note `json:"notes,omitempty"`
	// Tags, like Notes, are internal: never shown to the customer.
	Tags   []string `json:"tags,omitempty"`
	Rating *Rating  `json:"rating,omitempty"`
	// LastAgent is the agent who held this session last (kept once it
	// closed; empty if it was queued again and nobody took it).
	LastAgent string `json:"last_agent,omitempty"`
	// AfterHours: the session started while its line was closed; OpensAt
	// (Unix ms) is when the line opened next, 0 if it never does.
	AfterHours bool  `json:"after_hours,omitempty"`
	OpensAt    int64 `json:"opens_at_ms,omitempty"`
	// FirstResponseTargetMs is the session's first-response target (0:
	// none), FirstResponseDueMs when an agent's first message is due
	// (Unix ms, in the line's opening hours) and StartedMs when the
	// session started; internal, like the notes.
	FirstResponseTargetMs int64 `json:"first_response_target_ms,omitempty"`
	FirstResponseDueMs    int64 `json:"first_response_due_ms,omitempty"`
	StartedMs             int64 `json:"started_ms,omitempty"`
	// AnswerByMs: while assigned, when the session goes back to its queue
	// unless its agent wrote in it first (Unix ms; 0: not watched; serve
	// --desk-answer-timeout, Config.AnswerTimeout); internal, like the
	// notes. It stays set until then even once the agent wrote: the desk
	// looks only then.
	AnswerByMs int64 `json:"answer_by_ms,omitempty"`
}

func threadID(line, customer string) string { return line + "/" + customer }

// convCustomer is the customer of a desk conversation id
// ("s:LINE:CUSTOMER:GEN"; "" for another id).
func convCustomer(conv string) string {
	parts := strings.Split(conv, ":")
	if len(parts) != 4 || parts[0] != "s" {
		return ""
	}
	return parts[2]
}

// convThread finds the thread of a desk conversation id
// ("s:LINE:CUSTOMER:GEN").
func convThread(conv string) (string, error) {
	parts := strings.Split(conv, ":")
	if len(parts) != 4 || parts[0] != "s" || !validName(parts[1]) || !actors.ValidUserID(parts[2]) {
		return "", rejected(pb.Code_NOT_FOUND, "%q is not a desk conversation", conv)
	}
	return threadID(parts[1], parts[2]), nil
}

func (t *threadGrain) state() any { return t }

func (t *threadGrain) load(g *grain, blob []byte, found bool) error {
	if found {
		if err := json.Unmarshal(blob, t); err != nil {
			return err
		}
	}
	// An earlier activation may have offered tokens it never saved (its
	// node died between an agent's hold and the thread's save). Had this
	// one given them out again, that activation's late answer to the
	// agent's hold check ("release" that token) would release the hold of
	// this one's assignment. Each activation's tokens start above its
	// fence, so none repeats one an earlier activation could have offered.
	t.Tokens = max(t.Tokens, g.fence<<tokenFenceShift)
	if found {
		return nil
	}
	line, customer, _ := strings.Cut(g.id, "/")
	t.Line, t.Customer = line, customer
	return nil
}

func (t *threadGrain) open() bool { return t.Session != nil && t.Session.State != StateClosed }

func (t *threadGrain) info(g *grain, spot queueSpot) SessionInfo {
	in := SessionInfo{Conv: t.Conv, Customer: t.who(), Line: t.Line, State: StateClosed}
	if s := t.Session; s != nil {
		in.Session, in.State, in.Scene, in.Queue, in.Bot, in.Notes, in.Tags, in.Rating = s.ID, s.State, s.Scene, s.Queue, s.Bot, s.Notes, s.Tags, s.Rating
		in.LastAgent = s.Agent
		in.AfterHours, in.OpensAt = s.AfterHours, s.OpensAt
		in.FirstResponseTargetMs, in.FirstResponseDueMs, in.StartedMs = s.Target, s.Due, s.Started
		if s.State == StateAssigned {
			a := s.Agent
			in.Agent = &a
			in.AnswerByMs = s.AnswerBy
		}
		if s.State == StateQueued {
			if spot.Position == 0 || spot.WaitMs < 0 { // not just answered by the queue: ask it
				_ = g.d.call(context.Background(), KindQueue, s.Queue, "spot", s.ID, &spot)
			}
			in.QueuePosition, in.QueueWaitMs = spot.Position, spot.WaitMs
		}
	}
	return in
}

// record writes a desk step into the conversation.
func (t *threadGrain) record(g *grain, actor string, body map[string]any, addAgents, addMembers, remove []string) error {
	_, err := t.recordAt(g, actor, body, addAgents, addMembers, remove)
	return err
}

// recordAt is record, also returning the step's seq.
func (t *threadGrain) recordAt(g *grain, actor string, body map[string]any, addAgents, addMembers, remove []string) (uint64, error) {
	body["session"] = t.Session.ID
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	seq, err := g.d.rt.DeskEvent(ctx, &pb.DeskEvent{Conv: t.Conv, Actor: actor, Body: b, AddAgents: addAgents, AddMembers: addMembers, Remove: remove})
	if err != nil {
		return 0, fmt.Errorf("record %v in %s: %w", body["desk"], t.Conv, err)
	}
	return seq, nil
}

type enterReq struct {
	Customer string   `json:"customer"`
	Line     string   `json:"line"`
	Scene    string   `json:"scene"`
	Data     string   `json:"data,omitempty"`
	Route    []string `json:"route"`
	// Via is set on an entry an account's thread forwards to its merged
	// thread (Alias); Own is then the account thread's own last close
	// (0 if none within the sticky window), which a more recent merged
	// thread must beat.
	Via string `json:"via,omitempty"`
	Own int64  `json:"own,omitempty"`
	// The line's opening hours (nil: always open) and targets at the entry.
	lineSettings
	// By: the agent who starts an outbound session (Desk.Reach).
	By string `json:"by,omitempty"`
}

type forgetReq struct {
	User string `json:"user"`
	Conv string `json:"conv"`
}

type handoverReq struct {
	By string `json:"by"`
}

type transferReq struct {
	By   string `json:"by"`
	To   string `json:"to"`
	Note string `json:"note,omitempty"`
}

type closeReq struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

func (t *threadGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	defer t.arm(g, ctx)
	if op != "wake" {
		t.fresh = false
	}
	switch op {
	case "get":
		return t.info(g, queueSpot{}), nil
	case "enter":
		var r enterReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.enter(g, ctx, r)
	case "assign":
		var r assignReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.assign(g, ctx, r)
	case "handover":
		var r handoverReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		if !t.open() || t.Session.State != StateBot {
			return nil, rejected(pb.Code_INVALID, "no session with the robot in %s", t.Conv)
		}
		if r.By != t.who() && r.By != t.Session.Bot {
			return nil, rejected(pb.Code_FORBIDDEN, "only the customer or the robot hands over")
		}
		s := t.Session
		if s.Step+1 >= len(s.Route) {
			return nil, rejected(pb.Code_INVALID, "scene %s routes to the robot only", s.Scene)
		}
		if err := t.record(g, r.By, map[string]any{"desk": "handover", "by": r.By}, nil, nil, []string{s.Bot}); err != nil {
			return nil, err
		}
		s.Bot = ""
		if s.Target > 0 {
			// The robot's time is not the agents': their clock starts now,
			// as the metrics count it.
			s.Due = g.d.cfg.dueAt(nowMs(), s.Target, s.Hours)
		}
		spot, err := t.step(g, s.Step+1)
		if err != nil {
			return nil, err
		}
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		return t.info(g, spot), nil
	case "wake":
		// Activated by the roster after a start-up: "started" did the
		// repairs. A thread no longer open unlists itself (here, between
		// its own begin and close, so never after a new session's add).
		if !t.open() {
			t.unlist(g)
			return nil, nil
		}
		if !t.fresh {
			// Active for a while (the periodic wake): a queue may have
			// lost the entry since, or an agent the session.
			t.reenter(g)
			t.ensure(g, ctx)
		}
		t.fresh = false
		return nil, nil
	case "message":
		var r messageNote
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.reopen(g, ctx, r)
	case "merged", "alias":
		var to string
		if err := decode(body, &to); err != nil {
			return nil, err
		}
		return t.mergeOp(g, ctx, op, to)
	case "priority":
		var p int
		if err := decode(body, &p); err != nil {
			return nil, err
		}
		if p < 0 || p > MaxPriority {
			return nil, invalid("priority %d (want 0 to %d)", p, MaxPriority)
		}
		if p != t.Priority {
			t.Priority = p
			if err := g.save(ctx); err != nil {
				return nil, err
			}
		}
		// A session waiting now takes its place for the new priority (asked
		// even when unchanged here, so a retry after a failed call does it).
		if s := t.Session; s != nil && s.State == StateQueued {
			qctx, cancel := context.WithTimeout(context.Background(), g.d.rt.Config().RequestTimeout)
			defer cancel()
			if err := g.d.call(qctx, KindQueue, s.Queue, "reprioritize", reprioritizeReq{Session: s.ID, Priority: p}, nil); err != nil {
				return nil, fmt.Errorf("queue %s: %w", s.Queue, err)
			}
		}
		return p, nil
	case "transfer":
		var r transferReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.transfer(g, ctx, r)
	case "note":
		var r noteReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.addNote(g, ctx, r)
	case "tag":
		var r tagReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.tag(g, ctx, r)
	case "close":
		var r closeReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.close(g, ctx, r)
	case "forget":
		var r forgetReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return nil, t.forget(g, ctx, r)
	case "rate":
		var r rateReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.rate(g, ctx, r)
	case "unanswered":
		var r requeue
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		return t.unanswered(g, ctx, r)
	case "held":
		// An agent restarted holding this session: release it unless it
		// is this session's agent.
		var r requeue
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		s := t.Session
		if !t.open() || s.ID != r.Session || s.State != StateAssigned || s.Agent != r.Agent || s.Token != r.Token {
			g.d.tell(KindAgent, r.Agent, "release", offer{Session: r.Session, Token: r.Token}, nil)
		}
		return nil, nil
	case "requeue":
		var r requeue
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		s := t.Session
		if !t.open() || s.ID != r.Session || s.State != StateAssigned || s.Agent != r.Agent || (r.Token != 0 && r.Token != s.Token) {
			return nil, nil
		}
		// Should the agent hold it again (a duplicate of an old drop),
		// it must not keep a session it no longer has.
		defer g.d.tell(KindAgent, r.Agent, "release", offer{Session: r.Session, Token: r.Token}, nil)
		if err := t.record(g, System, map[string]any{"desk": "requeue", "agent": r.Agent}, nil, nil, []string{r.Agent}); err != nil {
			return nil, err
		}
		s.Agent = ""
		spot, err := t.queue(g, s.Queue, s.Since, "")
		if err != nil {
			return nil, err
		}
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "unassign", Session: s.ID, Agent: r.Agent})
		return t.info(g, spot), nil
	}
	return nil, invalid("unknown op %q", op)
}

func (t *threadGrain) enter(g *grain, ctx actor.Context, r enterReq) (_ any, err error) {
	if r.Customer != t.who() || r.Line != t.Line {
		if t.Merged != "" && r.Customer == t.Customer {
			return nil, rejected(pb.Code_FORBIDDEN, "%s was merged into %s: enter as %s", t.Customer, t.Merged, t.Merged)
		}
		return nil, invalid("entry for %s/%s reached thread %s/%s", r.Line, r.Customer, t.Line, t.who())
	}
	if t.open() {
		if s := t.Session; r.By != "" && (s.State != StateAssigned || s.Agent != r.By) {
			return nil, rejected(pb.Code_EXISTS, "%s has an open session in line %s (%s)", t.who(), t.Line, s.State)
		}
		return t.info(g, queueSpot{}), nil
	}
	// A rating of the last session whose step is not written yet goes
	// first, into that session's conversation: the next session replaces
	// the state that holds it.
	if t.ratingPending() {
		if err := t.writeRating(g, ctx); err != nil {
			return nil, err
		}
	}
	now := nowMs()
	sticky := t.Conv != "" && time.Duration(now-t.ClosedAt)*time.Millisecond <= g.d.cfg.StickyWindow
	if r.Via != "" && (!sticky || t.ClosedAt < r.Own) {
		return SessionInfo{}, nil // declined: the account's own thread goes on
	}
	if r.Via == "" && r.By == "" && t.Alias != "" {
		in, err := t.viaAlias(g, r, sticky)
		if err != nil || in.Session != "" {
			return in, err
		}
		t.Alias = "" // past its window or older than our own: never again
	}
	var token uint64
	if r.By != "" {
		// The agent first: a refusal changes nothing.
		conv := t.Conv
		if !sticky {
			conv = t.convID(t.Gen + 1)
		}
		sid := sessionID(conv, t.N+1) // the id begin gives it
		cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
		token, err = t.offerTo(g, cctx, r.By, sid, conv)
		cancel()
		if err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				g.d.tell(KindAgent, r.By, "release", offer{Session: sid, Token: token}, nil)
			}
		}()
	}
	if !sticky {
		was := t.Conv
		t.Gen++
		t.Conv = t.convID(t.Gen)
		cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
		_, err := g.d.rt.CreateConversation(cctx, &pb.CreateConversation{Conv: t.Conv, Kind: pb.ConvKind_SERVICE, Title: r.Scene,
			Members: []*pb.Member{{User: t.Customer, Role: pb.Role_CUSTOMER}}})
		cancel()
		if err != nil && actors.CodeOf(err) != pb.Code_EXISTS {
			t.Gen--
			t.Conv, was = was, t.Conv
			return nil, fmt.Errorf("create %s: %w", was, err)
		}
		t.ClosedSeq = 0 // a seq of the old conversation
	}
	prefer := ""
	if sticky {
		prefer = t.LastAgent
	}
	start := map[string]any{"desk": "start", "line": t.Line, "scene": r.Scene, "data": r.Data}
	if r.By != "" {
		return t.reach(g, ctx, r, token, start)
	}
	return t.begin(g, ctx, &session{Scene: r.Scene, Data: r.Data, Route: r.Route, Prefer: prefer}, start, r.lineSettings,
		func(s *session) (queueSpot, error) { return t.step(g, 0) })
}

// convID is the customer's conversation of generation gen in the line.
func (t *threadGrain) convID(gen int) string {
	return fmt.Sprintf("s:%s:%s:%d", t.Line, t.Customer, gen)
}

// sessionID is the n-th session of conv.
func sessionID(conv string, n int) string { return fmt.Sprintf("%s/%d", conv, n) }

// firstQueueStep is the index of route's first queue step, -1 if it has
// none (a route to the robot alone).
func firstQueueStep(route []string) int {
	return slices.IndexFunc(route, func(step string) bool { _, ok := stepQueue(step); return ok })
}

// reach starts an outbound session: agent r.By, holding it already
// (token), writes to the customer first. The session starts at its
// route's first queue step (Desk.Reach checked there is one), where it
// goes back should the agent go offline; it has no first response to
// measure (nobody asked) and no robot, and tells nobody the line's hours.
func (t *threadGrain) reach(g *grain, ctx actor.Context, r enterReq, token uint64, start map[string]any) (any, error) {
	first := max(firstQueueStep(r.Route), 0)
	start["outbound"], start["by"] = true, r.By
	s := &session{Scene: r.Scene, Data: r.Data, Route: r.Route[first:]}
	return t.begin(g, ctx, s, start, lineSettings{}, func(s *session) (queueSpot, error) {
		step := map[string]any{"desk": "transfer", "from": "", "to": "user:" + r.By, "by": r.By, "outbound": true}
		if err := t.record(g, r.By, step, []string{r.By}, nil, nil); err != nil {
			return queueSpot{}, err
		}
		q, _ := stepQueue(s.Route[0])
		s.State, s.Queue, s.Agent, s.Token, s.Served = StateAssigned, q, r.By, token, true
		t.LastAgent = r.By
		g.d.event(Event{Kind: "assign", Session: s.ID, Agent: r.By})
		return queueSpot{}, nil
	})
}

// begin makes s the next session of the current conversation, records its
// start (the event start, with the line's first-response target and
// hours), tells the customer when a closed line opens (line.Hours, nil if
// always open) and takes its route's first step.
func (t *threadGrain) begin(g *grain, ctx actor.Context, s *session, start map[string]any, line lineSettings, first func(*session) (queueSpot, error)) (any, error) {
	// Listed first: a crash after the session opened must find it listed
	// (a listed thread whose session never opened is dropped by the wake).
	rctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	err := g.d.call(rctx, KindRoster, rosterOf(g.id), "add", g.id, nil)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("list the session as open: %w", err)
	}
	prev := t.Session
	t.N++
	s.ID, s.Started = sessionID(t.Conv, t.N), nowMs()
	t.Session = s
	var bots []string
	if b, ok := g.d.stepBot(s.Route[0]); ok {
		bots = []string{b}
	}
	if line.Targets != nil && line.Targets.FirstResponseMs > 0 {
		start["first_response_target_ms"] = line.Targets.FirstResponseMs
		s.Target, s.Due = line.Targets.FirstResponseMs, g.d.cfg.dueAt(s.Started, line.Targets.FirstResponseMs, line.Hours)
	}
	if line.Targets != nil {
		s.AnswerTimeout = line.Targets.AnswerTimeoutMs
	}
	if line.Hours != nil {
		start["hours"] = line.Hours // the metrics count the first response in them
	}
	if err := t.record(g, t.who(), start, nil, bots, nil); err != nil {
		t.N--
		t.Session = prev
		return nil, err
	}
	if err := t.afterHours(g, line.Hours); err != nil {
		return nil, err
	}
	spot, err := first(s)
	if err != nil {
		return nil, err
	}
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	return t.info(g, spot), nil
}

// unlist drops the thread from its roster shard. It waits for the answer,
// so a later begin's add cannot overtake it; a failure leaves a listed
// thread that the next wake drops.
func (t *threadGrain) unlist(g *grain) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	if err := g.d.call(ctx, KindRoster, rosterOf(g.id), "remove", g.id, nil); err != nil {
		g.d.log.Warn("desk: a closed session's thread stays listed until the next wake", "thread", g.id, "err", err)
	}
}

// messageNote is a customer's message in a desk conversation, as the
// conversation's durable hook reports it (Desk.OnDurable).
type messageNote struct {
	Conv string `json:"conv"`
	Seq  uint64 `json:"seq"`
}

// reopen starts a new session when the customer writes in the thread's
// conversation after its session closed: otherwise the message would wait
// for nobody. The session takes the last one's scene and route and, within
// the sticky window, prefers its agent, as an entry would. A message in an
// older conversation of the thread reopens nothing.
func (t *threadGrain) reopen(g *grain, ctx actor.Context, r messageNote) (any, error) {
	if g.d.cfg.NoReopen || t.open() || t.Session == nil || r.Conv != t.Conv || r.Seq <= t.ClosedSeq {
		return nil, nil
	}
	if t.ratingPending() {
		if err := t.writeRating(g, ctx); err != nil {
			return nil, err
		}
	}
	last := t.Session
	prefer := ""
	if time.Duration(nowMs()-t.ClosedAt)*time.Millisecond <= g.d.cfg.StickyWindow {
		prefer = t.LastAgent
	}
	return t.begin(g, ctx, &session{Scene: last.Scene, Data: last.Data, Route: last.Route, Prefer: prefer},
		map[string]any{"desk": "start", "line": t.Line, "scene": last.Scene, "data": last.Data, "reopened_by": r.Seq}, t.lineSettings(g),
		func(s *session) (queueSpot, error) { return t.step(g, 0) })
}

// step moves the session to route step i; it returns its queue spot.
func (t *threadGrain) step(g *grain, i int) (queueSpot, error) {
	s := t.Session
	s.Step = i
	if b, ok := g.d.stepBot(s.Route[i]); ok {
		s.State, s.Bot = StateBot, b
		return queueSpot{}, nil
	}
	q, _ := stepQueue(s.Route[i])
	return t.queue(g, q, nowMs(), s.Prefer)
}

// waitEntry is the queued session's entry in its queue.
func (t *threadGrain) waitEntry() waitEntry {
	s := t.Session
	e := waitEntry{Thread: threadID(t.Line, t.Customer), Conv: t.Conv, Session: s.ID, Since: s.Since, Entered: s.Entered, Prefer: s.Prefer, Priority: t.Priority}
	if !s.Served {
		e.Due = s.Due
	}
	return e
}

// queue puts the session in queue q, ordered by since.
func (t *threadGrain) queue(g *grain, q string, since int64, prefer string) (queueSpot, error) {
	s := t.Session
	now := nowMs()
	s.State, s.Queue, s.Since, s.Entered, s.Agent, s.Prefer = StateQueued, q, since, now, "", prefer
	s.AnswerBy, s.AnswerAfter = 0, 0
	s.OverflowAt = t.overflowAt(q, now)
	e := t.waitEntry()
	var spot queueSpot
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	if err := g.d.call(ctx, KindQueue, q, "enqueue", enqueueReq{Entry: e, Spot: true}, &spot); err != nil {
		return queueSpot{}, fmt.Errorf("queue %s: %w", q, err)
	}
	if err := t.record(g, System, map[string]any{"desk": "queued", "queue": q, "position": spot.Position}, nil, nil, nil); err != nil {
		return queueSpot{}, err
	}
	return spot, nil
}

// overflowAt is when a session that waits in queue q from now overflows:
// only in the queue of its route's current step, if that step has a wait
// and a step after it (0: never).
func (t *threadGrain) overflowAt(q string, now int64) int64 {
	s := t.Session
	if s.Step+1 >= len(s.Route) {
		return 0
	}
	step := s.Route[s.Step]
	if sq, ok := stepQueue(step); !ok || sq != q {
		return 0
	}
	if w := stepWait(step); w > 0 {
		return now + w.Milliseconds()
	}
	return 0
}

// armOverflow sets a timer for the waiting session's overflow.
func (t *threadGrain) armOverflow(g *grain, ctx actor.Context) {
	s := t.Session
	if !t.open() || s.State != StateQueued || s.OverflowAt == 0 || t.overflowArmed == s.OverflowAt {
		return
	}
	t.overflowArmed = s.OverflowAt
	g.at(ctx, s.OverflowAt, "overflow")
}

// overflow moves a session that waited its step's time to the next step
// of its route, keeping its wait and its place by time. A next queue
// that refuses it (full) is asked again an offer timeout later.
func (t *threadGrain) overflow(g *grain, ctx actor.Context) {
	s := t.Session
	if !t.open() || s.State != StateQueued || s.OverflowAt == 0 || s.Closing != nil {
		return
	}
	if nowMs() < s.OverflowAt {
		t.armOverflow(g, ctx)
		return
	}
	next := s.Step + 1
	if next >= len(s.Route) {
		return // parseRoute allows no wait on the last step
	}
	q, ok := stepQueue(s.Route[next])
	if !ok {
		return // nor a robot after the first step
	}
	cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	var err error
	if !s.Overflowing {
		s.Overflowing = true
		err = g.save(ctx)
	}
	if err == nil {
		step := map[string]any{"desk": "overflow", "queue": s.Queue, "to": s.Route[next], "after_ms": stepWait(s.Route[s.Step]).Milliseconds()}
		_, err = t.moveToQueue(g, ctx, cctx, System, q, step, func() {
			s.Step = next
			s.OverflowAt = t.overflowAt(q, nowMs())
			s.Overflowing = false
		}, withdrawReq{Overflow: true})
	}
	if err != nil && !g.failed {
		g.d.log.Warn("overflow to the route's next step failed; retrying", "conv", t.Conv, "to", q, "err", err)
		g.after(ctx, g.d.cfg.OfferTimeout, "overflow")
		return
	}
	t.armOverflow(g, ctx)
}

// moveToQueue moves the waiting session into queue q, keeping its wait
// and its place by the time it first waited: entered there first, then
// step and the queued step written, update applied and the state saved,
// and the queue it left told last (leave: how it left). Until the state
// is saved q's offers find the session in the old queue, and are
// answered "gone"; should the old queue not hear, its next offer is.
func (t *threadGrain) moveToQueue(g *grain, ctx actor.Context, cctx context.Context, by, q string, step map[string]any, update func(), leave withdrawReq) (queueSpot, error) {
	s := t.Session
	left := s.Queue
	e := t.waitEntry()
	e.Prefer = ""
	var spot queueSpot
	if err := g.d.call(cctx, KindQueue, q, "enqueue", enqueueReq{Entry: e, Spot: true}, &spot); err != nil {
		return queueSpot{}, fmt.Errorf("queue %s: %w", q, err)
	}
	if err := t.record(g, by, step, nil, nil, nil); err != nil {
		return queueSpot{}, err
	}
	if err := t.record(g, System, map[string]any{"desk": "queued", "queue": q, "position": spot.Position}, nil, nil, nil); err != nil {
		return queueSpot{}, err
	}
	if leave.Overflow {
		t.remember(assignMemo{Session: s.ID, Queue: left, Entered: s.Entered, Overflow: true})
	}
	s.Queue, s.Prefer = q, ""
	update()
	if err := g.save(ctx); err != nil {
		return queueSpot{}, err
	}
	leave.Session, leave.Entered = s.ID, s.Entered
	t.leftQueue(g, cctx, left, leave)
	return spot, nil
}

// leftQueue tells queue q that the waiting session left it other than
// by the queue's own offer. Should it not hear, its next offer of the
// session is answered "gone".
func (t *threadGrain) leftQueue(g *grain, cctx context.Context, q string, w withdrawReq) {
	if err := g.d.call(cctx, KindQueue, q, "withdraw", w, nil); err != nil {
		g.d.log.Warn("queue did not hear a waiting session leave; its next offer finds it gone", "queue", q, "session", w.Session, "err", err)
	}
}

func (t *threadGrain) assign(g *grain, ctx actor.Context, r assignReq) (any, error) {
	s := t.Session
	ans := assignAnswer{Session: r.Session, Agent: r.Agent, Entered: r.Entered}
	for _, m := range t.Recent {
		if m.Session == r.Session && m.Queue == r.Queue && m.Entered == r.Entered {
			// This entry was assigned, or overflowed, already; the queue
			// did not hear it.
			if m.Overflow {
				ans.Gone, ans.Overflow = true, true
			} else {
				ans.Agent, ans.Taken, ans.WaitMs = m.Agent, true, m.WaitMs
			}
			if t.open() && s.ID == r.Session && s.State == StateQueued && s.Queue == r.Queue && s.Closing == nil && s.Entered != r.Entered {
				// It waits here again since: the queue, which kept the
				// old entry for the new one's enqueue, lists the new one.
				e := t.waitEntry()
				ans.Requeued = &e
			}
			return ans, nil
		}
	}
	if !t.open() || s.ID != r.Session || s.State != StateQueued || s.Queue != r.Queue || s.Closing != nil {
		ans.Gone = true
		return ans, nil
	}
	if s.Overflowing {
		// It leaves this queue (the deferred arm finishes the overflow,
		// whose withdraw then finds it gone): count it here.
		ans.Gone, ans.Overflow = true, true
		return ans, nil
	}
	var oa offerAnswer
	cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	t.Tokens++
	token := t.Tokens
	if err := g.d.call(cctx, KindAgent, r.Agent, "offer", offer{Session: s.ID, Thread: threadID(t.Line, t.Customer), Conv: t.Conv, Token: token}, &oa); err != nil {
		return nil, err
	}
	ans.View = oa.View
	if !oa.Accepted {
		return ans, nil
	}
	wait, err := t.takeFromQueue(g, cctx, System, r.Queue, r.Agent, token, r.Entered)
	if err != nil {
		return nil, err
	}
	t.remember(assignMemo{Session: s.ID, Queue: r.Queue, Entered: r.Entered, Agent: r.Agent, WaitMs: wait})
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	g.d.event(Event{Kind: "assign", Queue: r.Queue, Session: s.ID, Agent: r.Agent})
	ans.Taken, ans.WaitMs = true, wait
	return ans, nil
}

// takeFromQueue gives the waiting session to agent, who holds it already
// (token): the assigned step, with the wait since entered (by: the desk
// for the queue's own offer, else the supervisor who assigned it), and
// the state, not yet saved. A failed step releases the agent.
func (t *threadGrain) takeFromQueue(g *grain, cctx context.Context, by, queue, agent string, token uint64, entered int64) (int64, error) {
	s := t.Session
	wait := max(0, nowMs()-entered)
	step := map[string]any{"desk": "assigned", "queue": queue, "agent": agent, "wait_ms": wait}
	if by != System {
		step["by"] = by
	}
	if open, ok := t.openWait(g, entered, wait); ok {
		step["open_wait_ms"] = open
	}
	var remove []string
	if s.Bot != "" {
		remove = []string{s.Bot}
	}
	seq, err := t.recordAt(g, by, step, []string{agent}, nil, remove)
	if err != nil {
		_ = g.d.call(cctx, KindAgent, agent, "release", offer{Session: s.ID, Token: token}, nil)
		return 0, err
	}
	s.State, s.Agent, s.Bot, s.Prefer, s.Token, s.Served = StateAssigned, agent, "", "", token, true
	t.LastAgent = agent
	t.expectAnswer(g, seq)
	return wait, nil
}

func (t *threadGrain) transfer(g *grain, ctx actor.Context, r transferReq) (any, error) {
	s := t.Session
	if !t.open() || (s.State != StateAssigned && s.State != StateQueued) || s.Closing != nil {
		return nil, rejected(pb.Code_INVALID, "no assigned or waiting session in %s", t.Conv)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	// The agent hands the session on; a supervisor reassigns it (an
	// agent who stopped answering but stays online keeps it otherwise),
	// or moves a waiting one past the queue's order.
	from := s.Agent
	step := map[string]any{"desk": "transfer", "from": from, "to": r.To}
	if from == "" || r.By != from {
		a, err := g.d.Agent(cctx, r.By)
		if err != nil {
			return nil, err
		}
		if !a.Supervisor {
			return nil, rejected(pb.Code_FORBIDDEN, "%s neither holds the session of %s nor supervises the desk", r.By, t.Conv)
		}
		step["by"] = r.By
	}
	if r.Note != "" {
		if err := g.d.checkNote(r.Note, len(s.Notes)); err != nil {
			return nil, err
		}
	}
	kind, arg, _ := strings.Cut(r.To, ":")
	note := func() {
		if r.Note != "" {
			s.Notes = append(s.Notes, Note{By: r.By, At: nowMs(), Text: r.Note})
		}
	}
	if s.State == StateQueued {
		return t.moveWaiting(g, ctx, cctx, r, kind, arg, note)
	}
	switch {
	case kind == "user" && actors.ValidUserID(arg) && arg != from:
		token, err := t.offerTo(g, cctx, arg, s.ID, t.Conv)
		if err != nil {
			return nil, err
		}
		seq, err := t.recordAt(g, r.By, step, []string{arg}, nil, []string{from})
		if err != nil {
			_ = g.d.call(cctx, KindAgent, arg, "release", offer{Session: s.ID}, nil)
			return nil, err
		}
		s.Agent, s.Token = arg, token
		t.LastAgent = arg
		t.expectAnswer(g, seq)
		note()
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "unassign", Session: s.ID, Agent: from})
		g.d.event(Event{Kind: "assign", Session: s.ID, Agent: arg})
		_ = g.d.call(cctx, KindAgent, from, "release", offer{Session: s.ID}, nil)
		return t.info(g, queueSpot{}), nil
	case kind == "queue" && validName(arg):
		if err := t.record(g, r.By, step, nil, nil, []string{from}); err != nil {
			return nil, err
		}
		s.Agent = ""
		note()
		if err := g.d.call(cctx, KindAgent, from, "release", offer{Session: s.ID}, nil); err != nil {
			return nil, err
		}
		spot, err := t.queue(g, arg, nowMs(), "")
		if err != nil {
			return nil, err
		}
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "unassign", Session: s.ID, Agent: from})
		return t.info(g, spot), nil
	}
	return nil, invalid("transfer to %q (want user:ID of another agent or queue:SKILL)", r.To)
}

// offerTo has agent hold session (of conv) for a transfer or an outbound
// start (a new assignment token): BUSY if the agent cannot take it.
func (t *threadGrain) offerTo(g *grain, cctx context.Context, agent, session, conv string) (uint64, error) {
	var oa offerAnswer
	t.Tokens++
	token := t.Tokens
	if err := g.d.call(cctx, KindAgent, agent, "offer", offer{Session: session, Thread: threadID(t.Line, t.Customer), Conv: conv, Token: token}, &oa); err != nil {
		return 0, err
	}
	if !oa.Accepted {
		// Nobody holds the token: taking it back leaves the state as it
		// was, so the refusal does not restart the grain (see grain.fail).
		t.Tokens--
		return 0, rejected(pb.Code_BUSY, "agent %s cannot take it (status %s, load %d of %d)", agent, oa.View.Status, oa.View.Load, oa.View.Capacity)
	}
	return token, nil
}

// moveWaiting is a supervisor's transfer of a waiting session: to an
// agent, who takes it now, past the queue's order (recorded as an
// assignment from the queue, so its wait counts as any other), or to
// another queue, where it keeps its place by the time it first waited.
// The session's own step is written first; the queue it leaves hears of
// it last (see leftQueue).
func (t *threadGrain) moveWaiting(g *grain, ctx actor.Context, cctx context.Context, r transferReq, kind, arg string, note func()) (any, error) {
	s := t.Session
	left := s.Queue
	switch {
	case kind == "user" && actors.ValidUserID(arg):
		token, err := t.offerTo(g, cctx, arg, s.ID, t.Conv)
		if err != nil {
			return nil, err
		}
		entered := s.Entered
		wait, err := t.takeFromQueue(g, cctx, r.By, left, arg, token, entered)
		if err != nil {
			return nil, err
		}
		// Should the queue miss the withdraw, its next offer of the entry
		// hears it was taken, and counts it.
		t.remember(assignMemo{Session: s.ID, Queue: left, Entered: entered, Agent: arg, WaitMs: wait})
		note()
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "assign", Queue: left, Session: s.ID, Agent: arg})
		t.leftQueue(g, cctx, left, withdrawReq{Session: s.ID, Agent: arg, WaitMs: wait, Entered: entered})
		return t.info(g, queueSpot{}), nil
	case kind == "queue" && validName(arg):
		if arg == left {
			return nil, invalid("%s waits in queue %s already", t.Conv, arg)
		}
		step := map[string]any{"desk": "transfer", "queue": left, "to": r.To, "by": r.By}
		spot, err := t.moveToQueue(g, ctx, cctx, r.By, arg, step, func() {
			s.OverflowAt = t.overflowAt(arg, nowMs())
			note()
		}, withdrawReq{})
		if err != nil {
			return nil, err
		}
		return t.info(g, spot), nil
	}
	return nil, invalid("transfer to %q (want user:ID of an agent or queue:SKILL)", r.To)
}

func (t *threadGrain) close(g *grain, ctx actor.Context, r closeReq) (any, error) {
	s := t.Session
	if !t.open() {
		return nil, rejected(pb.Code_NOT_FOUND, "no open session in %s", t.Conv)
	}
	if r.By != t.who() && r.By != System && !(s.State == StateAssigned && r.By == s.Agent) {
		return nil, rejected(pb.Code_FORBIDDEN, "%s may not close the session of %s", r.By, t.Conv)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	abandoned := false
	switch s.State {
	case StateQueued:
		if s.Closing == nil {
			s.Closing = &r
			if err := g.save(ctx); err != nil {
				return nil, err
			}
		}
		if err := g.d.call(cctx, KindQueue, s.Queue, "withdraw", withdrawReq{Session: s.ID, Abandoned: true}, &abandoned); err != nil {
			return nil, err
		}
	case StateAssigned:
		if err := g.d.call(cctx, KindAgent, s.Agent, "release", offer{Session: s.ID, WrapUp: true}, nil); err != nil {
			return nil, err
		}
	}
	var remove []string
	for _, u := range []string{s.Agent, s.Bot} {
		if u != "" {
			remove = append(remove, u)
		}
	}
	reason := r.Reason
	if reason == "" {
		reason = "resolved"
	}
	body := map[string]any{"desk": "close", "by": r.By, "reason": reason, "state": s.State}
	if abandoned {
		body["abandoned"] = true
		body["queue"] = s.Queue
	}
	seq, err := t.recordAt(g, r.By, body, nil, nil, remove)
	if err != nil {
		return nil, err
	}
	was := s.State
	s.State, s.Closing = StateClosed, nil
	t.ClosedAt, t.ClosedSeq = nowMs(), seq
	if err := g.save(ctx); err != nil {
		return nil, err
	}
	t.unlist(g)
	if was == StateAssigned {
		g.d.event(Event{Kind: "unassign", Session: s.ID, Agent: s.Agent})
	}
	return t.info(g, queueSpot{}), nil
}

// arm starts the inactivity timer of an open session.
func (t *threadGrain) arm(g *grain, ctx actor.Context) {
	if t.open() && !t.armed {
		t.armed = true
		g.after(ctx, g.d.cfg.InactivityTimeout-g.d.cfg.InactivityWarning, "inactive")
	}
	t.armOverflow(g, ctx)
	t.armAnswer(g, ctx)
}

// ensure has the agent of an assigned session confirm it holds it, or
// hold it again, or have it re-queued. Until the agent says it holds it,
// it is asked again: this activation may stay for hours, and the agent's
// answer (or its "requeue") can be lost to a crash of either node.
func (t *threadGrain) ensure(g *grain, ctx actor.Context) {
	if !t.open() || t.Session.State != StateAssigned {
		return
	}
	s := t.Session
	retry := g.later(ctx, g.d.cfg.OfferTimeout, "ensure", "")
	g.d.tell(KindAgent, s.Agent, "ensure", offer{Session: s.ID, Thread: threadID(t.Line, t.Customer), Conv: t.Conv, Token: s.Token}, func(body []byte, err error) {
		var a ensureAnswer
		if err == nil && len(body) > 0 {
			err = json.Unmarshal(body, &a)
		}
		if err != nil || a.Requeued {
			resends.WithLabelValues("ensure").Inc()
			retry() // re-asked only while the session stays assigned
		}
	})
}

// reenter gives a waiting session's queue its entry again, for a queue
// that lost it (a crash, an answer that removed it while the session
// went on waiting); a queue that lists the session keeps its entry.
func (t *threadGrain) reenter(g *grain) {
	// (An overflow under way moves it on: entered again here, after its
	// queue heard "gone, overflowed", the overflow's withdraw would count
	// it twice.)
	if t.open() && t.Session.State == StateQueued && t.Session.Closing == nil && !t.Session.Overflowing {
		g.d.tell(KindQueue, t.Session.Queue, "enqueue", enqueueReq{Entry: t.waitEntry()}, nil)
	}
}

func (t *threadGrain) self(g *grain, ctx actor.Context, m any) {
	switch m.(selfMsg).what {
	case "started":
		ctx.SetReceiveTimeout(g.d.cfg.IdleTimeout)
		t.fresh = true
		// A session that was waiting when the node stopped may have lost
		// its queue entry; entering again is idempotent.
		if t.open() && t.Session.Closing != nil {
			ctx.Send(ctx.Self(), selfMsg{what: "finish-close"})
		} else if t.ratingPending() {
			ctx.Send(ctx.Self(), selfMsg{what: "finish-rating"})
		} else {
			t.reenter(g)
		}
		// Likewise the agent may have lost the session (its requeue
		// never arrived, or it restarted from an older state), and the
		// contact reasons the session's latest tags.
		t.ensure(g, ctx)
		t.tallyTags(g, 1)
		if t.open() {
			// Listed already, unless it was opened by a version that
			// kept no roster.
			g.d.tell(KindRoster, rosterOf(g.id), "add", g.id, nil)
		}
		t.arm(g, ctx)
	case "ensure":
		t.ensure(g, ctx)
	case "overflow":
		if m.(selfMsg).arg == strconv.FormatInt(t.overflowArmed, 10) {
			t.overflowArmed = 0
		}
		t.overflow(g, ctx)
	case "answer":
		t.answerDue(g, ctx, m.(selfMsg).arg)
	case "finish-close":
		// A close of a waiting session that a crash cut: the queue may
		// have counted the abandon; record it (a repeated withdraw
		// answers the same).
		if t.open() && t.Session.Closing != nil {
			if _, err := t.close(g, ctx, *t.Session.Closing); err != nil && !g.failed {
				g.d.log.Warn("finishing a close cut by a crash failed; retrying", "conv", t.Conv, "err", err)
				g.after(ctx, g.d.cfg.OfferTimeout, "finish-close")
			}
		}
	case "finish-rating":
		// A rating saved whose step was not written: write it, so the
		// metrics see the rating the customer was answered.
		if t.ratingPending() {
			if err := t.writeRating(g, ctx); err != nil && !g.failed {
				g.d.log.Warn("writing a rating cut by a crash failed; retrying", "conv", t.Conv, "err", err)
				g.after(ctx, g.d.cfg.OfferTimeout, "finish-rating")
			}
		}
	case "idle":
		if !t.open() {
			ctx.Poison(ctx.Self())
		}
	case "inactive":
		t.armed = false
		if !t.open() {
			return
		}
		t.retryAnswer(g, ctx)
		last, warned, err := t.lastActivity(g)
		idle := time.Duration(nowMs()-last) * time.Millisecond
		if err == nil && idle >= g.d.cfg.InactivityTimeout {
			if _, err := t.close(g, ctx, closeReq{By: System, Reason: "inactive"}); err != nil {
				g.d.log.Warn("inactivity close failed", "conv", t.Conv, "err", err)
				if t.open() && t.Session.Closing != nil && !g.failed {
					g.after(ctx, g.d.cfg.OfferTimeout, "finish-close")
				}
			}
			return
		}
		next := g.d.cfg.InactivityTimeout - idle
		if warnAt := g.d.cfg.InactivityTimeout - g.d.cfg.InactivityWarning; err == nil && g.d.cfg.InactivityWarning > 0 && !warned {
			if idle >= warnAt {
				closes := last + g.d.cfg.InactivityTimeout.Milliseconds()
				if err := t.record(g, System, map[string]any{"desk": "idle_warning", "closes_at_ms": closes}, nil, nil, nil); err != nil {
					g.d.log.Warn("inactivity warning failed", "conv", t.Conv, "err", err)
				}
			} else {
				next = warnAt - idle
			}
		}
		t.armed = true
		g.after(ctx, max(next, 10*time.Millisecond), "inactive")
	}
}

// lastActivity is when the open session's conversation last had a
// message (its start if none), and whether the newest message is the
// desk's inactivity warning: a warning is no activity, and is given once
// per silence.
func (t *threadGrain) lastActivity(g *grain) (last int64, warned bool, err error) {
	last = t.Session.Started
	msgs, err := g.d.store().ListMessages(context.Background(), t.Conv, 1, 0, storage.NewestFirst, 2)
	if err != nil {
		return last, false, err
	}
	for i, m := range msgs {
		if i == 0 && m.Kind == storage.MsgSystem && bytes.Contains(m.Body, []byte(`"desk":"idle_warning"`)) {
			warned = true
			continue
		}
		return max(last, m.ServerTS.UnixMilli()), warned, nil
	}
	return last, warned, nil
}

// forget is the thread's side of Desk.Forget.
func (t *threadGrain) forget(g *grain, ctx actor.Context, r forgetReq) error {
	s := t.Session
	if s == nil || t.Conv != r.Conv {
		return nil
	}
	changed := false
	if rt := s.Rating; rt != nil && rt.Comment != "" && t.who() == r.User {
		rt.Comment, changed = "", true
	}
	if c := s.Closing; c != nil && c.Reason != "" && c.By == r.User {
		c.Reason, changed = "", true
	}
	if !changed {
		return nil
	}
	return g.save(ctx)
}
