package analytics

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-im/switchboard/internal/openhours"
	"github.com/switchboard-im/switchboard/storage"
)

// seed returns SWITCHBOARD_SEED if set, else a fresh one.
func seed() uint64 {
	if v := os.Getenv("SWITCHBOARD_SEED"); v != "" {
		if s, err := strconv.ParseUint(v, 10, 64); err == nil {
			return s
		}
	}
	return uint64(time.Now().UnixNano())
}

// randomTrace returns conversations' events in seq order, with jittered,
// missing, late and future client times, gaps on and around the session
// gap, transfers, and system messages.
func randomTrace(rng *rand.Rand, cfg Config) map[string][]Event {
	agents := []string{"a1", "a2", "a3", "a4"}
	lines := []string{"cars", "homes", "jobs"}
	gap := cfg.SessionGap
	trace := make(map[string][]Event)
	// In a time zone, start near one of its DST changes or local midnight.
	start := base
	if cfg.zoned() {
		start = zoneEdges[cfg.Location.String()][rng.IntN(len(zoneEdges[cfg.Location.String()]))].Add(-2 * time.Hour)
	}
	for c := range 1 + rng.IntN(6) {
		conv := fmt.Sprintf("conv-%d", c)
		server := start.Add(time.Duration(rng.IntN(7200)) * time.Second)
		agent := agents[rng.IntN(len(agents))]
		var evs []Event
		// Most conversations come from the desk: a session start naming
		// the business line comes first.
		desk := rng.IntN(4) > 0
		if desk {
			evs = append(evs, Event{Conv: conv, Seq: 1, Role: storage.SenderSystem, ServerTS: server, Line: lines[rng.IntN(len(lines))],
				Desk: DeskStep{Op: DeskStart}})
		}
		session := 1 // the desk session a rating rates
		n := len(evs) + rng.IntN(80)
		for i := len(evs); i < n; i++ {
			switch r := rng.IntN(20); {
			case r < 10:
				server = server.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
			case r < 15:
				server = server.Add(time.Duration(rng.IntN(90000)) * time.Millisecond)
			case r < 17:
				server = server.Add(gap + time.Duration(rng.IntN(3)-1)*time.Millisecond)
			default:
				server = server.Add(time.Duration(rng.Int64N(int64(gap * 3 / 2))))
			}
			server = server.Truncate(time.Millisecond)
			ev := Event{Conv: conv, Seq: uint64(i + 1), ServerTS: server}
			switch r := rng.IntN(20); {
			case r < 9:
				ev.Role, ev.Sender = storage.SenderCustomer, "cust-"+conv
			case r < 17:
				if rng.IntN(5) == 0 {
					agent = agents[rng.IntN(len(agents))] // transfer
				}
				ev.Role, ev.Sender = storage.SenderAgent, agent
			case r < 19 || desk && r < 20 && rng.IntN(2) == 0:
				ev.Role = storage.SenderSystem
				if !desk {
					break
				}
				// The desk's steps: assignments, transfers (to an agent or
				// a queue), requeues, closes (some abandoned), ratings and
				// later starts, which keep the first line.
				ev.Desk = randomStep(rng, agents, conv, &session)
				if ev.Desk.Owner != "" && rng.IntN(4) > 0 {
					agent = ev.Desk.Owner // the new owner is usually the one who answers
				}
				if ev.Desk.Op == DeskStart && rng.IntN(2) == 0 {
					ev.Line = lines[rng.IntN(len(lines))]
				}
			default:
				ev.Role = storage.SenderUnspecified
			}
			switch r := rng.IntN(20); {
			case r < 3: // no client time
			case r < 4:
				ev.ClientTS = server.Add(cfg.FutureBound + time.Duration(rng.IntN(2))*time.Millisecond)
			case r < 6:
				ev.ClientTS = server.Add(-cfg.OutOfOrderness - cfg.AllowedLateness - time.Duration(rng.IntN(3000))*time.Millisecond)
			default:
				ev.ClientTS = server.Add(time.Duration(rng.IntN(8000)-6000) * time.Millisecond)
			}
			evs = append(evs, ev)
		}
		trace[conv] = evs
	}
	return trace
}

