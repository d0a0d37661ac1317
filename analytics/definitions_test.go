package analytics

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

// want lists the fields a definition test checks on the 1 h row of a key.
type want struct {
	questions, timely       uint64
	avgResp                 float64
	msgQuestions, msgTimely uint64
	avgMsgResp              float64
	sessions                uint64
	avgSession, avgSessMsgs float64
	avgFirstResp            float64
}

func got(r Row) want {
	return want{r.Questions, r.Timely, r.AvgResponseMs, r.MsgQuestions, r.MsgTimely, r.AvgMsgResponseMs,
		r.Sessions, r.AvgSessionMs, r.AvgSessionMessages, r.AvgFirstResponseMs}
}

func TestDefinitions(t *testing.T) {
	tests := []struct {
		name string
		msgs []msg
		key  string
		want want
		late uint64
		fut  uint64
	}{
		{
			name: "reply exactly at the threshold is timely",
			msgs: []msg{{who: "c", at: 0}, {who: "a1", at: 60 * sec}},
			key:  "a1",
			want: want{1, 1, 60000, 1, 1, 60000, 1, 60000, 2, 60000},
		},
		{
			name: "reply 1 ms over the threshold is not",
			msgs: []msg{{who: "c", at: 0}, {who: "a1", at: 60*sec + 1}},
			key:  "a1",
			want: want{1, 0, 60001, 1, 0, 60001, 1, 60001, 2, 60001},
		},
		{
			name: "follow-ups: one span from the first question, each message timed",
			msgs: []msg{{who: "c", at: 0}, {who: "c", at: 30 * sec}, {who: "c", at: 40 * sec}, {who: "a1", at: 70 * sec}},
			key:  "*",
			// span 70 s (late); messages 70 s, 40 s, 30 s → 2 timely.
			want: want{1, 0, 70000, 3, 2, 140000.0 / 3, 1, 70000, 4, 70000},
		},
		{
			name: "agent speaking first opens nothing and has no first response",
			msgs: []msg{{who: "a1", at: 0}, {who: "c", at: 10 * sec}, {who: "a1", at: 25 * sec}},
			key:  "a1",
			want: want{1, 1, 15000, 1, 1, 15000, 1, 25000, 3, 0},
		},
		{
			name: "a second agent reply closes nothing",
			msgs: []msg{{who: "c", at: 0}, {who: "a1", at: 5 * sec}, {who: "a1", at: 8 * sec}},
			key:  "a1",
			want: want{1, 1, 5000, 1, 1, 5000, 1, 8000, 3, 5000},
		},
		{
			name: "system and unspecified messages are ignored",
			msgs: []msg{{who: "sys", at: 0}, {who: "c", at: 1 * sec}, {who: "?", at: 2 * sec}, {who: "sys", at: 3 * sec}, {who: "a1", at: 11 * sec}},
			key:  "*",
			want: want{1, 1, 10000, 1, 1, 10000, 1, 10000, 2, 10000},
		},
		{
			name: "negative response time clamps to 0",
			// The agent's clock is 4 s behind: accepted (within B) but earlier.
			msgs: []msg{{who: "c", at: 10 * sec}, {who: "a1", at: 6 * sec, srv: 6 * sec}},
			key:  "a1",
			want: want{1, 1, 0, 1, 1, 0, 1, 4000, 2, 0},
		},
		{
			name: "late: exactly B+L behind the newest is accepted",
			msgs: []msg{{who: "c", at: 100 * sec}, {who: "a1", at: 94 * sec, srv: 6 * sec}},
			key:  "a1",
			want: want{1, 1, 0, 1, 1, 0, 1, 6000, 2, 0},
		},
		{
			name: "late: 1 ms more is excluded",
			msgs: []msg{{who: "c", at: 100 * sec}, {who: "a1", at: 94*sec - 1, srv: 6*sec + 1}},
			key:  "*",
			want: want{0, 0, 0, 0, 0, 0, 1, 0, 1, 0},
			late: 1,
		},
		{
			name: "future: exactly FutureBound ahead of the server is accepted",
			msgs: []msg{{who: "c", at: 0}, {who: "a1", at: 70 * sec, srv: -60 * sec}},
			key:  "a1",
			want: want{1, 0, 70000, 1, 0, 70000, 1, 70000, 2, 70000},
		},
		{
			name: "future: 1 ms more is excluded",
			msgs: []msg{{who: "c", at: 0}, {who: "a1", at: 70 * sec, srv: -60*sec - 1}},
			key:  "*",
			want: want{0, 0, 0, 0, 0, 0, 1, 0, 1, 0},
			fut:  1,
		},
		{
			name: "no client time: the server time is the event time",
			msgs: []msg{{who: "c", at: 0, noClient: true}, {who: "a1", at: 20 * sec, noClient: true}},
			key:  "a1",
			want: want{1, 1, 20000, 1, 1, 20000, 1, 20000, 2, 20000},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, DefaultConfig())
			feed(t, e, events("c1", tc.msgs...))
			if g := got(only(t, e, time.Hour, tc.key)); g != tc.want {
				t.Errorf("row %s:\n got %+v\nwant %+v", tc.key, g, tc.want)
			}
			if e.LateEvents() != tc.late || e.FutureEvents() != tc.fut {
				t.Errorf("late %d future %d, want %d %d", e.LateEvents(), e.FutureEvents(), tc.late, tc.fut)
			}
		})
	}
}

