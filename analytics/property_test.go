package analytics

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

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
	gap := cfg.SessionGap
	trace := make(map[string][]Event)
	for c := range 1 + rng.IntN(6) {
		conv := fmt.Sprintf("conv-%d", c)
		server := base.Add(time.Duration(rng.IntN(7200)) * time.Second)
		agent := agents[rng.IntN(len(agents))]
		var evs []Event
		for i := range rng.IntN(80) {
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
			case r < 19:
				ev.Role = storage.SenderSystem
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

func randomConfig(rng *rand.Rand) Config {
	cfg := DefaultConfig()
	cfg.Windows = append(cfg.Windows, Sliding(30*time.Second, 15*time.Second))
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
	place := func(t int64, agent string, c agg, open bool) {
		for i, w := range cfg.Windows {
			size, slide := ms(w.Size), ms(w.Slide)
			for k := int64(math.Floor(float64(t) / float64(slide))); k*slide+size > t; k-- {
				for _, key := range []string{AllKey, agent} {
					if key == "" {
						continue
					}
					rk := refKey{i, key, k * slide}
					a := aggs[rk]
					if a == nil {
						a = &refAgg{}
						aggs[rk] = a
					}
					a.add(&c)
					a.open = a.open || open
				}
			}
		}
	}
	maxT := int64(math.MinInt64)
	type accepted struct {
		t        int64
		seq      uint64
		customer bool
		agent    string
	}
	for _, id := range sortedConvs(trace) {
		var acc []accepted
		newest, has := int64(0), false
		for _, ev := range trace[id] {
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
			a := accepted{t: t, seq: ev.Seq, customer: ev.Role == storage.SenderCustomer}
			if !a.customer {
				a.agent = ev.Sender
			}
			acc = append(acc, a)
		}
		// Both response models, in seq order.
		var open []int64
		for _, a := range acc {
			if a.customer {
				open = append(open, a.t)
				continue
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
			place(a.t, a.agent, c, false)
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
			owner := ""
			for _, m := range s {
				if !m.customer {
					owner = m.agent
					if s[0].customer {
						c.frtCount, c.frtSum = 1, m.t-s[0].t
					}
					break
				}
			}
			place(s[0].t, owner, c, s[len(s)-1].t+gap >= newest-b-l)
			i = j
		}
	}
	for k, a := range aggs {
		w := cfg.Windows[k.spec]
		end := k.start + ms(w.Size)
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
