package openhours

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// testLimits are the desk's defaults.
var testLimits = Limits{DayIntervals: 4, ClosedDates: 100, MessageBytes: 500}

func mustSchedule(t *testing.T, h Hours) *Schedule {
	t.Helper()
	s, err := Parse(h, testLimits)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScheduleOpenAndNext: open and nextOpen across a split day, a
// weekend, a closed date, midnight ("24:00") and Berlin's spring-forward
// night.
func TestScheduleOpenAndNext(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := mustSchedule(t, Hours{TZ: "Europe/Berlin",
		Week:        map[string]string{"mon": "09:00-12:00,13:00-17:30", "tue": "09:00-17:30", "fri": "22:00-24:00", "sat": "00:00-02:00"},
		ClosedDates: []string{"2026-12-29"}})
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	for _, c := range []struct {
		name string
		t    time.Time
		open bool
		next time.Time // zero: never
	}{
		{"Monday morning", at(2026, 12, 7, 9, 0), true, at(2026, 12, 7, 9, 0)},
		{"Monday before nine", at(2026, 12, 7, 8, 59), false, at(2026, 12, 7, 9, 0)},
		{"Monday lunch", at(2026, 12, 7, 12, 0), false, at(2026, 12, 7, 13, 0)},
		{"Monday's last minute", at(2026, 12, 7, 17, 29), true, at(2026, 12, 7, 17, 29)},
		{"Monday evening", at(2026, 12, 7, 17, 30), false, at(2026, 12, 8, 9, 0)},
		{"Wednesday", at(2026, 12, 9, 10, 0), false, at(2026, 12, 11, 22, 0)},
		{"Friday night", at(2026, 12, 11, 23, 59), true, at(2026, 12, 11, 23, 59)},
		{"Saturday after midnight", at(2026, 12, 12, 1, 0), true, at(2026, 12, 12, 1, 0)},
		{"Sunday", at(2026, 12, 13, 10, 0), false, at(2026, 12, 14, 9, 0)},
		{"the day before a closed Tuesday", at(2026, 12, 28, 18, 0), false, at(2027, 1, 1, 22, 0)},
		// 2027-03-28 is the spring-forward Sunday; the next Monday opens
		// at 09:00 summer time, 7:00 UTC.
		{"across the clock change", at(2027, 3, 27, 12, 0), false, time.Date(2027, 3, 29, 7, 0, 0, 0, time.UTC)},
	} {
		if got := s.Open(c.t); got != c.open {
			t.Errorf("%s (%v): open %v, want %v", c.name, c.t, got, c.open)
		}
		next, ok := s.NextOpen(c.t)
		if !ok || !next.Equal(c.next) {
			t.Errorf("%s (%v): next open %v %v, want %v", c.name, c.t, next, ok, c.next)
		}
	}
	never := mustSchedule(t, Hours{TZ: "UTC"})
	if _, ok := never.NextOpen(time.Now()); ok || never.Open(time.Now()) {
		t.Fatal("a week without an open day opens")
	}
}

// TestParseLimits: every limit of Hours at its edge.
func TestParseLimits(t *testing.T) {
	c := testLimits
	dates := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = time.Date(2027, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		}
		return out
	}
	spans := func(n int) string {
		var p []string
		for i := range n {
			p = append(p, fmt.Sprintf("%02d:00-%02d:30", i*2, i*2))
		}
		return strings.Join(p, ",")
	}
	for _, tc := range []struct {
		name string
		h    Hours
		ok   bool
	}{
		{"no zone", Hours{}, false},
		{"the node's local zone", Hours{TZ: "Local"}, false},
		{"an unknown zone", Hours{TZ: "Mars/Olympus"}, false},
		{"UTC, closed all week", Hours{TZ: "UTC"}, true},
		{"an unknown day", Hours{TZ: "UTC", Week: map[string]string{"monday": "09:00-17:00"}}, false},
		{"a whole day", Hours{TZ: "UTC", Week: map[string]string{"sun": "00:00-24:00"}}, true},
		{"past midnight", Hours{TZ: "UTC", Week: map[string]string{"sun": "00:00-24:01"}}, false},
		{"an empty interval", Hours{TZ: "UTC", Week: map[string]string{"sun": "09:00-09:00"}}, false},
		{"backwards", Hours{TZ: "UTC", Week: map[string]string{"sun": "17:00-09:00"}}, false},
		{"touching", Hours{TZ: "UTC", Week: map[string]string{"sun": "09:00-12:00,12:00-13:00"}}, false},
		{"out of order", Hours{TZ: "UTC", Week: map[string]string{"sun": "13:00-14:00,09:00-12:00"}}, false},
		{"minute 60", Hours{TZ: "UTC", Week: map[string]string{"sun": "09:60-10:00"}}, false},
		{"not a clock", Hours{TZ: "UTC", Week: map[string]string{"sun": "9-17"}}, false},
		{"a signed hour", Hours{TZ: "UTC", Week: map[string]string{"sun": "+9:00-17:00"}}, false},
		{"hour 25", Hours{TZ: "UTC", Week: map[string]string{"sun": "09:00-25:00"}}, false},
		{"empty", Hours{TZ: "UTC", Week: map[string]string{"sun": ""}}, false},
		{fmt.Sprint(c.DayIntervals, " intervals"), Hours{TZ: "UTC", Week: map[string]string{"sun": spans(c.DayIntervals)}}, true},
		{fmt.Sprint(c.DayIntervals+1, " intervals"), Hours{TZ: "UTC", Week: map[string]string{"sun": spans(c.DayIntervals + 1)}}, false},
		{"closed dates at the limit", Hours{TZ: "UTC", ClosedDates: dates(c.ClosedDates)}, true},
		{"closed dates over it", Hours{TZ: "UTC", ClosedDates: dates(c.ClosedDates + 1)}, false},
		{"a closed date that is not one", Hours{TZ: "UTC", ClosedDates: []string{"2026-02-30"}}, false},
		{"a message at the limit", Hours{TZ: "UTC", Message: strings.Repeat("é", c.MessageBytes/2)}, true},
		{"a message over it", Hours{TZ: "UTC", Message: strings.Repeat("x", c.MessageBytes+1)}, false},
		{"a message not UTF-8", Hours{TZ: "UTC", Message: "\xff"}, false},
	} {
		if _, err := Parse(tc.h, c); (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestOpenBetween: a wait counted in opening hours, across a weekend, a
// split day, a closed date, a whole-day span and the spring-forward night.
func TestOpenBetween(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := mustSchedule(t, Hours{TZ: "Europe/Berlin",
		Week:        map[string]string{"mon": "09:00-12:00,13:00-18:00", "tue": "09:00-18:00", "fri": "09:00-18:00", "sun": "00:00-24:00"},
		ClosedDates: []string{"2026-12-15"}})
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, berlin) }
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"within a span", at(2026, 12, 7, 9, 30), at(2026, 12, 7, 10, 0), 30 * time.Minute},
		{"across lunch", at(2026, 12, 7, 11, 30), at(2026, 12, 7, 13, 30), time.Hour},
		{"at night", at(2026, 12, 7, 19, 0), at(2026, 12, 8, 8, 0), 0},
		{"Friday evening to Monday morning, Sunday open all day", at(2026, 12, 11, 17, 0), at(2026, 12, 14, 9, 30), time.Hour + 24*time.Hour + 30*time.Minute},
		{"over a closed Tuesday", at(2026, 12, 14, 17, 0), at(2026, 12, 16, 0, 0), time.Hour},
		{"backwards", at(2026, 12, 7, 10, 0), at(2026, 12, 7, 9, 0), 0},
		// 2027-03-28, a Sunday, has 23 hours in Berlin.
		{"the spring-forward Sunday", at(2027, 3, 27, 12, 0), at(2027, 3, 29, 0, 0), 23 * time.Hour},
	} {
		if got := s.OpenBetween(c.from, c.to); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	always := mustSchedule(t, Hours{TZ: "UTC", Week: map[string]string{"mon": "00:00-24:00", "tue": "00:00-24:00", "wed": "00:00-24:00",
		"thu": "00:00-24:00", "fri": "00:00-24:00", "sat": "00:00-24:00", "sun": "00:00-24:00"}})
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := always.OpenBetween(from, from.AddDate(2, 0, 0)); got != MaxOpenDays*24*time.Hour {
		t.Errorf("a two-year wait, always open: %v, want the bound of %d days", got, MaxOpenDays)
	}
}

