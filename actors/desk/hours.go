package desk

import (
	"context"
	"time"

	"github.com/switchboard-im/switchboard/internal/openhours"
)

// Hours are a business line's opening hours (package openhours). A
// session that starts outside them gets an after_hours step telling the
// customer when the line opens; it still takes its route (the robot
// answers, queues hold it, an agent online out of hours takes it).
type Hours = openhours.Hours

// parseHours checks h against the desk's limits and parses it.
func (c Config) parseHours(h Hours) (*openhours.Schedule, error) {
	s, err := openhours.Parse(h, openhours.Limits{DayIntervals: c.MaxDayIntervals, ClosedDates: c.MaxClosedDates, MessageBytes: c.MaxHoursMessage})
	if err != nil {
		return nil, invalid("hours: %v", err)
	}
	return s, nil
}

// afterHours records, for a session starting while its line is closed, an
// after_hours step: when the line opens and the line's message.
func (t *threadGrain) afterHours(g *grain, h *Hours) error {
	if h == nil {
		return nil
	}
	sch, err := g.d.cfg.parseHours(*h)
	if err != nil {
		// Checked when set: only lower limits since then get here, and
		// they must not stop entries.
		g.d.log.Warn("desk: the line's hours no longer parse; the session starts without them", "line", t.Line, "err", err)
		return nil
	}
	t.Session.Hours = h
	now := time.Now()
	if sch.Open(now) {
		return nil
	}
	s := t.Session
	s.AfterHours = true
	step := map[string]any{"desk": "after_hours", "session": s.ID}
	if at, ok := sch.NextOpen(now); ok {
		s.OpensAt = at.UnixMilli()
		step["opens_at_ms"] = s.OpensAt
	}
	if sch.Message() != "" {
		step["message"] = sch.Message()
	}
	if err := t.record(g, System, step, nil, nil, nil); err != nil {
		return err
	}
	afterHoursSessions.WithLabelValues(t.Line).Inc()
	return nil
}

// openWait is the part of a queue wait (wait ms from entered) that fell in
// the session's line's opening hours; false when the line has none.
func (t *threadGrain) openWait(g *grain, entered, wait int64) (int64, bool) {
	h := t.Session.Hours
	if h == nil {
		return 0, false
	}
	sch, err := g.d.cfg.parseHours(*h)
	if err != nil {
		return 0, false
	}
	from := time.UnixMilli(entered)
	return sch.OpenBetween(from, from.Add(time.Duration(wait)*time.Millisecond)).Milliseconds(), true
}

// lineSettings asks the scene registry for the line's hours and targets,
// for a session that starts without an entry (a reopen). They are a
// courtesy and a measure: on failure the session starts without them.
func (t *threadGrain) lineSettings(g *grain) lineSettings {
	ctx, cancel := context.WithTimeout(context.Background(), 2*g.d.rt.Config().RequestTimeout)
	defer cancel()
	var l lineSettings
	if err := g.d.call(ctx, KindScenes, scenesID, "line", t.Line, &l); err != nil {
		g.d.log.Warn("desk: a reopened session starts without its line's hours and targets", "thread", g.id, "err", err)
		return lineSettings{}
	}
	return l
}
