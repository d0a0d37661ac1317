// Package desk is the service desk: scenes that route a customer's entry to
// a robot, a skill queue or an owner agent, agents with a status, skills
// and a capacity, queues that hand waiting sessions to the least-loaded
// available agent in FIFO order, and the session lifecycle (enter,
// handover, transfer, close, inactivity timeout).
//
// Three grain kinds hold the state, each persisted before it answers and
// loaded again on activation:
//
//   - desk-agent, one per agent: the authority for capacity. A session is
//     held by an agent only after its grain accepted an offer.
//   - desk-queue, one per skill group (and "@user" for an owner agent):
//     the waiting list and a view of its agents' loads; one offer in flight
//     at a time, so sessions leave a queue in FIFO order.
//   - desk-thread, one per business line and customer: the authority for a
//     session's state and its agent (at most one at a time); it writes each
//     step into the service conversation as a system message.
//
// Synchronous requests only go thread→queue and thread→agent (and from the
// API into any grain); the other directions are fire-and-forget, so no two
// grains ever wait for each other.
package desk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/switchboard-im/switchboard/actors"
	pb "github.com/switchboard-im/switchboard/actors/actorspb"
	"github.com/switchboard-im/switchboard/cluster/placement"
	"github.com/switchboard-im/switchboard/storage"
)

// Grain kinds.
const (
	KindAgent  = "desk-agent"
	KindQueue  = "desk-queue"
	KindThread = "desk-thread"
	KindScenes = "desk-scenes"
)

// System is the sender of desk system messages that no user caused (an
// inactivity close, a re-queue).
const System = "desk"

// Config configures the desk. Zero fields take the defaults.
type Config struct {
	// StickyWindow: a customer who enters again through the same business
	// line within this time of the last session's end reaches the same
	// conversation and, when available, the same agent (default 30 min).
	StickyWindow time.Duration
	// InactivityTimeout closes an open session whose conversation had no
	// message for this long (default 30 min).
	InactivityTimeout time.Duration
	// InactivityWarning, when set, is how long before that close the desk
	// tells the conversation it is about to close (an idle_warning step);
	// 0: no warning. Shorter than InactivityTimeout.
	InactivityWarning time.Duration
	// WrapUp keeps the slot of a session an agent held taken for this
	// long after its close (default 0: freed at once), so the agent
	// finishes its notes and tags before a new customer comes; the agent
	// may end it sooner (AgentUpdate.EndWrapUp). At most MaxWrapUp.
	WrapUp time.Duration
	// AnswerTimeout, when set, gives a session back to its queue when the
	// agent it was given to (from the queue, or by a transfer) wrote
	// nothing in its conversation for this long, and sets that agent
	// away: a customer is never left with an agent who stepped out
	// without going offline (default 0: never). MinAnswerTimeout to
	// MaxAnswerTimeout.
	AnswerTimeout time.Duration
	// OfferTimeout: a queue offers its head again when an offer got no
	// answer in this time (default 5 s).
	OfferTimeout time.Duration
	// MaxWaiting bounds each queue's waiting list (default 10,000); an
	// entry beyond it is refused with BUSY.
	MaxWaiting int
	// MaxCapacity bounds an agent's capacity (default 100).
	MaxCapacity int
	// MaxSkills bounds an agent's skills (default 16).
	MaxSkills int
	// MaxScenes bounds the registered scenes (default 1,000).
	MaxScenes int
	// PositionPushes: the first this many waiting customers of a queue
	// are told their position whenever it changes (default 100); those
	// further back learn it when they come within the bound.
	PositionPushes int
	// VisitorScenes are the scenes (names such as "listing", entered as
	// "listing/123") an anonymous visitor (actors.IsVisitor: a website's
	// visitor who did not sign in) may enter; none: visitors enter no
	// scene. A line whose customers must be known keeps its scenes out.
	VisitorScenes []string
	// BotUser is the robot a "bot" route step adds (default "bot").
	BotUser string
	// DropGrace: an agent (online or away) whose every device has been
	// disconnected this long goes offline, its sessions back to their
	// queues (default 60 s; agent_drop.go). Only an agent seen connected
	// since it came online can drop.
	DropGrace time.Duration
	// IdleTimeout passivates a thread grain without an open session
	// (default 10 min).
	IdleTimeout time.Duration
	// WakeInterval: this often the cluster's first member wakes the desk
	// again as a start-up does (the threads of open sessions, the agents
	// the queues saw online), for the grains no earlier wake reached
	// because their store or member was down for longer than its retries
	// (default 5 min). Waking an active grain costs one message.
	WakeInterval time.Duration
	// RatingWindow: a customer may rate a closed session for this long
	// after its close (default 7 days; rating.go).
	RatingWindow time.Duration
	// MaxRatingComment bounds a rating's comment in bytes (default 500).
	MaxRatingComment int
	// MaxClosedDates bounds a line's closed dates (default 100; hours.go).
	MaxClosedDates int
	// MaxDayIntervals bounds the open intervals of a day in a line's
	// hours (default 4: a split shift or two).
	MaxDayIntervals int
	// MaxHoursMessage bounds a line's after-hours message in bytes
	// (default 500).
	MaxHoursMessage int
	// MaxSavedReplies bounds a line's saved replies (default 200) and
	// MaxSavedReplyBytes each one's text (default 2,000; replies.go).
	MaxSavedReplies    int
	MaxSavedReplyBytes int
	// MaxNoteBytes bounds an internal note in bytes (default 2,000), and
	// MaxNotes a session's notes (default 100): agents' notes about the
	// session that its customer never sees (notes.go).
	MaxNoteBytes int
	MaxNotes     int
	// MaxSessionTags bounds a session's tags, the agents' contact
	// reasons (default 10; tags.go).
	MaxSessionTags int
	// MaxReasonDays bounds the days one question for a line's contact
	// reasons covers (default 92, a quarter): each day is reasonShards
	// store reads.
	MaxReasonDays int
	// NoReopen: a customer's message in the conversation after its
	// session closed does not start a new session (by default it does,
	// so the message reaches an agent; thread.go, reopen).
	NoReopen bool
	// OnEvent, when set, sees every assignment decision as it is made (for
	// tests and tracing). It runs inside the grains: keep it short.
	OnEvent func(Event)
	// OnNote, when set, sees every internal note once it is saved (the
	// export's desk_note records). It runs inside the grains: keep it short.
	OnNote func(NoteEvent)
	// OnTags, when set, sees a session's tags after every change, once
	// saved (the export's desk_tags records). It runs inside the grains:
	// keep it short.
	OnTags func(TagsEvent)
	// OnMergeStep, when set, is called inside a merge at each point a
	// crash could cut (for tests that crash there).
	OnMergeStep func(from, what string)
	Logger      *slog.Logger
}

