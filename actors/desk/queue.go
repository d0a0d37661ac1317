package desk

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	pb "github.com/switchboard-im/switchboard/actors/actorspb"
)

// waitEntry is one session waiting in a queue.
type waitEntry struct {
	Thread  string `json:"thread"`
	Conv    string `json:"conv"`
	Session string `json:"session"`
	// Since orders the queue (ms): the time the session first waited,
	// kept when its agent drops it, so it is not sent to the back.
	Since int64 `json:"since"`
	// Entered is when it entered this time (ms): queue wait counts from here.
	Entered int64  `json:"entered"`
	Prefer  string `json:"prefer,omitempty"` // the agent it had before, if any
	Seq     uint64 `json:"seq"`              // ties of Since, in arrival order
	// Due is when the session's first response falls due (ms; 0: no
	// target, or an agent has had the session already).
	Due int64 `json:"due,omitempty"`
	// Priority orders the queue before Since: the customer's priority in
	// the line (0 to MaxPriority), set by the business.
	Priority int `json:"priority,omitempty"`
}

type inFlight struct {
	Session string `json:"session"`
	Agent   string `json:"agent"`
	At      int64  `json:"at"`
}

// QueueStats count what left the queue: assigned sessions with their total
// wait, sessions closed while waiting (abandoned), and sessions that
// waited their route step's time and moved on (overflowed).
type QueueStats struct {
	Assigned   uint64 `json:"assigned"`
	WaitMsSum  int64  `json:"wait_ms_sum"`
	Abandoned  uint64 `json:"abandoned"`
	Overflowed uint64 `json:"overflowed,omitempty"`
}

type queueGrain struct {
	Skill   string               `json:"skill"`
	Waiting []waitEntry          `json:"waiting"`
	Agents  map[string]agentView `json:"agents"`
	Offer   *inFlight            `json:"offer,omitempty"`
	NextSeq uint64               `json:"next_seq"`
	Stats   QueueStats           `json:"stats"`
	// Abandons are the latest sessions withdrawn as abandoned (at most
	// abandonMemory): a thread that crashed before recording its close
	// withdraws again and must hear the same answer.
	Abandons []string `json:"abandons,omitempty"`
	// Left are the latest entries that left this queue for good, to an
	// agent or by overflow (at most leftMemory, as "session@entered"): a
	// thread's enqueue of one of them (a repair sent before, arriving
	// after) must not list the session again, where the next offer would
	// hear the same answer from the thread's memo and count it twice.
	Left []string `json:"taken,omitempty"`
	// AssignedAt are the times (ms) of the latest assignments (at most
	// waitSamples), for the wait estimate. Saved with the state each
	// assignment saves anyway, so a queue that restarts or moves
	// estimates at once.
	AssignedAt []int64 `json:"assigned_at,omitempty"`
	timer      bool    // an offer-timeout is scheduled
	refresh    bool    // a refresh of the agents' views is scheduled
	// pushed is the position each waiting customer was last told; not
	// stored: a new activation tells everyone again.
	pushed    map[string]int
	positions bool // positions changed since the last push
	pushing   bool // a push is under way: the next waits for it
}

const (
	// waitSamples is how many of the latest assignments the wait estimate
	// looks at, and minWaitSamples how many it needs.
	waitSamples    = 20
	minWaitSamples = 3
	// MaxWaitEstimate: a longer estimate is no estimate (0).
	MaxWaitEstimate = 24 * time.Hour
)

// noteAssigned keeps the time of an assignment for the wait estimate,
// the latest waitSamples only.
func (q *queueGrain) noteAssigned(at int64) {
	q.AssignedAt = append(q.AssignedAt, at)
	if len(q.AssignedAt) > waitSamples {
		q.AssignedAt = q.AssignedAt[len(q.AssignedAt)-waitSamples:]
	}
}

// waitEstimate is how long the session at position pos should wait from
// now: pos times the queue's pace, the time from the oldest of its latest
// assignments to now over their number. The pace slows as soon as the
// assignments stop (now moves on), so a queue whose agents left does not
// promise its old pace. 0: too few assignments seen to tell.
func (q *queueGrain) waitEstimate(pos int, now int64) time.Duration {
	if pos <= 0 || len(q.AssignedAt) < minWaitSamples {
		return 0
	}
	pace := time.Duration(max(now-q.AssignedAt[0], 0)) * time.Millisecond / time.Duration(len(q.AssignedAt))
	if pace > MaxWaitEstimate/time.Duration(pos) {
		return 0
	}
	return pace * time.Duration(pos)
}

