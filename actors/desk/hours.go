package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // a node's image may have no zoneinfo; hours name IANA zones
	"unicode/utf8"
)

// Hours are a business line's opening hours: intervals per weekday in a
// time zone, and dates it is closed. A session that starts outside them
// gets an after_hours step telling the customer when the line opens; it
// still takes its route (the robot answers, queues hold it, an agent
// online out of hours takes it).
type Hours struct {
	// TZ is an IANA zone ("Europe/Berlin", "UTC").
	TZ string `json:"tz"`
	// Week maps "mon".."sun" to intervals, "09:00-12:00,13:00-17:30"
	// ("24:00" ends a day). A day not listed is closed.
	Week map[string]string `json:"week"`
	// ClosedDates are whole days closed in the zone ("2026-12-25").
	ClosedDates []string `json:"closed_dates,omitempty"`
	// Message is shown to a customer who comes while the line is closed.
	Message string `json:"message,omitempty"`
}

// weekdays are Week's keys, in time.Weekday order.
var weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// span is an open interval of a day, in minutes from midnight: [from, to).
type span struct{ from, to int }

// schedule is Hours parsed.
type schedule struct {
	loc     *time.Location
	week    [7][]span
	closed  map[string]bool // "2006-01-02" in loc
	message string
}

// parseHours checks h against the desk's limits and parses it.
func (c Config) parseHours(h Hours) (*schedule, error) {
	if h.TZ == "" || h.TZ == "Local" {
		return nil, invalid("hours: name an IANA time zone (tz), such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return nil, invalid("hours: unknown time zone %q", h.TZ)
	}
	s := &schedule{loc: loc, closed: map[string]bool{}, message: h.Message}
	for day, spans := range h.Week {
		i := slices.Index(weekdays[:], day)
		if i < 0 {
			return nil, invalid("hours: unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", day)
		}
		if s.week[i], err = parseSpans(spans, c.MaxDayIntervals); err != nil {
			return nil, invalid("hours: %s: %v", day, err)
		}
	}
	if len(h.ClosedDates) > c.MaxClosedDates {
		return nil, invalid("hours: %d closed dates, limit %d", len(h.ClosedDates), c.MaxClosedDates)
	}
	for _, d := range h.ClosedDates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, invalid("hours: closed date %q is not YYYY-MM-DD", d)
		}
		s.closed[d] = true
	}
	if len(h.Message) > c.MaxHoursMessage || !utf8.ValidString(h.Message) {
		return nil, invalid("hours: the message must be UTF-8 of at most %d bytes (it is %d)", c.MaxHoursMessage, len(h.Message))
	}
	return s, nil
}

// parseSpans parses "09:00-12:00,13:00-17:30": ascending, not touching,
// at most limit of them.
func parseSpans(text string, limit int) ([]span, error) {
	var out []span
	for part := range strings.SplitSeq(text, ",") {
		if len(out) == limit {
			return nil, fmt.Errorf("more than %d intervals", limit)
		}
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		from, errA := clockMinutes(a)
		to, errB := clockMinutes(b)
		switch {
		case !ok || errA != nil || errB != nil:
			return nil, fmt.Errorf("bad interval %q (want HH:MM-HH:MM)", part)
		case from >= to:
			return nil, fmt.Errorf("interval %q ends before it starts", part)
		case len(out) > 0 && from <= out[len(out)-1].to:
			return nil, fmt.Errorf("interval %q overlaps or touches the one before (list them in order)", part)
		}
		out = append(out, span{from, to})
	}
	return out, nil
}

// clockMinutes reads "HH:MM" (00:00-24:00) as minutes from midnight.
func clockMinutes(s string) (int, error) {
	digit := func(i int) int { return int(s[i] - '0') }
	if len(s) != 5 || s[2] != ':' || strings.ContainsFunc(s[:2]+s[3:], func(r rune) bool { return r < '0' || r > '9' }) {
		return 0, fmt.Errorf("bad time %q", s)
	}
	h, m := digit(0)*10+digit(1), digit(3)*10+digit(4)
	if h > 24 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// open reports whether the line is open at t.
func (s *schedule) open(t time.Time) bool {
	lt := t.In(s.loc)
	if s.closed[lt.Format(time.DateOnly)] {
		return false
	}
	min := lt.Hour()*60 + lt.Minute()
	for _, sp := range s.week[lt.Weekday()] {
		if min >= sp.from && min < sp.to {
			return true
		}
	}
	return false
}

// nextOpen returns when the line next opens after t (t itself while it
// is open); false when it never does (no open day, or every open day in
// the next year a closed date).
func (s *schedule) nextOpen(t time.Time) (time.Time, bool) {
	if s.open(t) {
		return t, true
	}
	lt := t.In(s.loc)
	y, m, d := lt.Date()
	for k := range 367 {
		day := time.Date(y, m, d+k, 12, 0, 0, 0, s.loc) // noon: clear of DST edges
		if s.closed[day.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range s.week[day.Weekday()] {
			at := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, s.loc)
			if at.After(t) {
				return at, true
			}
		}
	}
	return time.Time{}, false
}

// maxOpenDays bounds the days openBetween walks: a longer wait is counted
// up to its last maxOpenDays days of opening hours.
const maxOpenDays = 400

// openBetween is how much of [from, to) the line was open: a queue wait
// counted in opening hours, so a night or a weekend is not a desk's
// slowness.
func (s *schedule) openBetween(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if to.Sub(from) > maxOpenDays*24*time.Hour {
		from = to.Add(-maxOpenDays * 24 * time.Hour)
	}
	var open time.Duration
	lf := from.In(s.loc)
	y, m, d := lf.Date()
	for k := 0; ; k++ {
		day := time.Date(y, m, d+k, 12, 0, 0, 0, s.loc) // noon: clear of DST edges
		midnight := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, s.loc)
		if !midnight.Before(to) {
			return open
		}
		if s.closed[day.Format(time.DateOnly)] {
			continue
		}
		for _, sp := range s.week[day.Weekday()] {
			// time.Date normalizes 24:00 to the next midnight.
			start := time.Date(day.Year(), day.Month(), day.Day(), sp.from/60, sp.from%60, 0, 0, s.loc)
			end := time.Date(day.Year(), day.Month(), day.Day(), sp.to/60, sp.to%60, 0, 0, s.loc)
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				open += end.Sub(start)
			}
		}
	}
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
	if sch.open(now) {
		return nil
	}
	s := t.Session
	s.AfterHours = true
	step := map[string]any{"desk": "after_hours", "session": s.ID}
	if at, ok := sch.nextOpen(now); ok {
		s.OpensAt = at.UnixMilli()
		step["opens_at_ms"] = s.OpensAt
	}
	if sch.message != "" {
		step["message"] = sch.message
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
	return sch.openBetween(from, from.Add(time.Duration(wait)*time.Millisecond)).Milliseconds(), true
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