// randomStep draws a desk step with the fields the desk writes. A rating
// rates the conversation's session *session, which moves on to the next
// one half the time; else the same session's rating comes again, as after
// a desk crash.
func randomStep(rng *rand.Rand, agents []string, conv string, session *int) DeskStep {
	a := agents[rng.IntN(len(agents))]
	switch rng.IntN(8) {
	case 0, 1:
		return DeskStep{Op: DeskAssigned, Owner: a, WaitMs: rng.Int64N(10 * 60 * 1000)}
	case 2:
		return DeskStep{Op: DeskTransfer, Owner: a}
	case 3:
		return DeskStep{Op: DeskTransfer} // to a queue
	case 4:
		return DeskStep{Op: DeskRequeue, Missed: rng.IntN(2) == 0}
	case 5:
		return DeskStep{Op: DeskClose, Abandoned: rng.IntN(2) == 0}
	case 7:
		switch rng.IntN(4) {
		case 0:
			return DeskStep{Op: DeskHandover}
		case 1:
			return DeskStep{Op: DeskAfterHours} // the line never opens again
		case 2:
			return DeskStep{Op: DeskStart, Reopened: true, TargetMs: rng.Int64N(2) * rng.Int64N(120000), Hours: randomHours(rng)}
		case 3:
			if rng.IntN(2) == 0 {
				return DeskStep{Op: DeskOverflow}
			}
		}
		return DeskStep{Op: DeskAfterHours, OpensAtMs: base.Add(time.Duration(rng.IntN(4*3600)) * time.Second).UnixMilli()}
	case 6:
		if rng.IntN(2) == 0 {
			*session++
		}
		st := DeskStep{Op: DeskRating, Score: 1 + rng.IntN(5), Session: fmt.Sprintf("%s/%d", conv, *session)}
		if rng.IntN(4) > 0 {
			st.Agent = a // else the robot had the session
		}
		return st
	}
	return DeskStep{Op: DeskStart, TargetMs: rng.Int64N(2) * rng.Int64N(120000), Hours: randomHours(rng)}
}

// traceHours are opening hours a trace's starts carry (hoursKey), around
// its base (Friday 2024-03-01, 10:00 UTC): open in the morning only, a
// split day in another zone, closed all day; "": always open.
var traceHours = func() []string {
	out := []string{""}
	for _, h := range []openhours.Hours{
		{TZ: "UTC", Week: map[string]string{"fri": "09:00-10:15", "sat": "09:00-10:00", "mon": "09:00-17:00"}},
		{TZ: "Europe/Berlin", Week: map[string]string{"fri": "08:00-11:20,11:30-12:00"}, ClosedDates: []string{"2024-03-02"}},
		{TZ: "UTC", Message: "closed"},
	} {
		k, err := hoursKey(h)
		if err != nil {
			panic(err)
		}
		out = append(out, k)
	}
	return out
}()

func randomHours(rng *rand.Rand) string { return traceHours[rng.IntN(len(traceHours))] }

// zoneEdges are instants around which time-zone traces start: DST
// changes (New York: 23- and 25-hour days; Lord Howe: a 30-minute shift)
// and local midnights (Kolkata: +05:30, no DST).
var zoneEdges = map[string][]time.Time{
	"America/New_York":    {time.Date(2024, 3, 10, 7, 0, 0, 0, time.UTC), time.Date(2024, 11, 3, 6, 0, 0, 0, time.UTC), time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC)},
	"Australia/Lord_Howe": {time.Date(2024, 4, 6, 15, 0, 0, 0, time.UTC), time.Date(2024, 10, 5, 15, 30, 0, 0, time.UTC)},
	"Asia/Kolkata":        {time.Date(2024, 3, 1, 18, 30, 0, 0, time.UTC)},
}