// positionsChanged schedules a push of the changed positions. It goes
// through the mailbox, so a burst of changes is pushed once.
func (q *queueGrain) positionsChanged(ctx actor.Context) {
	if !q.positions {
		q.positions = true
		if !q.pushing {
			ctx.Send(ctx.Self(), selfMsg{what: "positions"})
		}
	}
}

// pushPositions tells the customers among the first PositionPushes waiting
// whose position changed, and those who left, where they are now (best
// effort: a signal, never stored). One push at a time per queue: changes
// made meanwhile are pushed together once it is done, so a busy queue
// costs at most PositionPushes signals per push, not per change.
func (q *queueGrain) pushPositions(g *grain, ctx actor.Context) {
	if q.pushing || !q.positions {
		return
	}
	q.positions = false
	if q.pushed == nil {
		q.pushed = map[string]int{}
	}
	type push struct {
		user, conv string
		pos        int
		wait       time.Duration
	}
	var out []push
	now := nowMs()
	waiting := map[string]bool{}
	for i, e := range q.Waiting {
		waiting[e.Session] = true
		if i >= g.d.cfg.PositionPushes {
			delete(q.pushed, e.Session) // told again once it comes within the bound
			continue
		}
		if q.pushed[e.Session] != i+1 {
			q.pushed[e.Session] = i + 1
			_, customer, _ := strings.Cut(e.Thread, "/")
			out = append(out, push{customer, e.Conv, i + 1, q.waitEstimate(i+1, now)})
		}
	}
	for s := range q.pushed {
		if !waiting[s] {
			delete(q.pushed, s)
			if conv, customer, ok := sessionCustomer(s); ok {
				out = append(out, push{customer, conv, 0, 0})
			}
		}
	}
	if len(out) == 0 {
		return
	}
	q.pushing = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		defer root.Send(self, selfMsg{what: "pushed"})
		pctx, cancel := context.WithTimeout(context.Background(), 4*g.d.rt.Config().RequestTimeout)
		defer cancel()
		for _, p := range out {
			g.d.rt.DeskPosition(pctx, p.user, p.conv, p.pos, p.wait)
		}
	}()
}

// sessionCustomer splits a session id "s:LINE:CUSTOMER:N/K" into its
// conversation and customer.
func sessionCustomer(session string) (conv, customer string, ok bool) {
	conv, _, _ = strings.Cut(session, "/")
	parts := strings.Split(conv, ":")
	if len(parts) != 4 {
		return "", "", false
	}
	return conv, parts[2], true
}

// setGauges reports the queue's waiting sessions, its oldest wait (the
// list is ordered by Since: the first waited longest), the earliest
// first response due among them, and its agents by status with the slots
// they have free, as the queue's view knows them.
func (q *queueGrain) setGauges() {
	waitingNow.WithLabelValues(q.Skill).Set(float64(len(q.Waiting)))
	byStatus := map[string]int{Online: 0, Away: 0, Offline: 0}
	free := 0
	for _, v := range q.Agents {
		byStatus[v.Status]++
		if v.Status == Online {
			free += max(v.Capacity-v.Load, 0)
		}
	}
	for status, n := range byStatus {
		agentsNow.WithLabelValues(q.Skill, status).Set(float64(n))
	}
	freeSlots.WithLabelValues(q.Skill).Set(float64(free))
	if len(q.Waiting) == 0 {
		oldestWaiting.DeleteLabelValues(q.Skill)
	} else {
		oldestWaiting.WithLabelValues(q.Skill).Set(float64(q.Waiting[0].Since) / 1000)
	}
	if due := q.earliestDue(); due == 0 {
		nextDue.DeleteLabelValues(q.Skill)
	} else {
		nextDue.WithLabelValues(q.Skill).Set(float64(due) / 1000)
	}
}

// earliestDue is the earliest first-response due time (ms) among the
// waiting sessions, 0 if none has one. Not the oldest's: sessions of
// lines with different targets and hours share a queue.
func (q *queueGrain) earliestDue() int64 {
	var due int64
	for _, e := range q.Waiting {
		if e.Due != 0 && (due == 0 || e.Due < due) {
			due = e.Due
		}
	}
	return due
}

