package analytics

import (
	"cmp"
	"slices"
	"time"
)

// Row is the aggregate of one key in one window. Averages are in
// milliseconds and 0 when there is nothing to average.
type Row struct {
	Key                string    `json:"key"`
	WindowStart        time.Time `json:"window_start"`
	WindowEnd          time.Time `json:"window_end"`
	Questions          uint64    `json:"questions"`
	Timely             uint64    `json:"timely"`
	TimelyRate         float64   `json:"timely_rate"`
	AvgResponseMs      float64   `json:"avg_response_ms"`
	MsgQuestions       uint64    `json:"msg_questions"`
	MsgTimely          uint64    `json:"msg_timely"`
	MsgTimelyRate      float64   `json:"msg_timely_rate"`
	AvgMsgResponseMs   float64   `json:"avg_msg_response_ms"`
	Sessions           uint64    `json:"sessions"`
	AvgSessionMs       float64   `json:"avg_session_ms"`
	AvgSessionMessages float64   `json:"avg_session_messages"`
	AvgFirstResponseMs float64   `json:"avg_first_response_ms"`
	// QueueWaits counts the desk's assignments placed in the window (by
	// the assignment's time), AvgQueueWaitMs their average wait, and
	// Abandoned the sessions closed while waiting in a queue.
	QueueWaits     uint64  `json:"queue_waits"`
	AvgQueueWaitMs float64 `json:"avg_queue_wait_ms"`
	Abandoned      uint64  `json:"abandoned"`
	// Ratings counts the customers' ratings of desk sessions placed in
	// the window (by the rating's time), AvgRating their average score
	// (1-5), Satisfied those of 4 or 5, and CSATRate Satisfied/Ratings.
	Ratings   uint64  `json:"ratings"`
	AvgRating float64 `json:"avg_rating"`
	Satisfied uint64  `json:"satisfied"`
	CSATRate  float64 `json:"csat_rate"`
	// DeskFirstResponses counts the desk sessions whose first agent
	// message is in the window (by its time), AvgDeskFirstResponseMs the
	// average time to it from the customer's asking, across any gap, and
	// DeskFirstTimely those within the session's target (else the reply
	// threshold).
	DeskFirstResponses     uint64  `json:"desk_first_responses"`
	DeskFirstTimely        uint64  `json:"desk_first_timely"`
	DeskFirstTimelyRate    float64 `json:"desk_first_timely_rate"`
	AvgDeskFirstResponseMs float64 `json:"avg_desk_first_response_ms"`
	// DeskHandled counts the desk sessions' ownership spans that ended in
	// the window (by the end's time: a transfer, a requeue or the close),
	// DeskResolved those the close ended, and AvgHandleMs their average
	// length, from the owner's assignment or transfer to the end.
	DeskHandled  uint64  `json:"desk_handled"`
	DeskResolved uint64  `json:"desk_resolved"`
	AvgHandleMs  float64 `json:"avg_handle_ms"`
	// DeskMissed counts the desk sessions the desk took back in the window
	// from an agent who did not answer them within the answer timeout
	// (a requeue step with reason "unanswered"), for that agent.
	DeskMissed uint64 `json:"desk_missed"`
	// Final: the watermark has passed WindowEnd+L and no session that the
	// watermark has not closed contributes to the row.
	Final bool `json:"final"`
	// Window is the family the row belongs to (not in the JSON shape; the
	// size is WindowEnd − WindowStart).
	Window WindowSpec `json:"-"`
}

// Report is the top-level output for a query.
type Report struct {
	LateEvents   uint64 `json:"late_events"`
	FutureEvents uint64 `json:"future_events"`
	Rows         []Row  `json:"rows"`
}

// Query selects rows. Zero fields select everything.
type Query struct {
	// Size keeps the window families of this size; Slide, when also set,
	// keeps only the family with this slide.
	Size  time.Duration
	Slide time.Duration
	// Key keeps one agent, or AllKey.
	Key string
	// From and To keep windows with From <= WindowStart < To.
	From, To time.Time
}

func (q *Query) wantSpec(w WindowSpec) bool {
	return (q.Size == 0 || q.Size == w.Size) && (q.Slide == 0 || q.Slide == w.Slide)
}

func (q *Query) wantStart(start int64) bool {
	return (q.From.IsZero() || start >= q.From.UnixMilli()) && (q.To.IsZero() || start < q.To.UnixMilli())
}

// queried is an aggregate as a query sees it.
type queried struct {
	agg
	open bool // an open session contributes
}

