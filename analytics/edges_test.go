package analytics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// rowAt returns the row of key in the window family of size starting at
// start, and whether there is one.
func rowAt(e *Engine, size time.Duration, key string, start time.Time) (Row, bool) {
	for _, r := range e.Rows(Query{Size: size, Key: key}) {
		if r.WindowStart.Equal(start) {
			return r, true
		}
	}
	return Row{}, false
}

// A conversation that goes quiet must not hold the team-wide rows open:
// its session closes once the global watermark passes last + gap + L.
func TestQuietConversationFinalizesAll(t *testing.T) {
	for _, lateness := range []time.Duration{0, 3 * time.Second} {
		cfg := DefaultConfig()
		cfg.AllowedLateness = lateness
		e := newEngine(t, cfg)
		// quiet: a question at 10:00:00 answered at 10:00:30, then nothing.
		feed(t, e, events("quiet", msg{who: "c", at: 0}, msg{who: "a1", at: 30 * sec}))
		busy := func(seq uint64, at int64) {
			t.Helper()
			ts := base.Add(time.Duration(at) * time.Millisecond)
			feed(t, e, []Event{{Conv: "busy", Seq: seq, Role: storage.SenderCustomer, Sender: "c2", ClientTS: ts, ServerTS: ts}})
		}
		// The quiet session closes when watermark − L > 10:00:30 + 30 min,
		// i.e. when the newest event time exceeds 10:30:36 + L.
		edge := 30*sec + 30*mn + 6*sec + lateness.Milliseconds()
		busy(1, 20*mn)
		busy(2, edge)
		for _, key := range []string{AllKey, "a1"} {
			r, ok := rowAt(e, time.Minute, key, base)
			if !ok || r.Final || r.Sessions != 1 || r.Questions != 1 {
				t.Fatalf("L=%v at the edge: %s row %+v (found %v), want 1 session, 1 question, not final", lateness, key, r, ok)
			}
		}
		if open := e.OpenSessions("quiet"); len(open) != 1 {
			t.Fatalf("quiet conversation has %d open sessions, want 1 (it closes in the view, not in its state)", len(open))
		}
		busy(3, edge+1)
		for _, key := range []string{AllKey, "a1"} {
			r, ok := rowAt(e, time.Minute, key, base)
			if !ok || !r.Final || r.Sessions != 1 || r.Questions != 1 || r.Timely != 1 || r.AvgFirstResponseMs != 30000 {
				t.Fatalf("L=%v past the edge: %s row %+v (found %v), want final with the quiet session counted", lateness, key, r, ok)
			}
		}
		// The busy conversation's own open session keeps its windows open.
		if r, ok := rowAt(e, time.Minute, AllKey, base.Add(20*time.Minute)); !ok || r.Final {
			t.Fatalf("L=%v: the busy conversation's open session's window is %+v (found %v), want not final", lateness, r, ok)
		}
	}
}

// deskStart is the system message the desk writes when a session starts.
func deskStart(conv string, seq uint64, line string, at int64) storage.Message {
	return storage.Message{ConvID: conv, Seq: seq, Sender: "desk", SenderRole: storage.SenderSystem, Kind: storage.MsgSystem,
		Body:     []byte(`{"desk":"start","session":"` + conv + `/1","line":"` + line + `","scene":"listing","data":"12"}`),
		ServerTS: base.Add(time.Duration(at) * time.Millisecond)}
}