// zoneBoundaries lists, minute by minute from a week before the zone's
// first edge to a week after its last, the instants at which the local
// clock reaches or jumps over a multiple of size (sizes here are whole
// minutes and the tz database changes offsets on whole minutes).
func zoneBoundaries(loc *time.Location, size int64) []int64 {
	key := fmt.Sprint(loc, size)
	if bs, ok := boundaryCache[key]; ok {
		return bs
	}
	edges := zoneEdges[loc.String()]
	from := slices.MinFunc(edges, time.Time.Compare).Add(-7 * 24 * time.Hour).UnixMilli()
	to := slices.MaxFunc(edges, time.Time.Compare).Add(7 * 24 * time.Hour).UnixMilli()
	wall := func(t int64) int64 {
		_, off := time.UnixMilli(t).In(loc).Zone()
		return t + int64(off)*1000
	}
	var bs []int64
	for x := from; x < to; x += 60000 {
		w, before := wall(x), wall(x-60000)+60000-1 // the offset holds through the minute before x
		if w%size == 0 || before/size < w/size {
			bs = append(bs, x)
		}
	}
	boundaryCache[key] = bs
	return bs
}

var boundaryCache = map[string][]int64{}

func loadZone(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatalf("time zone %s: %v", name, err)
	}
	return loc
}

func randomConfig(rng *rand.Rand) Config {
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(30*time.Second, 15*time.Second))
	if rng.IntN(2) == 0 {
		cfg.Windows = append(cfg.Windows, Tumbling(24*time.Hour), Tumbling(45*time.Minute), Tumbling(7*time.Hour))
	}
	if z := rng.IntN(5); z < 3 {
		name := []string{"America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"}[z]
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		cfg.Location = loc
	}
	if rng.IntN(2) == 0 {
		cfg.AllowedLateness = 2 * time.Second
	}
	if rng.IntN(3) == 0 {
		cfg.SessionGap = 2 * time.Minute
	}
	return cfg
}

func sortedConvs(trace map[string][]Event) []string {
	ids := make([]string, 0, len(trace))
	for id := range trace {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// batch feeds a fresh engine conversation by conversation.
func batch(t *testing.T, cfg Config, trace map[string][]Event) *Engine {
	e := newEngine(t, cfg)
	for _, id := range sortedConvs(trace) {
		feed(t, e, trace[id])
	}
	return e
}

// streaming interleaves the conversations randomly and crashes a few
// times: a snapshot at a random point, some work lost after it, a restore
// into a fresh engine and a replay from positions at or before the snapshot.
func streaming(t *testing.T, rng *rand.Rand, cfg Config, trace map[string][]Event) *Engine {
	ids := sortedConvs(trace)
	pos := make(map[string]int, len(ids))
	e := newEngine(t, cfg)
	var snap []byte
	var snapPos map[string]int
	crashes := rng.IntN(4)
	for {
		var live []string
		for _, id := range ids {
			if pos[id] < len(trace[id]) {
				live = append(live, id)
			}
		}
		if len(live) == 0 {
			return e
		}
		id := live[rng.IntN(len(live))]
		feed(t, e, trace[id][pos[id]:pos[id]+1])
		pos[id]++
		switch r := rng.IntN(40); {
		case r == 0:
			var err error
			if snap, err = e.Snapshot(); err != nil {
				t.Fatal(err)
			}
			snapPos = maps(pos)
		case r == 1 && snap != nil && crashes > 0:
			crashes--
			e = newEngine(t, cfg)
			if err := e.Restore(snap); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				pos[id] = rng.IntN(snapPos[id] + 1) // replay from an earlier position
			}
		}
	}
}

func maps(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestStreamingEqualsBatch(t *testing.T) {
	sd := seed()
	rng := rand.New(rand.NewPCG(sd, sd^0x9e3779b97f4a7c15))
	runs := 400
	if testing.Short() {
		runs = 100
	}
	for run := range runs {
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d (rerun with SWITCHBOARD_SEED=%d) run %d: %s", sd, sd, run, fmt.Sprintf(format, args...))
		}
		cfg := randomConfig(rng)
		trace := randomTrace(rng, cfg)
		b := batch(t, cfg, trace)
		s := streaming(t, rng, cfg, trace)

		ref := reference(cfg, trace)
		if rows := b.Rows(Query{}); !reflect.DeepEqual(rows, ref.rows) {
			fail("batch differs from the reference model:\n%s", diffRows(rows, ref.rows))
		}
		if b.LateEvents() != ref.late || b.FutureEvents() != ref.future {
			fail("batch late %d future %d, reference %d %d", b.LateEvents(), b.FutureEvents(), ref.late, ref.future)
		}
		if rows := s.Rows(Query{}); !reflect.DeepEqual(rows, ref.rows) {
			fail("streaming differs from batch:\n%s", diffRows(rows, ref.rows))
		}
		if s.LateEvents() != b.LateEvents() || s.FutureEvents() != b.FutureEvents() {
			fail("streaming late %d future %d, batch %d %d", s.LateEvents(), s.FutureEvents(), b.LateEvents(), b.FutureEvents())
		}
		if !reflect.DeepEqual(s.ConvSeqs(), b.ConvSeqs()) {
			fail("seqs %v, batch %v", s.ConvSeqs(), b.ConvSeqs())
		}
		sb, err1 := s.Snapshot()
		bb, err2 := b.Snapshot()
		if err1 != nil || err2 != nil || !bytes.Equal(sb, bb) {
			fail("snapshots differ (%v, %v)", err1, err2)
		}
		for _, id := range sortedConvs(trace) {
			if !reflect.DeepEqual(s.OpenSessions(id), b.OpenSessions(id)) {
				fail("open sessions of %s differ", id)
			}
		}
	}
}

func diffRows(got, want []Row) string {
	var buf bytes.Buffer
	for i := range max(len(got), len(want)) {
		var g, w Row
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			fmt.Fprintf(&buf, "row %d\n got %+v\nwant %+v\n", i, g, w)
			if buf.Len() > 4000 {
				break
			}
		}
	}
	return buf.String()
}