// MaxWrapUp bounds Config.WrapUp: a slot kept longer is an agent away.
const MaxWrapUp = time.Hour

// MinAnswerTimeout and MaxAnswerTimeout bound Config.AnswerTimeout: a
// shorter one takes sessions from agents still reading them, a longer
// one is no promise to a customer.
const (
	MinAnswerTimeout = 5 * time.Second
	MaxAnswerTimeout = time.Hour
)

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{StickyWindow: 30 * time.Minute, InactivityTimeout: 30 * time.Minute, OfferTimeout: 5 * time.Second,
		MaxWaiting: 10000, MaxCapacity: 100, MaxSkills: 16, MaxScenes: 1000, PositionPushes: 100, BotUser: "bot", IdleTimeout: 10 * time.Minute,
		WakeInterval: 5 * time.Minute, DropGrace: time.Minute, RatingWindow: 7 * 24 * time.Hour, MaxRatingComment: 500,
		MaxClosedDates: 100, MaxDayIntervals: 4, MaxHoursMessage: 500, MaxSavedReplies: 200, MaxSavedReplyBytes: 2000,
		MaxNoteBytes: 2000, MaxNotes: 100, MaxSessionTags: 10, MaxReasonDays: 92}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.StickyWindow, d.StickyWindow}, {&c.InactivityTimeout, d.InactivityTimeout}, {&c.OfferTimeout, d.OfferTimeout}, {&c.IdleTimeout, d.IdleTimeout}, {&c.WakeInterval, d.WakeInterval}, {&c.DropGrace, d.DropGrace}, {&c.RatingWindow, d.RatingWindow}} {
		if *f.v < 0 {
			return c, fmt.Errorf("desk: negative duration %v", *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct{ v, def *int }{{&c.MaxWaiting, &d.MaxWaiting}, {&c.MaxCapacity, &d.MaxCapacity}, {&c.MaxSkills, &d.MaxSkills}, {&c.MaxScenes, &d.MaxScenes}, {&c.PositionPushes, &d.PositionPushes}, {&c.MaxRatingComment, &d.MaxRatingComment}, {&c.MaxClosedDates, &d.MaxClosedDates}, {&c.MaxDayIntervals, &d.MaxDayIntervals}, {&c.MaxHoursMessage, &d.MaxHoursMessage},
		{&c.MaxSavedReplies, &d.MaxSavedReplies}, {&c.MaxSavedReplyBytes, &d.MaxSavedReplyBytes}, {&c.MaxNoteBytes, &d.MaxNoteBytes}, {&c.MaxNotes, &d.MaxNotes}, {&c.MaxSessionTags, &d.MaxSessionTags}, {&c.MaxReasonDays, &d.MaxReasonDays}} {
		if *f.v < 0 {
			return c, fmt.Errorf("desk: negative limit %d", *f.v)
		}
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if c.BotUser == "" {
		c.BotUser = d.BotUser
	}
	if !actors.ValidUserID(c.BotUser) {
		return c, fmt.Errorf("desk: bad bot user %q", c.BotUser)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.WrapUp < 0 || c.WrapUp > MaxWrapUp {
		return c, fmt.Errorf("desk: wrap-up %v: want 0 (none) to %v", c.WrapUp, MaxWrapUp)
	}
	if c.AnswerTimeout != 0 && (c.AnswerTimeout < MinAnswerTimeout || c.AnswerTimeout > MaxAnswerTimeout) {
		return c, fmt.Errorf("desk: answer timeout %v: want 0 (none) or %v to %v", c.AnswerTimeout, MinAnswerTimeout, MaxAnswerTimeout)
	}
	if c.InactivityWarning < 0 || c.InactivityWarning >= c.InactivityTimeout {
		return c, fmt.Errorf("desk: inactivity warning %v: want 0 (none) or less than the inactivity timeout %v", c.InactivityWarning, c.InactivityTimeout)
	}
	return c, nil
}

// Event is one assignment decision, for Config.OnEvent.
type Event struct {
	Kind     string // hold, release, ready (agent: its wrap-up slots ended), away (agent: set away for a session it left unanswered); enqueue, offer, dequeue (queue); assign, unassign, unanswered (thread)
	Queue    string
	Session  string
	Agent    string
	Since    int64 // enqueue: the entry's order key (ms)
	Load     int   // hold, release: the agent's load after
	Capacity int
}

// NoteEvent is an internal note just added, for Config.OnNote: the
// session, its conversation, the note and its index among the session's
// notes (0: the first), which names it for good.
type NoteEvent struct {
	Session string
	Conv    string
	Index   int
	By      string
	AtMs    int64
	Text    string
}

// Desk is the service desk of one node: its grain kinds and the Go API.
type Desk struct {
	rt  *actors.Runtime
	cfg Config
	log *slog.Logger
}

// New prepares the desk over a runtime; register Kinds with the cluster.
func New(rt *actors.Runtime, cfg Config) (*Desk, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Desk{rt: rt, cfg: cfg, log: cfg.Logger.With("component", "desk")}, nil
}

// Config is the configuration in force.
func (d *Desk) Config() Config { return d.cfg }

// Kinds are the desk's grain kinds.
func (d *Desk) Kinds() []*cluster.Kind {
	mk := func(kind string, f func() grainLogic) *cluster.Kind {
		return placement.NewKind(kind, func() actor.Actor { return &grain{d: d, kind: kind, logic: f()} })
	}
	return []*cluster.Kind{
		mk(KindAgent, func() grainLogic { return &agentGrain{} }),
		mk(KindQueue, func() grainLogic { return &queueGrain{} }),
		mk(KindThread, func() grainLogic { return &threadGrain{} }),
		mk(KindScenes, func() grainLogic { return &scenesGrain{} }),
		mk(KindMerge, func() grainLogic { return &mergeGrain{} }),
		mk(KindMerges, func() grainLogic { return &mergesGrain{} }),
		mk(KindRoster, func() grainLogic { return &rosterGrain{} }),
		mk(KindReplies, func() grainLogic { return &repliesGrain{} }),
		mk(KindReasons, func() grainLogic { return &reasonsGrain{} }),
	}
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

func validName(s string) bool { return namePattern.MatchString(s) }

func invalid(format string, args ...any) error {
	return actors.NewError(pb.Code_INVALID, fmt.Sprintf(format, args...))
}

func rejected(code pb.Code, format string, args ...any) error {
	return actors.NewError(code, fmt.Sprintf(format, args...))
}

// call makes a synchronous request to a desk grain and decodes its answer.
func (d *Desk) call(ctx context.Context, kind, id, op string, in, out any) error {
	if where := notUTF8(reflect.ValueOf(in), "request"); where != "" {
		return invalid("desk %s: %s is not UTF-8", op, where)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("desk: encode %s: %w", op, err)
	}
	r, err := d.rt.Call(ctx, kind, id, &pb.DeskCall{Op: op, Body: body})
	if err != nil {
		return err
	}
	if out != nil && len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, out); err != nil {
			return fmt.Errorf("desk: decode %s answer: %w", op, err)
		}
	}
	return nil
}

// tell is a request whose answer nobody waits for; failures are logged.
// Whoever relies on it has a retry (offer timeout, activation).
func (d *Desk) tell(kind, id, op string, in any, then func(body []byte, err error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 4*d.rt.Config().RequestTimeout)
		defer cancel()
		var raw json.RawMessage
		err := d.call(ctx, kind, id, op, in, &raw)
		if err != nil && actors.CodeOf(err) == pb.Code_INTERNAL {
			d.log.Warn("desk message not delivered", "kind", kind, "id", id, "op", op, "err", err)
		}
		if then != nil {
			then(raw, err)
		}
	}()
}

// OnDurable is the hook for actors.Config.OnDurable: a customer's message
// in a desk conversation goes to its thread, which starts a new session
// if the last one closed before it (threadGrain.reopen). It never blocks.
func (d *Desk) OnDurable(kind storage.ConvKind, m storage.Message) {
	if d == nil || d.cfg.NoReopen || kind != storage.KindService || m.SenderRole != storage.SenderCustomer || m.Kind != storage.MsgNormal || m.Edit() {
		return
	}
	thread, err := convThread(m.ConvID)
	if err != nil {
		return // a service conversation the desk did not open
	}
	d.noteMessage(thread, messageNote{Conv: m.ConvID, Seq: m.Seq}, reopenNoticeAttempts)
}

// reopenNoticeAttempts bounds how often a customer's message is told to
// its thread: a thread that cannot start (its node just died, its state
// unreadable) is tried again every offer timeout, as otherwise the
// customer would write into a closed conversation that nobody reads.
const reopenNoticeAttempts = 5

func (d *Desk) noteMessage(thread string, n messageNote, attempts int) {
	d.tell(KindThread, thread, "message", n, func(_ []byte, err error) {
		if err != nil && attempts > 1 {
			resends.WithLabelValues("message").Inc()
			time.AfterFunc(d.cfg.OfferTimeout, func() { d.noteMessage(thread, n, attempts-1) })
		}
	})
}

func (d *Desk) event(e Event) {
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(e)
	}
}

func (d *Desk) store() storage.Store { return d.rt.Store() }

// ---- the grain shell ----------------------------------------------------------

// gauged is a grain logic with Prometheus gauges of its state: set after
// every message it handles, dropped when its activation stops.
type gauged interface {
	setGauges()
	dropGauges()
}

// grainLogic is one kind's state machine; the shell loads and replies.
type grainLogic interface {
	// load restores the state of identity id (absent: a fresh state).
	load(g *grain, blob []byte, found bool) error
	// handle serves one op; it must have saved any change before returning.
	handle(g *grain, ctx actor.Context, op string, body []byte) (any, error)
	// self handles a message the grain sent itself.
	self(g *grain, ctx actor.Context, msg any)
	state() any
}

type grain struct {
	d      *Desk
	kind   string
	id     string
	logic  grainLogic
	failed bool
	// fence is this activation's epoch of its checkpoint's fence (0: the
	// store has no fences): a newer activation elsewhere takes the next
	// one, and this one's saves then fail, so it stops.
	fence uint64
}

// selfMsg is a grain's note to itself (timers, deferred dispatch, retries);
// it never leaves the node. arg names what it is about, where one grain
// has several (a session).
type selfMsg struct{ what, arg string }

func (g *grain) key() string { return "desk/" + g.kind + "/" + g.id }

func (g *grain) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		_, g.id, _ = placement.Identity(ctx.Self())
		// Fence first, then load: every save of an older activation is
		// either in what is loaded or refused.
		if f := storage.FencesOf(g.d.store()); f != nil {
			epoch, err := f.AcquireCheckpointFence(context.Background(), g.key())
			if err != nil {
				g.fail(ctx, fmt.Errorf("fence: %w", err))
				return
			}
			g.fence = epoch
			fencesTaken.Inc()
		}
		cp, err := g.d.store().LoadCheckpoint(context.Background(), g.key())
		found := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			g.fail(ctx, fmt.Errorf("load: %w", err))
			return
		}
		if err := g.logic.load(g, cp.State, found); err != nil {
			g.fail(ctx, fmt.Errorf("load: %w", err))
			return
		}
		g.logic.self(g, ctx, selfMsg{what: "started"})
	case *actor.ReceiveTimeout:
		g.logic.self(g, ctx, selfMsg{what: "idle"})
	case *pb.DeskCall:
		if g.failed {
			ctx.Respond(&pb.DeskReply{Error: &pb.Error{Code: pb.Code_RETRY, Message: "desk grain is restarting"}})
			return
		}
		before, _ := json.Marshal(g.logic.state())
		out, err := g.logic.handle(g, ctx, m.Op, m.Body)
		if err != nil && !g.failed {
			// A step that failed half-way may have changed the state in
			// memory only: start again from the stored state.
			if after, _ := json.Marshal(g.logic.state()); !bytes.Equal(before, after) {
				g.fail(ctx, fmt.Errorf("%s failed after changing state: %w", m.Op, err))
			}
		}
		r := &pb.DeskReply{}
		if err != nil {
			var e *actors.Error
			if errors.As(err, &e) {
				r.Error = &pb.Error{Code: e.Code, Message: e.Message}
			} else {
				r.Error = &pb.Error{Code: pb.Code_INTERNAL, Message: err.Error()}
			}
		} else if out != nil {
			r.Body, _ = json.Marshal(out)
		}
		ctx.Respond(r)
	case selfMsg:
		if !g.failed {
			g.logic.self(g, ctx, m)
		}
	case *actor.Stopped:
		if gl, ok := g.logic.(gauged); ok {
			gl.dropGauges()
		}
		return
	default:
		return
	}
	if gl, ok := g.logic.(gauged); ok && !g.failed {
		gl.setGauges()
	}
}