func TestLatenessAllowance(t *testing.T) {
	cfg := DefaultConfig()
	cfg.AllowedLateness = 3 * time.Second
	for _, tc := range []struct {
		behind int64
		late   uint64
	}{{9 * sec, 0}, {9*sec + 1, 1}} {
		e := newEngine(t, cfg)
		feed(t, e, events("c1", msg{who: "c", at: 100 * sec}, msg{who: "c", at: 100*sec - tc.behind, srv: tc.behind}))
		if e.LateEvents() != tc.late {
			t.Errorf("%d ms behind with B+L = 9 s: late %d, want %d", tc.behind, e.LateEvents(), tc.late)
		}
	}
}

func TestSessionGap(t *testing.T) {
	gap := 30 * mn
	for _, tc := range []struct {
		name     string
		second   int64
		sessions uint64
	}{
		{"gap exactly 30 min joins", 10*sec + gap, 1},
		{"gap 30 min + 1 ms splits", 10*sec + gap + 1, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, DefaultConfig())
			feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "c", at: tc.second}))
			r := only(t, e, time.Hour, "*")
			if r.Sessions != tc.sessions {
				t.Fatalf("sessions %d, want %d", r.Sessions, tc.sessions)
			}
			if tc.sessions == 1 && (r.AvgSessionMs != float64(tc.second) || r.AvgSessionMessages != 3) {
				t.Errorf("duration %v messages %v", r.AvgSessionMs, r.AvgSessionMessages)
			}
			if tc.sessions == 2 && (r.AvgSessionMs != 5000 || r.AvgSessionMessages != 1.5 || r.AvgFirstResponseMs != 10000) {
				t.Errorf("avg duration %v messages %v first response %v", r.AvgSessionMs, r.AvgSessionMessages, r.AvgFirstResponseMs)
			}
		})
	}
}

func TestTransferBetweenAgents(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1",
		msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec},
		msg{who: "c", at: 20 * sec}, msg{who: "a2", at: 100 * sec}))
	a1, a2 := only(t, e, time.Hour, "a1"), only(t, e, time.Hour, "a2")
	if a1.Questions != 1 || a1.AvgResponseMs != 10000 || a1.Sessions != 1 || a1.AvgFirstResponseMs != 10000 {
		t.Errorf("a1 %+v", a1)
	}
	// a2 answered the second span (80 s, not timely) but owns no session.
	if a2.Questions != 1 || a2.Timely != 0 || a2.AvgResponseMs != 80000 || a2.Sessions != 0 {
		t.Errorf("a2 %+v", a2)
	}
	if all := only(t, e, time.Hour, "*"); all.Questions != 2 || all.Timely != 1 || all.Sessions != 1 || all.AvgSessionMessages != 4 {
		t.Errorf("* %+v", all)
	}
}

func TestSessionOwnerIsFirstAgentInEventTime(t *testing.T) {
	// a2's message arrives later (higher seq) but was sent earlier.
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "a2", at: 7 * sec, srv: 4 * sec}))
	if r := only(t, e, time.Hour, "a2"); r.Sessions != 1 || r.AvgFirstResponseMs != 7000 {
		t.Errorf("a2 %+v", r)
	}
	if r := only(t, e, time.Hour, "a1"); r.Sessions != 0 || r.Questions != 1 {
		t.Errorf("a1 %+v", r)
	}
}