// dropGauges removes the queue's series from this node: its grain stopped
// here (and reports from wherever it activates next).
func (q *queueGrain) dropGauges() {
	waitingNow.DeleteLabelValues(q.Skill)
	agentsNow.DeletePartialMatch(prometheus.Labels{"queue": q.Skill})
	freeSlots.DeleteLabelValues(q.Skill)
	oldestWaiting.DeleteLabelValues(q.Skill)
	nextDue.DeleteLabelValues(q.Skill)
}

// askReports asks every agent of the view for a fresh report.
func (q *queueGrain) askReports(g *grain) {
	for u := range q.Agents {
		g.d.tell(KindAgent, u, "report", q.Skill, nil)
	}
}

// Waiting is one waiting session, as `desk queue` shows it.
type Waiting struct {
	Conv    string `json:"conv"`
	Session string `json:"session"`
	SinceMs int64  `json:"since_ms"`
	// FirstResponseDueMs is when the session's first response falls due
	// under its line's target (omitted: no target, or an agent has had
	// the session already).
	FirstResponseDueMs int64 `json:"first_response_due_ms,omitempty"`
	// Priority: the customer's priority in the line (0: none).
	Priority int `json:"priority,omitempty"`
}

// QueueAgent is one agent of a queue, as `desk queue` shows it.
type QueueAgent struct {
	User     string `json:"user"`
	Status   string `json:"status"`
	Load     int    `json:"load"`
	Capacity int    `json:"capacity"`
}

// QueueInfo is a queue's state.
type QueueInfo struct {
	Waiting []Waiting    `json:"waiting"`
	Agents  []QueueAgent `json:"agents"`
	Stats   QueueStats   `json:"stats"`
}

// queueSpot is where a session waits, and the queue's estimate of its
// wait (ms; 0: none yet).
type queueSpot struct {
	Position int   `json:"position"`
	WaitMs   int64 `json:"wait_ms"` // -1: not known (a queue of an earlier version answered)
}

// UnmarshalJSON also takes the bare position a queue of an earlier
// version answers an enqueue with (a rolling restart mixes versions).
func (s *queueSpot) UnmarshalJSON(b []byte) error {
	var pos int
	if json.Unmarshal(b, &pos) == nil {
		*s = queueSpot{Position: pos, WaitMs: -1}
		return nil
	}
	type plain queueSpot
	return json.Unmarshal(b, (*plain)(s))
}

// spot is the spot of the entry at pos (0: none), with its estimated wait.
func (q *queueGrain) spot(pos int) queueSpot {
	return queueSpot{Position: pos, WaitMs: q.waitEstimate(pos, nowMs()).Milliseconds()}
}

type enqueueReq struct {
	Entry waitEntry `json:"entry"`
	// Spot: answer with the entry's spot; without it (a thread of an
	// earlier version), with its bare position.
	Spot bool `json:"spot,omitempty"`
}

// reprioritizeReq gives a waiting session its customer's new priority.
type reprioritizeReq struct {
	Session  string `json:"session"`
	Priority int    `json:"priority"`
}

// abandonMemory bounds Queue.Abandons: a repeated withdrawal comes right
// after the thread's restart, long before this many more abandons.
const abandonMemory = 256

// leftMemory bounds Queue.Left: a late repair was in flight when the
// entry left, and a queue's every save carries the list.
const leftMemory = 64

type withdrawReq struct {
	Session   string `json:"session"`
	Abandoned bool   `json:"abandoned"`
	// Agent took the session past the queue's order (a supervisor's
	// transfer), after WaitMs: counted as an assignment.
	Agent  string `json:"agent,omitempty"`
	WaitMs int64  `json:"wait_ms,omitempty"`
	// Overflow: it waited its route step's time and moved on.
	Overflow bool `json:"overflow,omitempty"`
	// Entered is the entry that went to Agent or overflowed (0: not
	// told; the listed one), which the queue remembers as left.
	Entered int64 `json:"entered,omitempty"`
}

// assignReq is the queue's offer of a session to a thread: give it to Agent.
type assignReq struct {
	Session string `json:"session"`
	Queue   string `json:"queue"`
	Agent   string `json:"agent"`
	Entered int64  `json:"entered"`
}

