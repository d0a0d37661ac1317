package analytics

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/switchboard-im/switchboard/internal/openhours"
	"github.com/switchboard-im/switchboard/storage"
)

// convState is everything the engine keeps per conversation.
type convState struct {
	lastSeq   uint64
	newest    int64 // newest accepted event time; valid when hasNewest
	hasNewest bool
	spanOpen  bool
	spanStart int64     // event time of the message that opened the span
	pending   []int64   // customer messages since the last agent message
	sessions  []session // open sessions, oldest first
	line      uint32    // key of the business line (LineKey); 0 if none known
	// The desk's owner of the conversation (an agent key; 0: nobody) and
	// the event time of the last desk step that set or cleared it, from
	// which the questions it leaves pending are timed.
	owner    uint32
	since    int64 // valid when hasSince
	hasSince bool
	// rated is the session id of the last rating counted: a desk crash
	// can write a session's rating twice, and only the latest closed
	// session can be rated, so one id is enough to count each once.
	rated string
	// The desk session's first response (docs/METRICS.md, "First response
	// of a desk session"): where the session is (deskPhase), when its
	// customer first asked (asked: the start, or a customer's message
	// since the last close that reopened it) and the earliest its clock
	// runs from (clockFrom: the robot's handover, the line's opening).
	deskPhase    deskPhase
	asked        int64 // valid when hasAsked
	hasAsked     bool
	clockFrom    int64 // valid when hasClockFrom
	hasClockFrom bool
	target       int64 // the session's first-response target in ms; 0: the reply threshold
	// hours are the waiting session's line's opening hours (hoursKey; "":
	// always open), in which its first response is counted.
	hours string
}

// deskPhase is where a conversation is in the desk's sessions, as far as
// the first response is concerned.
type deskPhase uint8

const (
	deskNone     deskPhase = iota // no desk session yet
	deskWaiting                   // started; no agent has written since
	deskAnswered                  // an agent wrote in the session
	deskClosed                    // closed; a customer's message may reopen
)

// Engine computes the metrics. It is not safe for concurrent use: a metrics
// actor owns one.
type Engine struct {
	cfg   Config
	specs []spec
	// The config in milliseconds.
	future, ooo, lateness, threshold, gap int64

	convs  map[string]*convState
	keyIDs map[string]uint32
	// schedules caches parsed opening hours by hoursKey.
	schedules map[string]*openhours.Schedule
	keys      []string // by id; keys[0] is AllKey
	aggs      map[aggKey]*agg
	cache     []cached // see aggAt

	late, futureN uint64
	maxT          int64 // newest accepted event time overall; math.MinInt64 if none

	// OnSessionClosed, when set, is called for every session once no
	// acceptable event can change it any more.
	OnSessionClosed func(Session)
	// OnSpanClosed, when set, is called for every question span an agent
	// reply closes (conversation model), with the agent it counts for (the
	// owner, else the replying agent) and the
	// response time. Replays after a restore do not call it again for
	// spans already consumed.
	OnSpanClosed func(agent string, response time.Duration)
}

// New returns an empty engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Windows = append([]WindowSpec(nil), cfg.Windows...)
	e := &Engine{
		cfg:       cfg,
		future:    cfg.FutureBound.Milliseconds(),
		ooo:       cfg.OutOfOrderness.Milliseconds(),
		lateness:  cfg.AllowedLateness.Milliseconds(),
		threshold: cfg.ReplyThreshold.Milliseconds(),
		gap:       cfg.SessionGap.Milliseconds(),
	}
	for _, w := range cfg.Windows {
		s := spec{size: w.Size.Milliseconds(), slide: w.Slide.Milliseconds()}
		if cfg.zoned() && w.IsTumbling() && dayMs%s.size == 0 {
			s.zone = &zoneWindows{loc: cfg.Location, size: s.size}
		}
		e.specs = append(e.specs, s)
	}
	e.reset()
	return e, nil
}

func (e *Engine) reset() {
	e.convs = make(map[string]*convState)
	e.schedules = make(map[string]*openhours.Schedule)
	e.keyIDs = map[string]uint32{AllKey: 0}
	e.keys = []string{AllKey}
	e.aggs = make(map[aggKey]*agg)
	e.late, e.futureN = 0, 0
	e.maxT = math.MinInt64
	e.resetCache()
}