func TestLateEventBridgesSessions(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	// 0 and 30m5s are two sessions until a message at 30m, sent before
	// 30m5s but received after it, is within 30 min of both.
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "c", at: 30*mn + 5*sec}))
	if r := only(t, e, time.Hour, "*"); r.Sessions != 2 {
		t.Fatalf("before the bridge: %d sessions", r.Sessions)
	}
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "c", at: 30*mn + 5*sec}, msg{who: "a1", at: 30 * mn, srv: 6 * sec}))
	r := only(t, e, time.Hour, "*")
	if r.Sessions != 1 || r.AvgSessionMessages != 3 || r.AvgSessionMs != float64(30*mn+5*sec) || r.AvgFirstResponseMs != float64(30*mn) {
		t.Errorf("after the bridge: %+v", r)
	}
}

func TestSessionClosedByWatermark(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	var closed []Session
	e.OnSessionClosed = func(s Session) { closed = append(closed, s) }
	evs := events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 3 * sec}, msg{who: "c", at: 30*mn + 9*sec}, msg{who: "c", at: 30*mn + 9*sec + 1})
	feed(t, e, evs[:3])
	// Newest 30m9s: watermark−L = 30m3s = last+gap, not past it yet.
	if len(closed) != 0 {
		t.Fatalf("closed early: %+v", closed)
	}
	feed(t, e, evs[3:])
	want := Session{Conv: "c1", Agent: "a1", First: base, Last: base.Add(3 * time.Second),
		End: base.Add(30*time.Minute + 3*time.Second), Messages: 2, FirstResponse: 3 * time.Second, HasFirstResponse: true}
	if len(closed) != 1 || closed[0] != want {
		t.Fatalf("closed %+v\nwant %+v", closed, want)
	}
	if open := e.OpenSessions("c1"); len(open) != 1 || open[0].Messages != 2 || open[0].Agent != "" {
		t.Errorf("open %+v", open)
	}
}

func TestSlidingWindowPlacesSpanInTwoWindows(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Windows = []WindowSpec{Sliding(30*time.Second, 15*time.Second), Tumbling(time.Minute)}
	e := newEngine(t, cfg)
	// The reply at 20 s falls in [0 s, 30 s) and [15 s, 45 s).
	feed(t, e, events("c1", msg{who: "c", at: 2 * sec}, msg{who: "a1", at: 20 * sec}))
	rows := e.Rows(Query{Size: 30 * time.Second, Key: "a1"})
	var starts []time.Duration
	for _, r := range rows {
		if r.Questions == 1 {
			starts = append(starts, r.WindowStart.Sub(base))
		}
	}
	if !slices.Equal(starts, []time.Duration{0, 15 * time.Second}) {
		t.Errorf("span in windows starting %v", starts)
	}
	// The session (first message at 2 s) is in [-15 s, 15 s) and [0 s, 30 s).
	var sessStarts []time.Duration
	for _, r := range e.Rows(Query{Size: 30 * time.Second, Key: "*"}) {
		if r.Sessions == 1 {
			sessStarts = append(sessStarts, r.WindowStart.Sub(base))
		}
	}
	if !slices.Equal(sessStarts, []time.Duration{-15 * time.Second, 0}) {
		t.Errorf("session in windows starting %v", sessStarts)
	}
	// A reply exactly on a slide boundary belongs to the window starting there.
	e = newEngine(t, cfg)
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 15 * sec}))
	starts = starts[:0]
	for _, r := range e.Rows(Query{Size: 30 * time.Second, Key: "a1"}) {
		if r.Questions == 1 {
			starts = append(starts, r.WindowStart.Sub(base))
		}
	}
	if !slices.Equal(starts, []time.Duration{0, 15 * time.Second}) {
		t.Errorf("boundary reply in windows starting %v", starts)
	}
}

func TestFinal(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}))
	if r := only(t, e, time.Minute, "a1"); r.Final {
		t.Fatal("final before the watermark passed")
	}
	// Another conversation moves the global watermark to 66 s − 6 s = 60 s,
	// the end of the first minute, but c1's session is still open.
	feed(t, e, events("c2", msg{who: "c", at: 66 * sec}))
	if r := e.Rows(Query{Size: time.Minute, Key: "a1"}); r[0].Final || r[0].Sessions != 1 {
		t.Errorf("a1 minute with an open session: %+v", r[0])
	}
	// c1's next message 31 min later closes its session.
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "c", at: 31 * mn}))
	if r := e.Rows(Query{Size: time.Minute, Key: "a1"}); !r[0].Final || r[0].Sessions != 1 {
		t.Errorf("a1 minute after the session closed: %+v", r[0])
	}
}

