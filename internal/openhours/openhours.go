// Package openhours reads a business line's opening hours (an IANA time
// zone, intervals per weekday, closed dates) and answers when the line is
// open and how much of a span of time was open. The desk tells customers
// when a closed line opens and counts queue waits with it; the metrics
// count a desk session's first response with the hours its start step
// recorded.
package openhours

import (
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
	_ "time/tzdata" // a node's image may have no zoneinfo; hours name IANA zones
	"unicode/utf8"
)

// Hours are a business line's opening hours: intervals per weekday in a
// time zone, and dates it is closed.
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

// Schedule is Hours parsed.
type Schedule struct {
	loc     *time.Location
	week    [7][]span
	closed  map[string]bool // "2006-01-02" in loc
	message string
}

// Limits bound what Parse accepts.
type Limits struct {
	DayIntervals int // open intervals of one day
	ClosedDates  int
	MessageBytes int
}

// Parse checks h against the limits and parses it. Its errors say what
// is wrong, for the person who wrote the hours.
func Parse(h Hours, lim Limits) (*Schedule, error) {
	if h.TZ == "" || h.TZ == "Local" {
		return nil, errors.New("name an IANA time zone (tz), such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(h.TZ)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", h.TZ)
	}
	s := &Schedule{loc: loc, closed: map[string]bool{}, message: h.Message}
	for day, spans := range h.Week {
		i := slices.Index(weekdays[:], day)
		if i < 0 {
			return nil, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", day)
		}
		if s.week[i], err = parseSpans(spans, lim.DayIntervals); err != nil {
			return nil, fmt.Errorf("%s: %w", day, err)
		}
	}
	if len(h.ClosedDates) > lim.ClosedDates {
		return nil, fmt.Errorf("%d closed dates, limit %d", len(h.ClosedDates), lim.ClosedDates)
	}
	for _, d := range h.ClosedDates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, fmt.Errorf("closed date %q is not YYYY-MM-DD", d)
		}
		s.closed[d] = true
	}
	if len(h.Message) > lim.MessageBytes || !utf8.ValidString(h.Message) {
		return nil, fmt.Errorf("the message must be UTF-8 of at most %d bytes (it is %d)", lim.MessageBytes, len(h.Message))
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

// Open reports whether the line is open at t.
func (s *Schedule) Open(t time.Time) bool {
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

// NextOpen returns when the line next opens after t (t itself while it
// is open); false when it never does (no open day, or every open day in
// the next year a closed date).
func (s *Schedule) NextOpen(t time.Time) (time.Time, bool) {
	if s.Open(t) {
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

// MaxOpenDays bounds the days OpenBetween walks: a longer wait is counted
// up to its last MaxOpenDays days of opening hours.
const MaxOpenDays = 400

// OpenBetween is how much of [from, to) the line was open: a wait
// counted in opening hours, so a night or a weekend is not a desk's
// slowness.
func (s *Schedule) OpenBetween(from, to time.Time) time.Duration {
	if !to.After(from) {
		return 0
	}
	if to.Sub(from) > MaxOpenDays*24*time.Hour {
		from = to.Add(-MaxOpenDays * 24 * time.Hour)
	}
	var open time.Duration
	for start, end := range s.openSpans(from, MaxOpenDays+2) {
		if !start.Before(to) {
			break
		}
		if end.After(to) {
			end = to
		}
		open += end.Sub(start)
	}
	return open
}

// openSpans yields the line's open intervals from from on, in order (the
// first cut to start at from), day by day for at most days days.
func (s *Schedule) openSpans(from time.Time, days int) iter.Seq2[time.Time, time.Time] {
	return func(yield func(time.Time, time.Time) bool) {
		y, m, d := from.In(s.loc).Date()
		for k := range days {
			day := time.Date(y, m, d+k, 12, 0, 0, 0, s.loc) // noon: clear of DST edges
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
				if end.After(start) && !yield(start, end) {
					return
				}
			}
		}
	}
}

// Message is what a customer who comes while the line is closed reads.
func (s *Schedule) Message() string { return s.message }

// AddOpen returns the instant at which d of opening hours has passed
// since from: a first response due within two hours of the desk's time,
// asked at 17:00 on a line open 09:00-18:00, is due at 10:00 the next
// open day. False when the line does not open that much within
// MaxOpenDays.
func (s *Schedule) AddOpen(from time.Time, d time.Duration) (time.Time, bool) {
	if d <= 0 {
		return from, true
	}
	left := d
	for start, end := range s.openSpans(from, MaxOpenDays) {
		open := end.Sub(start)
		if open >= left {
			return start.Add(left), true
		}
		left -= open
	}
	return time.Time{}, false
}