// referenceResult is what the definitions say, computed directly.
type referenceResult struct {
	rows         []Row
	late, future uint64
}

type refKey struct {
	spec  int
	key   string
	start int64
}

type refAgg struct {
	agg
	open bool
}

// reference computes the metrics straight from the definitions, without
// the engine's incremental machinery: sessions by sorting a conversation's
// accepted messages and splitting at gaps over SessionGap.
func reference(cfg Config, trace map[string][]Event) referenceResult {
	res := referenceResult{rows: []Row{}}
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	b, l, gap, thr := ms(cfg.OutOfOrderness), ms(cfg.AllowedLateness), ms(cfg.SessionGap), ms(cfg.ReplyThreshold)
	aggs := make(map[refKey]*refAgg)
	ends := make(map[refKey]int64)
	dayMs := int64(24 * time.Hour / time.Millisecond)
	// windows lists the [start, end) of family w containing t: on the epoch
	// grid, or within the local day for a zoned tumbling family.
	windows := func(w WindowSpec, t int64) [][2]int64 {
		size, slide := ms(w.Size), ms(w.Slide)
		if cfg.Location != nil && cfg.Location.String() != "UTC" && w.IsTumbling() && dayMs%size == 0 {
			bs := zoneBoundaries(cfg.Location, size)
			i, _ := slices.BinarySearch(bs, t+1) // bs[i-1] <= t < bs[i]
			return [][2]int64{{bs[i-1], bs[i]}}
		}
		var out [][2]int64
		for k := int64(math.Floor(float64(t) / float64(slide))); k*slide+size > t; k-- {
			out = append(out, [2]int64{k * slide, k*slide + size})
		}
		return out
	}
	place := func(t int64, agent, line string, c agg, open bool) {
		for i, w := range cfg.Windows {
			for _, win := range windows(w, t) {
				for _, key := range []string{AllKey, agent, line} {
					if key == "" {
						continue
					}
					rk := refKey{i, key, win[0]}
					a := aggs[rk]
					if a == nil {
						a = &refAgg{}
						aggs[rk] = a
					}
					ends[rk] = win[1]
					a.add(&c)
					a.open = a.open || open
				}
			}
		}
	}
	type refSession struct {
		t, last     int64
		owner, line string
		c           agg
	}
	var sessions []refSession
	maxT := int64(math.MinInt64)
	type accepted struct {
		t        int64
		seq      uint64
		customer bool
		agent    string
		owner    string // the desk's owner when it was sent
	}
	for _, id := range sortedConvs(trace) {
		var acc []accepted
		newest, has := int64(0), false
		line := ""
		owner := ""
		since, hasSince := int64(0), false
		holder, heldFrom := "", int64(0) // who holds the session, since when
		rated := ""                      // the session of the last rating counted
		// The desk sessions' first responses: the phase, the seq of the
		// last close, and the waiting session's asking and clock start.
		phase := deskNone
		closedAt := uint64(0)
		asked, clockFrom, hasClockFrom := int64(0), int64(0), false
		target := int64(0)
		hours := ""
		// Questions waiting for a reply: when each became the owner's to
		// answer (its own time, or the last owner change after it).
		var open []int64
		for _, ev := range trace[id] {
			if line == "" && ev.Line != "" {
				line = LineKey(ev.Line)
			}
			if d := ev.Desk; d.Op == DeskRating {
				// A session's first rating counts, placed by its time; it
				// moves no owner.
				if d.Session != rated {
					rated = d.Session
					c := agg{ratings: 1, ratingSum: uint64(d.Score)}
					if d.Score >= 4 {
						c.satisfied = 1
					}
					place(ev.ServerTS.UnixMilli(), d.Agent, line, c, false)
				}
			} else if d.Op == DeskOverflow {
				// Only a waiting session overflows: a holder now had an
				// assignment a crash cut, and handled nothing.
				holder, owner, hasSince = "", "", false
			} else if d.Op == DeskHandover || d.Op == DeskAfterHours {
				from := ev.ServerTS.UnixMilli()
				if d.Op == DeskAfterHours {
					from = d.OpensAtMs
				}
				if phase == deskWaiting && from != 0 {
					if !hasClockFrom || from > clockFrom {
						clockFrom = from
					}
					hasClockFrom = true
				}
			} else if d.Op != "" {
				t := ev.ServerTS.UnixMilli()
				switch d.Op {
				case DeskStart:
					asked = t
					if d.Reopened && phase == deskClosed {
						for _, a := range acc {
							if a.customer && a.seq > closedAt {
								asked = min(asked, a.t)
							}
						}
					}
					phase, hasClockFrom, target, hours = deskWaiting, false, d.TargetMs, d.Hours
				case DeskClose:
					phase, closedAt = deskClosed, ev.Seq
				}
				if d.Op == DeskAssigned && (d.Owner == "" || d.Owner != holder) {
					// Not the same assignment written again.
					place(t, d.Owner, line, agg{queueWaits: 1, queueWaitSum: d.WaitMs}, false)
				}
				if d.Abandoned {
					place(t, "", line, agg{abandoned: 1}, false)
				}
				if d.Missed && holder != "" {
					place(t, holder, line, agg{missed: 1}, false) // the holder missed it
				}
				if d.Op == DeskAssigned && d.Owner != "" && d.Owner == holder {
					continue // the same assignment written again: nothing moves
				}
				// The holder's time with the session ends with any other
				// owner change; the close resolves it.
				if holder != "" && !d.Abandoned { // an abandoned session waited: its holder's assignment was cut
					c := agg{handled: 1, handleSum: max(0, t-heldFrom)}
					if d.Op == DeskClose {
						c.resolved = 1
					}
					place(t, holder, line, c, false)
				}
				holder, heldFrom = d.Owner, t
				owner, since, hasSince = d.Owner, t, true
				for i := range open {
					open[i] = max(open[i], t)
				}
			}
			if ev.Role != storage.SenderCustomer && ev.Role != storage.SenderAgent {
				continue
			}
			t := ev.ServerTS.UnixMilli()
			if !ev.ClientTS.IsZero() {
				t = ev.ClientTS.UnixMilli()
			}
			if t-ev.ServerTS.UnixMilli() > ms(cfg.FutureBound) {
				res.future++
				continue
			}
			if has && newest-t > b+l {
				res.late++
				continue
			}
			if !has || t > newest {
				newest, has = t, true
			}
			maxT = max(maxT, t)
			a := accepted{t: t, seq: ev.Seq, customer: ev.Role == storage.SenderCustomer, owner: owner}
			if !a.customer {
				a.agent = ev.Sender
			}
			acc = append(acc, a)
			// Both response models, in seq order.
			if a.customer {
				q := t
				if hasSince {
					q = max(q, since)
				}
				open = append(open, q)
				continue
			}
			if phase == deskWaiting {
				from := asked
				if hasClockFrom {
					from = max(from, clockFrom)
				}
				c := agg{deskFirst: 1, deskFirstSum: max(0, a.t-from)}
				if hours != "" {
					var h openhours.Hours
					if err := json.Unmarshal([]byte(hours), &h); err != nil {
						panic(err)
					}
					s, err := openhours.Parse(h, hoursLimits)
					if err != nil {
						panic(err)
					}
					c.deskFirstSum = s.OpenBetween(fromMillis(from), fromMillis(a.t)).Milliseconds()
				}
				if c.deskFirstSum <= thr && target == 0 || target != 0 && c.deskFirstSum <= target {
					c.deskFirstTimely = 1
				}
				who := a.agent
				if owner != "" {
					who = owner
				}
				place(a.t, who, line, c, false)
				phase = deskAnswered
			}
			if len(open) == 0 {
				continue
			}
			var c agg
			c.questions, c.respSum = 1, max(0, a.t-open[0])
			if c.respSum <= thr {
				c.timely = 1
			}
			for _, q := range open {
				r := max(0, a.t-q)
				c.msgQuestions++
				c.msgRespSum += r
				if r <= thr {
					c.msgTimely++
				}
			}
			who := a.agent
			if owner != "" {
				who = owner
			}
			place(a.t, who, line, c, false)
			open = open[:0]
		}
		// Sessions in event time.
		slices.SortStableFunc(acc, func(x, y accepted) int { return cmp.Or(cmp.Compare(x.t, y.t), cmp.Compare(x.seq, y.seq)) })
		for i := 0; i < len(acc); {
			j := i + 1
			for j < len(acc) && acc[j].t-acc[j-1].t <= gap {
				j++
			}
			s := acc[i:j]
			c := agg{sessions: 1, sessSum: s[len(s)-1].t - s[0].t, sessMsgs: uint64(len(s))}
			who := ""
			for _, m := range s {
				if !m.customer {
					who = m.agent
					if s[0].customer {
						c.frtCount, c.frtSum = 1, m.t-s[0].t
					}
					break
				}
			}
			// The last owner (event time, then seq) takes it.
			for _, m := range s {
				if m.owner != "" {
					who = m.owner
				}
			}
			sessions = append(sessions, refSession{t: s[0].t, last: s[len(s)-1].t, owner: who, line: line, c: c})
			i = j
		}
	}
	// A session is open until the global watermark less L passes its
	// last message + gap.
	for _, s := range sessions {
		place(s.t, s.owner, s.line, s.c, s.last+gap >= maxT-b-l)
	}
	for k, a := range aggs {
		w := cfg.Windows[k.spec]
		end := ends[k]
		final := maxT != math.MinInt64 && !a.open && maxT-b >= end+l
		q := queried{agg: a.agg}
		res.rows = append(res.rows, q.row(k.key, k.start, end, w, final))
	}
	slices.SortFunc(res.rows, func(x, y Row) int {
		return cmp.Or(
			cmp.Compare(slices.Index(cfg.Windows, x.Window), slices.Index(cfg.Windows, y.Window)),
			cmp.Compare(x.Key, y.Key),
			x.WindowStart.Compare(y.WindowStart),
		)
	})
	return res
}