// Rows returns the selected rows ordered by window family (config order),
// key, then window start. Open sessions are counted as they stand and keep
// their rows non-final; the engine's state is not changed.
func (e *Engine) Rows(q Query) []Row {
	keyFilter := -1
	if q.Key != "" {
		k, ok := e.keyIDs[q.Key]
		if !ok {
			return nil
		}
		keyFilter = int(k)
	}
	sel := make(map[aggKey]*queried)
	want := func(k aggKey) bool {
		return (keyFilter < 0 || int(k.key) == keyFilter) && q.wantSpec(e.cfg.Windows[k.spec]) && q.wantStart(k.start)
	}
	for k, a := range e.aggs {
		if want(k) {
			sel[k] = &queried{agg: *a}
		}
	}
	// A session still open in its conversation counts as it stands. It
	// holds its rows open only until the global watermark passes its
	// last+gap+L: a quiet conversation does not keep "*" open for ever.
	horizon, _ := e.sessionHorizon()
	for _, cs := range e.convs {
		for i := range cs.sessions {
			s := &cs.sessions[i]
			c := s.contribution()
			e.overlay(sel, want, s.first, s.key(), cs.line, &c, s.last+e.gap >= horizon)
		}
	}

	wm, hasWM := e.watermark()
	rows := make([]Row, 0, len(sel))
	for k, a := range sel {
		end := e.end(int(k.spec), k.start)
		rows = append(rows, a.row(e.keys[k.key], k.start, end, e.cfg.Windows[k.spec],
			hasWM && !a.open && wm >= end+e.lateness))
	}
	order := make(map[WindowSpec]int, len(e.cfg.Windows))
	for i, w := range e.cfg.Windows {
		order[w] = i
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(
			cmp.Compare(order[a.Window], order[b.Window]),
			cmp.Compare(a.Key, b.Key),
			a.WindowStart.Compare(b.WindowStart),
		)
	})
	return rows
}

// Report returns the counters and the selected rows.
func (e *Engine) Report(q Query) Report {
	return Report{LateEvents: e.late, FutureEvents: e.futureN, Rows: e.Rows(q)}
}

// overlay adds an open session's contribution to the selected windows;
// open marks them not final.
func (e *Engine) overlay(sel map[aggKey]*queried, want func(aggKey) bool, t int64, agent, line uint32, c *agg, open bool) {
	for i, s := range e.specs {
		first, last := e.starts(i, t)
		for start := first; start <= last; start += s.slide {
			for j, kk := range [3]uint32{0, agent, line} {
				if j > 0 && kk == 0 {
					continue
				}
				k := aggKey{start: start, key: kk, spec: uint16(i)}
				if !want(k) {
					continue
				}
				a := sel[k]
				if a == nil {
					a = &queried{}
					sel[k] = a
				}
				a.add(c)
				a.open = a.open || open
			}
		}
	}
}

func (a *queried) row(key string, start, end int64, w WindowSpec, final bool) Row {
	return Row{
		Key:                    key,
		WindowStart:            fromMillis(start),
		WindowEnd:              fromMillis(end),
		Questions:              a.questions,
		Timely:                 a.timely,
		TimelyRate:             ratio(float64(a.timely), a.questions),
		AvgResponseMs:          ratio(float64(a.respSum), a.questions),
		MsgQuestions:           a.msgQuestions,
		MsgTimely:              a.msgTimely,
		MsgTimelyRate:          ratio(float64(a.msgTimely), a.msgQuestions),
		AvgMsgResponseMs:       ratio(float64(a.msgRespSum), a.msgQuestions),
		Sessions:               a.sessions,
		AvgSessionMs:           ratio(float64(a.sessSum), a.sessions),
		AvgSessionMessages:     ratio(float64(a.sessMsgs), a.sessions),
		AvgFirstResponseMs:     ratio(float64(a.frtSum), a.frtCount),
		QueueWaits:             a.queueWaits,
		AvgQueueWaitMs:         ratio(float64(a.queueWaitSum), a.queueWaits),
		Abandoned:              a.abandoned,
		Ratings:                a.ratings,
		AvgRating:              ratio(float64(a.ratingSum), a.ratings),
		Satisfied:              a.satisfied,
		CSATRate:               ratio(float64(a.satisfied), a.ratings),
		DeskFirstResponses:     a.deskFirst,
		DeskFirstTimely:        a.deskFirstTimely,
		DeskFirstTimelyRate:    ratio(float64(a.deskFirstTimely), a.deskFirst),
		AvgDeskFirstResponseMs: ratio(float64(a.deskFirstSum), a.deskFirst),
		DeskHandled:            a.handled,
		DeskResolved:           a.resolved,
		AvgHandleMs:            ratio(float64(a.handleSum), a.handled),
		DeskMissed:             a.missed,
		Final:                  final,
		Window:                 w,
	}
}

func ratio(num float64, den uint64) float64 {
	if den == 0 {
		return 0
	}
	return num / float64(den)
}

// Prune drops the aggregates of windows that end at or before the given
// time, typically once their final rows were emitted, to bound memory.
// Late contributions to a pruned window start it again from zero.
func (e *Engine) Prune(before time.Time) int {
	b := before.UnixMilli()
	n := 0
	for k := range e.aggs {
		if e.end(int(k.spec), k.start) <= b {
			delete(e.aggs, k)
			n++
		}
	}
	if n > 0 {
		e.resetCache()
	}
	return n
}