// assignAnswer is the thread's answer, passed back to the queue.
type assignAnswer struct {
	Session string `json:"session"`
	Agent   string `json:"agent"`
	Taken   bool   `json:"taken"`
	Gone    bool   `json:"gone"` // the session no longer waits here
	// Overflow: gone because it overflowed to its route's next step (the
	// queue had not heard: its withdraw was lost to a crash).
	Overflow bool      `json:"overflow,omitempty"`
	WaitMs   int64     `json:"wait_ms"`
	View     agentView `json:"view"`
	// Entered echoes the offer's: an answer that comes late, after the
	// offered entry left and the session entered this queue again, must
	// not remove the later entry (0: a thread of an earlier version,
	// which does not echo it).
	Entered int64 `json:"entered,omitempty"`
	// Requeued is the session's later entry in this queue, with an
	// answer from the thread's memo: the offered entry was taken (or
	// overflowed) and the queue never heard, and the session has since
	// come back to wait here. The queue's enqueue of it found the old
	// entry still listed and kept that; the answer swaps them.
	Requeued *waitEntry `json:"requeued,omitempty"`
}

func (q *queueGrain) state() any { return q }

func (q *queueGrain) load(g *grain, blob []byte, found bool) error {
	q.Skill, q.Agents = g.id, map[string]agentView{}
	if found {
		if err := json.Unmarshal(blob, q); err != nil {
			return err
		}
	}
	if q.Agents == nil {
		q.Agents = map[string]agentView{}
	}
	return nil
}

// insert puts e at its place in the waiting list (higher priorities
// first, then by Since, then in arrival order) and returns its index.
func (q *queueGrain) insert(e waitEntry) int {
	i := sort.Search(len(q.Waiting), func(i int) bool {
		w := q.Waiting[i]
		if w.Priority != e.Priority {
			return w.Priority < e.Priority
		}
		return w.Since > e.Since || (w.Since == e.Since && w.Seq > e.Seq)
	})
	q.Waiting = slices.Insert(q.Waiting, i, e)
	return i
}

func (q *queueGrain) position(session string) int {
	for i, e := range q.Waiting {
		if e.Session == session {
			return i + 1
		}
	}
	return 0
}

func (q *queueGrain) info() QueueInfo {
	in := QueueInfo{Waiting: []Waiting{}, Agents: []QueueAgent{}, Stats: q.Stats}
	for _, e := range q.Waiting {
		in.Waiting = append(in.Waiting, Waiting{Conv: e.Conv, Session: e.Session, SinceMs: e.Since, FirstResponseDueMs: e.Due, Priority: e.Priority})
	}
	for _, a := range q.Agents {
		in.Agents = append(in.Agents, QueueAgent{User: a.User, Status: a.Status, Load: a.Load, Capacity: a.Capacity})
	}
	sort.Slice(in.Agents, func(i, j int) bool { return in.Agents[i].User < in.Agents[j].User })
	return in
}