// TestFinalEdge: the reply at 70 s puts the span in minute [60 s, 120 s) and
// nothing open contributes there; it is final once the watermark reaches
// 120 s + L.
func TestFinalEdge(t *testing.T) {
	for _, lateness := range []time.Duration{0, 10 * time.Second} {
		cfg := DefaultConfig()
		cfg.AllowedLateness = lateness
		l := lateness.Milliseconds()
		e := newEngine(t, cfg)
		feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 70 * sec}))
		minute1 := func() Row {
			return e.Rows(Query{Size: time.Minute, Key: "a1", From: base.Add(time.Minute)})[0]
		}
		feed(t, e, events("c2", msg{who: "c", at: 126*sec + l - 1}))
		if r := minute1(); r.Final || r.Questions != 1 {
			t.Errorf("L %v: final 1 ms before the edge: %+v", lateness, r)
		}
		feed(t, e, events("c3", msg{who: "c", at: 126*sec + l}))
		if r := minute1(); !r.Final {
			t.Errorf("L %v: not final at the edge: %+v", lateness, r)
		}
	}
}

func TestDuplicatesAndInvalidEvents(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	evs := events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec})
	feed(t, e, evs)
	feed(t, e, evs) // replayed: ignored
	if r := only(t, e, time.Hour, "*"); r.Questions != 1 || r.AvgSessionMessages != 2 {
		t.Errorf("after a replay: %+v", r)
	}
	bad := []Event{
		{Seq: 3, ServerTS: base},
		{Conv: "c1", ServerTS: base},
		{Conv: "c1", Seq: 3},
		{Conv: "c1", Seq: 3, Role: storage.SenderAgent, ServerTS: base},
		{Conv: "c1", Seq: 3, Role: storage.SenderAgent, Sender: AllKey, ServerTS: base},
		{Conv: "c1", Seq: 3, ServerTS: base, ClientTS: time.Date(900000, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, ev := range bad {
		if err := e.Process(ev); !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%+v: %v", ev, err)
		}
	}
	if e.ConvSeq("c1") != 2 || len(e.ConvSeqs()) != 1 {
		t.Errorf("seqs %v", e.ConvSeqs())
	}
}

func TestEventFromMessage(t *testing.T) {
	m := storage.Message{ConvID: "c", Seq: 4, Sender: "u", SenderRole: storage.SenderCustomer, ServerTS: base, Flags: storage.FlagRecalled}
	if ev := EventFromMessage(m); ev.Role != storage.SenderCustomer || ev.Conv != "c" || ev.Seq != 4 {
		t.Errorf("recalled message: %+v", ev)
	}
	for _, k := range []storage.MessageKind{storage.MsgSystem, storage.MsgRecall} {
		m.Kind = k
		if ev := EventFromMessage(m); ev.Role != storage.SenderSystem {
			t.Errorf("kind %d: role %v", k, ev.Role)
		}
	}
}

func TestQueryFilters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(time.Minute, 30*time.Second))
	e := newEngine(t, cfg)
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "c", at: 2 * mn}, msg{who: "a2", at: 2*mn + sec}))
	count := func(q Query) int { return len(e.Rows(q)) }
	// Minute tumbling: * at 0 and 2 min, a1 at 0, a2 at 2 min.
	if n := count(Query{Size: time.Minute, Slide: time.Minute}); n != 4 {
		t.Errorf("tumbling minute rows %d", n)
	}
	if n := count(Query{Size: time.Minute, Key: "a2"}); n != 3 { // 1 tumbling + 2 sliding
		t.Errorf("a2 minute rows %d", n)
	}
	if n := count(Query{Key: "nobody"}); n != 0 {
		t.Errorf("unknown key rows %d", n)
	}
	if n := count(Query{Size: time.Minute, Slide: time.Minute, From: base.Add(time.Minute), To: base.Add(3 * time.Minute)}); n != 2 {
		t.Errorf("from/to rows %d", n)
	}
	rows := e.Rows(Query{})
	if rows[0].Window != cfg.Windows[0] || rows[len(rows)-1].Window != cfg.Windows[2] || rows[0].Key != AllKey {
		t.Errorf("order: first %+v last %+v", rows[0], rows[len(rows)-1])
	}
}