// fail stops the grain: its next activation loads the stored state again,
// so memory never runs ahead of the store.
func (g *grain) fail(ctx actor.Context, err error) {
	g.d.log.Error("desk grain failed", "kind", g.kind, "id", g.id, "err", err)
	g.failed = true
	ctx.Poison(ctx.Self())
}

// save persists the state; on failure the grain stops (see fail) and the
// caller answers with the error.
func (g *grain) save(ctx actor.Context) error {
	blob, err := json.Marshal(g.logic.state())
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	cp := storage.Checkpoint{Key: g.key(), State: blob, At: time.Now()}
	if g.fence > 0 {
		err = storage.FencesOf(g.d.store()).SaveCheckpointFenced(context.Background(), cp, g.fence)
		if errors.Is(err, storage.ErrEpochLost) {
			fencedWrites.Inc()
			g.d.log.Warn("desk grain lost its fence to a newer activation; stopping", "kind", g.kind, "id", g.id)
		}
	} else {
		err = g.d.store().SaveCheckpoint(context.Background(), cp)
	}
	if err != nil {
		g.fail(ctx, err)
		return rejected(pb.Code_RETRY, "desk state not saved: %v", err)
	}
	return nil
}

// after sends the grain a selfMsg once d has passed.
func (g *grain) after(ctx actor.Context, d time.Duration, what string) {
	g.later(ctx, d, what, "")()
}

// at sends the grain selfMsg{what, at} at Unix ms at (at once if past):
// the arg names the deadline, so a timer set for an older one is known.
func (g *grain) at(ctx actor.Context, at int64, what string) {
	g.later(ctx, time.Duration(max(0, at-nowMs()))*time.Millisecond, what, strconv.FormatInt(at, 10))()
}

// later returns a function that, called from any goroutine (a tell's
// callback), sends the grain selfMsg{what, arg} once d has passed: how a
// grain retries a message whose answer it needs.
func (g *grain) later(ctx actor.Context, d time.Duration, what, arg string) func() {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	return func() { time.AfterFunc(d, func() { root.Send(self, selfMsg{what: what, arg: arg}) }) }
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return invalid("bad request body: %v", err)
	}
	return nil
}

func nowMs() int64 { return time.Now().UnixMilli() }