// Config returns the engine's configuration.
func (e *Engine) Config() Config {
	c := e.cfg
	c.Windows = append([]WindowSpec(nil), c.Windows...)
	return c
}

// LateEvents counts events excluded for being more than B+L behind the
// newest event time of their conversation.
func (e *Engine) LateEvents() uint64 { return e.late }

// FutureEvents counts events excluded for being more than FutureBound ahead
// of their server time.
func (e *Engine) FutureEvents() uint64 { return e.futureN }

// ConvSeqs returns the seq consumed per conversation, the position to
// resume the log from (exclusive) after a Restore.
func (e *Engine) ConvSeqs() map[string]uint64 {
	out := make(map[string]uint64, len(e.convs))
	for id, cs := range e.convs {
		out[id] = cs.lastSeq
	}
	return out
}

// ConvSeq returns the seq consumed for one conversation (0 if none).
func (e *Engine) ConvSeq(conv string) uint64 {
	if cs := e.convs[conv]; cs != nil {
		return cs.lastSeq
	}
	return 0
}

// Process consumes one event. Events of a conversation must come in seq
// order; an event with a seq not above the last one consumed for its
// conversation is a duplicate and is ignored, which makes replays after a
// Restore exactly-once. Invalid events return an error wrapping
// ErrInvalidEvent and change nothing.
func (e *Engine) Process(ev Event) error {
	if err := ev.check(); err != nil {
		return err
	}
	cs := e.convs[ev.Conv]
	if cs == nil {
		cs = &convState{}
		e.convs[ev.Conv] = cs
	}
	if ev.Seq <= cs.lastSeq {
		return nil
	}
	cs.lastSeq = ev.Seq
	if ev.Line != "" && cs.line == 0 {
		// The first line a conversation names is its line: the desk keeps a
		// conversation within one line.
		cs.line = e.intern(LineKey(ev.Line))
	}
	if ev.Desk.Op != "" {
		e.deskStep(cs, &ev.Desk, ev.ServerTS.UnixMilli())
	}
	if !ev.counts() {
		return nil
	}
	t := ev.eventTime()
	if t-ev.ServerTS.UnixMilli() > e.future {
		e.futureN++
		return nil
	}
	if cs.hasNewest && t < cs.newest-e.ooo-e.lateness {
		e.late++
		return nil
	}
	if !cs.hasNewest || t > cs.newest {
		cs.newest, cs.hasNewest = t, true
	}
	e.maxT = max(e.maxT, t)

	customer := ev.Role == storage.SenderCustomer
	var agent uint32
	if customer {
		// A question is the owner's to answer from the later of its own
		// time and the owner's taking over.
		q := t
		if cs.hasSince {
			q = max(q, cs.since)
		}
		if !cs.spanOpen {
			cs.spanOpen, cs.spanStart = true, q
		}
		cs.pending = append(cs.pending, q)
		if cs.deskPhase == deskClosed && (!cs.hasAsked || t < cs.asked) {
			cs.asked, cs.hasAsked = t, true // it may reopen the session
		}
	} else {
		agent = e.intern(ev.Sender)
		e.firstResponse(cs, t, agent)
		e.reply(cs, t, agent)
	}
	cs.addToSessions(t, e.gap, customer, agent, cs.owner)
	e.closeSessions(ev.Conv, cs)
	return nil
}