func TestReportJSON(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}))
	b, err := json.Marshal(e.Report(Query{Size: time.Hour, Key: "a1"}))
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(top["rows"], &rows); err != nil || len(rows) != 1 {
		t.Fatalf("rows %s: %v", top["rows"], err)
	}
	var keys []string
	for k := range rows[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	wantKeys := []string{"abandoned", "avg_desk_first_response_ms", "avg_first_response_ms", "avg_handle_ms", "avg_msg_response_ms", "avg_queue_wait_ms", "avg_rating",
		"avg_response_ms", "avg_session_messages", "avg_session_ms", "csat_rate", "desk_first_responses", "desk_first_timely",
		"desk_first_timely_rate", "desk_handled", "desk_missed", "desk_resolved", "final", "key", "msg_questions", "msg_timely", "msg_timely_rate", "questions", "queue_waits",
		"ratings", "satisfied", "sessions", "timely", "timely_rate", "window_end", "window_start"}
	if !reflect.DeepEqual(keys, wantKeys) || string(top["late_events"]) != "0" || string(top["future_events"]) != "0" {
		t.Errorf("json %s", b)
	}
	if rows[0]["window_start"] != "2024-03-01T10:00:00Z" || rows[0]["window_end"] != "2024-03-01T11:00:00Z" {
		t.Errorf("window %v – %v", rows[0]["window_start"], rows[0]["window_end"])
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"negative B":          func(c *Config) { c.OutOfOrderness = -time.Second },
		"zero gap":            func(c *Config) { c.SessionGap = 0 },
		"sub-ms threshold":    func(c *Config) { c.ReplyThreshold = 1500 * time.Microsecond },
		"no windows":          func(c *Config) { c.Windows = nil },
		"zero slide":          func(c *Config) { c.Windows = []WindowSpec{{Size: time.Minute}} },
		"slide above size":    func(c *Config) { c.Windows = []WindowSpec{Sliding(time.Second, time.Minute)} },
		"too many windows":    func(c *Config) { c.Windows = []WindowSpec{Sliding(time.Hour, time.Second)} },
		"repeated window":     func(c *Config) { c.Windows = []WindowSpec{Tumbling(time.Minute), Tumbling(time.Minute)} },
		"absurd future bound": func(c *Config) { c.FutureBound = 1 << 62 },
	} {
		c := DefaultConfig()
		mut(&c)
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestWorkedExample checks the example in docs/METRICS.md.
func TestWorkedExample(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "c", at: 20 * sec}, msg{who: "a1", at: 50 * sec},
		msg{who: "c", at: 90 * sec}, msg{who: "a2", at: 165 * sec}))
	all := only(t, e, time.Hour, "*")
	if g, w := got(all), (want{2, 1, 62500, 3, 2, 155000.0 / 3, 1, 165000, 5, 50000}); g != w {
		t.Errorf("*:\n got %+v\nwant %+v", g, w)
	}
	if all.TimelyRate != 0.5 || all.MsgTimelyRate != 2.0/3 {
		t.Errorf("rates %v %v", all.TimelyRate, all.MsgTimelyRate)
	}
	if a1 := only(t, e, time.Hour, "a1"); a1.Questions != 1 || a1.MsgQuestions != 2 || a1.Sessions != 1 {
		t.Errorf("a1 %+v", a1)
	}
	var minutes []time.Duration
	for _, r := range e.Rows(Query{Size: time.Minute}) {
		if r.Questions > 0 && r.Key != AllKey {
			minutes = append(minutes, r.WindowStart.Sub(base))
		}
	}
	if !slices.Equal(minutes, []time.Duration{0, 2 * time.Minute}) {
		t.Errorf("spans in minutes %v", minutes)
	}
	open := e.OpenSessions("c1")
	if len(open) != 1 || open[0].End != base.Add(32*time.Minute+45*time.Second) || open[0].Agent != "a1" || open[0].FirstResponse != 50*time.Second {
		t.Errorf("session %+v", open)
	}
}

func TestPrune(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "c", at: 2 * mn}, msg{who: "a1", at: 2*mn + sec}))
	if n := e.Prune(base.Add(time.Minute)); n != 2 { // minute 0 for * and a1
		t.Fatalf("pruned %d", n)
	}
	// Minute 0 now holds only the open session, reported as it stands.
	if rows := e.Rows(Query{Size: time.Minute, Key: "a1"}); len(rows) != 2 || rows[0].Questions != 0 || rows[0].Sessions != 1 || rows[1].Questions != 1 {
		t.Errorf("rows after prune %+v", rows)
	}
	// Contributions after a prune go to the map, not to a stale cache slot.
	feed(t, e, events("c1", msg{who: "c", at: 0}, msg{who: "a1", at: 10 * sec}, msg{who: "c", at: 2 * mn}, msg{who: "a1", at: 2*mn + sec},
		msg{who: "c", at: 2*mn + 2*sec}, msg{who: "a1", at: 2*mn + 3*sec}))
	if r := e.Rows(Query{Size: time.Minute, Key: "a1"}); r[1].Questions != 2 {
		t.Errorf("after prune and more events %+v", r)
	}
}