// TestAddOpen: a target counted in opening hours ends inside a span, across
// lunch, a night, a closed date and a weekend; OpenBetween agrees with it.
func TestAddOpen(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	s := mustSchedule(t, Hours{TZ: "Europe/Berlin",
		Week:        map[string]string{"mon": "09:00-12:00,13:00-18:00", "tue": "09:00-18:00", "fri": "09:00-18:00"},
		ClosedDates: []string{"2026-12-15"}})
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, berlin) }
	for _, c := range []struct {
		name string
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"within a span", at(12, 7, 9, 30), 20 * time.Minute, at(12, 7, 9, 50)},
		{"to the end of a span", at(12, 7, 11, 0), time.Hour, at(12, 7, 12, 0)},
		{"across lunch", at(12, 7, 11, 30), time.Hour, at(12, 7, 13, 30)},
		{"asked at night", at(12, 7, 22, 0), 10 * time.Minute, at(12, 8, 9, 10)},
		{"Friday evening to Monday", at(12, 11, 17, 30), time.Hour, at(12, 14, 9, 30)},
		{"over a closed Tuesday", at(12, 14, 17, 50), 20 * time.Minute, at(12, 18, 9, 10)},
		{"nothing to add", at(12, 12, 3, 0), 0, at(12, 12, 3, 0)},
	} {
		got, ok := s.AddOpen(c.from, c.d)
		if !ok || !got.Equal(c.want) {
			t.Errorf("%s: %v %v, want %v", c.name, got, ok, c.want)
		}
		if c.d > 0 {
			if open := s.OpenBetween(c.from, got); open != c.d {
				t.Errorf("%s: OpenBetween to it is %v, want %v", c.name, open, c.d)
			}
		}
	}
	if _, ok := mustSchedule(t, Hours{TZ: "UTC"}).AddOpen(at(12, 7, 9, 0), time.Minute); ok {
		t.Error("a line that never opens gives a due time")
	}
}