func (q *queueGrain) handle(g *grain, ctx actor.Context, op string, body []byte) (any, error) {
	switch op {
	case "show":
		return q.info(), nil
	case "position":
		var s string
		if err := decode(body, &s); err != nil {
			return nil, err
		}
		return q.position(s), nil
	case "spot":
		var s string
		if err := decode(body, &s); err != nil {
			return nil, err
		}
		return q.spot(q.position(s)), nil
	case "enqueue":
		// Answered with the entry's spot, so the thread's answer needs no
		// second question.
		var r enqueueReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		answer := func(pos int) any {
			if r.Spot {
				return q.spot(pos)
			}
			return pos
		}
		if p := q.position(r.Entry.Session); p > 0 {
			return answer(p), nil
		}
		if slices.Contains(q.Left, leftKey(r.Entry.Session, r.Entry.Entered)) {
			return answer(0), nil // assigned or overflowed already: a late repair
		}
		if len(q.Waiting) >= g.d.cfg.MaxWaiting {
			return nil, rejected(pb.Code_BUSY, "queue %s has %d waiting, limit %d", q.Skill, len(q.Waiting), g.d.cfg.MaxWaiting)
		}
		q.NextSeq++
		e := r.Entry
		e.Seq = q.NextSeq
		i := q.insert(e)
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		g.d.event(Event{Kind: "enqueue", Queue: q.Skill, Session: e.Session, Since: e.Since})
		ctx.Send(ctx.Self(), selfMsg{what: "dispatch"})
		q.positionsChanged(ctx)
		return answer(i + 1), nil
	case "reprioritize":
		var r reprioritizeReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		i := q.position(r.Session) - 1
		if i < 0 || q.Waiting[i].Priority == r.Priority {
			return i + 1, nil
		}
		e := q.Waiting[i]
		e.Priority = r.Priority
		q.Waiting = append(q.Waiting[:i], q.Waiting[i+1:]...)
		i = q.insert(e)
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		ctx.Send(ctx.Self(), selfMsg{what: "dispatch"})
		q.positionsChanged(ctx)
		return i + 1, nil
	case "withdraw":
		var r withdrawReq
		if err := decode(body, &r); err != nil {
			return nil, err
		}
		i := q.position(r.Session) - 1
		if i < 0 {
			return r.Abandoned && slices.Contains(q.Abandons, r.Session), nil
		}
		entered := q.Waiting[i].Entered
		q.Waiting = append(q.Waiting[:i], q.Waiting[i+1:]...)
		if q.Offer != nil && q.Offer.Session == r.Session {
			q.Offer = nil
		}
		switch {
		case r.Abandoned:
			q.Stats.Abandoned++
			q.Abandons = append(q.Abandons, r.Session)
			if len(q.Abandons) > abandonMemory {
				q.Abandons = q.Abandons[len(q.Abandons)-abandonMemory:]
			}
		case r.Agent != "":
			q.Stats.Assigned++
			q.Stats.WaitMsSum += r.WaitMs
			q.noteAssigned(nowMs())
		case r.Overflow:
			q.Stats.Overflowed++
		}
		if r.Agent != "" || r.Overflow {
			q.leftForGood(r.Session, entered)
			if r.Entered != 0 && r.Entered != entered {
				q.leftForGood(r.Session, r.Entered)
			}
		}
		if err := g.save(ctx); err != nil {
			return nil, err
		}
		switch {
		case r.Abandoned:
			abandoned.WithLabelValues(q.Skill).Inc()
		case r.Agent != "":
			observeAssigned(q.Skill, r.WaitMs)
		case r.Overflow:
			overflowed.WithLabelValues(q.Skill).Inc()
		}
		g.d.event(Event{Kind: "dequeue", Queue: q.Skill, Session: r.Session, Agent: r.Agent})
		ctx.Send(ctx.Self(), selfMsg{what: "dispatch"})
		q.positionsChanged(ctx)
		return true, nil
	case "agent":
		var v agentView
		if err := decode(body, &v); err != nil {
			return nil, err
		}
		if q.note(v) {
			if err := g.save(ctx); err != nil {
				return nil, err
			}
			ctx.Send(ctx.Self(), selfMsg{what: "dispatch"})
		}
		return nil, nil
	case "answer":
		var a assignAnswer
		if err := decode(body, &a); err != nil {
			return nil, err
		}
		return nil, q.answer(g, ctx, a)
	}
	return nil, invalid("unknown op %q", op)
}

// note updates the view of an agent unless v is older; reports a change.
func (q *queueGrain) note(v agentView) bool {
	old, ok := q.Agents[v.User]
	if ok && old.Version > v.Version {
		return false
	}
	if !v.Member {
		if !ok {
			return false
		}
		delete(q.Agents, v.User)
		return true
	}
	q.Agents[v.User] = v
	return !reflect.DeepEqual(old, v)
}

// leftKey names an entry in Queue.Left.
func leftKey(session string, entered int64) string {
	return session + "@" + strconv.FormatInt(entered, 10)
}

// leftForGood remembers an entry that went to an agent or overflowed.
func (q *queueGrain) leftForGood(session string, entered int64) {
	q.Left = append(q.Left, leftKey(session, entered))
	if len(q.Left) > leftMemory {
		q.Left = q.Left[len(q.Left)-leftMemory:]
	}
}