func TestBusinessLineRows(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feedMsg := func(m storage.Message) {
		t.Helper()
		if err := e.Process(EventFromMessage(m)); err != nil {
			t.Fatal(err)
		}
	}
	// cars: two conversations; homes: one; one conversation without a line.
	feedMsg(deskStart("s:cars:c1:1", 1, "cars", 0))
	feed(t, e, events("s:cars:c1:1", msg{who: "sys"}, msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec})[1:])
	feedMsg(deskStart("s:cars:c2:1", 1, "cars", 0))
	feed(t, e, events("s:cars:c2:1", msg{who: "sys"}, msg{who: "c", at: 5 * sec}, msg{who: "a2", at: 95 * sec})[1:])
	// A later start naming another line does not move the conversation.
	feedMsg(deskStart("s:cars:c2:1", 4, "homes", 100*sec))
	feedMsg(deskStart("s:homes:c3:1", 1, "homes", 0))
	feed(t, e, events("s:homes:c3:1", msg{who: "sys"}, msg{who: "c", at: 0}, msg{who: "a1", at: 20 * sec})[1:])
	feed(t, e, events("plain", msg{who: "c", at: 0}, msg{who: "a3", at: 40 * sec}))

	cars, homes, all := only(t, e, time.Hour, LineKey("cars")), only(t, e, time.Hour, LineKey("homes")), only(t, e, time.Hour, AllKey)
	if cars.Questions != 2 || cars.Timely != 1 || cars.AvgResponseMs != 50000 || cars.Sessions != 2 {
		t.Errorf("cars row %+v, want 2 questions (10 s and 90 s), 1 timely, 2 sessions", cars)
	}
	if homes.Questions != 1 || homes.AvgResponseMs != 20000 || homes.Sessions != 1 {
		t.Errorf("homes row %+v, want 1 question of 20 s and 1 session", homes)
	}
	if all.Questions != 4 || all.Sessions != 4 {
		t.Errorf("* row %+v, want all 4 conversations", all)
	}
	if r := only(t, e, time.Hour, "a1"); r.Questions != 2 {
		t.Errorf("agent a1 row %+v: a line row must not replace the agent's", r)
	}

	// Names that are not lines give no line; bad input is refused, not stored.
	for _, body := range []string{`{"desk":"start","line":"a b"}`, `{"desk":"start"}`, `{"desk":"close","line":"cars"}`, `{"desk":"start","line":`, `not json "start"`} {
		m := deskStart("x", 1, "", 0)
		m.Body = []byte(body)
		if l := LineOf(m); l != "" {
			t.Errorf("LineOf(%s) = %q, want none", body, l)
		}
	}
	if m := deskStart("x", 1, "cars", 0); LineOf(storage.Message{Kind: storage.MsgNormal, Body: m.Body}) != "" {
		t.Error("a customer's normal message that looks like a desk start named a line")
	}
	before := e.ConvSeq("bad")
	for _, ev := range []Event{
		{Conv: "bad", Seq: 1, Role: storage.SenderSystem, ServerTS: base, Line: strings.Repeat("x", maxLineLen+1)},
		{Conv: "bad", Seq: 1, Role: storage.SenderSystem, ServerTS: base, Line: "has:colon"},
		{Conv: "bad", Seq: 1, Role: storage.SenderAgent, Sender: LineKey("cars"), ServerTS: base},
	} {
		if err := e.Process(ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Process(%+v) = %v, want ErrInvalidEvent", ev, err)
		}
	}
	if e.ConvSeq("bad") != before {
		t.Error("a refused event consumed its seq")
	}
	if err := e.Process(Event{Conv: "ok", Seq: 1, Role: storage.SenderSystem, ServerTS: base, Line: strings.Repeat("x", maxLineLen)}); err != nil {
		t.Errorf("a line of exactly %d bytes: %v", maxLineLen, err)
	}

	// The line survives a snapshot.
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	r := newEngine(t, DefaultConfig())
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	feed(t, r, events("s:cars:c1:1", msg{who: "sys"}, msg{who: "sys"}, msg{who: "sys"}, msg{who: "c", at: 50 * sec}, msg{who: "a1", at: 51 * sec})[3:])
	if got := only(t, r, time.Hour, LineKey("cars")); got.Questions != 3 {
		t.Errorf("after a restore, cars has %d questions, want 3", got.Questions)
	}
}

func mustZone(t *testing.T, name string) *time.Location { return loadZone(t, name) }

// zonedEngine returns an engine with the given families in zone name.
func zonedEngine(t *testing.T, name string, windows ...WindowSpec) *Engine {
	cfg := DefaultConfig()
	cfg.Windows = windows
	cfg.Location = mustZone(t, name)
	return newEngine(t, cfg)
}