// deskStep applies a desk step at its server time t: it counts the queue
// wait an assignment ends, an abandoned session and a session's first
// rating, and hands the conversation to its new owner (or to nobody), who
// answers the questions still pending from t on; start, after_hours,
// handover and close set the desk session's first-response clock.
func (e *Engine) deskStep(cs *convState, d *DeskStep, t int64) {
	switch d.Op {
	case DeskRating:
		e.rate(cs, d, t)
		return
	case DeskStart:
		// An entry is the customer asking; a session reopened by a
		// customer's message was asked for by the messages since the close.
		// An agent who reaches out asks nobody to answer them: such a
		// session has no first response.
		if d.Outbound {
			cs.deskPhase, cs.hasAsked, cs.hasClockFrom, cs.target, cs.hours = deskAnswered, false, false, 0, ""
			break
		}
		if d.Reopened && cs.deskPhase == deskClosed && cs.hasAsked {
			cs.asked = min(cs.asked, t)
		} else {
			cs.asked, cs.hasAsked = t, true
		}
		cs.deskPhase, cs.hasClockFrom, cs.target, cs.hours = deskWaiting, false, d.TargetMs, d.Hours
	case DeskAfterHours, DeskHandover:
		// The desk's clock starts when the line opens, and the robot's
		// time is not the agents'.
		from := t
		if d.Op == DeskAfterHours {
			if d.OpensAtMs == 0 {
				return // the line never opens again: nothing to move
			}
			from = d.OpensAtMs
		}
		if cs.deskPhase == deskWaiting {
			if cs.hasClockFrom {
				from = max(from, cs.clockFrom)
			}
			cs.clockFrom, cs.hasClockFrom = from, true
		}
		return
	case DeskOverflow:
		// Only a waiting session overflows: an owner now is an agent whose
		// assignment a crash cut, who never had the session.
		cs.owner, cs.hasSince = 0, false
		return
	case DeskClose:
		cs.deskPhase, cs.hasAsked, cs.hasClockFrom, cs.hours = deskClosed, false, false, ""
	}
	owner := uint32(0)
	if d.Owner != "" {
		owner = e.intern(d.Owner)
	}
	if d.Abandoned {
		c := agg{abandoned: 1}
		e.contribute(t, 0, cs.line, &c)
	}
	if d.Op == DeskAssigned && owner != 0 && owner == cs.owner {
		// The desk wrote the assignment again after a crash: the owner
		// keeps the session, its questions, its handling and its queue
		// wait from before.
		return
	}
	if d.Op == DeskAssigned {
		c := agg{queueWaits: 1, queueWaitSum: d.WaitMs}
		e.contribute(t, owner, cs.line, &c)
	}
	if d.Missed && cs.owner != 0 {
		// The agent who had it missed it. A requeue written again after a
		// crash finds no owner and counts nothing.
		e.contribute(t, cs.owner, cs.line, &agg{missed: 1})
	}
	if d.Op == DeskStart || d.Op == DeskAssigned || d.Op == DeskTransfer || d.Op == DeskRequeue || d.Op == DeskClose {
		e.handled(cs, d, t)
		cs.owner = owner
		cs.since, cs.hasSince = t, true
		if cs.spanOpen {
			cs.spanStart = max(cs.spanStart, t)
		}
		for i, q := range cs.pending {
			cs.pending[i] = max(q, t)
		}
	}
}

// handled counts the end at t, by step d, of the current owner's span:
// the time the owner held the session since its assignment or transfer,
// resolved when d is the close.
func (e *Engine) handled(cs *convState, d *DeskStep, t int64) {
	// An abandoning close is only written for a waiting session: an
	// owner then is an agent whose assignment a crash cut, not one who
	// handled it.
	if cs.owner == 0 || !cs.hasSince || d.Abandoned {
		return
	}
	c := agg{handled: 1, handleSum: max(0, t-cs.since)}
	if d.Op == DeskClose {
		c.resolved = 1
	}
	e.contribute(t, cs.owner, cs.line, &c)
}

// rate counts a session's first rating at t for the agent who had the
// session (none for the robot's), the line and AllKey. A rating comes
// after the close: it moves no owner and restarts no clock.
func (e *Engine) rate(cs *convState, d *DeskStep, t int64) {
	if d.Session == cs.rated {
		return // the same rating written again
	}
	cs.rated = d.Session
	c := agg{ratings: 1, ratingSum: uint64(d.Score)}
	if d.Score >= SatisfiedScore {
		c.satisfied = 1
	}
	agent := uint32(0)
	if d.Agent != "" {
		agent = e.intern(d.Agent)
	}
	e.contribute(t, agent, cs.line, &c)
}

// firstResponse counts the first agent message of a desk session at t:
// the time since the customer asked (or since the clock started, if
// later), for the conversation's owner if it has one, else the agent who
// wrote; timely within the session's target, else the reply threshold.
func (e *Engine) firstResponse(cs *convState, t int64, agent uint32) {
	if cs.deskPhase != deskWaiting {
		return
	}
	cs.deskPhase = deskAnswered
	from := cs.asked
	if cs.hasClockFrom {
		from = max(from, cs.clockFrom)
	}
	if cs.owner != 0 {
		agent = cs.owner
	}
	r := max(0, t-from)
	if s := e.schedule(cs.hours); s != nil {
		r = s.OpenBetween(fromMillis(from), fromMillis(t)).Milliseconds()
	}
	cs.hours = ""
	c := agg{deskFirst: 1, deskFirstSum: r}
	target := e.threshold
	if cs.target != 0 {
		target = cs.target
	}
	if r <= target {
		c.deskFirstTimely = 1
	}
	e.contribute(t, agent, cs.line, &c)
}