func (q *queueGrain) answer(g *grain, ctx actor.Context, a assignAnswer) error {
	current := q.Offer != nil && q.Offer.Session == a.Session
	if !current && !a.Taken && !a.Gone {
		return nil // a stale refusal: the offer was withdrawn or timed out
	}
	if current {
		q.Offer = nil
	}
	q.note(a.View)
	// A taken session is counted even when its answer comes after the
	// offer timed out: the thread has recorded the assignment.
	removed, requeued := false, false
	if i := q.position(a.Session) - 1; i >= 0 && (a.Taken || a.Gone) && (a.Entered == 0 || a.Entered == q.Waiting[i].Entered) {
		entered := q.Waiting[i].Entered
		q.Waiting = append(q.Waiting[:i], q.Waiting[i+1:]...)
		switch {
		case a.Taken:
			q.Stats.Assigned++
			q.Stats.WaitMsSum += a.WaitMs
			q.noteAssigned(nowMs())
			q.leftForGood(a.Session, entered)
		case a.Overflow:
			q.Stats.Overflowed++
			q.leftForGood(a.Session, entered)
		}
		removed = true
		if e := a.Requeued; e != nil && e.Session == a.Session && e.Entered != entered && !slices.Contains(q.Left, leftKey(e.Session, e.Entered)) {
			// The slot the old entry held goes to the new one: no
			// MaxWaiting check, as for a repair.
			q.NextSeq++
			e.Seq = q.NextSeq
			q.insert(*e)
			requeued = true
		}
	}
	if err := g.save(ctx); err != nil {
		return err
	}
	if removed {
		switch {
		case a.Taken:
			observeAssigned(q.Skill, a.WaitMs)
		case a.Overflow:
			overflowed.WithLabelValues(q.Skill).Inc()
		}
		g.d.event(Event{Kind: "dequeue", Queue: q.Skill, Session: a.Session, Agent: a.Agent})
		if requeued {
			g.d.event(Event{Kind: "enqueue", Queue: q.Skill, Session: a.Session, Since: a.Requeued.Since})
		}
		q.positionsChanged(ctx)
	}
	ctx.Send(ctx.Self(), selfMsg{what: "dispatch"})
	return nil
}

func (q *queueGrain) self(g *grain, ctx actor.Context, m any) {
	switch m.(selfMsg).what {
	case "offer-timeout":
		q.timer = false
		q.dispatch(g, ctx)
	case "refresh":
		q.refresh = false
		if len(q.Waiting) > 0 {
			q.askReports(g)
		}
	case "started":
		q.askReports(g)
		q.dispatch(g, ctx)
		q.positionsChanged(ctx)
	case "positions":
		q.pushPositions(g, ctx)
	case "pushed":
		q.pushing = false
		q.pushPositions(g, ctx)
	case "dispatch":
		q.dispatch(g, ctx)
	}
}

// dispatch offers the head of the queue to the least-loaded available
// agent (the session's previous agent first, when it has room). One offer
// at a time keeps FIFO exact: nothing overtakes a head that is in flight.
func (q *queueGrain) dispatch(g *grain, ctx actor.Context) {
	if q.Offer != nil {
		if age := time.Since(time.UnixMilli(q.Offer.At)); age < g.d.cfg.OfferTimeout {
			if !q.timer {
				// Restored with an offer in flight: nothing else
				// will wake the queue if its answer was lost.
				q.timer = true
				g.after(ctx, g.d.cfg.OfferTimeout-age, "offer-timeout")
			}
			return
		}
		q.Offer = nil // unanswered: offer again
	}
	if len(q.Waiting) == 0 {
		return
	}
	head := q.Waiting[0]
	agent := ""
	if v, ok := q.Agents[head.Prefer]; ok && (available(v) || v.takesBack(head.Conv)) {
		agent = v.User
	} else {
		var best agentView
		for _, v := range q.Agents {
			if !available(v) {
				continue
			}
			if agent == "" || v.Load < best.Load || (v.Load == best.Load && v.User < best.User) {
				agent, best = v.User, v
			}
		}
	}
	if agent == "" {
		// Nobody has room by this queue's view. Reports are
		// fire-and-forget and may be lost in a crash, so while sessions
		// wait the view is refreshed now and then.
		if !q.refresh {
			q.refresh = true
			g.after(ctx, g.d.cfg.OfferTimeout, "refresh")
		}
		return
	}
	q.Offer = &inFlight{Session: head.Session, Agent: agent, At: nowMs()}
	if err := g.save(ctx); err != nil {
		return
	}
	// The view counts the offer already: the next dispatch must not pick
	// the agent on a load the offer is about to raise.
	g.d.event(Event{Kind: "offer", Queue: q.Skill, Session: head.Session, Agent: agent})
	v := q.Agents[agent]
	v.Load++
	q.Agents[agent] = v
	if !q.timer {
		q.timer = true
		g.after(ctx, g.d.cfg.OfferTimeout, "offer-timeout")
	}
	req := assignReq{Session: head.Session, Queue: q.Skill, Agent: agent, Entered: head.Entered}
	g.d.tell(KindThread, head.Thread, "assign", req, func(body []byte, err error) {
		var a assignAnswer
		if err != nil || json.Unmarshal(body, &a) != nil {
			return // the offer times out and is made again
		}
		g.d.tell(KindQueue, q.Skill, "answer", a, nil)
	})
}

func available(v agentView) bool { return v.Status == Online && v.Load < v.Capacity }