// window returns the [start, end) of family i containing t, as times.
func (e *Engine) windowOf(i int, t time.Time) (time.Time, time.Time) {
	start, _ := e.starts(i, t.UnixMilli())
	return fromMillis(start), fromMillis(e.end(i, start))
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestZoneWindowsDST(t *testing.T) {
	ny := zonedEngine(t, "America/New_York", Tumbling(24*time.Hour), Tumbling(time.Hour), Tumbling(45*time.Minute), Tumbling(7*time.Hour))
	cases := []struct {
		name       string
		family     int
		at         string
		start, end string
	}{
		// 2024-03-10: 02:00 EST jumps to 03:00 EDT, a 23-hour day.
		{"spring day", 0, "2024-03-10T12:00:00Z", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"},
		{"spring day, first ms", 0, "2024-03-10T05:00:00Z", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"},
		{"day before, last ms", 0, "2024-03-10T04:59:59.999Z", "2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z"},
		{"01:59:59 EST", 1, "2024-03-10T06:59:59.999Z", "2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z"},
		{"03:00 EDT", 1, "2024-03-10T07:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"},
		// Windows follow the wall clock: the day's last 45 minutes are 23:15-24:00 EDT.
		{"last 45 min window of 23 h", 2, "2024-03-11T03:50:00Z", "2024-03-11T03:15:00Z", "2024-03-11T04:00:00Z"},
		// 2024-11-03: 02:00 EDT falls back to 01:00 EST, a 25-hour day.
		{"fall day", 0, "2024-11-03T12:00:00Z", "2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"},
		// The local hour 01:00 happens twice: two windows.
		{"first 01:30 (EDT)", 1, "2024-11-03T05:30:00Z", "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"},
		{"second 01:30 (EST)", 1, "2024-11-03T06:30:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"},
		// 45 minutes: 00:45-01:30 EDT, then 01:30 EDT until the clock shows 01:30 again.
		{"45 min over the repeat", 2, "2024-11-03T06:10:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z"},
		// Spring: 01:30-02:15 EST is cut short by the jump to 03:00 EDT.
		{"45 min into the gap", 2, "2024-03-10T06:50:00Z", "2024-03-10T06:30:00Z", "2024-03-10T07:00:00Z"},
		{"25th hour", 1, "2024-11-04T04:30:00Z", "2024-11-04T04:00:00Z", "2024-11-04T05:00:00Z"},
		// 7 h does not divide a day: it stays on the epoch grid.
		{"7 h epoch", 3, "2024-11-03T12:00:00Z", "2024-11-03T12:00:00Z", "2024-11-03T19:00:00Z"},
	}
	for _, c := range cases {
		s, en := ny.windowOf(c.family, utc(c.at))
		if !s.Equal(utc(c.start)) || !en.Equal(utc(c.end)) {
			t.Errorf("%s: %s is in [%s, %s), want [%s, %s)", c.name, c.at, s.Format(time.RFC3339), en.Format(time.RFC3339), c.start, c.end)
		}
	}
	// Kolkata (+05:30): hours start at :30 UTC, days at 18:30 UTC.
	in := zonedEngine(t, "Asia/Kolkata", Tumbling(time.Hour), Tumbling(24*time.Hour))
	if s, en := in.windowOf(0, utc("2024-03-01T10:10:00Z")); !s.Equal(utc("2024-03-01T09:30:00Z")) || !en.Equal(utc("2024-03-01T10:30:00Z")) {
		t.Errorf("Kolkata hour [%v, %v)", s, en)
	}
	if s, _ := in.windowOf(1, utc("2024-03-01T18:29:59.999Z")); !s.Equal(utc("2024-02-29T18:30:00Z")) {
		t.Errorf("Kolkata day starts %v", s)
	}
	// Lord Howe moves by 30 minutes: 2024-04-07 is 24.5 hours long.
	lh := zonedEngine(t, "Australia/Lord_Howe", Tumbling(24*time.Hour))
	if s, en := lh.windowOf(0, utc("2024-04-07T03:00:00Z")); en.Sub(s) != 24*time.Hour+30*time.Minute {
		t.Errorf("Lord Howe 2024-04-07 is [%v, %v), want 24.5 h", s, en)
	}

	// Rows carry the local windows; a spring-day row ends 23 h after it starts.
	cfg := DefaultConfig()
	cfg.Windows = []WindowSpec{Tumbling(24 * time.Hour)}
	cfg.Location = mustZone(t, "America/New_York")
	e := newEngine(t, cfg)
	at := utc("2024-03-10T12:00:00Z")
	feed(t, e, []Event{
		{Conv: "c", Seq: 1, Role: storage.SenderCustomer, Sender: "u", ServerTS: at},
		{Conv: "c", Seq: 2, Role: storage.SenderAgent, Sender: "a1", ServerTS: at.Add(time.Second)},
	})
	r := only(t, e, 24*time.Hour, AllKey)
	if !r.WindowStart.Equal(utc("2024-03-10T05:00:00Z")) || r.WindowEnd.Sub(r.WindowStart) != 23*time.Hour || r.Final {
		t.Errorf("spring-day row %+v", r)
	}
	// Final exactly when the watermark reaches the local midnight (+B).
	last := utc("2024-03-11T04:00:06Z")
	feed(t, e, []Event{{Conv: "d", Seq: 1, Role: storage.SenderCustomer, Sender: "v", ServerTS: last.Add(-time.Millisecond)}})
	feed(t, e, []Event{{Conv: "c", Seq: 3, Role: storage.SenderCustomer, Sender: "u", ServerTS: last.Add(-time.Millisecond)}})
	if r, _ := rowAt(e, 24*time.Hour, AllKey, utc("2024-03-10T05:00:00Z")); r.Final {
		t.Error("final 1 ms before the watermark reached the local day's end")
	}
	_ = r
	// A snapshot names its zone: a UTC engine refuses it.
	snap, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	other := DefaultConfig()
	other.Windows = cfg.Windows
	if err := newEngine(t, other).Restore(snap); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("a UTC engine restored a New York snapshot: %v", err)
	}
	if err := newEngine(t, cfg).Restore(snap); err != nil {
		t.Errorf("same zone: %v", err)
	}
}

// Windows of a zoned family partition time: each instant lies in the
// window found for it, and each window ends where the next starts. Swept
// over two years in zones with odd rules.
func TestZoneWindowsPartition(t *testing.T) {
	zones := []string{"America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago", "Asia/Beirut", "Pacific/Apia", "Europe/London", "America/Havana"}
	for _, name := range zones {
		e := zonedEngine(t, name, Tumbling(24*time.Hour), Tumbling(time.Hour), Tumbling(45*time.Minute))
		from, to := utc("2011-01-01T00:00:00Z").UnixMilli(), utc("2013-01-01T00:00:00Z").UnixMilli()
		for i := range e.specs {
			prevEnd := int64(0)
			for t0 := from; t0 < to; {
				start, last := e.starts(i, t0)
				end := e.end(i, start)
				if start != last || start > t0 || t0 >= end {
					t.Fatalf("%s family %d: %v lies in [%v, %v)", name, i, fromMillis(t0), fromMillis(start), fromMillis(end))
				}
				if prevEnd != 0 && start != prevEnd {
					t.Fatalf("%s family %d: window at %v starts %v, the previous ended %v", name, i, fromMillis(t0), fromMillis(start), fromMillis(prevEnd))
				}
				prevEnd = end
				t0 = end
			}
		}
		// Anywhere in the accepted range (±35,000 years) a window holds t.
		for _, t0 := range []int64{-maxAbsMillis, -1, 0, 1, maxAbsMillis, 1 << 45, -(1 << 45), 253402300799999} {
			for i := range e.specs {
				start, _ := e.starts(i, t0)
				if end := e.end(i, start); start > t0 || t0 >= end {
					t.Fatalf("%s family %d: %d lies in [%d, %d)", name, i, t0, start, end)
				}
			}
		}
	}
}