// maxSchedules bounds the engine's cache of parsed opening hours (a few
// per business line).
const maxSchedules = 1024

// schedule returns the parsed opening hours of a hoursKey, nil for none
// or for hours that do not parse (they count as none).
func (e *Engine) schedule(hours string) *openhours.Schedule {
	if hours == "" {
		return nil
	}
	if s, ok := e.schedules[hours]; ok {
		return s
	}
	var h openhours.Hours
	var s *openhours.Schedule
	if json.Unmarshal([]byte(hours), &h) == nil {
		s, _ = openhours.Parse(h, hoursLimits)
	}
	if len(e.schedules) >= maxSchedules {
		clear(e.schedules)
	}
	e.schedules[hours] = s
	return s
}

// reply closes the open span and answers the pending questions with an
// agent message at t. They count for the conversation's owner if it has
// one, else for the agent who replied.
func (e *Engine) reply(cs *convState, t int64, agent uint32) {
	if !cs.spanOpen {
		return
	}
	if cs.owner != 0 {
		agent = cs.owner
	}
	var c agg
	r := max(0, t-cs.spanStart)
	c.questions, c.respSum = 1, r
	if r <= e.threshold {
		c.timely = 1
	}
	for _, q := range cs.pending {
		r := max(0, t-q)
		c.msgQuestions++
		c.msgRespSum += r
		if r <= e.threshold {
			c.msgTimely++
		}
	}
	cs.spanOpen = false
	cs.pending = cs.pending[:0]
	e.contribute(t, agent, cs.line, &c)
	if e.OnSpanClosed != nil {
		e.OnSpanClosed(e.keys[agent], time.Duration(r)*time.Millisecond)
	}
}

// closeSessions retires the sessions no acceptable event can reach: any
// later event is at least newest−B−L, and joins only sessions whose
// last+gap it does not exceed.
func (e *Engine) closeSessions(conv string, cs *convState) {
	wm := cs.newest - e.ooo - e.lateness
	n := 0
	for n < len(cs.sessions) && cs.sessions[n].last+e.gap < wm {
		s := &cs.sessions[n]
		c := s.contribution()
		e.contribute(s.first, s.key(), cs.line, &c)
		if e.OnSessionClosed != nil {
			e.OnSessionClosed(e.describe(conv, s))
		}
		n++
	}
	if n > 0 {
		cs.sessions = append(cs.sessions[:0], cs.sessions[n:]...)
	}
}

func (e *Engine) intern(id string) uint32 {
	if k, ok := e.keyIDs[id]; ok {
		return k
	}
	k := uint32(len(e.keys))
	e.keyIDs[id] = k
	e.keys = append(e.keys, id)
	e.cache = append(e.cache, make([]cached, len(e.specs)*cacheWays)...)
	return k
}

// OpenSessions returns the sessions of a conversation that may still change.
func (e *Engine) OpenSessions(conv string) []Session {
	cs := e.convs[conv]
	if cs == nil {
		return nil
	}
	out := make([]Session, 0, len(cs.sessions))
	for i := range cs.sessions {
		out = append(out, e.describe(conv, &cs.sessions[i]))
	}
	return out
}

// sessionHorizon is the global watermark less L: an open session whose
// last+gap is before it is closed by the watermark of the whole stream
// (see Rows), even while its own conversation is quiet.
func (e *Engine) sessionHorizon() (int64, bool) {
	wm, ok := e.watermark()
	return wm - e.lateness, ok
}

// Watermark returns the global watermark, the newest accepted event time
// minus B, and false before any event was accepted.
func (e *Engine) Watermark() (time.Time, bool) {
	wm, ok := e.watermark()
	if !ok {
		return time.Time{}, false
	}
	return fromMillis(wm), true
}

func (e *Engine) watermark() (int64, bool) {
	if e.maxT == math.MinInt64 {
		return 0, false
	}
	return e.maxT - e.ooo, true
}

// String is for debugging.
func (e *Engine) String() string {
	return fmt.Sprintf("analytics.Engine{convs: %d, keys: %d, aggregates: %d, late: %d, future: %d}",
		len(e.convs), len(e.keys)-1, len(e.aggs), e.late, e.futureN)
}
